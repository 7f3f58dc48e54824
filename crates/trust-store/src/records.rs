//! Plain records beside the log: signings, verifications, upload permissions, audit events and
//! API keys.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use trust_sigstore::embedded::store::SignedArtifact;

use crate::entity::{api_keys, audit_events, signed_artifacts, upload_permissions, verification_records};
use crate::error::{Error, Result};
use crate::store::{artifact_active, artifact_from_model, insert_chunked, to_i64, to_u64, Store};
use sea_orm::TransactionTrait;

/// Every API key secret starts with this, so leaked keys are easy to find in logs and scanners.
pub const API_KEY_PREFIX: &str = "ctk_";
/// Characters of the secret kept in clear (`ctk_` and 8 hex digits), for display and lookup.
const DISPLAY_PREFIX_LEN: usize = API_KEY_PREFIX.len() + 8;

/// The outcome of one verification request, to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationRecord {
    /// The verified artifact's digest, `sha256:<hex>`.
    pub artifact_digest: String,
    /// Whether verification succeeded.
    pub valid: bool,
    /// The verified signer identity, if any.
    pub signer: Option<String>,
    /// The verified signer's issuer, if any.
    pub issuer: Option<String>,
    /// Stable error codes of the failed checks (empty when valid).
    pub error_codes: Vec<String>,
    /// The log index of the verified entry, if any.
    pub log_index: Option<u64>,
    /// The request's `X-Request-ID`, if any.
    pub request_id: Option<String>,
    /// Seconds since the Unix epoch.
    pub created: i64,
}

/// An upload permission decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadPermission {
    /// The permission UUID (primary key).
    pub id: String,
    /// The producer's scan id.
    pub scan_id: String,
    /// The decision.
    pub permitted: bool,
    /// Why.
    pub reason: String,
    /// The producer's (inner) signer identity, when its signature verified.
    pub inner_signer_identity: Option<String>,
    /// The producer's (inner) signer issuer.
    pub inner_signer_issuer: Option<String>,
    /// JSON text: the artifacts covered.
    pub artifacts_json: String,
    /// JSON text: where the upload may go.
    pub destination_json: String,
    /// The inner signature's log entry UUID.
    pub inner_entry_uuid: Option<String>,
    /// The inner signature's log index.
    pub inner_entry_index: Option<u64>,
    /// The outer (certus-trust) signature's log entry UUID.
    pub outer_entry_uuid: Option<String>,
    /// The outer Sigstore bundle, JSON.
    pub outer_bundle: Option<String>,
    /// Expiry, seconds since the Unix epoch.
    pub expires_at: i64,
    /// Seconds since the Unix epoch.
    pub created: i64,
}

/// One audit event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// Seconds since the Unix epoch.
    pub time: i64,
    /// Who acted (API key name, subject ...).
    pub actor: String,
    /// What was done (`sign`, `verify`, `api_key.revoke` ...).
    pub action: String,
    /// On what.
    pub target: String,
    /// Result (`success`, `denied`, `error` ...).
    pub outcome: String,
    /// JSON text with details.
    pub detail_json: String,
    /// The request's `X-Request-ID`, if any.
    pub request_id: Option<String>,
}

/// A stored audit event with its id (ids grow with insertion order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAuditEvent {
    /// Row id.
    pub id: i64,
    /// The event.
    pub event: AuditEvent,
}

/// A freshly created API key. `secret` is shown once and never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// The key's metadata.
    pub info: ApiKeyInfo,
    /// The secret to hand to the client: `ctk_` and 64 hex digits.
    pub secret: String,
}

impl std::fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiKey")
            .field("info", &self.info)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// An API key's metadata (never its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyInfo {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Leading characters of the secret, for display.
    pub prefix: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Creation time, seconds since the Unix epoch.
    pub created: i64,
    /// Revocation time, if revoked.
    pub revoked_at: Option<i64>,
}

fn api_key_info(m: api_keys::Model) -> Result<ApiKeyInfo> {
    let scopes =
        serde_json::from_str(&m.scopes).map_err(|e| Error::Corrupt(format!("api key {} scopes: {e}", m.name)))?;
    Ok(ApiKeyInfo {
        id: m.id,
        name: m.name,
        prefix: m.key_prefix,
        scopes,
        created: m.created,
        revoked_at: m.revoked_at,
    })
}

fn verification_from_model(m: verification_records::Model) -> Result<VerificationRecord> {
    Ok(VerificationRecord {
        error_codes: serde_json::from_str(&m.error_codes)
            .map_err(|e| Error::Corrupt(format!("verification record {} error codes: {e}", m.id)))?,
        artifact_digest: m.artifact_digest,
        valid: m.valid,
        signer: m.signer,
        issuer: m.issuer,
        log_index: m.log_index.map(|i| to_u64(i, "log index")).transpose()?,
        request_id: m.request_id,
        created: m.created,
    })
}

