//! [`Store`]: opening, migrating, and the embedded log's storage ([`LogStore`]).

use std::collections::HashMap;
use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use sea_orm_migration::{seaql_migrations, MigratorTrait};
use trust_sigstore::embedded::store::{
    AppendBatch, Checkpoint, Hash, LogAppend, LogLeaf, LogStore, NodeId, SignedArtifact, StoreResult,
};

use crate::entity::{log_checkpoints, log_leaves, log_nodes, log_state, signed_artifacts};
use crate::error::{Error, Result, StoreOpenError};
use crate::migration::{known_migrations, Migrator};

/// SQLite waits this long for another writer's lock before failing with `store.unavailable`.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound parameters per statement; SQLite builds before 3.32 allow 999.
const MAX_PARAMS: usize = 900;
/// Key of the PostgreSQL advisory lock held while migrating (any constant unique to certus-trust).
const MIGRATION_LOCK_KEY: i64 = 0x6365_7274_7573_0001;

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// A SQLite file (WAL, `synchronous=FULL`).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// certus-trust's database: a connection pool, migrated on open.
///
/// Cheap to clone (the pool is shared).
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) db: DatabaseConnection,
    backend: Backend,
    target: String,
}

/// `url` with any password removed: `scheme://user@host:port/db` or the SQLite path.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let path = path.split('?').next().unwrap_or("");
    let host = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{user}@{host}")
        }
        None => authority.to_owned(),
    };
    format!("{scheme}://{host}{path}")
}

/// The password in `url`, if any, so it can be scrubbed from driver messages.
fn url_password(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    let password = userinfo.split_once(':')?.1;
    (!password.is_empty()).then_some(password)
}

