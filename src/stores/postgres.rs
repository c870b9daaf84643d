//! Sessions in PostgreSQL (feature `postgres`), set up to survive PostgreSQL going away.
//!
//! [`PostgresStore::connect`] opens a connection pool, creates the session table if it is
//! missing (schema `tower_sessions`, table `session`), starts a task that deletes expired
//! sessions every 5 minutes, and wraps [`tower_sessions_sqlx_store`]'s store with the settings
//! a session store needs:
//!
//! - **Fails fast**: each store operation, waiting for a pooled connection included, fails
//!   after the command timeout (1 s) instead of sqlx's 30 s acquire timeout, or never for a
//!   server that stopped answering.
//! - **Reconnects by itself**: connections are checked before use and reopened when
//!   PostgreSQL restarted.
//! - **Keeps deleting expired sessions** when a deletion fails (tower-sessions'
//!   `continuously_delete_expired` stops at its first error); the task ends when the last
//!   clone of the store is dropped.
//!
//! A failed operation is a `session_store::Error::Backend`, which
//! [`AuthLayer`](crate::web::AuthLayer) answers with a fast 503; the session stays in the table
//! and the next request after PostgreSQL is back finds it.
//!
//! ```no_run
//! use authkit_axum::stores::postgres::PostgresStore;
//! # async fn f(authkit: authkit_axum::AuthKit) -> Result<(), Box<dyn std::error::Error>> {
//! let store = PostgresStore::connect("postgres://app:secret@127.0.0.1:5432/app").await?;
//! let app: axum::Router = axum::Router::new()
//!     .merge(authkit.router())
//!     .layer(authkit.layer(store));
//! # Ok(()) }
//! ```
//!
//! sqlx is built without TLS here: for `sslmode=require`, add `sqlx` to your dependencies
//! with one of its TLS features (`tls-rustls-ring`, `tls-native-tls`).

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion};

/// sqlx, re-exported for [`PostgresStoreBuilder::from_pool`] and [`PostgresStore::pool`].
pub use tower_sessions_sqlx_store::sqlx;

/// How long one store operation may take, by default (waiting for a connection included).
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(1);
/// How long opening the pool's first connection at [`connect`](PostgresStoreBuilder::connect)
/// may take, by default.
pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);
/// The schema of the session table, by default.
pub const DEFAULT_SCHEMA: &str = "tower_sessions";
/// The name of the session table, by default.
pub const DEFAULT_TABLE: &str = "session";
/// How often expired sessions are deleted, by default.
pub const DEFAULT_DELETE_EXPIRED_EVERY: Duration = Duration::from_secs(5 * 60);

/// A tower-sessions store on PostgreSQL that fails fast while PostgreSQL is unreachable and
/// deletes expired sessions (see the [module docs](self)). Cheap to clone: clones share the
/// pool.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    store: tower_sessions_sqlx_store::PostgresStore,
    pool: PgPool,
    command_timeout: Duration,
    /// `insert … on conflict (id) do nothing` into the session table, for [`create`].
    ///
    /// [`create`]: SessionStore::create
    insert_if_absent: String,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // sqlx's pool Debug shows its options and state, never the password.
        f.debug_struct("PostgresStore")
            .field("pool", &self.inner.pool)
            .field("command_timeout", &self.inner.command_timeout)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the PostgreSQL database at `url` (`postgres://user:password@host:port/db`)
    /// with the default settings: fails when it cannot be reached within 5 s or the session
    /// table cannot be created.
    pub async fn connect(url: &str) -> Result<PostgresStore, PostgresError> {
        Self::builder(url).connect().await
    }

    /// A builder for a store on the database at `url`, to change the defaults.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use authkit_axum::stores::postgres::PostgresStore;
    /// # async fn f() -> Result<(), authkit_axum::stores::postgres::PostgresError> {
    /// let store = PostgresStore::builder("postgres://app:secret@db.internal/app")
    ///     .schema("auth")
    ///     .max_connections(20)
    ///     .command_timeout(Duration::from_millis(500))
    ///     .connect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn builder(url: &str) -> PostgresStoreBuilder {
        PostgresStoreBuilder::new(Source::Url(url.to_owned()))
    }

    /// The connection pool, to run the app's own queries on the same connections.
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }
}

