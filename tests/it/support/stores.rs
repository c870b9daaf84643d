//! Session stores for the tests: one [`Backend`] per kind of store (the store suite in
//! `tests/it/stores/` runs against each), and Redis servers a test owns ([`RedisServer`]),
//! to kill, restart and pause.
//!
//! Services: Redis at `REDIS_URL` (default `redis://127.0.0.1:6379`), PostgreSQL at
//! `DATABASE_URL` (default [`DEFAULT_DATABASE_URL`]), `redis-server` on the `PATH`.

use std::future::Future;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use authkit_axum::stores::MemoryStore;
use authkit_axum::tower_sessions::SessionStore;
use authkit_axum::tower_sessions::session::{Id, Record};
use axum::http::StatusCode;

use super::machines::Machines;

/// Where the suite's Redis is, unless `REDIS_URL` says otherwise.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
/// Where the suite's PostgreSQL database is, unless `DATABASE_URL` says otherwise (`.ci/run`
/// creates this role and database).
pub const DEFAULT_DATABASE_URL: &str = "postgres://authkit:authkit@127.0.0.1:5432/authkit_test";

/// The longest a store operation, or a request, may take while the store is down: the default
/// command timeout (1 s) plus scheduling slack.
pub const FAST: Duration = Duration::from_millis(1500);
/// How long a store may take to be used again after its server is back.
pub const RECOVERY: Duration = Duration::from_secs(5);

pub async fn timed<T>(operation: impl Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    // Bounded, so that a hang fails the test instead of stalling it.
    let out = tokio::time::timeout(Duration::from_secs(10), operation)
        .await
        .expect("a store operation hung for 10 s");
    (out, started.elapsed())
}

