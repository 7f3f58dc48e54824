//! Errors: one enum for opening a store, one for operations on an open store.

use sea_orm::{DbErr, RuntimeErr, SqlErr};
use trust_sigstore::embedded::store::StoreError;

/// Opening a [`Store`](crate::Store) failed.
///
/// Messages name the URL's scheme, host and database (or the SQLite path), never a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreOpenError {
    /// The URL is neither `sqlite:`, `postgres://`/`postgresql://` nor a plain file path.
    #[error("unsupported store URL ({target}): {reason}")]
    InvalidUrl {
        /// What was given, password removed.
        target: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The database could not be opened or reached.
    #[error("store unavailable ({target}): {reason}")]
    Unavailable {
        /// Which database, password removed.
        target: String,
        /// The driver's reason.
        reason: String,
    },
    /// The database carries migrations this binary does not know: it was written by a newer
    /// version. Nothing was changed.
    #[error(
        "store schema too new ({target}): unknown migration(s) {}; upgrade certus-trust",
        unknown.join(", ")
    )]
    SchemaTooNew {
        /// Which database, password removed.
        target: String,
        /// The unknown migration names, sorted.
        unknown: Vec<String>,
    },
    /// Applying a migration failed.
    #[error("store migration failed ({target}): {reason}")]
    Migration {
        /// Which database, password removed.
        target: String,
        /// The driver's reason.
        reason: String,
    },
}

impl StoreOpenError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidUrl { .. } => "store.invalid_url",
            Self::Unavailable { .. } => "store.unavailable",
            Self::SchemaTooNew { .. } => "store.schema_too_new",
            Self::Migration { .. } => "store.migration_failed",
        }
    }
}

/// An operation on an open [`Store`](crate::Store) failed.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database could not be reached (connection lost, pool exhausted, lock timeout).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A row with the same unique key already exists.
    #[error("store conflict: {0}")]
    Conflict(String),
    /// The row to change does not exist.
    #[error("store: not found: {0}")]
    NotFound(String),
    /// The stored data contradicts itself.
    #[error("store corrupt: {0}")]
    Corrupt(String),
    /// The caller passed a value the store cannot hold (an index above `i64::MAX` ...).
    #[error("store: invalid input: {0}")]
    InvalidInput(String),
    /// Any other database error.
    #[error("store error: {0}")]
    Backend(String),
}

impl Error {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "store.unavailable",
            Self::Conflict(_) => "store.conflict",
            Self::NotFound(_) => "store.not_found",
            Self::Corrupt(_) => "store.corrupt",
            Self::InvalidInput(_) => "store.invalid_input",
            Self::Backend(_) => "store.error",
        }
    }
}

impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(msg)) = err.sql_err() {
            return Self::Conflict(msg);
        }
        match &err {
            DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => Self::Unavailable(err.to_string()),
            DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) if is_unavailable(e) => {
                Self::Unavailable(err.to_string())
            }
            _ => Self::Backend(err.to_string()),
        }
    }
}

/// I/O, pool and lock-timeout failures are "unavailable", not a bug in the query.
fn is_unavailable(e: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error as E;
    match e {
        E::Io(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => true,
        // SQLITE_BUSY (5) / SQLITE_LOCKED (6) and their extended codes; PostgreSQL class 08
        // (connection exception), 57P01..03 (shutdown), 40P01 (deadlock), 55P03 (lock timeout).
        E::Database(db) => {
            let code = db.code();
            let code = code.as_deref().unwrap_or("");
            if db.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>().is_some() {
                code.parse::<u32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
            } else {
                code.starts_with("08") || code.starts_with("57P") || code == "40P01" || code == "55P03"
            }
        }
        _ => false,
    }
}

impl From<Error> for StoreError {
    fn from(err: Error) -> Self {
        match err {
            Error::Unavailable(m) => StoreError::Unavailable(m),
            Error::Corrupt(m) => StoreError::Corrupt(m),
            other => StoreError::Backend(other.to_string()),
        }
    }
}

/// Result alias for store operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
