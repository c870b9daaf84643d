//! Sessions in Redis (feature `redis`), set up to survive Redis going away.
//!
//! [`RedisStore::connect`] opens a small pool of connections to one Redis and wraps it in
//! [`tower_sessions_redis_store`]'s store, with the settings a session store needs:
//!
//! - **Reconnects forever**, by itself, with a bounded exponential backoff (100 ms doubling to
//!   2 s, with jitter): a Redis restart needs no app restart.
//! - **Fails fast.** While no connection is up, each store operation fails at once instead of
//!   queueing until Redis is back; an operation Redis does not answer (a paused or overloaded
//!   server) fails after the command timeout (1 s). A connection that leaves a command
//!   unanswered for twice that time is dropped and reopened (a half-open TCP connection never
//!   reports that the server went away).
//! - **Bounded connection attempts**: opening a connection (TCP and handshake) gives up after
//!   the connection timeout (1 s) and tries again after the backoff.
//!
//! A failed operation is a `session_store::Error::Backend`, which
//! [`AuthLayer`](crate::web::AuthLayer) answers with a fast 503; the session stays in Redis and the
//! next request after Redis is back finds it.
//!
//! ```no_run
//! use authkit_axum::stores::redis::RedisStore;
//! # async fn f(authkit: authkit_axum::AuthKit) -> Result<(), Box<dyn std::error::Error>> {
//! let store = RedisStore::connect("redis://127.0.0.1:6379").await?;
//! let app: axum::Router = axum::Router::new()
//!     .merge(authkit.router())
//!     .layer(authkit.layer(store));
//! # Ok(()) }
//! ```
//!
//! Tune it with [`RedisStore::builder`]; bring a fred [`Config`] for
//! TLS, Sentinel or a cluster with [`RedisStoreBuilder::from_config`].

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use fred::prelude::{
    ClientLike, Config, ConnectionConfig, Options, PerformanceConfig, Pool, ReconnectPolicy,
    TcpConfig,
};
use fred::types::config::UnresponsiveConfig;
use tower_sessions::session::{Id, Record};
use tower_sessions::{SessionStore, session_store};

/// The fred Redis client, re-exported for [`RedisStoreBuilder::from_config`] and
/// [`RedisStore::pool`].
pub use tower_sessions_redis_store::fred;

/// How long opening a connection may take, by default.
pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(1);
/// How long one store operation may take, by default.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(1);
/// The shortest and longest wait between reconnection attempts, by default.
pub const DEFAULT_RECONNECT_DELAY: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(2));

/// A tower-sessions store on Redis that reconnects by itself and fails fast while Redis is
/// unreachable (see the [module docs](self)). Cheap to clone: clones share the connections.
#[derive(Clone)]
pub struct RedisStore {
    store: tower_sessions_redis_store::RedisStore<fred::clients::WithOptions<Pool>>,
    /// The same connections with the same options, for the commands done here.
    client: fred::clients::WithOptions<Pool>,
    pool: Pool,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The pool's own Debug shows its size, never the configuration (which may hold a
        // password).
        f.debug_struct("RedisStore")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to the Redis at `url` (`redis://[[user]:password@]host[:port][/db]`, or
    /// `rediss://` with fred's TLS features) with the default settings, and waits for the
    /// first connection: an unreachable Redis is an error here, at start-up. Use
    /// [`RedisStoreBuilder::connect_lazy`] to start without Redis.
    pub async fn connect(url: &str) -> Result<RedisStore, RedisError> {
        Self::builder(url).connect().await
    }

    /// A builder for a store on the Redis at `url`, to change the defaults.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use authkit_axum::stores::redis::RedisStore;
    /// # async fn f() -> Result<(), authkit_axum::stores::redis::RedisError> {
    /// let store = RedisStore::builder("redis://10.0.0.5:6379/2")
    ///     .pool_size(4)
    ///     .command_timeout(Duration::from_millis(500))
    ///     .connect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn builder(url: &str) -> RedisStoreBuilder {
        RedisStoreBuilder::new(Config::from_url(url).map_err(RedisError::Config))
    }

