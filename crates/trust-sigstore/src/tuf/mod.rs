//! TUF-managed Sigstore trust material: `trusted_root.json` and `signing_config.v0.2.json` fetched
//! from a TUF repository with [`tough`], starting from an embedded (or operator-supplied) initial
//! `root.json`.
//!
//! # Cache model
//!
//! `cache_dir` holds committed *generations* and a `current` file naming the live one:
//!
//! ```text
//! cache_dir/current              "gen-<nanos>-<pid>" (replaced by temp file + rename)
//! cache_dir/gen-.../metadata/    the exact metadata bytes that were verified (root chain above
//!                                the initial root, timestamp, snapshot, targets, delegations)
//! cache_dir/gen-.../targets/     the exact target bytes that were verified
//! cache_dir/gen-.../datastore/   tough's rollback state after that verification
//! ```
//!
//! [`update`] builds a new generation in a temporary directory (starting from a copy of the
//! current generation's datastore, so rollbacks of timestamp/snapshot/targets are refused, and
//! refusing a root older than the cached one), re-verifies the written copy offline, and only then
//! switches `current`. A failure at any step leaves the previous generation untouched.
//!
//! [`load_cached`] never trusts the disk: it runs the full TUF client workflow again (initial root
//! → root chain → timestamp → snapshot → targets, signatures, thresholds, versions, expiry, target
//! lengths and hashes) through tough's filesystem transport over the generation, with a scratch
//! copy of the datastore, and parses the trusted root with [`TrustedRoot::from_json`].

#[cfg(feature = "testing")]
pub mod testing;
mod transport;

use aws_lc_rs::digest::{digest, SHA256};
use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tough::schema::{RoleType, Root, Signed};
use tough::{ExpirationEnforcement, FilesystemTransport, IntoVec, Repository, RepositoryLoader, TargetName, Transport};
use trust_core::time::UnixTime;
use trust_core::trust_root::{TrustRootError, TrustedRoot};
use url::Url;

pub use transport::{HttpTransport, RecordingTransport};

use crate::client::{ClientError, EndpointConfig};

/// The Sigstore public-good production TUF `root.json` (see `tuf-roots/README.md`).
pub const PRODUCTION_ROOT: &[u8] = include_bytes!("../../tuf-roots/production/root.json");
/// The Sigstore staging TUF `root.json` (see `tuf-roots/README.md`).
pub const STAGING_ROOT: &[u8] = include_bytes!("../../tuf-roots/staging/root.json");
/// The Sigstore public-good production TUF repository (metadata base URL).
pub const PRODUCTION_URL: &str = "https://tuf-repo-cdn.sigstore.dev";
/// The Sigstore staging TUF repository (metadata base URL).
pub const STAGING_URL: &str = "https://tuf-repo-cdn.sigstage.dev";
/// The target holding the trusted root (`dev.sigstore.trustroot.v1.TrustedRoot`).
pub const TRUSTED_ROOT_TARGET: &str = "trusted_root.json";
/// The target holding the signing config (`dev.sigstore.trustroot.v1.SigningConfig`, v0.2).
pub const SIGNING_CONFIG_TARGET: &str = "signing_config.v0.2.json";

