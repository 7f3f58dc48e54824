//! Local mode: the embedded CA, CT log, transparency log and TSA behind one signing entry point.
//!
//! A data directory holds everything but the log's rows: `local.json` (the manifest: signer
//! identity, log URL and tree id, when each key came into service), `keys/` (PKCS#8, 0600,
//! optionally encrypted) and `certs/`. The log itself lives in a [`LogStore`].

use super::ca::{IssueRequest, LocalCa, SignerIdentity};
use super::ct::CtLog;
use super::keys::{self, KeyAlgorithm, SigningKey};
use super::log::{LogConfig, LogError, LoggedEntry, NewEntry, TransparencyLog};
use super::store::{LogStore, SignedArtifact};
use super::tsa::LocalTsa;
use crate::client::rekor::{VerifiedEntry, VerifiedInclusionProof};
use crate::content::{assemble_bundle, sign_content, ContentError, SignedContent};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use trust_core::crypto::{pem_encode, sha256, Digest, HashAlgorithm};
use trust_core::time::UnixTime;

/// The manifest file name inside the data directory.
pub const MANIFEST: &str = "local.json";
const MANIFEST_VERSION: u32 = 1;
pub use crate::content::{SignContent, IN_TOTO_STATEMENT_V1};

use super::now;

mod proposed;
pub use proposed::{certificate_pem, MAX_PROPOSED_ENTRY};

/// Local-mode failures. Each has a stable code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalError {
    /// The data directory has no manifest.
    #[error(
        "{0} is not a certus-trust data directory (no {MANIFEST}); run `certus-trust-cli local init --data-dir {0}`"
    )]
    NotInitialized(String),
    /// The data directory is already set up.
    #[error("{0} is already initialized")]
    AlreadyInitialized(String),
    /// The manifest is unreadable or invalid.
    #[error("invalid {MANIFEST}: {0}")]
    Manifest(String),
    /// Bad signer settings or request.
    #[error("{0}")]
    InvalidInput(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// Key handling failed.
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    /// The CA failed.
    #[error(transparent)]
    Ca(#[from] super::ca::CaError),
    /// The CT log failed.
    #[error(transparent)]
    Ct(#[from] super::ct::CtError),
    /// The TSA failed.
    #[error(transparent)]
    Tsa(#[from] super::tsa::TsaError),
    /// The transparency log failed; nothing was logged.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The proposed entry is already in the log (as Rekor, a duplicate is refused).
    #[error("the entry is already in the log as {0}")]
    Duplicate(String),
}

impl From<ContentError> for LocalError {
    fn from(e: ContentError) -> Self {
        match e {
            ContentError::InvalidInput(m) => LocalError::InvalidInput(m),
            ContentError::Key(k) => LocalError::Key(k),
        }
    }
}

impl LocalError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotInitialized(_) => "local.not_initialized",
            Self::AlreadyInitialized(_) => "local.already_initialized",
            Self::Manifest(_) => "local.manifest_invalid",
            Self::InvalidInput(_) => "local.invalid_input",
            Self::Io { .. } => "local.io",
            Self::Key(e) => e.code(),
            Self::Ca(e) => e.code(),
            Self::Ct(e) => e.code(),
            Self::Tsa(e) => e.code(),
            Self::Log(e) => e.code(),
            Self::Duplicate(_) => "local.duplicate_entry",
        }
    }
}

/// Settings chosen at `init`.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// The identity certificates are issued to: an email address or a URI.
    pub identity: String,
    /// The OIDC issuer recorded in certificates.
    pub oidc_issuer: String,
    /// The URL the services are published under (the log's `baseUrl` in the trusted root; its
    /// host names the log in checkpoints).
    pub url: String,
}

impl Default for InitOptions {
    fn default() -> Self {
        Self {
            identity: "certus-trust@localhost".into(),
            oidc_issuer: "https://certus-trust.localhost".into(),
            url: "http://127.0.0.1:8888".into(),
        }
    }
}

/// The data directory's manifest.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format version.
    pub version: u32,
    /// Default signer identity.
    pub identity: String,
    /// Default OIDC issuer.
    pub oidc_issuer: String,
    /// Published URL of the services.
    pub url: String,
    /// The log's tree id (checkpoint origin `<host> - <tree id>`).
    pub tree_id: u64,
    /// When the directory was initialized (Unix seconds); the first keys' start of validity.
    pub created: i64,
    /// When each rotated role's current key came into service (Unix seconds); roles never
    /// rotated date from `created`.
    #[serde(default)]
    pub since: std::collections::BTreeMap<Role, i64>,
    /// Keys retired by rotation: still published in the trusted root, with an end of validity,
    /// so that what they signed keeps verifying.
    #[serde(default)]
    pub retired: Vec<RetiredKey>,
}

