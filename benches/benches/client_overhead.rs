//! What the client adds on top of a bare `reqwest` call: `get_user` through [`Client`] against
//! the same GET made by hand (same headers, same decoding into `User`), both against the
//! emulator on loopback. Prints the ratio client / bare at the end; the target is < 1.05.
//!
//! Run with `cargo bench -p authkit-axum-benches --bench client_overhead`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use authkit_axum::Client;
use authkit_axum::user_management::{CreateUser, User};
use authkit_emulator::Emulator;
use std::hint::black_box;

use criterion::Criterion;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, USER_AGENT};
use tokio::runtime::Runtime;

/// The two ways of making the call.
struct Setup {
    emulator: Emulator,
    client: Client,
    bare: reqwest::Client,
    url: String,
    headers: HeaderMap,
    user_id: String,
}

impl Setup {
    fn new(rt: &Runtime) -> Setup {
        rt.block_on(async {
            let emulator = Emulator::start().await.expect("the emulator starts");
            let client = authkit_axum::testing::emulator_client(&emulator);
            let user = client
                .user_management()
                .create_user(CreateUser::new("bench@example.com").first_name("Bench"))
                .await
                .expect("a user is seeded");
            let mut headers = HeaderMap::new();
            let mut auth = HeaderValue::from_str(&format!("Bearer {}", emulator.api_key()))
                .expect("a valid header");
            auth.set_sensitive(true);
            headers.insert(AUTHORIZATION, auth);
            headers.insert(
                USER_AGENT,
                HeaderValue::from_static(concat!("authkit-axum/", env!("CARGO_PKG_VERSION"))),
            );
            headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
            Setup {
                url: format!("{}/user_management/users/{}", emulator.base_url(), user.id),
                client,
                bare: {
                    let _ = rustls::crypto::ring::default_provider().install_default();
                    reqwest::Client::new()
                },
                headers,
                user_id: user.id,
                emulator,
            }
        })
    }

    async fn via_client(&self) -> User {
        self.client
            .user_management()
            .get_user(&self.user_id)
            .await
            .expect("get_user succeeds")
    }

    async fn via_bare(&self) -> User {
        let response = self
            .bare
            .get(&self.url)
            .headers(self.headers.clone())
            .send()
            .await
            .expect("the GET is answered")
            .error_for_status()
            .expect("a 2xx");
        let bytes = response.bytes().await.expect("the body is read");
        serde_json::from_slice(&bytes).expect("a user")
    }

    /// Times `n` sequential calls of one kind.
    async fn run(&self, bare: bool, n: u64) -> Duration {
        let started = Instant::now();
        for _ in 0..n {
            let user = if bare {
                self.via_bare().await
            } else {
                self.via_client().await
            };
            black_box(user);
        }
        started.elapsed()
    }
}

/// (total time, calls) measured by criterion, per kind: [client, bare].
static TOTALS: Mutex<[(Duration, u64); 2]> = Mutex::new([(Duration::ZERO, 0); 2]);

fn record(kind: usize, elapsed: Duration, calls: u64) {
    let mut totals = TOTALS.lock().unwrap_or_else(|p| p.into_inner());
    totals[kind].0 += elapsed;
    totals[kind].1 += calls;
}

fn bench(c: &mut Criterion, rt: &Runtime, setup: &Setup) {
    let mut group = c.benchmark_group("get_user");
    for (kind, name, bare) in [(0, "client", false), (1, "bare_reqwest", true)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                // The emulator's request log grows with every call: empty it between samples.
                setup.emulator.clear_requests();
                let elapsed = rt.block_on(setup.run(bare, iters));
                record(kind, elapsed, iters);
                elapsed
            })
        });
    }
    group.finish();
}

/// Alternates short runs of both kinds, so that machine load hits both alike, and returns the
/// median of the per-round ratios.
fn interleaved_ratio(rt: &Runtime, setup: &Setup, rounds: usize, calls: u64) -> f64 {
    let mut ratios: Vec<f64> = (0..rounds)
        .map(|round| {
            setup.emulator.clear_requests();
            // Alternate which kind goes first.
            let (client, bare) = if round % 2 == 0 {
                let c = rt.block_on(setup.run(false, calls));
                (c, rt.block_on(setup.run(true, calls)))
            } else {
                let b = rt.block_on(setup.run(true, calls));
                (rt.block_on(setup.run(false, calls)), b)
            };
            client.as_secs_f64() / bare.as_secs_f64()
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let setup = Setup::new(&rt);
    // Both ways see the same user.
    let (a, b) = rt.block_on(async { (setup.via_client().await, setup.via_bare().await) });
    assert_eq!(a, b);

    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .configure_from_args();
    bench(&mut criterion, &rt, &setup);
    criterion.final_summary();

    let totals = *TOTALS.lock().unwrap_or_else(|p| p.into_inner());
    let [(client_time, client_calls), (bare_time, bare_calls)] = totals;
    // `cargo test --benches` runs each benchmark once, without `--bench`: nothing to compare.
    let bench_mode = std::env::args().any(|a| a == "--bench");
    if !bench_mode || client_calls == 0 || bare_calls == 0 {
        return;
    }
    let per_call = |time: Duration, calls: u64| time.as_secs_f64() * 1e6 / calls as f64;
    let client_us = per_call(client_time, client_calls);
    let bare_us = per_call(bare_time, bare_calls);
    let interleaved = interleaved_ratio(&rt, &setup, 21, 200);
    println!();
    println!("get_user through Client: {client_us:.1} µs/call ({client_calls} calls)");
    println!("same GET, bare reqwest:  {bare_us:.1} µs/call ({bare_calls} calls)");
    println!(
        "ratio client / bare: {:.3} (criterion runs), {interleaved:.3} (median of 21 interleaved rounds); target < 1.05",
        client_us / bare_us
    );
}
