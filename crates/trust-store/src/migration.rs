//! Schema migrations (sea-orm-migration). Applied in order by [`Store::open`](crate::Store::open);
//! the names of the applied ones are kept in `seaql_migrations`.
//!
//! A migration, once released, never changes: a schema change is a new migration appended to
//! [`Migrator::migrations`].

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, blob, boolean, integer, small_integer, string, text, text_null,
};

/// Every migration this binary knows, oldest first.
#[derive(Debug, Clone, Copy, Default)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(Initial)]
    }
}

/// The names of every migration this binary knows, oldest first.
pub fn known_migrations() -> Vec<String> {
    Migrator::migrations().iter().map(|m| m.name().to_owned()).collect()
}

/// The first schema: every table of the store.
struct Initial;

impl MigrationName for Initial {
    fn name(&self) -> &str {
        "m20261123_000001_initial"
    }
}

/// `CREATE INDEX IF NOT EXISTS name ON table (cols...)`.
fn index(name: &'static str, table: &'static str, cols: &[&'static str], unique: bool) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table).if_not_exists();
    for col in cols {
        stmt.col(*col);
    }
    if unique {
        stmt.unique();
    }
    stmt
}

#[async_trait::async_trait]
impl MigrationTrait for Initial {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("log_leaves")
                    .if_not_exists()
                    .col(big_integer("index").primary_key())
                    .col(blob("leaf_hash"))
                    .col(text("uuid"))
                    .col(blob("body"))
                    .col(big_integer("integrated_time"))
                    .col(blob("signed_entry_timestamp"))
                    .col(text("artifact_digest"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("log_leaves_uuid", "log_leaves", &["uuid"], true))
            .await?;
        manager
            .create_index(index(
                "log_leaves_artifact_digest",
                "log_leaves",
                &["artifact_digest"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("log_nodes")
                    .if_not_exists()
                    .col(small_integer("level"))
                    .col(big_integer("index"))
                    .col(blob("hash"))
                    .primary_key(Index::create().col("level").col("index"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("log_checkpoints")
                    .if_not_exists()
                    .col(big_integer("tree_size").primary_key())
                    .col(blob("root_hash"))
                    .col(text("note"))
                    .col(big_integer("created"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("log_state")
                    .if_not_exists()
                    .col(integer("id").primary_key())
                    .col(big_integer("tree_size"))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table("log_state")
                    .columns(["id", "tree_size"])
                    .values_panic([1.into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("signed_artifacts")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(text("digest"))
                    .col(text_null("artifact_type"))
                    .col(text_null("subject"))
                    .col(text_null("predicate_type"))
                    .col(text("signer_identity"))
                    .col(text("signer_issuer"))
                    .col(text("bundle"))
                    .col(big_integer("log_index"))
                    .col(text("entry_uuid"))
                    .col(big_integer("created"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("signed_artifacts_digest", "signed_artifacts", &["digest"], false))
            .await?;
        manager
            .create_index(index(
                "signed_artifacts_entry_uuid",
                "signed_artifacts",
                &["entry_uuid"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("verification_records")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(text("artifact_digest"))
                    .col(boolean("valid"))
                    .col(text_null("signer"))
                    .col(text_null("issuer"))
                    .col(text("error_codes"))
                    .col(big_integer_null("log_index"))
                    .col(text_null("request_id"))
                    .col(big_integer("created"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "verification_records_artifact_digest",
                "verification_records",
                &["artifact_digest"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("upload_permissions")
                    .if_not_exists()
                    .col(text("id").primary_key())
                    .col(text("scan_id"))
                    .col(boolean("permitted"))
                    .col(text("reason"))
                    .col(text_null("inner_signer_identity"))
                    .col(text_null("inner_signer_issuer"))
                    .col(text("artifacts"))
                    .col(text("destination"))
                    .col(text_null("inner_entry_uuid"))
                    .col(big_integer_null("inner_entry_index"))
                    .col(text_null("outer_entry_uuid"))
                    .col(text_null("outer_bundle"))
                    .col(big_integer("expires_at"))
                    .col(big_integer("created"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("audit_events")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("time"))
                    .col(text("actor"))
                    .col(text("action"))
                    .col(text("target"))
                    .col(text("outcome"))
                    .col(text("detail"))
                    .col(text_null("request_id"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("api_keys")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string("name").unique_key())
                    .col(blob("key_hash"))
                    .col(string("key_prefix"))
                    .col(text("scopes"))
                    .col(big_integer("created"))
                    .col(big_integer_null("revoked_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("api_keys_key_prefix", "api_keys", &["key_prefix"], false))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "api_keys",
            "audit_events",
            "upload_permissions",
            "verification_records",
            "signed_artifacts",
            "log_state",
            "log_checkpoints",
            "log_nodes",
            "log_leaves",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