/// Why TUF trust material could not be fetched, loaded or verified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TufError {
    /// The initial `root.json` could not be read, parsed, or is not signed by its own threshold.
    #[error("initial TUF root {source_name}: {reason}")]
    InitialRoot {
        /// `production`, `staging` or the file path.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// A role's metadata has expired.
    #[error("TUF {role} metadata expired{}", expires.map(|t| format!(" at {t}")).unwrap_or_default())]
    Expired {
        /// `root`, `timestamp`, `snapshot`, `targets` or `delegated-targets`.
        role: String,
        /// When it expired, when it could be read.
        expires: Option<UnixTime>,
    },
    /// A role's metadata is older than the version already trusted (rollback / freeze attack).
    #[error("TUF rollback refused: {role} version {new_version} is older than the trusted version {trusted_version}")]
    Rollback {
        /// The role.
        role: String,
        /// The version already trusted.
        trusted_version: u64,
        /// The version offered.
        new_version: u64,
    },
    /// A file's SHA-256 does not match what the signed metadata says.
    #[error("TUF hash mismatch for {what}: expected sha256 {expected}, got {calculated}")]
    HashMismatch {
        /// The file (URL or path).
        what: String,
        /// Digest in the metadata.
        expected: String,
        /// Digest of the bytes received.
        calculated: String,
    },
    /// A file is larger than the metadata or the client limits allow.
    #[error("TUF file {what} exceeds its maximum size {max_size} ({specifier})")]
    TooLarge {
        /// The file (URL or path).
        what: String,
        /// The limit.
        max_size: u64,
        /// Where the limit comes from.
        specifier: String,
    },
    /// A signature, threshold, key or version check failed.
    #[error("TUF verification of {role} metadata failed: {detail}")]
    Verification {
        /// The role.
        role: String,
        /// What failed.
        detail: String,
    },
    /// The repository does not list a required target.
    #[error("TUF repository does not list the target {name}")]
    MissingTarget {
        /// The target name.
        name: String,
    },
    /// A file could not be fetched (network, HTTP status, missing file).
    #[error("TUF fetch of {url} failed: {detail}")]
    Fetch {
        /// The URL.
        url: String,
        /// Why.
        detail: String,
    },
    /// The repository could not be reached or answered with an error (after the HTTP layer's
    /// retries); names the service (TUF) and the URL.
    #[error("{0}")]
    Http(#[source] ClientError),
    /// Any other repository problem (malformed metadata, bad URLs ...).
    #[error("TUF repository error: {0}")]
    Repository(String),
    /// The system clock is earlier than a time already observed by this cache.
    #[error("system clock stepped backward: now {now}, previously seen {seen}")]
    ClockSteppedBackward {
        /// The current system time.
        now: String,
        /// The latest time recorded in the cache.
        seen: String,
    },
    /// The verified `trusted_root.json` target is not a valid trusted root.
    #[error("TUF target {TRUSTED_ROOT_TARGET} is not a valid trusted root: {0}")]
    TrustedRoot(#[from] TrustRootError),
    /// There is no cached repository to load (run an update first).
    #[error("no cached TUF repository in {}; run `certus-trust-cli trust update` first", dir.display())]
    NoCache {
        /// The cache directory.
        dir: PathBuf,
    },
    /// The cache directory is not in the expected shape.
    #[error("TUF cache {}: {reason}", path.display())]
    CacheCorrupt {
        /// The offending path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing the cache directory failed.
    #[error("TUF cache I/O on {}: {source}", path.display())]
    CacheIo {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The configuration is unusable (URL scheme, no cache directory ...).
    #[error("TUF configuration: {0}")]
    Config(String),
}

impl TufError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            TufError::InitialRoot { .. } => "tuf.initial_root",
            TufError::Expired { .. } => "tuf.expired",
            TufError::Rollback { .. } => "tuf.rollback",
            TufError::HashMismatch { .. } => "tuf.hash_mismatch",
            TufError::TooLarge { .. } => "tuf.too_large",
            TufError::Verification { .. } => "tuf.verification",
            TufError::MissingTarget { .. } => "tuf.missing_target",
            TufError::Fetch { .. } => "tuf.fetch",
            TufError::Http(e) if e.is_unavailable() => "tuf.unavailable",
            TufError::Http(_) => "tuf.http",
            TufError::Repository(_) => "tuf.repository",
            TufError::ClockSteppedBackward { .. } => "tuf.clock_stepped_backward",
            TufError::TrustedRoot(_) => "tuf.trusted_root_invalid",
            TufError::NoCache { .. } => "tuf.no_cache",
            TufError::CacheCorrupt { .. } => "tuf.cache_corrupt",
            TufError::CacheIo { .. } => "tuf.cache_io",
            TufError::Config(_) => "tuf.config",
        }
    }

    /// Whether the repository could not be used right now (timeout, connection failure, 5xx, 429):
    /// a server reports the TUF service as unavailable and keeps its cached material.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, TufError::Http(e) if e.is_unavailable())
    }

    /// Whether the error is the operator's input (configuration, initial root) rather than the
    /// repository or the network.
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            TufError::InitialRoot { .. } | TufError::Config(_) | TufError::NoCache { .. }
        )
    }
}

fn cache_io(path: &Path) -> impl FnOnce(std::io::Error) -> TufError + '_ {
    move |source| TufError::CacheIo {
        path: path.to_path_buf(),
        source,
    }
}