pub fn record(value: &str) -> Record {
    Record {
        id: Id::default(),
        data: [("value".to_owned(), serde_json::json!(value))].into(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
    }
}

/// Every operation of `store` fails, each within [`FAST`].
pub async fn assert_every_operation_fails_fast(store: &impl SessionStore, existing: &Record) {
    let (loaded, took) = timed(store.load(&existing.id)).await;
    assert!(
        loaded.is_err() && took < FAST,
        "load: {loaded:?} in {took:?}"
    );
    let (saved, took) = timed(store.save(existing)).await;
    assert!(saved.is_err() && took < FAST, "save: {saved:?} in {took:?}");
    let mut new = record("new");
    let (created, took) = timed(store.create(&mut new)).await;
    assert!(
        created.is_err() && took < FAST,
        "create: {created:?} in {took:?}"
    );
    // Not `existing`: a command that timed out may still run once a paused server goes on.
    let (deleted, took) = timed(store.delete(&Id::default())).await;
    assert!(
        deleted.is_err() && took < FAST,
        "delete: {deleted:?} in {took:?}"
    );
}

/// Polls `id` until the store answers again (each try bounded); returns what it loaded.
pub async fn load_when_back(store: &impl SessionStore, id: &Id) -> Option<Record> {
    let deadline = Instant::now() + RECOVERY;
    loop {
        let (loaded, _) = timed(store.load(id)).await;
        match loaded {
            Ok(record) => return record,
            Err(err) if Instant::now() > deadline => {
                panic!("the store did not work again within {RECOVERY:?} of its return: {err}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// While the store is unreachable a signed-in user's requests are answered fast, and not as the
/// user (the session cannot be read); once it is back, every machine serves the user
/// again: nobody was signed out.
pub async fn assert_requests_fail_fast_then_recover<S: SessionStore + Clone>(
    machines: &Machines<S>,
    cookie: &str,
    back: impl FnOnce(),
) {
    for _ in 0..2 {
        for machine in machines.both() {
            let (response, took) = timed(machine.get("/account", cookie)).await;
            assert!(
                took < FAST,
                "/account took {took:?} while the store was down"
            );
            assert_ne!(response.status_code(), StatusCode::OK);
            let (login, took) = timed(async { machine.server.get("/auth/login").await }).await;
            assert!(
                took < FAST,
                "/auth/login took {took:?} ({})",
                login.status_code()
            );
        }
        tokio::time::sleep(Duration::from_millis(1200)).await;
    }
    back();
    let deadline = Instant::now() + RECOVERY;
    for machine in machines.both() {
        loop {
            let (response, _) = timed(machine.get("/account", cookie)).await;
            if response.status_code() == StatusCode::OK {
                assert_eq!(
                    response.json::<serde_json::Value>()["email"],
                    "ada@example.com"
                );
                break;
            }
            assert!(
                Instant::now() < deadline,
                "not signed in again within {RECOVERY:?}: {}",
                response.status_code()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The shared data behind the stores of several app instances ("machines").
pub trait Backend: Send + Sync {
    /// The store type the app instances use.
    type Store: SessionStore + Clone;
    /// A store for one more app instance: its own connections to the same data.
    fn instance(&self) -> impl Future<Output = Self::Store> + Send;
}

/// One `MemoryStore` shared by the app instances (as in one process).
pub struct Memory(MemoryStore);

impl Memory {
    pub async fn new() -> Memory {
        Memory(MemoryStore::default())
    }
}

impl Backend for Memory {
    type Store = MemoryStore;
    async fn instance(&self) -> MemoryStore {
        self.0.clone()
    }
}

/// The Redis at `REDIS_URL`; each instance opens its own connection.
#[cfg(feature = "redis")]
pub struct Redis {
    url: String,
}

#[cfg(feature = "redis")]
impl Redis {
    pub async fn new() -> Redis {
        let url = std::env::var("REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.to_owned());
        Redis { url }
    }

    /// The Redis at `url` (e.g. a [`RedisServer`] of the test's own).
    pub fn at(url: String) -> Redis {
        Redis { url }
    }
}

#[cfg(feature = "redis")]
impl Backend for Redis {
    type Store = authkit_axum::stores::redis::RedisStore;
    async fn instance(&self) -> Self::Store {
        let url = &self.url;
        authkit_axum::stores::redis::RedisStore::connect(url)
            .await
            .unwrap_or_else(|err| {
                panic!("needs Redis at REDIS_URL (default {DEFAULT_REDIS_URL}); {url}: {err:?}")
            })
    }
}

/// A schema of its own in the database at `DATABASE_URL`, dropped with the backend; each
/// instance opens its own pool.
#[cfg(feature = "postgres")]
pub struct Postgres {
    url: String,
    schema: String,
    /// Where the instances connect (the database's address, or a [`Link`](super::link::Link)'s).
    connect_to: Option<std::net::SocketAddr>,
    configure: fn(PostgresStoreBuilder) -> PostgresStoreBuilder,
}

#[cfg(feature = "postgres")]
use authkit_axum::stores::postgres::{PostgresStore, PostgresStoreBuilder};

#[cfg(feature = "postgres")]
impl Postgres {
    pub async fn new() -> Postgres {
        let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned());
        let schema = format!("authkit_test_{:016x}", rand::random::<u64>());
        Postgres {
            url,
            schema,
            connect_to: None,
            configure: |b| b,
        }
    }

    /// The database's address (to put a [`Link`](super::link::Link) in front of it).
    pub fn addr(&self) -> std::net::SocketAddr {
        let url = url::Url::parse(&self.url).unwrap();
        let host = url.host_str().unwrap_or("127.0.0.1");
        let port = url.port().unwrap_or(5432);
        std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
            .unwrap()
            .next()
            .unwrap()
    }

    /// Instances connect to `addr` instead (a link in front of the database).
    pub fn through(mut self, addr: std::net::SocketAddr) -> Postgres {
        self.connect_to = Some(addr);
        self
    }

    /// Instances are built with `configure` applied to their builder.
    pub fn configured(
        mut self,
        configure: fn(PostgresStoreBuilder) -> PostgresStoreBuilder,
    ) -> Postgres {
        self.configure = configure;
        self
    }

    /// The schema the instances use.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    fn instance_url(&self) -> String {
        let mut url = url::Url::parse(&self.url).unwrap();
        if let Some(addr) = self.connect_to {
            url.set_ip_host(addr.ip()).unwrap();
            url.set_port(Some(addr.port())).unwrap();
        }
        url.into()
    }
}

#[cfg(feature = "postgres")]
impl Backend for Postgres {
    type Store = PostgresStore;
    async fn instance(&self) -> Self::Store {
        let builder = PostgresStore::builder(&self.instance_url())
            .schema(&self.schema)
            .max_connections(4);
        (self.configure)(builder)
            .connect()
            .await
            .unwrap_or_else(|err| {
                panic!("needs PostgreSQL at DATABASE_URL (default {DEFAULT_DATABASE_URL}): {err:?}")
            })
    }
}

#[cfg(feature = "postgres")]
impl Drop for Postgres {
    fn drop(&mut self) {
        // Async work in a destructor: a runtime of its own, on a thread of its own.
        let (url, schema) = (self.url.clone(), self.schema.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                use authkit_axum::stores::postgres::sqlx;
                let drop_schema = async {
                    let pool = sqlx::PgPool::connect(&url).await?;
                    sqlx::query(&format!(r#"drop schema if exists "{schema}" cascade"#))
                        .execute(&pool)
                        .await?;
                    pool.close().await;
                    Ok::<_, sqlx::Error>(())
                };
                let _ = tokio::time::timeout(Duration::from_secs(5), drop_schema).await;
            });
        });
        let _ = dropped.join();
    }
}

/// A `redis-server` this test started on a free loopback port, killed when dropped.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    persistent: bool,
}

impl RedisServer {
    /// Starts `redis-server` on a free loopback port. `persistent`: with an append-only file
    /// synced at every write (in a directory of its own), so its data survives a kill.
    pub fn start(persistent: bool) -> RedisServer {
        let port = super::free_port();
        let dir = std::env::temp_dir().join(format!("authkit-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = RedisServer {
            child: None,
            port,
            dir,
            persistent,
        };
        server.spawn();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let port = self.port.to_string();
        let appendonly = if self.persistent { "yes" } else { "no" };
        let child = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", appendonly, "--appendfsync", "always"])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("needs redis-server on the PATH: {err}"));
        self.child = Some(child);
        self.wait_until_up();
    }

    fn wait_until_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.answers_ping() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "redis-server on port {} did not start within 10 s",
            self.port
        );
    }

    fn answers_ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let mut reply = [0; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    /// Kills the server (SIGKILL, as a crash) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            self.resume();
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again, on the same port and with the same data directory.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Stops the server (SIGSTOP): its connections stay open, and nothing answers.
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// Lets a paused server go on (SIGCONT).
    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, signal: libc::c_int) {
        if let Some(child) = &self.child {
            let pid = libc::pid_t::try_from(child.id()).unwrap();
            // SAFETY: `kill` has no memory effects; the pid is our own child, not yet waited for.
            unsafe { libc::kill(pid, signal) };
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
