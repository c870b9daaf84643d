//! Sets `cfg(ci)` when the environment variable `CI` is `true`, so that the tests needing a
//! service (Redis, PostgreSQL, a browser) run, and fail without it, on CI, and are ignored
//! (`cargo test -- --include-ignored` runs them) elsewhere.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(ci)");
    println!("cargo::rerun-if-env-changed=CI");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        println!("cargo::rustc-cfg=ci");
    }
}