impl Manifest {
    /// When `role`'s current key came into service.
    pub fn since(&self, role: Role) -> i64 {
        self.since.get(&role).copied().unwrap_or(self.created)
    }
}

/// A key role of the local services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The transparency log key (SETs, checkpoints).
    Log,
    /// The CT log key (SCTs).
    Ct,
    /// The CA (root and intermediate).
    Ca,
    /// The TSA (root and signing certificate).
    Tsa,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Log, Role::Ct, Role::Ca, Role::Tsa];

    /// The files holding the role's material, relative to the data directory.
    fn files(self) -> &'static [&'static str] {
        match self {
            Role::Log => &["keys/log.key.pem"],
            Role::Ct => &["keys/ct.key.pem"],
            Role::Ca => &[
                "keys/ca-root.key.pem",
                "keys/ca-intermediate.key.pem",
                "certs/ca-root.pem",
                "certs/ca-intermediate.pem",
            ],
            Role::Tsa => &[
                "keys/tsa-root.key.pem",
                "keys/tsa-signing.key.pem",
                "certs/tsa-root.pem",
                "certs/tsa-signing.pem",
            ],
        }
    }
}

/// The public half of a retired key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetiredKey {
    /// Which role it served.
    pub role: Role,
    /// Log and CT keys: the SPKI DER, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// CA and TSA: the certificate chain (leaf-most first), base64 DER.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<String>,
    /// Start of validity (Unix seconds).
    pub valid_from: i64,
    /// End of validity: when it was rotated out (Unix seconds).
    pub valid_until: i64,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LocalError + '_ {
    move |source| LocalError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn parse_identity(identity: &str) -> Result<SignerIdentity, LocalError> {
    let identity = identity.trim();
    if identity.is_empty() {
        return Err(LocalError::InvalidInput("the signer identity is empty".into()));
    }
    Ok(if identity.contains("://") {
        SignerIdentity::Uri(identity.to_owned())
    } else {
        SignerIdentity::Email(identity.to_owned())
    })
}

fn url_host(url: &str) -> Result<&str, LocalError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| LocalError::InvalidInput(format!("service URL {url:?} must start with http:// or https://")))?;
    let host = rest.trim_end_matches('/');
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(LocalError::InvalidInput(format!("service URL {url:?} has no host")));
    }
    Ok(host)
}

/// Writes `bytes` to `path` atomically (the key files' writer: temp file, fsync, rename, fsync
/// of the directory).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), LocalError> {
    keys::write_atomic(path, bytes, 0o644).map_err(io_err(path))
}

/// A signing request.
#[derive(Clone, Debug)]
pub struct SignRequest {
    /// The artifact digest (SHA-256).
    pub artifact: Digest,
    /// What to sign.
    pub content: SignContent,
    /// Free-text artifact type, recorded with the signing.
    pub artifact_type: Option<String>,
    /// Subject name, recorded with the signing.
    pub subject: Option<String>,
    /// Whether to add an RFC 3161 timestamp from the embedded TSA.
    pub timestamp: bool,
    /// Override the configured signer identity.
    pub identity: Option<String>,
}

/// A completed signing.
#[derive(Clone, Debug)]
pub struct Signed {
    /// The Sigstore bundle (v0.3 JSON).
    pub bundle: String,
    /// The signature bytes (over the digest, or the DSSE signature).
    pub signature: Vec<u8>,
    /// The leaf certificate, PEM.
    pub certificate_pem: String,
    /// Signer identity and issuer.
    pub identity: String,
    /// The OIDC issuer in the certificate.
    pub issuer: String,
    /// The log entry, with its inclusion proof.
    pub entry: LoggedEntry,
}

/// The local-mode services.
pub struct LocalSigstore<S: LogStore> {
    dir: PathBuf,
    manifest: Manifest,
    ca: LocalCa,
    ct: CtLog,
    tsa: LocalTsa,
    log: TransparencyLog<S>,
}

impl<S: LogStore> std::fmt::Debug for LocalSigstore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSigstore")
            .field("dir", &self.dir)
            .field("manifest", &self.manifest)
            .finish_non_exhaustive()
    }
}

