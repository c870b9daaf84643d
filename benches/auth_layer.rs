//! What the [`AuthLayer`] costs per request, measured in process (no network: requests go
//! straight into the router with `tower::ServiceExt::oneshot`), on one thread:
//!
//! - (a) `bare`: the handler alone, no layers;
//! - (b) `session`: `SessionManagerLayer` (memory store) and a handler reading a session value;
//! - (c) `session_auth`: the same plus `AuthLayer`, on a session signed in through the real
//!   login → emulator → callback flow, the handler reading `AuthUser`;
//! - (d) `bearer`: the same app as (c), called with `Authorization: Bearer` (verdict cached);
//! - (b') `session_small`: as (b), on a session record holding only the app's value (no
//!   signed-in session), to show what storing the `AuthSession` costs the session layer itself.
//!
//! (b) and (c) share one store and one session record (the signed-in session plus the app's
//! value), so the session layer's work is the same and (c) − (b) is the `AuthLayer`'s.
//! Prints throughput ratios and CPU time per request at the end. Targets: (c) costs ≤ 5% more
//! than (b); (d) has ≥ 0.8× the throughput of (b).
//!
//! Run with `cargo bench --all-features --bench auth_layer`.

use std::hint::black_box;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use authkit_axum::emulator::Emulator;
use authkit_axum::tower_sessions::session::{Id, Record};
use authkit_axum::tower_sessions::{MemoryStore, Session, SessionStore};
use authkit_axum::user_management::{AuthenticateWithPassword, CreateUser};
use authkit_axum::{AuthKit, AuthLayer, AuthUser, SESSION_COOKIE};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use criterion::Criterion;
use tokio::runtime::Runtime;
use tower::ServiceExt;

const CALLBACK: &str = "http://localhost:3000/auth/callback";
const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "correct horse battery staple";
/// The app's own value in the session, read by the session-only handler.
const APP_KEY: &str = "app.email";

const KINDS: [&str; N] = ["bare", "session", "session_auth", "bearer", "session_small"];
const N: usize = 5;
const LABELS: [&str; N] = ["a", "b", "c", "d", "b'"];

async fn constant() -> &'static str {
    EMAIL
}

async fn session_email(session: Session) -> String {
    session
        .get::<String>(APP_KEY)
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

async fn user_email(user: AuthUser) -> String {
    user.user.email.clone()
}

struct Setup {
    _emulator: Emulator,
    bare: Router,
    session: Router,
    auth: Router,
    cookie: String,
    small_cookie: String,
    bearer: String,
}

fn set_cookie(response: &axum::response::Response) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(SESSION_COOKIE))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

fn request(path: &str, header: Option<(header::HeaderName, &str)>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    request.body(Body::empty()).expect("a valid request")
}

