//! What the [`AuthLayer`] costs per request against a session-only app, in one run with its
//! own baseline, in two settings.
//!
//! The apps (each served with `with_state(())`, as `axum::serve` does):
//!
//! - (a) `bare`: the handler alone, no layers;
//! - (b) `session`: `SessionManagerLayer` (memory store) and a handler reading a session value;
//! - (c) `session_auth`: the same plus `AuthLayer` (both added as one layer, `authkit.layer`),
//!   on a session signed in through the real login → emulator → callback flow, the handler
//!   reading `AuthUser`;
//! - (d) `bearer`: the same app as (c), called with `Authorization: Bearer` (verdict cached);
//! - (c') `two_layers`: as (c), with the two layers added by two `.layer()` calls;
//! - (b') `session_small` (in process only): as (b), on a session record holding only the
//!   app's value (no signed-in session), to show what storing the `AuthSession` costs the
//!   session layer itself.
//!
//! (b) and (c) share one store and one session record (the signed-in session plus the app's
//! value), so the session layer's work is the same and (c) − (b) is the `AuthLayer`'s.
//!
//! **Served** (the target's setting): the apps served by `axum::serve` over HTTP/1.1 on
//! loopback from one server thread, loaded from another thread over keep-alive connections,
//! first one request at a time (one connection per app: each request wakes the server, as
//! under ordinary traffic), then saturated (four connections per app). The server thread's
//! CPU clock is the whole server-side cost of a request: system calls, HTTP, routing, layers,
//! handler, response.
//!
//! **In process**: requests go straight into the router with `tower::ServiceExt::oneshot` on
//! one thread, no HTTP, which isolates the layers' own work (criterion's samples, then
//! interleaved rounds).
//!
//! Prints CPU time per request and ratios (medians of interleaved rounds, each round running
//! every kind in a rotated order). Targets: (c) costs ≤ 5% more server CPU than (b); (d) has
//! ≥ 0.8× the throughput of (b).
//!
//! Run with `cargo bench -p authkit-axum-benches --bench auth_layer`; `AUTH_LAYER_ONLY=served` (or
//! `in_process`) runs one half.

use std::hint::black_box;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use authkit_axum::tower_sessions::session::{Id, Record};
use authkit_axum::tower_sessions::{MemoryStore, Session, SessionStore};
use authkit_axum::user_management::{AuthenticateWithPassword, CreateUser};
use authkit_axum::web::{AuthLayer, SESSION_COOKIE};
use authkit_axum::{AuthKit, AuthUser};
use authkit_emulator::Emulator;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use axum::serve::ListenerExt;
use criterion::Criterion;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::runtime::Runtime;
use tower::ServiceExt;

const CALLBACK: &str = "http://localhost:3000/auth/callback";
const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "correct horse battery staple";
/// The app's own value in the session, read by the session-only handler.
const APP_KEY: &str = "app.email";