/// Creates the data directory's manifest and keys. Fails if it is already initialized.
pub fn init(dir: &Path, options: &InitOptions, passphrase: Option<&str>) -> Result<Manifest, LocalError> {
    parse_identity(&options.identity)?;
    if options.oidc_issuer.trim().is_empty() {
        return Err(LocalError::InvalidInput("the OIDC issuer is empty".into()));
    }
    url_host(&options.url)?;
    let path = dir.join(MANIFEST);
    if path.exists() {
        return Err(LocalError::AlreadyInitialized(dir.display().to_string()));
    }
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let created = now();
    // Keys and certificates first; the manifest last, so a crash leaves no half-initialized
    // directory that claims to be ready (re-running init picks the existing keys up).
    LocalCa::load_or_create(dir, passphrase, created)?;
    LocalTsa::load_or_create(dir, passphrase, created)?;
    CtLog::load_or_create(&dir.join("keys/ct.key.pem"), passphrase)?;
    keys::load_or_create(&dir.join("keys/log.key.pem"), KeyAlgorithm::EcdsaP256Sha256, passphrase)?;
    let mut id = [0u8; 8];
    aws_lc_rs::rand::fill(&mut id).map_err(|_| LocalError::InvalidInput("no randomness".into()))?;
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        identity: options.identity.trim().to_owned(),
        oidc_issuer: options.oidc_issuer.trim().to_owned(),
        url: options.url.trim_end_matches('/').to_owned(),
        tree_id: u64::from_be_bytes(id) >> 1,
        created: created.secs(),
        since: Default::default(),
        retired: Vec::new(),
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| LocalError::Manifest(e.to_string()))?;
    write_atomic(&path, &json)?;
    Ok(manifest)
}

/// Reads the manifest of an initialized data directory.
pub fn read_manifest(dir: &Path) -> Result<Manifest, LocalError> {
    let path = dir.join(MANIFEST);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(LocalError::NotInitialized(dir.display().to_string()))
        }
        Err(e) => return Err(io_err(&path)(e)),
    };
    let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| LocalError::Manifest(e.to_string()))?;
    if m.version != MANIFEST_VERSION {
        return Err(LocalError::Manifest(format!(
            "format version {} (this binary knows {MANIFEST_VERSION})",
            m.version
        )));
    }
    parse_identity(&m.identity)?;
    url_host(&m.url)?;
    Ok(m)
}

const ROTATE_STAGING: &str = "rotate.tmp";
const ROTATE_READY: &str = "rotate.ready";

fn sync_dir(dir: &Path) -> Result<(), LocalError> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io_err(dir))
}

/// Rotates the keys of `roles`: new keys come into service now; the old ones are moved to
/// `retired/<time>/` and stay in the trusted root with an end of validity. Run it while no
/// server uses the directory.
///
/// Crash-safe: the new material and manifest are prepared in `rotate.tmp/` (discarded if a
/// crash interrupts), then committed by renaming it to `rotate.ready/`, which is applied file
/// by file, idempotently, here or on the next open.
pub fn rotate(dir: &Path, roles: &[Role], passphrase: Option<&str>) -> Result<Manifest, LocalError> {
    if roles.is_empty() {
        return Err(LocalError::InvalidInput(
            "choose at least one key role to rotate".into(),
        ));
    }
    finish_rotation(dir)?;
    let mut m = read_manifest(dir)?;
    let now = now();
    if roles.iter().any(|r| m.since(*r) >= now.secs()) {
        return Err(LocalError::InvalidInput(
            "a key was rotated less than a second ago".into(),
        ));
    }
    let staging = dir.join(ROTATE_STAGING);
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(io_err(&staging))?;
    }
    std::fs::create_dir_all(&staging).map_err(io_err(&staging))?;
    let mut roles = roles.to_vec();
    roles.sort();
    roles.dedup();
    for &role in &roles {
        let (public_key, chain) = match role {
            Role::Log => {
                let old =
                    keys::load_or_create(&dir.join("keys/log.key.pem"), KeyAlgorithm::EcdsaP256Sha256, passphrase)?;
                keys::load_or_create(
                    &staging.join("keys/log.key.pem"),
                    KeyAlgorithm::EcdsaP256Sha256,
                    passphrase,
                )?;
                (Some(b64(old.public_key_spki_der())), Vec::new())
            }
            Role::Ct => {
                let old = CtLog::load_or_create(&dir.join("keys/ct.key.pem"), passphrase)?;
                CtLog::load_or_create(&staging.join("keys/ct.key.pem"), passphrase)?;
                (Some(b64(old.key().public_key_spki_der())), Vec::new())
            }
            Role::Ca => {
                let old = LocalCa::load_or_create(dir, passphrase, now)?;
                LocalCa::load_or_create(&staging, passphrase, now)?;
                (None, old.chain_der().iter().map(b64).collect())
            }
            Role::Tsa => {
                let old = LocalTsa::load_or_create(dir, passphrase, now)?;
                LocalTsa::load_or_create(&staging, passphrase, now)?;
                (None, old.chain_der().iter().map(b64).collect())
            }
        };
        m.retired.push(RetiredKey {
            role,
            public_key,
            chain,
            valid_from: m.since(role),
            valid_until: now.secs(),
        });
        m.since.insert(role, now.secs());
    }
    let json = serde_json::to_vec_pretty(&m).map_err(|e| LocalError::Manifest(e.to_string()))?;
    write_atomic(&staging.join(MANIFEST), &json)?;
    for sub in ["keys", "certs"] {
        let d = staging.join(sub);
        if d.exists() {
            sync_dir(&d)?;
        }
    }
    let ready = dir.join(ROTATE_READY);
    std::fs::rename(&staging, &ready).map_err(io_err(&ready))?;
    sync_dir(dir)?;
    finish_rotation(dir)?;
    Ok(m)
}