impl Store {
    /// Opens (creating a SQLite file if needed) and migrates the database at `url`.
    ///
    /// - `sqlite://path?mode=rwc`, `sqlite:path`, or a plain file path (created if missing):
    ///   SQLite with WAL journal, `synchronous=FULL`, a 5 s busy timeout, foreign keys on and
    ///   temp storage (statement journals) in memory.
    /// - `postgres://user:pass@host:port/db` (or `postgresql://`): PostgreSQL.
    ///
    /// Pending migrations are applied under a lock (a PostgreSQL advisory lock, the SQLite write
    /// lock); opening an up-to-date database changes nothing. A database carrying a migration
    /// this binary does not know is refused with [`StoreOpenError::SchemaTooNew`].
    pub async fn open(url: &str) -> Result<Store, StoreOpenError> {
        let target = redact_url(url);
        let scrub = |msg: String| match url_password(url) {
            Some(pw) => msg.replace(pw, "***"),
            None => msg,
        };
        let mut plain_path = None;
        let (backend, mut options) = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut options = ConnectOptions::new(url);
            options.max_connections(10);
            (Backend::Postgres, options)
        } else if url.starts_with("sqlite:") {
            (Backend::Sqlite, ConnectOptions::new(url))
        } else if let Some((scheme, _)) = url.split_once("://") {
            return Err(StoreOpenError::InvalidUrl {
                target,
                reason: format!("unsupported scheme `{scheme}` (use sqlite:// or postgres://)"),
            });
        } else if url.is_empty() {
            return Err(StoreOpenError::InvalidUrl {
                target,
                reason: "empty URL".into(),
            });
        } else {
            // A plain path: the URL only selects the driver; the file name is set below.
            plain_path = Some(url.to_owned());
            (Backend::Sqlite, ConnectOptions::new("sqlite://certus-trust.db"))
        };
        options
            .sqlx_logging(false)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(30));
        if backend == Backend::Sqlite {
            // Readers run beside the one writer (WAL); appends hold one connection each.
            options.max_connections(4);
            options.map_sqlx_sqlite_opts(move |o| {
                let o = match &plain_path {
                    Some(path) => o.filename(path).create_if_missing(true),
                    None => o,
                };
                // temp_store=memory: the statement journal every multi-row INSERT of an append
                // opens stays in memory instead of a temp file created and unlinked per
                // statement (durability is the WAL's business; see docs/performance.md).
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    .foreign_keys(true)
                    .pragma("temp_store", "memory")
            });
        }
        if backend == Backend::Postgres {
            // One direct attempt first: the pool would retry a refused connection until its
            // acquire timeout, turning "nothing listens there" into a 30 s hang.
            preflight_postgres(url)
                .await
                .map_err(|reason| StoreOpenError::Unavailable {
                    target: target.clone(),
                    reason: scrub(reason),
                })?;
        }
        let db = Database::connect(options)
            .await
            .map_err(|e| StoreOpenError::Unavailable {
                target: target.clone(),
                reason: scrub(e.to_string()),
            })?;
        let store = Store { db, backend, target };
        store.migrate().await.map_err(|e| match e {
            MigrateError::TooNew(unknown) => StoreOpenError::SchemaTooNew {
                target: store.target.clone(),
                unknown,
            },
            MigrateError::Db(e) => match Error::from(e) {
                Error::Unavailable(reason) => StoreOpenError::Unavailable {
                    target: store.target.clone(),
                    reason: scrub(reason),
                },
                other => StoreOpenError::Migration {
                    target: store.target.clone(),
                    reason: scrub(other.to_string()),
                },
            },
        })?;
        Ok(store)
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The database's URL with any password removed (or the SQLite path), for logs.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Closes the connection pool, waiting for connections in use to be returned.
    pub async fn close(self) -> Result<()> {
        Ok(self.db.close().await?)
    }

    /// A transaction that holds the schema lock until it ends.
    async fn begin_exclusive(&self) -> std::result::Result<DatabaseTransaction, sea_orm::DbErr> {
        match self.backend {
            Backend::Sqlite => {
                self.db
                    .begin_with_options(TransactionOptions {
                        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                        ..Default::default()
                    })
                    .await
            }
            Backend::Postgres => {
                let txn = self.db.begin().await?;
                txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"))
                    .await?;
                Ok(txn)
            }
        }
    }

    /// Applies pending migrations, in one transaction under the schema lock.
    async fn migrate(&self) -> std::result::Result<(), MigrateError> {
        let txn = self.begin_exclusive().await?;
        Migrator::install(&txn).await?;
        let known = known_migrations();
        let mut unknown: Vec<String> = seaql_migrations::Entity::find()
            .all(&txn)
            .await?
            .into_iter()
            .map(|m| m.version)
            .filter(|v| !known.contains(v))
            .collect();
        if !unknown.is_empty() {
            unknown.sort();
            return Err(MigrateError::TooNew(unknown));
        }
        Migrator::up(&txn, None).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Names of the migrations applied to this database, sorted.
    pub async fn applied_migrations(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = seaql_migrations::Entity::find()
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| m.version)
            .collect();
        names.sort();
        Ok(names)
    }
}

/// Opens and closes one PostgreSQL connection, within the connect timeout.
async fn preflight_postgres(url: &str) -> std::result::Result<(), String> {
    use sea_orm::sqlx::postgres::PgConnectOptions;
    use sea_orm::sqlx::{ConnectOptions as _, Connection as _};
    let options: PgConnectOptions = url.parse().map_err(|e| format!("{e}"))?;
    let conn = tokio::time::timeout(Duration::from_secs(10), options.connect())
        .await
        .map_err(|_| "connection timed out after 10 s".to_owned())?
        .map_err(|e| e.to_string())?;
    let _ = conn.close().await;
    Ok(())
}

/// Why migrating failed.
enum MigrateError {
    TooNew(Vec<String>),
    Db(sea_orm::DbErr),
}

impl From<sea_orm::DbErr> for MigrateError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Db(e)
    }
}

// ---- conversions --------------------------------------------------------------------------

pub(crate) fn to_i64(v: u64, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::InvalidInput(format!("{what} {v} exceeds i64::MAX")))
}

pub(crate) fn to_u64(v: i64, what: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| Error::Corrupt(format!("negative {what} {v}")))
}

fn to_hash(v: Vec<u8>, what: &str) -> Result<Hash> {
    let len = v.len();
    Hash::try_from(v).map_err(|_| Error::Corrupt(format!("{what} is {len} bytes, not 32")))
}