fn permission_from_model(m: upload_permissions::Model) -> Result<UploadPermission> {
    Ok(UploadPermission {
        id: m.id,
        scan_id: m.scan_id,
        permitted: m.permitted,
        reason: m.reason,
        inner_signer_identity: m.inner_signer_identity,
        inner_signer_issuer: m.inner_signer_issuer,
        artifacts_json: m.artifacts,
        destination_json: m.destination,
        inner_entry_uuid: m.inner_entry_uuid,
        inner_entry_index: m
            .inner_entry_index
            .map(|i| to_u64(i, "inner entry index"))
            .transpose()?,
        outer_entry_uuid: m.outer_entry_uuid,
        outer_bundle: m.outer_bundle,
        expires_at: m.expires_at,
        created: m.created,
    })
}

impl Store {
    // ---- signed artifacts ----

    /// Records a signing outside an append (the log append records its own, atomically, through
    /// [`AppendBatch::artifacts`](trust_sigstore::embedded::store::AppendBatch)). Returns the row id.
    pub async fn insert_signed_artifact(&self, artifact: &SignedArtifact) -> Result<i64> {
        let res = signed_artifacts::Entity::insert(artifact_active(artifact)?)
            .exec(&self.db)
            .await?;
        Ok(res.last_insert_id)
    }