/// Applies a committed rotation (`rotate.ready/`) and discards an uncommitted one.
fn finish_rotation(dir: &Path) -> Result<(), LocalError> {
    let staging = dir.join(ROTATE_STAGING);
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(io_err(&staging))?;
    }
    let ready = dir.join(ROTATE_READY);
    if !ready.exists() {
        return Ok(());
    }
    let bytes = std::fs::read(ready.join(MANIFEST)).map_err(io_err(&ready))?;
    let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| LocalError::Manifest(e.to_string()))?;
    let stamp = m.since.values().max().copied().unwrap_or(m.created);
    let retired = dir.join("retired").join(stamp.to_string());
    for role in Role::ALL {
        for file in role.files() {
            let new = ready.join(file);
            if !new.exists() {
                continue;
            }
            let (current, old) = (dir.join(file), retired.join(file));
            if current.exists() && !old.exists() {
                let parent = old.parent().unwrap_or(&retired);
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(parent)
                    .map_err(io_err(parent))?;
                std::fs::rename(&current, &old).map_err(io_err(&current))?;
            }
            std::fs::rename(&new, &current).map_err(io_err(&new))?;
        }
    }
    std::fs::rename(ready.join(MANIFEST), dir.join(MANIFEST)).map_err(io_err(dir))?;
    sync_dir(dir)?;
    std::fs::remove_dir_all(&ready).map_err(io_err(&ready))
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    B64.encode(bytes)
}

fn rfc3339(secs: i64) -> String {
    UnixTime::from_secs(secs).to_string()
}

impl<S: LogStore> LocalSigstore<S> {
    /// Opens an initialized data directory with the log stored in `store`. Starts the log's
    /// writer task, so it must run inside a tokio runtime.
    pub fn open(dir: &Path, store: Arc<S>, passphrase: Option<&str>, max_batch: usize) -> Result<Self, LocalError> {
        finish_rotation(dir)?;
        let manifest = read_manifest(dir)?;
        let created = UnixTime::from_secs(manifest.created);
        let missing = |p: &Path| -> Result<(), LocalError> {
            if p.exists() {
                Ok(())
            } else {
                Err(LocalError::Manifest(format!("{} is missing", p.display())))
            }
        };
        let ct_path = dir.join("keys/ct.key.pem");
        let log_path = dir.join("keys/log.key.pem");
        missing(&ct_path)?;
        missing(&log_path)?;
        let ca = LocalCa::load_or_create(dir, passphrase, created)?;
        let tsa = LocalTsa::load_or_create(dir, passphrase, created)?;
        let ct = CtLog::load_or_create(&ct_path, passphrase)?;
        let log_key = keys::load_or_create(&log_path, KeyAlgorithm::EcdsaP256Sha256, passphrase)?;
        let config = LogConfig {
            name: url_host(&manifest.url)?.to_owned(),
            tree_id: manifest.tree_id,
            max_batch,
        };
        let log = TransparencyLog::start(store, log_key, config);
        Ok(Self {
            dir: dir.to_owned(),
            manifest,
            ca,
            ct,
            tsa,
            log,
        })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Whether the CA and the TSA can sign at `at` (their certificates are valid then): one
    /// `(component, ok, detail)` per service, for readiness checks.
    pub fn authority_status(&self, at: UnixTime) -> Vec<(&'static str, bool, String)> {
        let check = |name: &'static str, range: trust_core::time::TimeRange| {
            if range.contains(at) {
                (
                    name,
                    true,
                    format!(
                        "valid until {}",
                        range.end.map_or_else(|| "-".into(), |e| e.to_string())
                    ),
                )
            } else {
                (
                    name,
                    false,
                    format!("certificate not valid at {at}: valid from {}", range.start),
                )
            }
        };
        vec![
            check("ca", self.ca.intermediate_validity()),
            check("tsa", self.tsa.valid_for()),
        ]
    }