/// Where the initial (out-of-band trusted) TUF `root.json` comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InitialRoot {
    /// The embedded Sigstore public-good production root ([`PRODUCTION_ROOT`]).
    Production,
    /// The embedded Sigstore staging root ([`STAGING_ROOT`]).
    Staging,
    /// A `root.json` file (private deployments).
    File(PathBuf),
}

impl InitialRoot {
    fn name(&self) -> String {
        match self {
            InitialRoot::Production => "production".into(),
            InitialRoot::Staging => "staging".into(),
            InitialRoot::File(p) => p.display().to_string(),
        }
    }

    /// The root's bytes, checked to parse and to be signed by its own root-role threshold.
    pub fn load(&self) -> Result<Vec<u8>, TufError> {
        let bad = |reason: String| TufError::InitialRoot {
            source_name: self.name(),
            reason,
        };
        let bytes = match self {
            InitialRoot::Production => PRODUCTION_ROOT.to_vec(),
            InitialRoot::Staging => STAGING_ROOT.to_vec(),
            InitialRoot::File(p) => std::fs::read(p).map_err(|e| bad(e.to_string()))?,
        };
        let root: Signed<Root> =
            serde_json::from_slice(&bytes).map_err(|e| bad(format!("not TUF root metadata: {e}")))?;
        root.signed
            .verify_role(&root)
            .map_err(|e| bad(format!("not signed by its root threshold: {e}")))?;
        Ok(bytes)
    }
}

/// Where and how to fetch the TUF repository.
#[derive(Clone, Debug)]
pub struct TufConfig {
    /// Base URL of the metadata (`root.json`, `timestamp.json` ...): `https://`, `http://` or
    /// `file://`.
    pub metadata_url: Url,
    /// Base URL of the targets.
    pub targets_url: Url,
    /// The initial trusted root.
    pub initial_root: InitialRoot,
    /// The local cache directory (one per repository).
    pub cache_dir: PathBuf,
    /// HTTP timeouts, retries, CA pinning and body limit for the repository.
    pub endpoint: EndpointConfig,
}

fn parse_url(s: &str) -> Result<Url, TufError> {
    Url::parse(s).map_err(|e| TufError::Config(format!("invalid URL {s:?}: {e}")))
}

impl TufConfig {
    /// A repository whose targets live under `<metadata_url>/targets` (the Sigstore layout).
    pub fn new(metadata_url: &str, initial_root: InitialRoot, cache_dir: Option<PathBuf>) -> Result<Self, TufError> {
        let metadata_url = parse_url(metadata_url)?;
        let targets_url = parse_url(&format!("{}/targets", metadata_url.as_str().trim_end_matches('/')))?;
        let cache_dir = match cache_dir {
            Some(d) => d,
            None => default_cache_dir(&metadata_url, &targets_url)?,
        };
        Ok(TufConfig {
            metadata_url,
            targets_url,
            initial_root,
            cache_dir,
            endpoint: EndpointConfig::default(),
        })
    }

    /// Sigstore public-good production.
    pub fn production(cache_dir: Option<PathBuf>) -> Result<Self, TufError> {
        Self::new(PRODUCTION_URL, InitialRoot::Production, cache_dir)
    }

    /// Sigstore staging.
    pub fn staging(cache_dir: Option<PathBuf>) -> Result<Self, TufError> {
        Self::new(STAGING_URL, InitialRoot::Staging, cache_dir)
    }
}

/// The default cache directory of a repository:
/// `$XDG_CACHE_HOME/certus-trust/tuf/<hash>` (or `~/.cache/...`), where `<hash>` is the first 16
/// hex digits of SHA-256 over the metadata and targets URLs.
pub fn default_cache_dir(metadata_url: &Url, targets_url: &Url) -> Result<PathBuf, TufError> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .ok_or_else(|| TufError::Config("no cache directory: set XDG_CACHE_HOME or HOME, or pass one".into()))?;
    let id = format!(
        "{}\n{}",
        metadata_url.as_str().trim_end_matches('/'),
        targets_url.as_str().trim_end_matches('/')
    );
    let h = hex::encode(digest(&SHA256, id.as_bytes()));
    Ok(base.join("certus-trust").join("tuf").join(&h[..16]))
}

/// Version and expiry of one TUF role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RoleInfo {
    /// The metadata version.
    pub version: u64,
    /// When it expires.
    #[serde(serialize_with = "ser_time")]
    pub expires: UnixTime,
}