fn leaf_from_model(m: log_leaves::Model) -> Result<LogLeaf> {
    Ok(LogLeaf {
        index: to_u64(m.index, "leaf index")?,
        leaf_hash: to_hash(m.leaf_hash, "leaf hash")?,
        uuid: m.uuid,
        body: m.body,
        integrated_time: m.integrated_time,
        signed_entry_timestamp: m.signed_entry_timestamp,
        artifact_digest: m.artifact_digest,
    })
}

fn checkpoint_from_model(m: log_checkpoints::Model) -> Result<Checkpoint> {
    Ok(Checkpoint {
        tree_size: to_u64(m.tree_size, "checkpoint tree size")?,
        root_hash: to_hash(m.root_hash, "checkpoint root hash")?,
        note: m.note,
        created: m.created,
    })
}

pub(crate) fn artifact_active(a: &SignedArtifact) -> Result<signed_artifacts::ActiveModel> {
    Ok(signed_artifacts::ActiveModel {
        digest: Set(a.digest.clone()),
        artifact_type: Set(a.artifact_type.clone()),
        subject: Set(a.subject.clone()),
        predicate_type: Set(a.predicate_type.clone()),
        signer_identity: Set(a.signer_identity.clone()),
        signer_issuer: Set(a.signer_issuer.clone()),
        bundle: Set(a.bundle.clone()),
        log_index: Set(to_i64(a.log_index, "log index")?),
        entry_uuid: Set(a.entry_uuid.clone()),
        created: Set(a.created),
        ..Default::default()
    })
}

pub(crate) fn artifact_from_model(m: signed_artifacts::Model) -> Result<SignedArtifact> {
    Ok(SignedArtifact {
        digest: m.digest,
        artifact_type: m.artifact_type,
        subject: m.subject,
        predicate_type: m.predicate_type,
        signer_identity: m.signer_identity,
        signer_issuer: m.signer_issuer,
        bundle: m.bundle,
        log_index: to_u64(m.log_index, "log index")?,
        entry_uuid: m.entry_uuid,
        created: m.created,
    })
}

// ---- shared reads (pool or transaction) ---------------------------------------------------

async fn read_tree_size<C: ConnectionTrait>(db: &C) -> Result<u64> {
    let row = log_state::Entity::find_by_id(1)
        .one(db)
        .await?
        .ok_or_else(|| Error::Corrupt("log_state row 1 is missing".into()))?;
    to_u64(row.tree_size, "tree size")
}

async fn read_nodes<C: ConnectionTrait>(db: &C, ids: &[NodeId]) -> Result<Vec<Hash>> {
    let mut found: HashMap<(u8, u64), Hash> = HashMap::with_capacity(ids.len());
    // Two parameters per id at most (level, index).
    for chunk in ids.chunks(MAX_PARAMS / 2) {
        let mut by_level: HashMap<u8, Vec<i64>> = HashMap::new();
        for id in chunk {
            by_level
                .entry(id.level)
                .or_default()
                .push(to_i64(id.index, "node index")?);
        }
        let mut cond = Condition::any();
        for (level, indices) in by_level {
            cond = cond.add(
                Condition::all()
                    .add(log_nodes::Column::Level.eq(i16::from(level)))
                    .add(log_nodes::Column::Index.is_in(indices)),
            );
        }
        for m in log_nodes::Entity::find().filter(cond).all(db).await? {
            let level =
                u8::try_from(m.level).map_err(|_| Error::Corrupt(format!("node level {} out of range", m.level)))?;
            let index = to_u64(m.index, "node index")?;
            found.insert((level, index), to_hash(m.hash, "node hash")?);
        }
    }
    ids.iter()
        .map(|id| {
            found
                .get(&(id.level, id.index))
                .copied()
                .ok_or_else(|| Error::Corrupt(format!("node (level {}, index {}) is missing", id.level, id.index)))
        })
        .collect()
}

// ---- LogStore -----------------------------------------------------------------------------