    /// The transparency log.
    pub fn log(&self) -> &TransparencyLog<S> {
        &self.log
    }

    /// Signs with a fresh ephemeral key and a certificate from the embedded CA, logs the entry
    /// (with its signing record, in one transaction), optionally timestamps, and returns the
    /// v0.3 bundle. Nothing is recorded unless everything succeeded.
    pub async fn sign(&self, req: SignRequest) -> Result<Signed, LocalError> {
        if req.artifact.algorithm() != HashAlgorithm::Sha256 {
            return Err(LocalError::InvalidInput(
                "only sha256 artifact digests can be signed".into(),
            ));
        }
        let identity = req.identity.clone().unwrap_or_else(|| self.manifest.identity.clone());
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256)?;
        let now = now();
        let issued = self.ca.issue(
            &IssueRequest {
                public_key_spki_der: key.public_key_spki_der(),
                identity: parse_identity(&identity)?,
                oidc_issuer: self.manifest.oidc_issuer.clone(),
                claims: Vec::new(),
                now,
            },
            &self.ct,
        )?;
        let cert_pem = pem_encode("CERTIFICATE", &issued.leaf_der);
        let signed = sign_content(&key, &req.artifact, &req.content)?;
        let body = signed.rekor_v1_body(&req.artifact, &cert_pem);
        let SignedContent {
            signature,
            kind,
            content: content_json,
            predicate_type,
            ..
        } = signed;
        let timestamp = if req.timestamp {
            Some(
                self.tsa
                    .timestamp(HashAlgorithm::Sha256, &sha256(&signature), None, now)?,
            )
        } else {
            None
        };
        let parts = Arc::new(BundleParts {
            leaf_der: issued.leaf_der,
            content: content_json,
            timestamp,
        });
        let record_parts = parts.clone();
        let issuer = self.manifest.oidc_issuer.clone();
        let (rec_identity, rec_issuer) = (identity.clone(), issuer.clone());
        let (artifact_type, subject) = (req.artifact_type.clone(), req.subject.clone());
        let digest = req.artifact.to_string();
        let entry = self
            .log
            .append(NewEntry {
                kind,
                body,
                artifact_digest: digest.clone(),
                record: Some(Box::new(move |done: &LoggedEntry| SignedArtifact {
                    digest: digest.clone(),
                    artifact_type: artifact_type.clone(),
                    subject: subject.clone(),
                    predicate_type: predicate_type.clone(),
                    signer_identity: rec_identity.clone(),
                    signer_issuer: rec_issuer.clone(),
                    bundle: record_parts.bundle_json(done),
                    log_index: done.leaf.index,
                    entry_uuid: done.leaf.uuid.clone(),
                    created: done.leaf.integrated_time,
                })),
            })
            .await?;
        Ok(Signed {
            bundle: parts.bundle_json(&entry),
            signature,
            certificate_pem: cert_pem,
            identity,
            issuer,
            entry,
        })
    }

    /// The `trusted_root.json` that verifies everything this instance signs: the CA chain, the
    /// log key, the CT log key and the TSA chain, each with its validity.
    pub fn trusted_root(&self) -> Value {
        let m = &self.manifest;
        let url = &m.url;
        let valid = |from: i64, until: Option<i64>| match until {
            Some(u) => json!({"start": rfc3339(from), "end": rfc3339(u)}),
            None => json!({"start": rfc3339(from)}),
        };
        let log = |spki: &[u8], base: &str, validity: Value| {
            json!({
                "baseUrl": base,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {"rawBytes": b64(spki), "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": validity},
                "logId": {"keyId": b64(sha256(spki))},
            })
        };
        let authority = |name: &str, uri: String, chain: Vec<String>, validity: Value| {
            json!({
                "subject": {"organization": "certus-trust", "commonName": name},
                "uri": uri,
                "certChain": {"certificates": chain.into_iter().map(|c| json!({"rawBytes": c})).collect::<Vec<_>>()},
                "validFor": validity,
            })
        };
        let (ct_url, tsa_url) = (format!("{url}/ct"), format!("{url}/api/v1/timestamp"));
        let mut tlogs = vec![log(self.log.public_key_der(), url, valid(m.since(Role::Log), None))];
        let mut ctlogs = vec![log(
            self.ct.key().public_key_spki_der(),
            &ct_url,
            valid(m.since(Role::Ct), None),
        )];
        let chain = |ders: Vec<Vec<u8>>| ders.iter().map(b64).collect::<Vec<_>>();
        let mut cas = vec![authority(
            "certus-trust local CA",
            url.clone(),
            chain(self.ca.chain_der()),
            valid(m.since(Role::Ca), None),
        )];
        let mut tsas = vec![authority(
            "certus-trust local TSA",
            tsa_url.clone(),
            chain(self.tsa.chain_der()),
            valid(m.since(Role::Tsa), None),
        )];
        for r in &m.retired {
            let validity = valid(r.valid_from, Some(r.valid_until));
            let spki = r
                .public_key
                .as_deref()
                .and_then(|k| B64.decode(k).ok())
                .unwrap_or_default();
            match r.role {
                Role::Log => tlogs.push(log(&spki, url, validity)),
                Role::Ct => ctlogs.push(log(&spki, &ct_url, validity)),
                Role::Ca => cas.push(authority(
                    "certus-trust local CA",
                    url.clone(),
                    r.chain.clone(),
                    validity,
                )),
                Role::Tsa => tsas.push(authority(
                    "certus-trust local TSA",
                    tsa_url.clone(),
                    r.chain.clone(),
                    validity,
                )),
            }
        }
        json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": tlogs,
            "certificateAuthorities": cas,
            "ctlogs": ctlogs,
            "timestampAuthorities": tsas,
        })
    }

    /// The signing config (v0.2) naming this instance's services.
    pub fn signing_config(&self) -> Value {
        let url = &self.manifest.url;
        let service = |u: String| json!({"url": u, "majorApiVersion": 1, "validFor": {"start": rfc3339(self.manifest.created)}, "operator": "certus-trust"});
        json!({
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [service(url.clone())],
            "oidcUrls": [],
            "rekorTlogUrls": [service(url.clone())],
            "tsaUrls": [service(format!("{url}/api/v1/timestamp"))],
            "rekorTlogConfig": {"selector": "ANY"},
            "tsaConfig": {"selector": "ANY"},
        })
    }

    /// The sigstore-python `ClientTrustConfig`: trusted root plus signing config.
    pub fn client_trust_config(&self) -> Value {
        json!({
            "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
            "trustedRoot": self.trusted_root(),
            "signingConfig": self.signing_config(),
        })
    }
}