fn ser_time<S: serde::Serializer>(t: &UnixTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(t)
}

/// Where trust material came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MaterialSource {
    /// Fetched and verified from the repository just now.
    Repository,
    /// Loaded and re-verified from the local cache, no network.
    Cache,
}

/// Verified trust material from a TUF repository.
#[derive(Clone, Debug)]
pub struct TrustMaterial {
    /// The `trusted_root.json` target bytes (verified length and hash).
    pub trusted_root_json: Vec<u8>,
    /// The parsed trusted root.
    pub trusted_root: TrustedRoot,
    /// The `signing_config.v0.2.json` target bytes, when the repository lists it.
    pub signing_config_json: Option<Vec<u8>>,
    /// Root role.
    pub root: RoleInfo,
    /// Timestamp role.
    pub timestamp: RoleInfo,
    /// Snapshot role.
    pub snapshot: RoleInfo,
    /// Targets role.
    pub targets: RoleInfo,
    /// The earliest expiry of the four roles: the material must be refreshed before then.
    pub expires: UnixTime,
    /// The metadata URL of the repository.
    pub metadata_url: String,
    /// The targets URL of the repository.
    pub targets_url: String,
    /// Repository or cache.
    pub source: MaterialSource,
}

fn unix(t: jiff::Timestamp) -> UnixTime {
    UnixTime::new(t.as_second(), u32::try_from(t.subsec_nanosecond()).unwrap_or(0))
}

fn role_name(r: RoleType) -> String {
    r.to_string()
}

/// Maps a tough error (walking its source chain, where tough nests hash/size errors inside
/// transport errors) to a [`TufError`].
fn classify(e: &(dyn StdError + 'static)) -> TufError {
    use tough::error::Error as T;
    let mut fetch: Option<TufError> = None;
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<T>() {
            match t {
                T::ExpiredMetadata { role, .. } => {
                    return TufError::Expired {
                        role: role_name(*role),
                        expires: None,
                    }
                }
                T::OlderMetadata {
                    role,
                    current_version,
                    new_version,
                    ..
                } => {
                    return TufError::Rollback {
                        role: role_name(*role),
                        trusted_version: *current_version,
                        new_version: *new_version,
                    }
                }
                T::OlderSnapshotInTimestamp {
                    snapshot_new,
                    snapshot_old,
                    ..
                } => {
                    return TufError::Rollback {
                        role: "snapshot".into(),
                        trusted_version: *snapshot_old,
                        new_version: *snapshot_new,
                    }
                }
                T::SnapshotRoleRollback { .. } => {
                    return TufError::Verification {
                        role: "snapshot".into(),
                        detail: t.to_string(),
                    }
                }
                T::HashMismatch {
                    context,
                    calculated,
                    expected,
                    ..
                } => {
                    return TufError::HashMismatch {
                        what: context.clone(),
                        expected: expected.clone(),
                        calculated: calculated.clone(),
                    }
                }
                T::MaxSizeExceeded {
                    max_size, specifier, ..
                } => {
                    return TufError::TooLarge {
                        what: fetch_url(&fetch),
                        max_size: *max_size,
                        specifier: (*specifier).to_string(),
                    }
                }
                T::VerifyMetadata { role, source, .. } => {
                    return TufError::Verification {
                        role: role_name(*role),
                        detail: source.to_string(),
                    }
                }
                T::VerifyRoleMetadata { role, source, .. } => {
                    return TufError::Verification {
                        role: role.clone(),
                        detail: source.to_string(),
                    }
                }
                T::VerifyTrustedMetadata { source, .. } => {
                    return TufError::Verification {
                        role: "root".into(),
                        detail: source.to_string(),
                    }
                }
                T::VersionMismatch { role, .. } => {
                    return TufError::Verification {
                        role: role_name(*role),
                        detail: t.to_string(),
                    }
                }
                T::SystemTimeSteppedBackward {
                    sys_time,
                    latest_known_time,
                    ..
                } => {
                    return TufError::ClockSteppedBackward {
                        now: sys_time.to_string(),
                        seen: latest_known_time.to_string(),
                    }
                }
                T::Transport { url, source, .. } => {
                    fetch.get_or_insert(TufError::Fetch {
                        url: url.to_string(),
                        detail: source.to_string(),
                    });
                }
                _ => {}
            }
        } else if let Some(ce) = err.downcast_ref::<ClientError>() {
            return TufError::Http(ce.clone());
        } else if let Some(te) = err.downcast_ref::<tough::TransportError>() {
            fetch.get_or_insert(TufError::Fetch {
                url: te.url().to_string(),
                detail: te.to_string(),
            });
        }
        cur = err.source();
    }
    fetch.unwrap_or_else(|| TufError::Repository(e.to_string()))
}