    /// The connection pool, to run other commands on the same connections (they get the
    /// command timeout too, but queue while disconnected unless sent with fred's
    /// `Options { fail_fast: true, .. }`).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Stops the connection tasks of a store that never connected (bounded: Redis may not
    /// answer the `QUIT`).
    async fn stop(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.pool.quit()).await;
    }
}

/// Settings for a [`RedisStore`]; see [`RedisStore::builder`].
#[must_use]
pub struct RedisStoreBuilder {
    config: Result<Config, RedisError>,
    pool_size: usize,
    connection_timeout: Duration,
    command_timeout: Duration,
    reconnect_delay: (Duration, Duration),
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("pool_size", &self.pool_size)
            .field("connection_timeout", &self.connection_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("reconnect_delay", &self.reconnect_delay)
            .finish_non_exhaustive()
    }
}

impl RedisStoreBuilder {
    fn new(config: Result<Config, RedisError>) -> Self {
        RedisStoreBuilder {
            config,
            pool_size: 1,
            connection_timeout: DEFAULT_CONNECTION_TIMEOUT,
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            reconnect_delay: DEFAULT_RECONNECT_DELAY,
        }
    }

    /// A builder from a fred [`Config`] (server, credentials, database, TLS, Sentinel or
    /// cluster). Its `fail_fast` flag is set by [`connect`](Self::connect) and
    /// [`connect_lazy`](Self::connect_lazy).
    pub fn from_config(config: Config) -> Self {
        Self::new(Ok(config))
    }

    /// How many connections to open (default 1). Each connection pipelines the commands of
    /// concurrent requests; a few more spread the work of a busy app over more of Redis'
    /// I/O threads and keep serving while one of them reconnects.
    pub fn pool_size(mut self, connections: usize) -> Self {
        self.pool_size = connections;
        self
    }

    /// How long opening one connection (TCP, TLS and the handshake) may take before the
    /// attempt fails and is retried after the backoff. Default 1 s.
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// How long one store operation may wait for Redis, queueing included, before it fails.
    /// Default 1 s. A connection that leaves a command unanswered for twice this time is
    /// closed and reopened.
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// The shortest and the longest wait between reconnection attempts: the wait starts at
    /// `min` and doubles up to `max` (default 100 ms to 2 s). Reconnection never gives up.
    pub fn reconnect_delay(mut self, min: Duration, max: Duration) -> Self {
        self.reconnect_delay = (min, max.max(min));
        self
    }

    /// Opens the connections and waits for them: fails when Redis cannot be reached within
    /// the connection timeout. After that first connection, losing Redis is never an error
    /// of the store as a whole: it reconnects by itself.
    pub async fn connect(self) -> Result<RedisStore, RedisError> {
        let connection_timeout = self.connection_timeout;
        let command_timeout = self.command_timeout;
        let store = self.build(true)?;
        // fred bounds each step by the connection timeout already; this bounds the whole.
        let limit = connection_timeout + command_timeout;
        match tokio::time::timeout(limit, store.pool.init()).await {
            Ok(Ok(_connection_task)) => Ok(store),
            Ok(Err(err)) => {
                store.stop(command_timeout).await;
                Err(RedisError::Connect(err))
            }
            Err(_) => {
                store.stop(command_timeout).await;
                Err(RedisError::Timeout(limit))
            }
        }
    }

    /// Returns the store at once and connects in the background, retrying with the backoff
    /// until Redis answers: the app starts while Redis is down, and its store operations fail
    /// fast until Redis is up. Must be called inside a Tokio runtime.
    pub fn connect_lazy(self) -> Result<RedisStore, RedisError> {
        let store = self.build(false)?;
        // The task that drives the connections runs until the store's clients are dropped
        // with the runtime; its handle is not needed.
        drop(store.pool.connect());
        Ok(store)
    }