impl Inner {
    /// `operation`, failing with a backend error after the command timeout.
    async fn bounded<T>(
        &self,
        operation: impl Future<Output = session_store::Result<T>>,
    ) -> session_store::Result<T> {
        bounded(self.command_timeout, operation).await
    }
}

async fn bounded<T>(
    timeout: Duration,
    operation: impl Future<Output = session_store::Result<T>>,
) -> session_store::Result<T> {
    tokio::time::timeout(timeout, operation)
        .await
        .unwrap_or_else(|_| {
            Err(session_store::Error::Backend(format!(
                "PostgreSQL did not answer within {timeout:?}"
            )))
        })
}

enum Source {
    Url(String),
    Pool(PgPool),
}

/// Settings for a [`PostgresStore`]; see [`PostgresStore::builder`].
#[must_use]
pub struct PostgresStoreBuilder {
    source: Source,
    schema: Option<String>,
    table: Option<String>,
    max_connections: u32,
    connection_timeout: Duration,
    command_timeout: Duration,
    migrate: bool,
    delete_expired_every: Option<Duration>,
}

impl fmt::Debug for PostgresStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the URL: it may hold a password.
        f.debug_struct("PostgresStoreBuilder")
            .field("schema", &self.schema)
            .field("table", &self.table)
            .field("max_connections", &self.max_connections)
            .field("connection_timeout", &self.connection_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("migrate", &self.migrate)
            .field("delete_expired_every", &self.delete_expired_every)
            .finish_non_exhaustive()
    }
}

impl PostgresStoreBuilder {
    fn new(source: Source) -> Self {
        PostgresStoreBuilder {
            source,
            schema: None,
            table: None,
            max_connections: 10,
            connection_timeout: DEFAULT_CONNECTION_TIMEOUT,
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            migrate: true,
            delete_expired_every: Some(DEFAULT_DELETE_EXPIRED_EVERY),
        }
    }

    /// A builder over a pool the app already has (its pool settings are kept:
    /// [`max_connections`](Self::max_connections) and the connection timeout do not apply;
    /// the command timeout still bounds each store operation).
    pub fn from_pool(pool: PgPool) -> Self {
        Self::new(Source::Pool(pool))
    }

    /// The schema of the session table (default `tower_sessions`).
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// The name of the session table (default `session`).
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = Some(table.into());
        self
    }

    /// The most connections the pool opens (default 10).
    pub fn max_connections(mut self, connections: u32) -> Self {
        self.max_connections = connections;
        self
    }

    /// How long [`connect`](Self::connect) waits for the first connection (default 5 s).
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// How long one store operation may take, waiting for a pooled connection (or opening
    /// one) included, before it fails (default 1 s).
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// Whether [`connect`](Self::connect) creates the schema and table when missing (default
    /// yes; they are created with `IF NOT EXISTS`, so several instances may start at once).
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// How often a background task deletes expired sessions, or `None` for never (expired
    /// sessions are never loaded, but their rows stay). Default every 5 minutes.
    pub fn delete_expired_every(mut self, period: Option<Duration>) -> Self {
        self.delete_expired_every = period;
        self
    }

    /// Opens the pool (waiting for one connection), creates the table unless told not to,
    /// and starts the deletion task. Must be called inside a Tokio runtime.
    pub async fn connect(self) -> Result<PostgresStore, PostgresError> {
        let pool = match self.source {
            Source::Pool(pool) => pool,
            Source::Url(url) => {
                // Each operation is bounded by the command timeout; sqlx's own acquire timeout
                // bounds how long the first connection may take.
                PgPoolOptions::new()
                    .max_connections(self.max_connections)
                    .acquire_timeout(self.connection_timeout)
                    .test_before_acquire(true)
                    .connect(&url)
                    .await
                    .map_err(PostgresError::Connect)?
            }
        };
        let mut store = tower_sessions_sqlx_store::PostgresStore::new(pool.clone());
        let schema = self.schema.unwrap_or_else(|| DEFAULT_SCHEMA.to_owned());
        let table = self.table.unwrap_or_else(|| DEFAULT_TABLE.to_owned());
        // tower-sessions-sqlx-store checks both names (a letter or underscore, then letters,
        // digits, underscores or dollar signs), so they can be quoted into the query below.
        store = store
            .with_schema_name(schema.clone())
            .map_err(PostgresError::InvalidName)?
            .with_table_name(table.clone())
            .map_err(PostgresError::InvalidName)?;
        let insert_if_absent = format!(
            r#"insert into "{schema}"."{table}" (id, data, expiry_date) values ($1, $2, $3)
               on conflict (id) do nothing"#
        );
        if self.migrate {
            tokio::time::timeout(self.connection_timeout, store.migrate())
                .await
                .map_err(|_| PostgresError::Timeout(self.connection_timeout))?
                .map_err(PostgresError::Migrate)?;
        }
        let inner = Arc::new(Inner {
            store,
            pool,
            command_timeout: self.command_timeout,
            insert_if_absent,
        });
        if let Some(period) = self.delete_expired_every {
            tokio::spawn(delete_expired_every(Arc::downgrade(&inner), period));
        }
        Ok(PostgresStore { inner })
    }
}