impl Store {
    async fn begin_append_inner(&self) -> Result<StoreAppend> {
        let txn = self.db.begin().await?;
        // First statement: take the append lock. On PostgreSQL this row lock serialises appenders
        // across processes; on SQLite a write as the first statement takes the database write lock
        // before any read, so the transaction can never fail later with SQLITE_BUSY_SNAPSHOT.
        txn.execute_unprepared("UPDATE log_state SET tree_size = tree_size WHERE id = 1")
            .await?;
        let size = read_tree_size(&txn).await?;
        Ok(StoreAppend { txn, size })
    }

    async fn leaf_inner(&self, index: u64) -> Result<Option<LogLeaf>> {
        let Ok(index) = i64::try_from(index) else {
            return Ok(None);
        };
        log_leaves::Entity::find_by_id(index)
            .one(&self.db)
            .await?
            .map(leaf_from_model)
            .transpose()
    }

    async fn leaf_by_uuid_inner(&self, uuid: &str) -> Result<Option<LogLeaf>> {
        log_leaves::Entity::find()
            .filter(log_leaves::Column::Uuid.eq(uuid))
            .one(&self.db)
            .await?
            .map(leaf_from_model)
            .transpose()
    }

    async fn leaves_by_digest_inner(&self, digest: &str) -> Result<Vec<LogLeaf>> {
        log_leaves::Entity::find()
            .filter(log_leaves::Column::ArtifactDigest.eq(digest))
            .order_by_asc(log_leaves::Column::Index)
            .all(&self.db)
            .await?
            .into_iter()
            .map(leaf_from_model)
            .collect()
    }

    async fn latest_checkpoint_inner(&self) -> Result<Option<Checkpoint>> {
        log_checkpoints::Entity::find()
            .order_by_desc(log_checkpoints::Column::TreeSize)
            .limit(1)
            .one(&self.db)
            .await?
            .map(checkpoint_from_model)
            .transpose()
    }

    async fn checkpoint_inner(&self, tree_size: u64) -> Result<Option<Checkpoint>> {
        let Ok(tree_size) = i64::try_from(tree_size) else {
            return Ok(None);
        };
        log_checkpoints::Entity::find_by_id(tree_size)
            .one(&self.db)
            .await?
            .map(checkpoint_from_model)
            .transpose()
    }
}

impl LogStore for Store {
    type Append = StoreAppend;

    async fn begin_append(&self) -> StoreResult<StoreAppend> {
        Ok(self.begin_append_inner().await?)
    }

    async fn tree_size(&self) -> StoreResult<u64> {
        Ok(read_tree_size(&self.db).await?)
    }

    async fn nodes(&self, ids: &[NodeId]) -> StoreResult<Vec<Hash>> {
        Ok(read_nodes(&self.db, ids).await?)
    }

    async fn leaf(&self, index: u64) -> StoreResult<Option<LogLeaf>> {
        Ok(self.leaf_inner(index).await?)
    }

    async fn leaf_by_uuid(&self, uuid: &str) -> StoreResult<Option<LogLeaf>> {
        Ok(self.leaf_by_uuid_inner(uuid).await?)
    }

    async fn leaves_by_digest(&self, digest: &str) -> StoreResult<Vec<LogLeaf>> {
        Ok(self.leaves_by_digest_inner(digest).await?)
    }

    async fn latest_checkpoint(&self) -> StoreResult<Option<Checkpoint>> {
        Ok(self.latest_checkpoint_inner().await?)
    }

    async fn checkpoint(&self, tree_size: u64) -> StoreResult<Option<Checkpoint>> {
        Ok(self.checkpoint_inner(tree_size).await?)
    }
}

/// An open append transaction on a [`Store`]: holds the log's append lock (the `log_state` row)
/// until committed or dropped. Dropping it uncommitted rolls back.
#[derive(Debug)]
pub struct StoreAppend {
    txn: DatabaseTransaction,
    size: u64,
}