    fn build(self, fail_fast_at_start: bool) -> Result<RedisStore, RedisError> {
        let mut config = self.config?;
        // `true`: the first connection's failure is returned to `connect`; `false`: the
        // reconnect policy retries it too.
        config.fail_fast = fail_fast_at_start;
        let perf = PerformanceConfig {
            default_command_timeout: self.command_timeout,
            ..PerformanceConfig::default()
        };
        let connection = ConnectionConfig {
            connection_timeout: self.connection_timeout,
            internal_command_timeout: self.connection_timeout,
            // A command in flight when its connection drops is not retried: it fails, and the
            // request that sent it answers 503 rather than waiting for a reconnection.
            max_command_attempts: 1,
            unresponsive: UnresponsiveConfig {
                max_timeout: Some(self.command_timeout * 2),
                interval: (self.command_timeout / 2).max(Duration::from_millis(50)),
            },
            tcp: TcpConfig {
                nodelay: Some(true),
                ..TcpConfig::default()
            },
            ..ConnectionConfig::default()
        };
        let (min, max) = self.reconnect_delay;
        let policy = ReconnectPolicy::new_exponential(0, millis(min), millis(max), 2);
        let pool = Pool::new(
            config,
            Some(perf),
            Some(connection),
            Some(policy),
            self.pool_size,
        )
        .map_err(RedisError::Config)?;
        let options = Options {
            // Fail at once when no connection is up, instead of queueing until one is.
            fail_fast: true,
            timeout: Some(self.command_timeout),
            max_attempts: Some(1),
            ..Options::default()
        };
        let client = pool.with_options(&options);
        let store = tower_sessions_redis_store::RedisStore::new(client.clone());
        Ok(RedisStore {
            store,
            client,
            pool,
        })
    }
}

fn millis(duration: Duration) -> u32 {
    u32::try_from(duration.as_millis()).unwrap_or(u32::MAX)
}

impl RedisStore {
    /// `SET id record EXAT expiry NX|XX`, encoded as tower-sessions-redis-store encodes records
    /// (MessagePack); whether Redis set it (`OK`) or not (nil: the id taken for `NX`, gone for
    /// `XX`).
    async fn set(
        &self,
        record: &Record,
        condition: fred::types::SetOptions,
    ) -> session_store::Result<bool> {
        use fred::interfaces::KeysInterface as _;
        use fred::types::{Expiration, Value};

        let bytes = rmp_serde::to_vec(record)
            .map_err(|err| session_store::Error::Encode(err.to_string()))?;
        let answer: Value = self
            .client
            .set(
                record.id.to_string(),
                bytes.as_slice(),
                Some(Expiration::EXAT(record.expiry_date.unix_timestamp())),
                Some(condition),
                false,
            )
            .await
            .map_err(|err| session_store::Error::Backend(err.to_string()))?;
        Ok(!answer.is_null())
    }
}

/// Why a [`RedisStore`] could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisError {
    /// The URL or the configuration is invalid (for example a pool size of 0).
    #[error("invalid Redis configuration")]
    Config(#[source] fred::error::Error),
    /// Redis refused or failed the first connection.
    #[error("could not connect to Redis")]
    Connect(#[source] fred::error::Error),
    /// Redis did not complete the first connection in time.
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
}

#[async_trait]
impl SessionStore for RedisStore {
    /// Inserts the record under a new id (`SET … NX`), choosing another id while the one it
    /// has is taken. (tower-sessions-redis-store's `create` reads Redis' nil answer for a taken
    /// id as a failure instead of choosing another id, which failed the step-up attempt slots,
    /// whose ids are taken on purpose.)
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        while !self.set(record, fred::types::SetOptions::NX).await? {
            record.id = Id::default();
        }
        Ok(())
    }

    /// Updates the record if it still exists (`SET … XX`): a save never brings back a record
    /// that another request deleted (a session id cycled away at sign-in or a step-up, a
    /// sign-out), and finding it gone is not an error. (tower-sessions-redis-store's `save`
    /// reads Redis' nil answer for a missing key as a failure, so a request that saved a record
    /// a parallel request had just cycled away failed with "could not be saved".)
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.set(record, fred::types::SetOptions::XX).await?;
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        self.store.load(session_id).await
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        self.store.delete(session_id).await
    }
}