    /// Every signing recorded for `digest`, oldest first.
    pub async fn signed_artifacts_by_digest(&self, digest: &str) -> Result<Vec<SignedArtifact>> {
        signed_artifacts::Entity::find()
            .filter(signed_artifacts::Column::Digest.eq(digest))
            .order_by_asc(signed_artifacts::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(artifact_from_model)
            .collect()
    }

    /// Every signing recorded for log entry `uuid`, oldest first.
    pub async fn signed_artifacts_by_entry_uuid(&self, uuid: &str) -> Result<Vec<SignedArtifact>> {
        signed_artifacts::Entity::find()
            .filter(signed_artifacts::Column::EntryUuid.eq(uuid))
            .order_by_asc(signed_artifacts::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(artifact_from_model)
            .collect()
    }

    // ---- verification records ----

    /// Records a verification outcome. Returns the row id.
    pub async fn insert_verification_record(&self, record: &VerificationRecord) -> Result<i64> {
        Ok(verification_records::Entity::insert(verification_active(record)?)
            .exec(&self.db)
            .await?
            .last_insert_id)
    }

    /// Records many verifications in one transaction (one commit for a whole batch).
    pub async fn insert_verification_records(&self, records: &[VerificationRecord]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let rows = records.iter().map(verification_active).collect::<Result<Vec<_>>>()?;
        let txn = self.db.begin().await?;
        insert_chunked::<verification_records::Entity>(&txn, rows, 8).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Every verification recorded for `digest`, oldest first.
    pub async fn verification_records_by_digest(&self, digest: &str) -> Result<Vec<VerificationRecord>> {
        verification_records::Entity::find()
            .filter(verification_records::Column::ArtifactDigest.eq(digest))
            .order_by_asc(verification_records::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(verification_from_model)
            .collect()
    }

    // ---- upload permissions ----

    /// Stores an upload permission; [`Error::Conflict`] if its id exists.
    pub async fn insert_upload_permission(&self, p: &UploadPermission) -> Result<()> {
        let row = upload_permissions::ActiveModel {
            id: Set(p.id.clone()),
            scan_id: Set(p.scan_id.clone()),
            permitted: Set(p.permitted),
            reason: Set(p.reason.clone()),
            inner_signer_identity: Set(p.inner_signer_identity.clone()),
            inner_signer_issuer: Set(p.inner_signer_issuer.clone()),
            artifacts: Set(p.artifacts_json.clone()),
            destination: Set(p.destination_json.clone()),
            inner_entry_uuid: Set(p.inner_entry_uuid.clone()),
            inner_entry_index: Set(p
                .inner_entry_index
                .map(|i| to_i64(i, "inner entry index"))
                .transpose()?),
            outer_entry_uuid: Set(p.outer_entry_uuid.clone()),
            outer_bundle: Set(p.outer_bundle.clone()),
            expires_at: Set(p.expires_at),
            created: Set(p.created),
        };
        upload_permissions::Entity::insert(row)
            .exec_without_returning(&self.db)
            .await?;
        Ok(())
    }

    /// The upload permission with this id, if any.
    pub async fn upload_permission(&self, id: &str) -> Result<Option<UploadPermission>> {
        upload_permissions::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .map(permission_from_model)
            .transpose()
    }

    // ---- audit events ----

    /// Appends an audit event. Returns its id.
    pub async fn append_audit_event(&self, event: &AuditEvent) -> Result<i64> {
        let row = audit_events::ActiveModel {
            time: Set(event.time),
            actor: Set(event.actor.clone()),
            action: Set(event.action.clone()),
            target: Set(event.target.clone()),
            outcome: Set(event.outcome.clone()),
            detail: Set(event.detail_json.clone()),
            request_id: Set(event.request_id.clone()),
            ..Default::default()
        };
        Ok(audit_events::Entity::insert(row).exec(&self.db).await?.last_insert_id)
    }

    /// The `limit` most recent audit events, newest first.
    pub async fn recent_audit_events(&self, limit: u64) -> Result<Vec<StoredAuditEvent>> {
        Ok(audit_events::Entity::find()
            .order_by_desc(audit_events::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| StoredAuditEvent {
                id: m.id,
                event: AuditEvent {
                    time: m.time,
                    actor: m.actor,
                    action: m.action,
                    target: m.target,
                    outcome: m.outcome,
                    detail_json: m.detail,
                    request_id: m.request_id,
                },
            })
            .collect())
    }

    // ---- API keys ----

    /// Creates an API key named `name` with `scopes`. The returned secret is the only copy: the
    /// store keeps its SHA-256. [`Error::Conflict`] if the name is taken.
    pub async fn create_api_key(&self, name: &str, scopes: &[String], now: i64) -> Result<NewApiKey> {
        let mut raw = [0u8; 32];
        SystemRandom::new()
            .fill(&mut raw)
            .map_err(|_| Error::Backend("the system random generator failed".into()))?;
        let secret = format!("{API_KEY_PREFIX}{}", hex::encode(raw));
        let prefix = secret[..DISPLAY_PREFIX_LEN].to_owned();
        let scopes_json = serde_json::to_string(scopes).map_err(|e| Error::InvalidInput(format!("scopes: {e}")))?;
        let row = api_keys::ActiveModel {
            name: Set(name.to_owned()),
            key_hash: Set(digest(&SHA256, secret.as_bytes()).as_ref().to_vec()),
            key_prefix: Set(prefix.clone()),
            scopes: Set(scopes_json),
            created: Set(now),
            revoked_at: Set(None),
            ..Default::default()
        };
        let id = api_keys::Entity::insert(row).exec(&self.db).await?.last_insert_id;
        Ok(NewApiKey {
            info: ApiKeyInfo {
                id,
                name: name.to_owned(),
                prefix,
                scopes: scopes.to_vec(),
                created: now,
                revoked_at: None,
            },
            secret,
        })
    }

    /// The key whose secret is `secret`, if it exists and is not revoked. The hashes are compared
    /// in constant time.
    pub async fn verify_api_key(&self, secret: &str) -> Result<Option<ApiKeyInfo>> {
        let Some(prefix) = secret.get(..DISPLAY_PREFIX_LEN) else {
            return Ok(None);
        };
        if !secret.starts_with(API_KEY_PREFIX) {
            return Ok(None);
        }
        let presented = digest(&SHA256, secret.as_bytes());
        let candidates = api_keys::Entity::find()
            .filter(api_keys::Column::KeyPrefix.eq(prefix))
            .all(&self.db)
            .await?;
        for m in candidates {
            if verify_slices_are_equal(presented.as_ref(), &m.key_hash).is_ok() {
                if m.revoked_at.is_some() {
                    return Ok(None);
                }
                return api_key_info(m).map(Some);
            }
        }
        Ok(None)
    }

    /// Revokes the key named `name` at `now`. [`Error::NotFound`] if no such key exists; revoking
    /// a revoked key keeps the first revocation time.
    pub async fn revoke_api_key(&self, name: &str, now: i64) -> Result<()> {
        let exists = api_keys::Entity::find()
            .filter(api_keys::Column::Name.eq(name))
            .count(&self.db)
            .await?;
        if exists == 0 {
            return Err(Error::NotFound(format!("api key {name}")));
        }
        api_keys::Entity::update_many()
            .col_expr(api_keys::Column::RevokedAt, Expr::value(now))
            .filter(api_keys::Column::Name.eq(name))
            .filter(api_keys::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Every API key's metadata, by name.
    pub async fn list_api_keys(&self) -> Result<Vec<ApiKeyInfo>> {
        api_keys::Entity::find()
            .order_by_asc(api_keys::Column::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(api_key_info)
            .collect()
    }
}

fn verification_active(record: &VerificationRecord) -> Result<verification_records::ActiveModel> {
    let error_codes =
        serde_json::to_string(&record.error_codes).map_err(|e| Error::InvalidInput(format!("error codes: {e}")))?;
    Ok(verification_records::ActiveModel {
        artifact_digest: Set(record.artifact_digest.clone()),
        valid: Set(record.valid),
        signer: Set(record.signer.clone()),
        issuer: Set(record.issuer.clone()),
        error_codes: Set(error_codes),
        log_index: Set(record.log_index.map(|i| to_i64(i, "log index")).transpose()?),
        request_id: Set(record.request_id.clone()),
        created: Set(record.created),
        ..Default::default()
    })
}