fn fetch_url(fetch: &Option<TufError>) -> String {
    match fetch {
        Some(TufError::Fetch { url, .. }) => url.clone(),
        _ => "a file".into(),
    }
}

fn tough_err(e: tough::error::Error) -> TufError {
    classify(&e)
}

/// Loads the repository. tough ends the root chain on *any* failure to fetch `N+1.root.json`, so
/// an unreachable repository would surface as "root expired" or a later check: a failed root
/// fetch (other than not-found) is reported as what it is. On an expiry error, reloads without
/// expiry enforcement (throwaway datastore, nothing kept) only to report when the role expired.
async fn load_repository(
    root: &[u8],
    metadata_url: &Url,
    targets_url: &Url,
    recorder: &RecordingTransport,
    datastore: &Path,
) -> Result<Repository, TufError> {
    let loaded = RepositoryLoader::new(&root, metadata_url.clone(), targets_url.clone())
        .transport(recorder.clone())
        .datastore(datastore)
        .expiration_enforcement(ExpirationEnforcement::Safe)
        .load()
        .await;
    let loaded = loaded.map_err(tough_err);
    if loaded.is_err() {
        if let Some(failure) = recorder.take_root_chain_failure() {
            return Err(failure);
        }
    }
    let transport: Box<dyn Transport> = Box::new(recorder.clone());
    match loaded {
        Err(TufError::Expired { role, expires: None }) => {
            let expires = expiry_of(root, metadata_url, targets_url, transport, &role).await;
            Err(TufError::Expired { role, expires })
        }
        other => other,
    }
}

async fn expiry_of(
    root: &[u8],
    metadata_url: &Url,
    targets_url: &Url,
    transport: Box<dyn Transport>,
    role: &str,
) -> Option<UnixTime> {
    let repo = RepositoryLoader::new(&root, metadata_url.clone(), targets_url.clone())
        .transport(transport::Boxed(transport))
        .expiration_enforcement(ExpirationEnforcement::Unsafe)
        .load()
        .await
        .ok()?;
    let t = match role {
        "root" => repo.root().signed.expires,
        "timestamp" => repo.timestamp().signed.expires,
        "snapshot" => repo.snapshot().signed.expires,
        "targets" => repo.targets().signed.expires,
        _ => return None,
    };
    Some(unix(t))
}

async fn read_target(repo: &Repository, name: &str, required: bool) -> Result<Option<Vec<u8>>, TufError> {
    let target = TargetName::new(name).map_err(tough_err)?;
    match repo.read_target(&target).await.map_err(tough_err)? {
        Some(stream) => Ok(Some(stream.into_vec().await.map_err(tough_err)?)),
        None if required => Err(TufError::MissingTarget { name: name.into() }),
        None => Ok(None),
    }
}

async fn material(
    repo: &Repository,
    metadata_url: &Url,
    targets_url: &Url,
    source: MaterialSource,
) -> Result<TrustMaterial, TufError> {
    let trusted_root_json =
        read_target(repo, TRUSTED_ROOT_TARGET, true)
            .await?
            .ok_or_else(|| TufError::MissingTarget {
                name: TRUSTED_ROOT_TARGET.into(),
            })?;
    let signing_config_json = read_target(repo, SIGNING_CONFIG_TARGET, false).await?;
    let trusted_root = TrustedRoot::from_json(&trusted_root_json)?;
    let info = |version: std::num::NonZeroU64, expires: jiff::Timestamp| RoleInfo {
        version: version.get(),
        expires: unix(expires),
    };
    let root = info(repo.root().signed.version, repo.root().signed.expires);
    let timestamp = info(repo.timestamp().signed.version, repo.timestamp().signed.expires);
    let snapshot = info(repo.snapshot().signed.version, repo.snapshot().signed.expires);
    let targets = info(repo.targets().signed.version, repo.targets().signed.expires);
    let expires = [root, timestamp, snapshot, targets]
        .iter()
        .map(|r| r.expires)
        .min()
        .unwrap_or(root.expires);
    Ok(TrustMaterial {
        trusted_root_json,
        trusted_root,
        signing_config_json,
        root,
        timestamp,
        snapshot,
        targets,
        expires,
        metadata_url: metadata_url.to_string(),
        targets_url: targets_url.to_string(),
        source,
    })
}