const KINDS: [&str; N] = [
    "bare",
    "session",
    "session_auth",
    "bearer",
    "two_layers",
    "session_small",
];
const N: usize = 6;
const LABELS: [&str; N] = ["a", "b", "c", "d", "c'", "b'"];
/// The ratios reported, as (kind, baseline): (c)/(b), (d)/(b), (c')/(b), (b)/(a).
const PAIRS: [(usize, usize); 4] = [(2, 1), (3, 1), (4, 1), (1, 0)];

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
    two_layers: Router,
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
            .redirect_uri(CALLBACK)
            .start()
            .await
            .expect("the emulator starts");
        let authkit = AuthKit::builder(authkit_axum::testing::emulator_client(&emulator), CALLBACK)
            .build()
            .expect("a valid configuration");
        let um = authkit_axum::testing::emulator_client(&emulator).user_management();
        um.create_user(
            CreateUser::new(EMAIL)
                .password(PASSWORD)
                .email_verified(true),
        )
        .await
        .expect("a user is seeded");

        // `with_state(())` turns handlers into routes once, as `axum::serve` does for a served
        // app; without it `oneshot` would apply every layer to the handler again per request.
        let store = MemoryStore::default();
        let bare = Router::new().route("/", get(constant)).with_state(());
        let session = Router::new()
            .route("/", get(session_email))
            .layer(authkit.session_layer(store.clone()))
            .with_state(());
        let auth = Router::new()
            .route("/", get(user_email))
            .merge(authkit.router())
            .layer(authkit.layer(store.clone()))
            .with_state(());
        let two_layers = Router::new()
            .route("/", get(user_email))
            .merge(authkit.router())
            .layer(AuthLayer::new(authkit.clone()))
            .layer(authkit.session_layer(store.clone()))
            .with_state(());

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
            two_layers,
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
            3 => (
                &self.auth,
                Some((header::AUTHORIZATION, self.bearer.as_str())),
            ),
            4 => (
                &self.two_layers,
                Some((header::COOKIE, self.cookie.as_str())),
            ),
            _ => (
                &self.session,
                Some((header::COOKIE, self.small_cookie.as_str())),
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
    cpu_clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// The time of a CPU clock (of this thread, or of another thread of the process).
fn cpu_clock(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the struct we pass.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
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
/// load hits all alike. Returns the CPU time per request of each kind over all rounds and the
/// median per-round ratios of [`PAIRS`] by the bursts' times (one thread, no I/O: time is CPU
/// time).
fn interleaved(rt: &Runtime, setup: &Setup, rounds: usize, calls: u64) -> ([f64; N], [f64; 4]) {
    let mut cpu_total = [Duration::ZERO; N];
    let mut ratios: [Vec<f64>; 4] = Default::default();
    for round in 0..rounds {
        let mut cost = [0.0; N];
        for step in 0..N {
            let kind = (round + step) % N;
            let cpu = thread_cpu();
            let started = Instant::now();
            rt.block_on(setup.run(kind, calls));
            cost[kind] = started.elapsed().as_secs_f64();
            cpu_total[kind] += thread_cpu() - cpu;
        }
        for (ratio, (x, y)) in ratios.iter_mut().zip(PAIRS) {
            ratio.push(cost[x] / cost[y]);
        }
    }
    (
        cpu_total.map(|t| t.as_secs_f64() / (rounds as u64 * calls) as f64),
        ratios.each_mut().map(|v| median(v)),
    )
}

/// The kinds served over HTTP: (a), (b), (c), (d), (c').
const SERVED: usize = 5;

/// The apps of (a), (b), (c)/(d) and (c') served over HTTP/1.1 on loopback by one thread of
/// their own (a current-thread runtime), so that thread's CPU clock counts every bit of
/// server-side work: system calls, HTTP parsing, routing, layers, handler, response.
struct Served {
    /// Where the apps listen: bare, session, auth (one layer), auth (two layers).
    addrs: Vec<SocketAddr>,
    /// The server thread's CPU clock.
    clock: libc::clockid_t,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Served {
    fn start(setup: &Setup) -> Served {
        let routers = [
            setup.bare.clone(),
            setup.session.clone(),
            setup.auth.clone(),
            setup.two_layers.clone(),
        ];
        let (ready, started) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            pin_to_cpu(0);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async move {
                let mut addrs = Vec::new();
                for router in routers {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                        .await
                        .expect("a loopback port");
                    addrs.push(listener.local_addr().expect("a local address"));
                    let listener = listener.tap_io(|tcp| {
                        let _ = tcp.set_nodelay(true);
                    });
                    tokio::spawn(async move { axum::serve(listener, router).await });
                }
                let mut clock: libc::clockid_t = 0;
                // SAFETY: writes the CPU clock id of this (live) thread into `clock`.
                let rc = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) };
                assert_eq!(rc, 0, "pthread_getcpuclockid");
                ready.send((addrs, clock)).expect("the bench waits");
                let _ = stopped.await;
            });
        });
        let (addrs, clock) = started.recv().expect("the server thread starts");
        Served {
            addrs,
            clock,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `n` connections for each served kind: (a), (b), (c), (d), (c').
    async fn clients(&self, setup: &Setup, n: usize) -> [Clients; SERVED] {
        let cookie = || Some((header::COOKIE, setup.cookie.clone()));
        let bearer = Some((header::AUTHORIZATION, setup.bearer.clone()));
        [
            Clients::connect(self.addrs[0], None, n).await,
            Clients::connect(self.addrs[1], cookie(), n).await,
            Clients::connect(self.addrs[2], cookie(), n).await,
            Clients::connect(self.addrs[2], bearer, n).await,
            Clients::connect(self.addrs[3], cookie(), n).await,
        ]
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Keep-alive connections to one served app, and the header its requests carry.
struct Clients {
    conns: Vec<SendRequest<Body>>,
    header: Option<(header::HeaderName, String)>,
}

/// How many keep-alive connections each served app gets under saturation (requests on them
/// run concurrently, so the server thread never waits).
const SATURATING: usize = 4;

impl Clients {
    async fn connect(
        addr: SocketAddr,
        header: Option<(header::HeaderName, String)>,
        n: usize,
    ) -> Clients {
        let mut conns = Vec::new();
        for _ in 0..n {
            let stream = tokio::net::TcpStream::connect(addr)
                .await
                .expect("the app accepts");
            stream.set_nodelay(true).expect("TCP_NODELAY");
            let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("an HTTP/1.1 connection");
            tokio::spawn(conn);
            conns.push(send);
        }
        Clients { conns, header }
    }

    /// `n` requests, spread over the connections.
    async fn run(&mut self, n: u64) {
        let per_conn = n / self.conns.len() as u64;
        let header = self
            .header
            .as_ref()
            .map(|(name, value)| (name, value.as_str()));
        let all = self.conns.iter_mut().map(|conn| async move {
            for _ in 0..per_conn {
                black_box(http_get(conn, header).await);
            }
        });
        futures_util::future::join_all(all).await;
    }
}

async fn http_get(
    conn: &mut SendRequest<Body>,
    header: Option<(&header::HeaderName, &str)>,
) -> usize {
    conn.ready().await.expect("the connection stays open");
    let mut request = Request::get("/").header(header::HOST, "localhost");
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    let request = request.body(Body::empty()).expect("a valid request");
    let response = conn.send_request(request).await.expect("the app answers");
    assert_eq!(response.status(), StatusCode::OK);
    let body = axum::body::to_bytes(Body::new(response.into_body()), 1024)
        .await
        .expect("a body");
    assert_eq!(&body[..], EMAIL.as_bytes());
    body.len()
}

/// Per-request server CPU time and throughput of each served kind, over interleaved rounds.
struct ServedResult {
    cpu: [f64; SERVED],
    throughput: [f64; SERVED],
    /// Quartiles (25%, median, 75%) per round of the server-CPU ratios of [`PAIRS`].
    cpu_ratios: [[f64; 3]; 4],
    /// Medians per round of the throughput ratios of [`PAIRS`].
    throughput_ratios: [f64; 4],
}

fn served(
    rt: &Runtime,
    server: &Served,
    setup: &Setup,
    connections: usize,
    rounds: usize,
    calls: u64,
) -> ServedResult {
    let mut clients = rt.block_on(server.clients(setup, connections));
    // Warm up connections, caches and the allocator.
    for c in &mut clients {
        rt.block_on(c.run(calls));
    }
    let mut cpu_total = [Duration::ZERO; SERVED];
    let mut wall_total = [Duration::ZERO; SERVED];
    let mut cpu_ratios: [Vec<f64>; 4] = Default::default();
    let mut throughput_ratios: [Vec<f64>; 4] = Default::default();
    for round in 0..rounds {
        let mut cpu = [0.0; SERVED];
        let mut wall = [0.0; SERVED];
        for step in 0..SERVED {
            let kind = (round + step) % SERVED;
            let before = cpu_clock(server.clock);
            let started = Instant::now();
            rt.block_on(clients[kind].run(calls));
            let elapsed = started.elapsed();
            let used = cpu_clock(server.clock) - before;
            cpu_total[kind] += used;
            wall_total[kind] += elapsed;
            cpu[kind] = used.as_secs_f64();
            wall[kind] = elapsed.as_secs_f64();
        }
        for (i, (x, y)) in PAIRS.into_iter().enumerate() {
            cpu_ratios[i].push(cpu[x] / cpu[y]);
            throughput_ratios[i].push(wall[y] / wall[x]);
        }
    }
    let n = (rounds as u64 * calls) as f64;
    ServedResult {
        cpu: cpu_total.map(|t| t.as_secs_f64() / n),
        throughput: wall_total.map(|t| n / t.as_secs_f64()),
        cpu_ratios: cpu_ratios.each_mut().map(|v| quartiles(v)),
        throughput_ratios: throughput_ratios.each_mut().map(|v| median(v)),
    }
}

/// Keeps the calling thread on one CPU (when the machine has it), so the server and the
/// client do not trade places between rounds.
fn pin_to_cpu(cpu: usize) {
    // SAFETY: `set` is a zeroed cpu_set_t that CPU_SET fills in; sched_setaffinity only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        let _ = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn median(v: &mut [f64]) -> f64 {
    quartiles(v)[1]
}

/// The 25th, 50th and 75th percentiles.
fn quartiles(v: &mut [f64]) -> [f64; 3] {
    v.sort_by(f64::total_cmp);
    [v[v.len() / 4], v[v.len() / 2], v[v.len() * 3 / 4]]
}

/// What each ratio of [`PAIRS`] compares, and its target.
const PAIR_NAMES: [(&str, &str); 4] = [
    (
        "(c)/(b)  session+auth vs session only ",
        "target: AuthLayer adds ≤ 5%",
    ),
    (
        "(d)/(b)  bearer vs session only       ",
        "target: throughput ≥ 0.8",
    ),
    ("(c')/(b) two .layer() calls vs session", ""),
    ("(b)/(a)  session only vs no layers    ", ""),
];

fn main() {
    // One thread: the CPU time of this thread is the whole cost of a request.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let setup = rt.block_on(Setup::new());
    // `AUTH_LAYER_PROFILE=<kind> valgrind --tool=callgrind <bench binary>`: only that kind,
    // for a profile of one request path; `AUTH_LAYER_PROFILE=served:<kind>` the same over HTTP
    // (add `--separate-threads=yes`: the server is the second thread).
    if let Ok(kind) = std::env::var("AUTH_LAYER_PROFILE") {
        let (served, kind) = match kind.strip_prefix("served:") {
            Some(kind) => (true, kind.to_owned()),
            None => (false, kind),
        };
        let index = KINDS[..if served { SERVED } else { N }]
            .iter()
            .position(|k| *k == kind)
            .unwrap_or_else(|| panic!("AUTH_LAYER_PROFILE must be one of {KINDS:?}"));
        if served {
            let server = Served::start(&setup);
            let mut clients = rt.block_on(server.clients(&setup, SATURATING));
            rt.block_on(clients[index].run(20_000));
        } else {
            rt.block_on(setup.run(index, 20_000));
        }
        return;
    }
    // `AUTH_LAYER_ONLY=served` or `=in_process`: one half of the run.
    let only = std::env::var("AUTH_LAYER_ONLY").unwrap_or_default();
    if only != "served" {
        in_process(&rt, &setup);
    }
    if only != "in_process" {
        print_served(&rt, &setup);
    }
}

/// The in-process half: criterion's samples, then interleaved rounds.
fn in_process(rt: &Runtime, setup: &Setup) {
    let mut criterion = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    bench(&mut criterion, rt, setup);
    criterion.final_summary();

    let (rounds, calls) = (41, 2_000);
    let (cpu, ratios) = interleaved(rt, setup, rounds, calls);
    println!(
        "\nIn process (no HTTP; {rounds} interleaved rounds of {calls} requests of each kind):"
    );
    for (kind, name) in KINDS.iter().enumerate() {
        println!(
            "  ({:<2}) {name:<13} {:>7.2} µs CPU per request  ({:>8.0} requests/s per core)",
            LABELS[kind],
            cpu[kind] * 1e6,
            1.0 / cpu[kind]
        );
    }
    println!("  ratios of time per request (medians per round):");
    for ((name, _), ratio) in PAIR_NAMES.iter().zip(ratios) {
        println!("  {name} ×{ratio:.3}  ({:+.1}% CPU)", (ratio - 1.0) * 100.0);
    }
}

/// The served half: interleaved rounds over HTTP, one request at a time, then saturated.
fn print_served(rt: &Runtime, setup: &Setup) {
    let server = Served::start(setup);
    // The client on the other core (on a machine with two or more).
    pin_to_cpu(1);
    for (what, connections, rounds, calls) in [
        ("one request at a time: one connection per app", 1, 101, 200),
        (
            "saturated: four concurrent connections per app",
            SATURATING,
            101,
            600,
        ),
    ] {
        let result = served(rt, &server, setup, connections, rounds, calls);
        println!(
            "\nServed over HTTP/1.1 on loopback, {what} (one server thread; {rounds} \
             interleaved rounds of {calls} requests of each kind):"
        );
        for kind in 0..SERVED {
            println!(
                "  ({:<2}) {:<13} {:>7.2} µs server CPU per request  ({:>7.0} requests/s)",
                LABELS[kind],
                KINDS[kind],
                result.cpu[kind] * 1e6,
                result.throughput[kind]
            );
        }
        println!("  ratios (medians per round; server CPU's middle half of rounds in brackets):");
        for (((name, target), [q1, cpu, q3]), throughput) in PAIR_NAMES
            .iter()
            .zip(result.cpu_ratios)
            .zip(result.throughput_ratios)
        {
            println!(
                "  {name} server CPU ×{cpu:.3} ({:+.1}%) [×{q1:.2}–×{q3:.2}], throughput {throughput:.3}  {target}",
                (cpu - 1.0) * 100.0
            );
        }
    }
}