impl Setup {
    async fn new() -> Setup {
        // Tokens outlive the run, so neither refresh nor bearer re-verification happens.
        let emulator = Emulator::builder()
            .access_token_ttl(Duration::from_secs(3600))
            .start()
            .await
            .expect("the emulator starts");
        let authkit = AuthKit::builder(emulator.client(), CALLBACK)
            .build()
            .expect("a valid configuration");
        let um = emulator.client().user_management();
        um.create_user(
            CreateUser::new(EMAIL)
                .password(PASSWORD)
                .email_verified(true),
        )
        .await
        .expect("a user is seeded");

        let store = MemoryStore::default();
        let bare = Router::new().route("/", get(constant));
        let session = Router::new()
            .route("/", get(session_email))
            .layer(authkit.session_layer(store.clone()));
        let auth = Router::new()
            .route("/", get(user_email))
            .merge(authkit.router())
            .layer(AuthLayer::new(authkit.clone()))
            .layer(authkit.session_layer(store.clone()));

        // Sign in once through login → emulator → callback.
        let login = auth
            .clone()
            .oneshot(request("/auth/login", None))
            .await
            .expect("login answers");
        assert_eq!(login.status(), StatusCode::SEE_OTHER);
        let pending = set_cookie(&login).expect("login sets the session cookie");
        let authorize = login.headers()[header::LOCATION]
            .to_str()
            .expect("a Location")
            .to_owned();
        let callback = emulator
            .approve_sign_in(&authorize, EMAIL)
            .expect("the emulator approves the sign-in");
        let path = format!(
            "{}?{}",
            callback.path(),
            callback.query().unwrap_or_default()
        );
        let done = auth
            .clone()
            .oneshot(request(&path, Some((header::COOKIE, &pending))))
            .await
            .expect("the callback answers");
        assert_eq!(
            done.status(),
            StatusCode::SEE_OTHER,
            "the sign-in completes"
        );
        let cookie = set_cookie(&done).expect("the callback cycles the session id");

        // The app's own value, next to the signed-in session in the same record.
        let id = cookie
            .split_once('=')
            .and_then(|(_, id)| Id::from_str(id).ok())
            .expect("a session id");
        let mut record = store
            .load(&id)
            .await
            .expect("the store answers")
            .expect("the signed-in record");
        record.data.insert(APP_KEY.to_owned(), EMAIL.into());
        store.save(&record).await.expect("the record is saved");

        // A record with only the app's value.
        let mut small = Record {
            id: Id::default(),
            data: [(APP_KEY.to_owned(), EMAIL.into())].into_iter().collect(),
            expiry_date: record.expiry_date,
        };
        store
            .create(&mut small)
            .await
            .expect("the record is created");
        let small_cookie = format!("{SESSION_COOKIE}={}", small.id);

        // A bearer token of the same user.
        let token = um
            .authenticate_with_password(AuthenticateWithPassword::new(EMAIL, PASSWORD))
            .await
            .expect("password sign-in")
            .access_token;
        let bearer = format!("Bearer {}", token.expose_secret());

        let setup = Setup {
            _emulator: emulator,
            bare,
            session,
            auth,
            cookie,
            small_cookie,
            bearer,
        };
        for (kind, name) in KINDS.iter().enumerate() {
            assert_eq!(setup.call(kind).await, EMAIL, "{name} answers");
        }
        setup
    }

    async fn call(&self, kind: usize) -> String {
        let (router, header) = match kind {
            0 => (&self.bare, None),
            1 => (&self.session, Some((header::COOKIE, self.cookie.as_str()))),
            2 => (&self.auth, Some((header::COOKIE, self.cookie.as_str()))),
            4 => (
                &self.session,
                Some((header::COOKIE, self.small_cookie.as_str())),
            ),
            _ => (
                &self.auth,
                Some((header::AUTHORIZATION, self.bearer.as_str())),
            ),
        };
        let response = router
            .clone()
            .oneshot(request("/", header))
            .await
            .expect("the router answers");
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .expect("a body");
        String::from_utf8_lossy(&body).into_owned()
    }

    async fn run(&self, kind: usize, n: u64) {
        for _ in 0..n {
            black_box(self.call(kind).await);
        }
    }
}

/// CPU time (user + system) of the calling thread.
fn thread_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct we pass, which is zero-initialised.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_THREAD, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// (CPU time, calls) per kind over the whole run.
static CPU: Mutex<[(Duration, u64); N]> = Mutex::new([(Duration::ZERO, 0); N]);

fn record_cpu(kind: usize, cpu: Duration, calls: u64) {
    let mut cpu_totals = CPU.lock().unwrap_or_else(|p| p.into_inner());
    cpu_totals[kind].0 += cpu;
    cpu_totals[kind].1 += calls;
}

fn bench(c: &mut Criterion, rt: &Runtime, setup: &Setup) {
    let mut group = c.benchmark_group("auth_layer");
    for (kind, name) in KINDS.iter().enumerate() {
        group.bench_function(*name, |b| {
            b.iter_custom(|iters| {
                let cpu = thread_cpu();
                let started = std::time::Instant::now();
                rt.block_on(setup.run(kind, iters));
                let elapsed = started.elapsed();
                record_cpu(kind, thread_cpu() - cpu, iters);
                elapsed
            })
        });
    }
    group.finish();
}