/// The transport: HTTP(S) through [`HttpTransport`], `file://` through tough's filesystem
/// transport.
fn transport_for(cfg: &TufConfig) -> Result<Box<dyn Transport>, TufError> {
    for url in [&cfg.metadata_url, &cfg.targets_url] {
        if !matches!(url.scheme(), "http" | "https" | "file") {
            return Err(TufError::Config(format!(
                "unsupported URL scheme in {url} (use https://, http:// or file://)"
            )));
        }
    }
    let t = HttpTransport::new(cfg.endpoint.clone()).map_err(|e| TufError::Config(e.to_string()))?;
    Ok(Box::new(t))
}

/// Fetches and verifies the repository, commits it to the cache, and returns the trust material.
pub async fn update(cfg: &TufConfig) -> Result<TrustMaterial, TufError> {
    let transport = transport_for(cfg)?;
    update_with_transport(cfg, transport).await
}

/// [`update`] through a caller-supplied transport (for example an HTTP client with pinned CAs).
pub async fn update_with_transport(cfg: &TufConfig, transport: Box<dyn Transport>) -> Result<TrustMaterial, TufError> {
    let root = cfg.initial_root.load()?;
    std::fs::create_dir_all(&cfg.cache_dir).map_err(cache_io(&cfg.cache_dir))?;
    // Absolute, so the generation can be addressed by file:// URLs.
    let cache_dir = std::fs::canonicalize(&cfg.cache_dir).map_err(cache_io(&cfg.cache_dir))?;
    let previous = current_generation(&cache_dir)?;

    let work = tempfile::Builder::new()
        .prefix(".tmp-gen-")
        .tempdir_in(&cache_dir)
        .map_err(cache_io(&cache_dir))?;
    let datastore = work.path().join("datastore");
    std::fs::create_dir_all(&datastore).map_err(cache_io(&datastore))?;
    let mut trusted_root_version = None;
    if let Some(prev) = &previous {
        copy_dir(&prev.join("datastore"), &datastore)?;
        trusted_root_version = cached_root_version(&prev.join("datastore"));
    }

    let recorder = RecordingTransport::new(transport);
    let recorded = recorder.recorded();
    let repo = load_repository(&root, &cfg.metadata_url, &cfg.targets_url, &recorder, &datastore).await?;
    if let Some(trusted) = trusted_root_version {
        let new = repo.root().signed.version.get();
        if new < trusted {
            return Err(TufError::Rollback {
                role: "root".into(),
                trusted_version: trusted,
                new_version: new,
            });
        }
    }
    let fetched = material(&repo, &cfg.metadata_url, &cfg.targets_url, MaterialSource::Repository).await?;

    // Write exactly the verified bytes, then prove the copy verifies on its own.
    let files = recorded.lock().map(|m| m.clone()).unwrap_or_default();
    write_recorded(&files, &cfg.metadata_url, &cfg.targets_url, work.path())?;
    let reloaded = load_generation(&root, work.path()).await?;
    if reloaded.trusted_root_json != fetched.trusted_root_json
        || reloaded.signing_config_json != fetched.signing_config_json
    {
        return Err(TufError::CacheCorrupt {
            path: work.path().to_path_buf(),
            reason: "the written cache does not reproduce the fetched targets".into(),
        });
    }

    // Commit: rename the generation into place, then switch `current` atomically.
    let name = format!("gen-{}-{}", now_nanos(), std::process::id());
    let gen_dir = cache_dir.join(&name);
    let work_path = work.keep();
    if let Err(e) = std::fs::rename(&work_path, &gen_dir) {
        let _ = std::fs::remove_dir_all(&work_path);
        return Err(cache_io(&gen_dir)(e));
    }
    let current = cache_dir.join("current");
    if let Err(e) = write_atomic(&current, name.as_bytes()) {
        let _ = std::fs::remove_dir_all(&gen_dir);
        return Err(e);
    }
    sync_dir(&cache_dir);
    prune_generations(&cache_dir, &name, previous.as_deref());
    Ok(fetched)
}