/// What a bundle needs besides the log entry.
struct BundleParts {
    leaf_der: Vec<u8>,
    content: Value,
    timestamp: Option<Vec<u8>>,
}

impl BundleParts {
    fn bundle_json(&self, e: &LoggedEntry) -> String {
        assemble_bundle(
            &self.leaf_der,
            vec![tlog_entry_json(e)],
            self.timestamp.as_slice(),
            &self.content,
        )
    }
}

/// The bundle's `tlogEntries` element for an entry of the embedded log (the same shape the
/// Rekor clients produce for remote entries).
pub fn tlog_entry_json(e: &LoggedEntry) -> Value {
    let p = &e.inclusion_proof;
    VerifiedEntry {
        uuid: e.leaf.uuid.clone(),
        log_index: e.leaf.index,
        log_id: e.log_id.to_vec(),
        integrated_time: e.leaf.integrated_time,
        body: e.leaf.body.clone(),
        kind: e.kind.kind().to_owned(),
        version: e.kind.version().to_owned(),
        signed_entry_timestamp: Some(e.leaf.signed_entry_timestamp.clone()),
        inclusion_proof: VerifiedInclusionProof {
            log_index: p.log_index,
            tree_size: p.tree_size,
            root_hash: p.root_hash,
            hashes: p.hashes.clone(),
            checkpoint: p.checkpoint.clone(),
        },
    }
    .to_bundle_json()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::rekor::EntryKind;
    use super::super::testutil::{temp_dir, Mem};
    use super::*;
    use trust_core::policy::{CertificateIdentity, PolicyBuilder};
    use trust_core::trust_root::TrustedRoot;
    use trust_core::verifier::{VerifiedSigner, Verifier, VerifierConfig};

    fn open(dir: &Path) -> LocalSigstore<Mem> {
        LocalSigstore::open(dir, Arc::new(Mem::default()), None, 16).unwrap()
    }

    fn verifier(local: &LocalSigstore<Mem>, signed_timestamps: usize) -> Verifier {
        let root = TrustedRoot::from_json(local.trusted_root().to_string().as_bytes()).unwrap();
        Verifier::new(
            root,
            VerifierConfig::default().with_signed_timestamps(signed_timestamps),
        )
        .unwrap()
    }

    fn request(artifact: &[u8], content: SignContent, timestamp: bool) -> SignRequest {
        SignRequest {
            artifact: Digest::new(HashAlgorithm::Sha256, &sha256(artifact)).unwrap(),
            content,
            artifact_type: Some("file".into()),
            subject: Some("a.txt".into()),
            timestamp,
            identity: None,
        }
    }

    #[tokio::test]
    async fn signed_bundles_verify_with_the_exported_root() {
        let dir = temp_dir("local-sign");
        init(&dir, &InitOptions::default(), None).unwrap();
        let local = open(&dir);
        let artifact = b"hello, certus";
        let signed = local.sign(request(artifact, SignContent::Digest, true)).await.unwrap();
        let id = CertificateIdentity::exact("certus-trust@localhost", "https://certus-trust.localhost").unwrap();
        let policy = PolicyBuilder::new()
            .artifact_bytes(artifact)
            .certificate_identity(id.clone())
            .now(now())
            .build()
            .unwrap();
        let verified = verifier(&local, 1)
            .verify_json(signed.bundle.as_bytes(), &policy)
            .unwrap();
        assert_eq!(verified.tlog_entries[0].log_index, signed.entry.leaf.index);
        match &verified.signer {
            VerifiedSigner::Certificate {
                identity,
                verified_scts,
                ..
            } => {
                assert_eq!(identity, "certus-trust@localhost");
                assert_eq!(*verified_scts, 1);
            }
            other => panic!("{other:?}"),
        }
        // The wrong artifact or identity fails.
        let other = PolicyBuilder::new()
            .artifact_bytes(b"other")
            .certificate_identity(id)
            .now(now())
            .build()
            .unwrap();
        assert!(verifier(&local, 1)
            .verify_json(signed.bundle.as_bytes(), &other)
            .is_err());
        let wrong = CertificateIdentity::exact("mallory@localhost", "https://certus-trust.localhost").unwrap();
        let policy = PolicyBuilder::new()
            .artifact_bytes(artifact)
            .certificate_identity(wrong)
            .now(now())
            .build()
            .unwrap();
        assert_eq!(
            verifier(&local, 1)
                .verify_json(signed.bundle.as_bytes(), &policy)
                .unwrap_err()
                .code(),
            "cert.identity_mismatch"
        );
    }

    #[tokio::test]
    async fn in_toto_statements_verify_and_bind_the_subject() {
        let dir = temp_dir("local-dsse");
        init(&dir, &InitOptions::default(), None).unwrap();
        let local = open(&dir);
        let artifact = b"container image bytes";
        let content = SignContent::InToto {
            predicate_type: "https://slsa.dev/provenance/v1".into(),
            predicate: json!({"buildDefinition": {"buildType": "x"}}),
            subject_name: "image".into(),
            additional_subjects: Vec::new(),
        };
        let signed = local.sign(request(artifact, content, false)).await.unwrap();
        let id = CertificateIdentity::exact("certus-trust@localhost", "https://certus-trust.localhost").unwrap();
        let policy = PolicyBuilder::new()
            .artifact_bytes(artifact)
            .certificate_identity(id)
            .now(now())
            .build()
            .unwrap();
        let verified = verifier(&local, 0)
            .verify_json(signed.bundle.as_bytes(), &policy)
            .unwrap();
        let statement = verified.statement.unwrap();
        assert_eq!(statement.predicate_type, "https://slsa.dev/provenance/v1");
        assert_eq!(signed.entry.kind, EntryKind::Dsse);
    }

    #[tokio::test]
    async fn init_refuses_bad_settings_and_a_second_init() {
        let dir = temp_dir("local-init");
        let bad = |o: InitOptions| init(&dir, &o, None).unwrap_err().code();
        assert_eq!(
            bad(InitOptions {
                identity: " ".into(),
                ..InitOptions::default()
            }),
            "local.invalid_input"
        );
        assert_eq!(
            bad(InitOptions {
                url: "ftp://x".into(),
                ..InitOptions::default()
            }),
            "local.invalid_input"
        );
        assert!(!dir.join(MANIFEST).exists());
        init(&dir, &InitOptions::default(), None).unwrap();
        assert_eq!(bad(InitOptions::default()), "local.already_initialized");
        let empty = temp_dir("local-empty");
        let err = LocalSigstore::open(&empty, Arc::new(Mem::default()), None, 1).unwrap_err();
        assert_eq!(err.code(), "local.not_initialized");
    }

    #[tokio::test]
    async fn a_failed_log_commit_records_nothing() {
        let dir = temp_dir("local-fail");
        init(&dir, &InitOptions::default(), None).unwrap();
        let store = Arc::new(Mem::default());
        let local = LocalSigstore::open(&dir, store.clone(), None, 4).unwrap();
        store.fail_commits.store(true, std::sync::atomic::Ordering::SeqCst);
        let err = local.sign(request(b"x", SignContent::Digest, false)).await.unwrap_err();
        assert_eq!(err.code(), "store.unavailable");
        let d = store.data.lock().unwrap();
        assert!(d.leaves.is_empty() && d.artifacts.is_empty());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod rotation_tests {
    use super::super::testutil::{temp_dir, Mem};
    use super::*;
    use trust_core::policy::{CertificateIdentity, PolicyBuilder};
    use trust_core::trust_root::TrustedRoot;
    use trust_core::verifier::{Verifier, VerifierConfig};

    fn verify(root: &Value, bundle: &str, artifact: &[u8]) -> Result<(), String> {
        let root = TrustedRoot::from_json(root.to_string().as_bytes()).unwrap();
        let v = Verifier::new(root, VerifierConfig::default().with_signed_timestamps(1)).unwrap();
        let id = CertificateIdentity::exact("certus-trust@localhost", "https://certus-trust.localhost").unwrap();
        let policy = PolicyBuilder::new()
            .artifact_bytes(artifact)
            .certificate_identity(id)
            .now(now())
            .build()
            .unwrap();
        v.verify_json(bundle.as_bytes(), &policy)
            .map(|_| ())
            .map_err(|e| e.code().to_owned())
    }

    async fn sign(local: &LocalSigstore<Mem>, artifact: &[u8]) -> Signed {
        local
            .sign(SignRequest {
                artifact: Digest::new(HashAlgorithm::Sha256, &sha256(artifact)).unwrap(),
                content: SignContent::Digest,
                artifact_type: None,
                subject: None,
                timestamp: true,
                identity: None,
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn rotated_keys_stay_trusted_for_what_they_signed() {
        let dir = temp_dir("rotate");
        init(&dir, &InitOptions::default(), None).unwrap();
        let store = Arc::new(Mem::default());
        let before = LocalSigstore::open(&dir, store.clone(), None, 4).unwrap();
        let old_bundle = sign(&before, b"before").await;
        let old_root = before.trusted_root();
        drop(before);

        assert_eq!(rotate(&dir, &[], None).unwrap_err().code(), "local.invalid_input");
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let m = rotate(&dir, &Role::ALL, None).unwrap();
        assert_eq!(m.retired.len(), 4);
        assert!(!dir.join(ROTATE_READY).exists() && !dir.join(ROTATE_STAGING).exists());
        assert!(dir
            .join(format!("retired/{}/keys/log.key.pem", m.since(Role::Log)))
            .exists());

        let after = LocalSigstore::open(&dir, store, None, 4).unwrap();
        let new_bundle = sign(&after, b"after").await;
        assert_ne!(old_bundle.entry.log_id, new_bundle.entry.log_id);
        assert_eq!(new_bundle.entry.leaf.index, 1, "the same log goes on");
        let root = after.trusted_root();
        for (list, n) in [
            ("tlogs", 2),
            ("ctlogs", 2),
            ("certificateAuthorities", 2),
            ("timestampAuthorities", 2),
        ] {
            let entries = root[list].as_array().unwrap();
            assert_eq!(entries.len(), n, "{list}");
            let ends = entries
                .iter()
                .filter(|e| e["validFor"]["end"].is_string() || e["publicKey"]["validFor"]["end"].is_string());
            assert_eq!(ends.count(), 1, "{list}: the retired key has an end of validity");
        }
        // The new root verifies both; the old root only what was signed before.
        verify(&root, &old_bundle.bundle, b"before").unwrap();
        verify(&root, &new_bundle.bundle, b"after").unwrap();
        verify(&old_root, &old_bundle.bundle, b"before").unwrap();
        assert!(verify(&old_root, &new_bundle.bundle, b"after").is_err());
    }

    #[tokio::test]
    async fn an_interrupted_rotation_is_discarded() {
        let dir = temp_dir("rotate-crash");
        let m = init(&dir, &InitOptions::default(), None).unwrap();
        // A crash while preparing leaves rotate.tmp behind: nothing was committed.
        std::fs::create_dir_all(dir.join(ROTATE_STAGING).join("keys")).unwrap();
        std::fs::write(dir.join(ROTATE_STAGING).join("keys/log.key.pem"), b"half-written").unwrap();
        let local = LocalSigstore::open(&dir, Arc::new(Mem::default()), None, 4).unwrap();
        assert!(!dir.join(ROTATE_STAGING).exists());
        assert_eq!(local.manifest().retired, m.retired);
        assert_eq!(local.manifest().since(Role::Log), m.created);
    }
}