/// Runs short bursts of every kind in turn, rotating the order each round, so that machine
/// load hits all alike. Returns the CPU time per request of each kind over all rounds (the
/// thread's CPU clock ticks too coarsely for one burst) and the median per-round ratios
/// (c)/(b), (d)/(b), (b)/(a) of the bursts' times (one thread, no I/O: time is CPU time).
fn interleaved(rt: &Runtime, setup: &Setup, rounds: usize, calls: u64) -> ([f64; N], [f64; 3]) {
    let mut cpu_total = [Duration::ZERO; N];
    let mut ratios: [Vec<f64>; 3] = Default::default();
    for round in 0..rounds {
        let mut cost = [0.0; N];
        for step in 0..KINDS.len() {
            let kind = (round + step) % KINDS.len();
            let cpu = thread_cpu();
            let started = std::time::Instant::now();
            rt.block_on(setup.run(kind, calls));
            cost[kind] = started.elapsed().as_secs_f64();
            cpu_total[kind] += thread_cpu() - cpu;
        }
        ratios[0].push(cost[2] / cost[1]);
        ratios[1].push(cost[3] / cost[1]);
        ratios[2].push(cost[1] / cost[0]);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (
        cpu_total.map(|t| t.as_secs_f64() / (rounds as u64 * calls) as f64),
        ratios.each_mut().map(median),
    )
}

fn main() {
    // One thread: the CPU time of this thread is the whole cost of a request.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let setup = rt.block_on(Setup::new());
    // `AUTH_LAYER_PROFILE=<kind> valgrind --tool=callgrind <bench binary>`: only that kind,
    // for a profile of one request path.
    if let Ok(kind) = std::env::var("AUTH_LAYER_PROFILE") {
        let index = KINDS
            .iter()
            .position(|k| *k == kind)
            .unwrap_or_else(|| panic!("AUTH_LAYER_PROFILE must be one of {KINDS:?}"));
        rt.block_on(setup.run(index, 20_000));
        return;
    }
    let mut criterion = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    bench(&mut criterion, &rt, &setup);
    criterion.final_summary();

    let (cpu, ratios) = interleaved(&rt, &setup, 41, 2_000);
    println!("\nCPU time per request (41 interleaved rounds of 2000 requests of each kind):");
    for (kind, name) in KINDS.iter().enumerate() {
        println!(
            "  ({:<2}) {name:<13} {:>7.2} µs  ({:>8.0} requests/s per core)",
            LABELS[kind],
            cpu[kind] * 1e6,
            1.0 / cpu[kind]
        );
    }
    let totals = *CPU.lock().unwrap_or_else(|p| p.into_inner());
    println!("CPU time per request over criterion's samples:");
    for (kind, name) in KINDS.iter().enumerate() {
        let (time, calls) = totals[kind];
        if calls > 0 {
            println!(
                "  {name:<13} {:>7.2} µs",
                time.as_secs_f64() * 1e6 / calls as f64
            );
        }
    }
    let [auth_over_session, bearer_over_session, session_over_bare] = ratios;
    println!("Throughput ratios (inverse of the CPU-time ratios, medians per round):");
    println!(
        "  (c)/(b) session+auth vs session only: {:.3}  (AuthLayer adds {:+.1}% CPU; target ≤ +5%)",
        1.0 / auth_over_session,
        (auth_over_session - 1.0) * 100.0
    );
    println!(
        "  (d)/(b) bearer vs session only:       {:.3}  (target ≥ 0.8)",
        1.0 / bearer_over_session
    );
    println!(
        "  (b)/(a) session only vs no layers:    {:.3}",
        1.0 / session_over_bare
    );
}