/// Loads the cached repository with no network, fully re-verified (see the module docs).
pub async fn load_cached(cfg: &TufConfig) -> Result<TrustMaterial, TufError> {
    let root = cfg.initial_root.load()?;
    let gen = current_generation(&cfg.cache_dir)?.ok_or_else(|| TufError::NoCache {
        dir: cfg.cache_dir.clone(),
    })?;
    let mut m = load_generation(&root, &gen).await?;
    m.metadata_url = cfg.metadata_url.to_string();
    m.targets_url = cfg.targets_url.to_string();
    Ok(m)
}

/// Full TUF verification of one generation directory through the filesystem transport, with a
/// scratch copy of its datastore (a load never modifies a committed generation).
async fn load_generation(root: &[u8], gen: &Path) -> Result<TrustMaterial, TufError> {
    // In the system temp dir, so a read-only cache (shipped to an air-gapped host) still loads.
    let scratch = tempfile::Builder::new()
        .prefix("certus-tuf-load-")
        .tempdir()
        .map_err(cache_io(&std::env::temp_dir()))?;
    copy_dir(&gen.join("datastore"), scratch.path())?;
    let metadata_url = dir_url(&gen.join("metadata"))?;
    let targets_url = dir_url(&gen.join("targets"))?;
    let recorder = RecordingTransport::new(Box::new(FilesystemTransport));
    let repo = load_repository(root, &metadata_url, &targets_url, &recorder, scratch.path()).await?;
    material(&repo, &metadata_url, &targets_url, MaterialSource::Cache).await
}

fn dir_url(p: &Path) -> Result<Url, TufError> {
    let url = Url::from_directory_path(p).map_err(|()| TufError::CacheCorrupt {
        path: p.to_path_buf(),
        reason: "not an absolute directory path".into(),
    })?;
    // tough's filesystem transport opens `Url::path()` as is (not percent-decoded).
    if Path::new(url.path()) != p.join("") {
        return Err(TufError::Config(format!(
            "cache directory {} has characters that URLs escape (spaces, %, non-ASCII ...); choose another",
            p.display()
        )));
    }
    Ok(url)
}

/// The committed generation named by `cache_dir/current`, if any.
fn current_generation(cache_dir: &Path) -> Result<Option<PathBuf>, TufError> {
    let current = cache_dir.join("current");
    let name = match std::fs::read_to_string(&current) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(cache_io(&current)(e)),
    };
    let name = name.trim();
    if !name.starts_with("gen-") || name.contains(['/', '\\']) || name.contains("..") {
        return Err(TufError::CacheCorrupt {
            path: current,
            reason: format!("names {name:?}, not a generation directory"),
        });
    }
    let dir = cache_dir.join(name);
    if !dir.is_dir() {
        return Err(TufError::CacheCorrupt {
            path: current,
            reason: format!("names {name:?}, which does not exist"),
        });
    }
    // Absolute, so file:// URLs can be built from it.
    Ok(Some(std::fs::canonicalize(&dir).map_err(cache_io(&dir))?))
}

/// The root version recorded in a datastore (used to refuse a root rollback; a missing or
/// unreadable file gives no baseline, never a pass for bad metadata: the chain is verified anyway).
fn cached_root_version(datastore: &Path) -> Option<u64> {
    let bytes = std::fs::read(datastore.join("root.json")).ok()?;
    let root: Signed<Root> = serde_json::from_slice(&bytes).ok()?;
    root.signed.verify_role(&root).ok()?;
    Some(root.signed.version.get())
}

