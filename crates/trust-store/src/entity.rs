//! sea-orm entities, one module per table. The schema itself is defined by the migrations in
//! [`crate::migration`]; these entities must match it.
//!
//! The derive macros generate undocumented items (`Entity`, `Column`, `ActiveModel` ...), hence
//! the `allow(missing_docs)` below.

#![allow(missing_docs)]

/// `log_leaves`: One embedded-log entry; `index` is its position.
pub mod log_leaves {
    use sea_orm::entity::prelude::*;

    /// A `log_leaves` row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "log_leaves")]
    pub struct Model {
        /// Position in the log.
        #[sea_orm(primary_key, auto_increment = false)]
        pub index: i64,
        /// RFC 6962 leaf hash (32 bytes).
        pub leaf_hash: Vec<u8>,
        /// Entry UUID (lowercase hex of the leaf hash).
        #[sea_orm(unique)]
        pub uuid: String,
        /// Canonicalized entry body.
        pub body: Vec<u8>,
        /// Integration time, seconds since the epoch.
        pub integrated_time: i64,
        /// The log's SET (DER ECDSA).
        pub signed_entry_timestamp: Vec<u8>,
        /// Logged artifact digest, `sha256:<hex>` (indexed).
        pub artifact_digest: String,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `log_nodes`: A perfect-subtree hash: covers leaves `[index << level, (index + 1) << level)`.
pub mod log_nodes {
    use sea_orm::entity::prelude::*;

    /// A `log_nodes` row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "log_nodes")]
    pub struct Model {
        /// Subtree height (0 = leaf).
        #[sea_orm(primary_key, auto_increment = false)]
        pub level: i16,
        /// Position among subtrees of that height.
        #[sea_orm(primary_key, auto_increment = false)]
        pub index: i64,
        /// The subtree hash (32 bytes).
        pub hash: Vec<u8>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `log_checkpoints`: A signed checkpoint handed out for a tree size.
pub mod log_checkpoints {
    use sea_orm::entity::prelude::*;

    /// A `log_checkpoints` row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "log_checkpoints")]
    pub struct Model {
        /// The size it commits to.
        #[sea_orm(primary_key, auto_increment = false)]
        pub tree_size: i64,
        /// Root hash at that size (32 bytes).
        pub root_hash: Vec<u8>,
        /// The whole signed note.
        pub note: String,
        /// Signing time, seconds since the epoch.
        pub created: i64,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `log_state`: The single row (`id = 1`) holding the committed tree size; its row is the append lock.
pub mod log_state {
    use sea_orm::entity::prelude::*;

    /// A `log_state` row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "log_state")]
    pub struct Model {
        /// Always 1.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        /// Committed tree size.
        pub tree_size: i64,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `signed_artifacts`: The record of one signing.
pub mod signed_artifacts {
    use sea_orm::entity::prelude::*;

    /// A `signed_artifacts` row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "signed_artifacts")]
    pub struct Model {
        /// Row id.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// Artifact digest, `sha256:<hex>` (indexed).
        pub digest: String,
        /// Artifact kind, if given.
        pub artifact_type: Option<String>,
        /// Subject name, if given.
        pub subject: Option<String>,
        /// In-toto predicate type, for DSSE signings.
        pub predicate_type: Option<String>,
        /// Signer identity (certificate SAN).
        pub signer_identity: String,
        /// Signer's OIDC issuer.
        pub signer_issuer: String,
        /// The Sigstore bundle, JSON.
        pub bundle: String,
        /// Log entry index.
        pub log_index: i64,
        /// Log entry UUID (indexed).
        pub entry_uuid: String,
        /// Seconds since the epoch.
        pub created: i64,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `verification_records`: The outcome of one verification request.
pub mod verification_records {
    use sea_orm::entity::prelude::*;

    /// A `verification_records` row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "verification_records")]
    pub struct Model {
        /// Row id.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// Artifact digest (indexed).
        pub artifact_digest: String,
        /// Whether the bundle verified.
        pub valid: bool,
        /// Verified signer identity, if any.
        pub signer: Option<String>,
        /// Verified signer issuer, if any.
        pub issuer: Option<String>,
        /// JSON array of stable error codes.
        pub error_codes: String,
        /// Log index of the verified entry, if any.
        pub log_index: Option<i64>,
        /// The request's `X-Request-ID`, if any.
        pub request_id: Option<String>,
        /// Seconds since the epoch.
        pub created: i64,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `upload_permissions`: An upload permission decision, outer-signed.
pub mod upload_permissions {
    use sea_orm::entity::prelude::*;

    /// A `upload_permissions` row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "upload_permissions")]
    pub struct Model {
        /// Permission UUID.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The producer's scan id.
        pub scan_id: String,
        /// The decision.
        pub permitted: bool,
        /// Why.
        pub reason: String,
        /// Producer (inner) signer identity.
        pub inner_signer_identity: Option<String>,
        /// Producer (inner) signer issuer.
        pub inner_signer_issuer: Option<String>,
        /// JSON text: the artifacts covered.
        pub artifacts: String,
        /// JSON text: where the upload may go.
        pub destination: String,
        /// Inner signature's log entry UUID.
        pub inner_entry_uuid: Option<String>,
        /// Inner signature's log index.
        pub inner_entry_index: Option<i64>,
        /// Outer signature's log entry UUID.
        pub outer_entry_uuid: Option<String>,
        /// Outer Sigstore bundle, JSON.
        pub outer_bundle: Option<String>,
        /// Expiry, seconds since the epoch.
        pub expires_at: i64,
        /// Seconds since the epoch.
        pub created: i64,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `audit_events`: One audit log line.
pub mod audit_events {
    use sea_orm::entity::prelude::*;

    /// A `audit_events` row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_events")]
    pub struct Model {
        /// Row id (insertion order).
        #[sea_orm(primary_key)]
        pub id: i64,
        /// Seconds since the epoch.
        pub time: i64,
        /// Who acted.
        pub actor: String,
        /// What was done.
        pub action: String,
        /// On what.
        pub target: String,
        /// Result (`success`, `denied` ...).
        pub outcome: String,
        /// JSON text with details.
        pub detail: String,
        /// The request's `X-Request-ID`, if any.
        pub request_id: Option<String>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `api_keys`: An API key: only the SHA-256 of its secret is stored.
pub mod api_keys {
    use sea_orm::entity::prelude::*;

    /// A `api_keys` row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "api_keys")]
    pub struct Model {
        /// Row id.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// Unique name.
        #[sea_orm(unique)]
        pub name: String,
        /// SHA-256 of the secret (32 bytes).
        pub key_hash: Vec<u8>,
        /// Leading characters of the secret, for display and lookup.
        pub key_prefix: String,
        /// JSON array of scopes.
        pub scopes: String,
        /// Seconds since the epoch.
        pub created: i64,
        /// Revocation time, if revoked.
        pub revoked_at: Option<i64>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