impl StoreAppend {
    async fn write_inner(&mut self, batch: AppendBatch) -> Result<()> {
        let AppendBatch {
            leaves,
            nodes,
            checkpoint,
            artifacts,
        } = batch;
        for (i, leaf) in leaves.iter().enumerate() {
            let expected = self.size + i as u64;
            if leaf.index != expected {
                return Err(Error::InvalidInput(format!(
                    "leaf index {} where {expected} was expected (tree size {})",
                    leaf.index, self.size
                )));
            }
        }
        let new_size = self.size + leaves.len() as u64;

        let leaf_rows = leaves
            .into_iter()
            .map(|l| {
                Ok(log_leaves::ActiveModel {
                    index: Set(to_i64(l.index, "leaf index")?),
                    leaf_hash: Set(l.leaf_hash.to_vec()),
                    uuid: Set(l.uuid),
                    body: Set(l.body),
                    integrated_time: Set(l.integrated_time),
                    signed_entry_timestamp: Set(l.signed_entry_timestamp),
                    artifact_digest: Set(l.artifact_digest),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        insert_chunked::<log_leaves::Entity>(&self.txn, leaf_rows, 7).await?;

        let node_rows = nodes
            .into_iter()
            .map(|(id, hash)| {
                Ok(log_nodes::ActiveModel {
                    level: Set(i16::from(id.level)),
                    index: Set(to_i64(id.index, "node index")?),
                    hash: Set(hash.to_vec()),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        insert_chunked::<log_nodes::Entity>(&self.txn, node_rows, 3).await?;

        if let Some(c) = checkpoint {
            log_checkpoints::Entity::insert(log_checkpoints::ActiveModel {
                tree_size: Set(to_i64(c.tree_size, "checkpoint tree size")?),
                root_hash: Set(c.root_hash.to_vec()),
                note: Set(c.note),
                created: Set(c.created),
            })
            .exec_without_returning(&self.txn)
            .await?;
        }

        let artifact_rows = artifacts.iter().map(artifact_active).collect::<Result<Vec<_>>>()?;
        insert_chunked::<signed_artifacts::Entity>(&self.txn, artifact_rows, 10).await?;

        if new_size != self.size {
            log_state::Entity::update_many()
                .col_expr(log_state::Column::TreeSize, Expr::value(to_i64(new_size, "tree size")?))
                .filter(log_state::Column::Id.eq(1))
                .exec(&self.txn)
                .await?;
            self.size = new_size;
        }
        Ok(())
    }
}

/// Multi-row inserts of at most [`MAX_PARAMS`] bound parameters each.
pub(crate) async fn insert_chunked<E: EntityTrait>(
    txn: &DatabaseTransaction,
    rows: Vec<E::ActiveModel>,
    columns: usize,
) -> Result<()>
where
    E::ActiveModel: Send,
{
    let per_chunk = (MAX_PARAMS / columns).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(per_chunk).collect();
        E::insert_many(chunk).exec_without_returning(txn).await?;
    }
    Ok(())
}

impl LogAppend for StoreAppend {
    async fn tree_size(&mut self) -> StoreResult<u64> {
        Ok(self.size)
    }

    async fn nodes(&mut self, ids: &[NodeId]) -> StoreResult<Vec<Hash>> {
        Ok(read_nodes(&self.txn, ids).await?)
    }

    async fn write(&mut self, batch: AppendBatch) -> StoreResult<()> {
        Ok(self.write_inner(batch).await?)
    }

    async fn commit(self) -> StoreResult<()> {
        self.txn.commit().await.map_err(Error::from)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{redact_url, url_password};

    #[test]
    fn redacts_passwords_and_query() {
        assert_eq!(
            redact_url("postgres://certus:s3cret@db.internal:5432/trust?sslmode=disable&password=x"),
            "postgres://certus@db.internal:5432/trust"
        );
        assert_eq!(
            redact_url("postgres://db.internal/trust"),
            "postgres://db.internal/trust"
        );
        assert_eq!(redact_url("postgresql://u:p@h"), "postgresql://u@h");
        assert_eq!(redact_url("sqlite://data/store.db?mode=rwc"), "sqlite://data/store.db");
        assert_eq!(redact_url("data/store.db"), "data/store.db");
        assert_eq!(url_password("postgres://u:p%40ss@h/db"), Some("p%40ss"));
        assert_eq!(url_password("postgres://u@h/db"), None);
        assert_eq!(url_password("postgres://u:@h/db"), None);
    }
}