fn write_recorded(
    files: &BTreeMap<String, Vec<u8>>,
    metadata_url: &Url,
    targets_url: &Url,
    gen: &Path,
) -> Result<(), TufError> {
    let meta = metadata_url.as_str().trim_end_matches('/').to_string() + "/";
    let targ = targets_url.as_str().trim_end_matches('/').to_string() + "/";
    // The longer base first: targets often live below the metadata base.
    let mut bases = [(meta, gen.join("metadata")), (targ, gen.join("targets"))];
    bases.sort_by_key(|(b, _)| std::cmp::Reverse(b.len()));
    for dir in bases.iter().map(|(_, d)| d) {
        std::fs::create_dir_all(dir).map_err(cache_io(dir))?;
    }
    for (url, bytes) in files {
        let Some((rel, dir)) = bases
            .iter()
            .find_map(|(b, d)| url.strip_prefix(b.as_str()).map(|r| (r, d)))
        else {
            continue;
        };
        // Raw (still percent-encoded) names: tough's filesystem transport opens `Url::path()`.
        let rel_path = Path::new(rel);
        if rel.is_empty() || !rel_path.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(TufError::Repository(format!("unsafe file name in URL {url}")));
        }
        let path = dir.join(rel_path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(cache_io(parent))?;
        }
        write_synced(&path, bytes)?;
    }
    Ok(())
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), TufError> {
    let mut f = std::fs::File::create(path).map_err(cache_io(path))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(cache_io(path))
}

/// Temp file beside `path`, fsync, rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TufError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-current-")
        .tempfile_in(dir)
        .map_err(cache_io(dir))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(cache_io(path))?;
    tmp.persist(path).map_err(|e| cache_io(path)(e.error))?;
    Ok(())
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), TufError> {
    let entries = match std::fs::read_dir(from) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(cache_io(from)(e)),
    };
    std::fs::create_dir_all(to).map_err(cache_io(to))?;
    for entry in entries {
        let entry = entry.map_err(cache_io(from))?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        let ty = entry.file_type().map_err(cache_io(&src))?;
        if ty.is_dir() {
            copy_dir(&src, &dst)?;
        } else if ty.is_file() {
            std::fs::copy(&src, &dst).map_err(cache_io(&src))?;
        }
    }
    Ok(())
}

/// Removes generations other than the new and the previous one (a reader may still hold the
/// previous one), and temporary directories left by interrupted runs.
fn prune_generations(cache_dir: &Path, keep: &str, previous: Option<&Path>) {
    let previous = previous.and_then(|p| p.file_name()).and_then(|n| n.to_str());
    let Ok(entries) = std::fs::read_dir(cache_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let stale_tmp = (name.starts_with(".tmp-gen-") || name.starts_with(".tmp-current-"))
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > Duration::from_secs(3600));
        let old_gen = name.starts_with("gen-") && name != keep && Some(name.as_str()) != previous;
        if stale_tmp || old_gen {
            let _ = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                std::fs::remove_dir_all(entry.path())
            } else {
                std::fs::remove_file(entry.path())
            };
        }
    }
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

/// Shared map from fetched URL to the bytes tough read (and verified) from it.
pub type Recorded = Arc<Mutex<BTreeMap<String, Vec<u8>>>>;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn embedded_roots_are_signed_by_their_threshold() {
        for (which, name, version) in [
            (InitialRoot::Production, "production", 15),
            (InitialRoot::Staging, "staging", 14),
        ] {
            let bytes = which.load().unwrap_or_else(|e| panic!("{name}: {e}"));
            let root: Signed<Root> = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(root.signed.version.get(), version, "{name}");
            // A signature removed below the threshold must fail the same check.
            let mut short = root.clone();
            let threshold = short.signed.roles[&RoleType::Root].threshold.get();
            short.signatures.truncate(usize::try_from(threshold).unwrap() - 1);
            assert!(short.signed.verify_role(&short).is_err(), "{name}");
        }
    }

    #[test]
    fn tampered_initial_root_is_refused() {
        let mut v: serde_json::Value = serde_json::from_slice(PRODUCTION_ROOT).unwrap();
        v["signed"]["expires"] = "2099-01-01T00:00:00Z".into();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("root.json");
        std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
        let e = InitialRoot::File(p).load().unwrap_err();
        assert_eq!(e.code(), "tuf.initial_root");
        assert!(e.to_string().contains("threshold"), "{e}");
    }

    #[test]
    fn default_cache_dir_is_per_repository() {
        let a = Url::parse(PRODUCTION_URL).unwrap();
        let b = Url::parse(STAGING_URL).unwrap();
        let t = Url::parse("https://x.invalid/targets").unwrap();
        let da = default_cache_dir(&a, &t).unwrap();
        assert_ne!(da, default_cache_dir(&b, &t).unwrap());
        assert!(da.ends_with(da.file_name().unwrap()) && da.parent().unwrap().ends_with("certus-trust/tuf"));
    }
}