/// Deletes expired sessions every `period`, through failures, until the store is dropped.
async fn delete_expired_every(store: Weak<Inner>, period: Duration) {
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await; // the first tick is immediate
    loop {
        interval.tick().await;
        let Some(inner) = store.upgrade() else {
            return;
        };
        // A deletion may take longer than one session read, but never longer than a period.
        if let Err(err) = bounded(period, inner.store.delete_expired()).await {
            tracing::warn!(error = %err, "could not delete expired sessions; trying again later");
        }
    }
}

/// Why a [`PostgresStore`] could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresError {
    /// The schema or table name is not a valid identifier.
    #[error("{0}")]
    InvalidName(String),
    /// The URL is invalid, or PostgreSQL refused or failed the first connection.
    #[error("could not connect to PostgreSQL")]
    Connect(#[source] sqlx::Error),
    /// The session table could not be created.
    #[error("could not create the session table")]
    Migrate(#[source] sqlx::Error),
    /// PostgreSQL did not answer in time.
    #[error("PostgreSQL did not answer within {0:?}")]
    Timeout(Duration),
}

#[async_trait]
impl SessionStore for PostgresStore {
    /// Inserts the record if no record has its id, in one statement; otherwise gives it a new
    /// id and tries again. (tower-sessions-sqlx-store's `create` checks for the id and then
    /// upserts, so two racing creates of one id both succeed and the later overwrites the
    /// earlier; an insert-if-absent never replaces a record, which the step-up attempt limit
    /// across instances relies on.)
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.inner
            .bounded(async {
                loop {
                    // Encoded as tower-sessions-sqlx-store encodes it (the id included), so
                    // its `load` reads it.
                    let data = rmp_serde::to_vec(&*record)
                        .map_err(|err| session_store::Error::Encode(err.to_string()))?;
                    let inserted = sqlx::query(&self.inner.insert_if_absent)
                        .bind(record.id.to_string())
                        .bind(&data)
                        .bind(record.expiry_date)
                        .execute(&self.inner.pool)
                        .await
                        .map_err(|err| session_store::Error::Backend(err.to_string()))?;
                    if inserted.rows_affected() == 1 {
                        return Ok(());
                    }
                    record.id = Id::default();
                }
            })
            .await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.inner.bounded(self.inner.store.save(record)).await
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        self.inner.bounded(self.inner.store.load(session_id)).await
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        self.inner
            .bounded(self.inner.store.delete(session_id))
            .await
    }
}

#[async_trait]
impl ExpiredDeletion for PostgresStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        self.inner.store.delete_expired().await
    }
}
