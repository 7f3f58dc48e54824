//! Server configuration: defaults, then a TOML file (`--config`), then `CERTUS_TRUST_*`
//! environment variables. Every invalid value stops the start with a message naming its key.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A configuration error, naming the key (or variable) at fault.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Backend mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Embedded CA, log, TSA and SQLite (or PostgreSQL).
    Local,
    /// Fulcio, Rekor, TSA and TUF from a signing config.
    Sigstore,
}

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The signer certificates are issued to (local mode).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signer {
    /// Email address or URI.
    pub identity: String,
    /// OIDC issuer recorded in certificates.
    pub oidc_issuer: String,
}

/// Request limits.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body, bytes.
    pub body_limit: usize,
    /// Longest a request may take, seconds.
    pub request_timeout_secs: u64,
    /// Most log entries committed in one transaction.
    pub max_batch: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            request_timeout_secs: 30,
            max_batch: 256,
        }
    }
}

/// What verification trusts besides the service's own keys.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Verify {
    /// Also trust the public-good Sigstore production root (embedded).
    pub trust_public_good: bool,
    /// Further `trusted_root.json` files to trust (private Sigstore deployments).
    pub trusted_roots: Vec<PathBuf>,
}

impl Default for Verify {
    fn default() -> Self {
        Self {
            trust_public_good: true,
            trusted_roots: Vec::new(),
        }
    }
}

/// The upload gateway.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Upload {
    /// The inner signer expected when a request names none (identity, exact).
    pub inner_identity: Option<String>,
    /// Its OIDC issuer, exact.
    pub inner_issuer: Option<String>,
    /// The named policy (in `policy_file`) the inner signer must satisfy by default; takes
    /// precedence over `inner_identity`/`inner_issuer`.
    pub inner_policy: Option<String>,
    /// How long a permission holds, seconds.
    pub permission_ttl_secs: u64,
}

impl Default for Upload {
    fn default() -> Self {
        Self {
            inner_identity: None,
            inner_issuer: None,
            inner_policy: None,
            permission_ttl_secs: 3600,
        }
    }
}

/// Where sigstore mode gets its trust material and services.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SigstoreSection {
    /// TUF repository: `production`, `staging`, or the URL of a private repository (then
    /// `tuf_root` is its initial `root.json`). Ignored when `trusted_root` and `signing_config`
    /// are given.
    pub tuf: Option<String>,
    /// Initial `root.json` of a private TUF repository.
    pub tuf_root: Option<PathBuf>,
    /// TUF cache directory (default: `tuf` in the data directory).
    pub tuf_cache: Option<PathBuf>,
    /// How often the TUF repository is refreshed, seconds.
    pub tuf_refresh_secs: u64,
    /// A fixed `trusted_root.json` (with `signing_config`: no TUF; air-gapped or pinned).
    pub trusted_root: Option<PathBuf>,
    /// A fixed `signing_config.v0.2.json`.
    pub signing_config: Option<PathBuf>,
    /// The service's own OIDC identity token, re-read when the file changes (Kubernetes
    /// projected service-account token).
    pub identity_token_file: Option<PathBuf>,
    /// Or: the environment variable holding it.
    pub identity_token_env: Option<String>,
    /// Timeout of each call to Fulcio, Rekor, the TSA or TUF, seconds.
    pub timeout_secs: u64,
    /// Retries after a 5xx, 429 or connection failure.
    pub retries: u32,
    /// PEM CA bundle that replaces the web roots for every Sigstore endpoint (pinning).
    pub ca_bundle: Option<PathBuf>,
}

impl Default for SigstoreSection {
    fn default() -> Self {
        Self {
            tuf: None,
            tuf_root: None,
            tuf_cache: None,
            tuf_refresh_secs: 3600,
            trusted_root: None,
            signing_config: None,
            identity_token_file: None,
            identity_token_env: None,
            timeout_secs: 10,
            retries: 2,
            ca_bundle: None,
        }
    }
}

/// The whole configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Data directory (keys, certificates, manifest, SQLite file).
    pub data_dir: PathBuf,
    /// Database URL (`postgres://...`, or a SQLite path/URL); default: `certus.db` in the data dir.
    pub database_url: Option<String>,
    /// `local` or `sigstore`.
    pub mode: Mode,
    /// The URL clients reach this server under (published in the trusted root at init).
    pub url: Option<String>,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// Whether signings get an RFC 3161 timestamp.
    pub timestamp: bool,
    /// The signer certificates are issued to (set at init; must match the data directory after).
    pub signer: Option<Signer>,
    /// Signer policy file (YAML, see docs/policy.md); reloaded on SIGHUP.
    pub policy_file: Option<PathBuf>,
    /// Request limits.
    pub limits: Limits,
    /// Verification trust.
    pub verify: Verify,
    /// Upload gateway.
    pub upload: Upload,
    /// Sigstore mode.
    pub sigstore: SigstoreSection,
    /// OIDC issuers whose identity tokens the Fulcio-protocol endpoint (`/api/v2/signingCert`)
    /// accepts; none = no token is accepted.
    pub oidc_issuers: Vec<trust_sigstore::oidc::IssuerConfig>,
    /// PEM CA bundle for the OIDC issuers' HTTPS (discovery and keys), replacing the web roots:
    /// issuers behind a private CA.
    pub oidc_ca_bundle: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8888".into(),
            data_dir: PathBuf::from("./certus-data"),
            database_url: None,
            mode: Mode::Local,
            url: None,
            log_format: LogFormat::Text,
            timestamp: true,
            signer: None,
            policy_file: None,
            limits: Limits::default(),
            verify: Verify::default(),
            upload: Upload::default(),
            sigstore: SigstoreSection::default(),
            oidc_issuers: Vec::new(),
            oidc_ca_bundle: None,
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn parse_env<T: std::str::FromStr>(name: &str) -> Result<Option<T>, ConfigError>
where
    T::Err: std::fmt::Display,
{
    env(name)
        .map(|v| v.parse::<T>().map_err(|e| ConfigError(format!("{name}={v:?}: {e}"))))
        .transpose()
}

fn parse_enum<T: for<'de> Deserialize<'de>>(name: &str, value: &str) -> Result<T, ConfigError> {
    T::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(value))
        .map_err(|e| ConfigError(format!("{name}={value:?}: {e}")))
}

impl Config {
    /// Defaults, then `file` (if any), then the environment; then validation.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut c = match file {
            Some(p) => {
                let text =
                    std::fs::read_to_string(p).map_err(|e| ConfigError(format!("config file {}: {e}", p.display())))?;
                toml::from_str::<Config>(&text).map_err(|e| ConfigError(format!("config file {}: {e}", p.display())))?
            }
            None => Config::default(),
        };
        if let Some(v) = env("CERTUS_TRUST_LISTEN") {
            c.listen = v;
        }
        if let Some(v) = env("CERTUS_TRUST_DATA_DIR") {
            c.data_dir = v.into();
        }
        if let Some(v) = env("CERTUS_TRUST_DATABASE_URL") {
            c.database_url = Some(v);
        }
        if let Some(v) = env("CERTUS_TRUST_MODE") {
            c.mode = parse_enum("CERTUS_TRUST_MODE", &v)?;
        }
        if let Some(v) = env("CERTUS_TRUST_URL") {
            c.url = Some(v);
        }
        if let Some(v) = env("CERTUS_TRUST_LOG_FORMAT") {
            c.log_format = parse_enum("CERTUS_TRUST_LOG_FORMAT", &v)?;
        }
        if let Some(v) = parse_env("CERTUS_TRUST_TIMESTAMP")? {
            c.timestamp = v;
        }
        match (
            env("CERTUS_TRUST_SIGNER_IDENTITY"),
            env("CERTUS_TRUST_SIGNER_OIDC_ISSUER"),
        ) {
            (Some(identity), Some(oidc_issuer)) => c.signer = Some(Signer { identity, oidc_issuer }),
            (None, None) => {}
            _ => {
                return Err(ConfigError(
                    "CERTUS_TRUST_SIGNER_IDENTITY and CERTUS_TRUST_SIGNER_OIDC_ISSUER go together".into(),
                ))
            }
        }
        if let Some(v) = parse_env("CERTUS_TRUST_BODY_LIMIT")? {
            c.limits.body_limit = v;
        }
        if let Some(v) = parse_env("CERTUS_TRUST_REQUEST_TIMEOUT_SECS")? {
            c.limits.request_timeout_secs = v;
        }
        if let Some(v) = parse_env("CERTUS_TRUST_MAX_BATCH")? {
            c.limits.max_batch = v;
        }
        if let Some(v) = parse_env("CERTUS_TRUST_TRUST_PUBLIC_GOOD")? {
            c.verify.trust_public_good = v;
        }
        if let Some(v) = env("CERTUS_TRUST_UPLOAD_INNER_IDENTITY") {
            c.upload.inner_identity = Some(v);
        }
        if let Some(v) = env("CERTUS_TRUST_UPLOAD_INNER_ISSUER") {
            c.upload.inner_issuer = Some(v);
        }
        if let Some(v) = env("CERTUS_TRUST_POLICY_FILE") {
            c.policy_file = Some(v.into());
        }
        if let Some(v) = env("CERTUS_TRUST_UPLOAD_INNER_POLICY") {
            c.upload.inner_policy = Some(v);
        }
        if let Some(v) = parse_env("CERTUS_TRUST_PERMISSION_TTL_SECS")? {
            c.upload.permission_ttl_secs = v;
        }
        if let Some(v) = env("CERTUS_TRUST_SIGSTORE_TUF") {
            c.sigstore.tuf = Some(v);
        }
        if let Some(v) = env("CERTUS_TRUST_SIGSTORE_TUF_ROOT") {
            c.sigstore.tuf_root = Some(v.into());
        }
        if let Some(v) = env("CERTUS_TRUST_SIGSTORE_TRUSTED_ROOT") {
            c.sigstore.trusted_root = Some(v.into());
        }
        if let Some(v) = env("CERTUS_TRUST_SIGSTORE_SIGNING_CONFIG") {
            c.sigstore.signing_config = Some(v.into());
        }
        if let Some(v) = env("CERTUS_TRUST_SIGSTORE_IDENTITY_TOKEN_FILE") {
            c.sigstore.identity_token_file = Some(v.into());
        }
        if let Some(v) = env("CERTUS_TRUST_SIGSTORE_IDENTITY_TOKEN_ENV") {
            c.sigstore.identity_token_env = Some(v);
        }
        if let Some(v) = parse_env("CERTUS_TRUST_SIGSTORE_TIMEOUT_SECS")? {
            c.sigstore.timeout_secs = v;
        }
        if let Some(v) = parse_env("CERTUS_TRUST_SIGSTORE_RETRIES")? {
            c.sigstore.retries = v;
        }
        if let Some(v) = parse_env("CERTUS_TRUST_SIGSTORE_TUF_REFRESH_SECS")? {
            c.sigstore.tuf_refresh_secs = v;
        }
        if let Some(v) = env("CERTUS_TRUST_SIGSTORE_TUF_CACHE") {
            c.sigstore.tuf_cache = Some(v.into());
        }
        if let Some(v) = env("CERTUS_TRUST_SIGSTORE_CA_BUNDLE") {
            c.sigstore.ca_bundle = Some(v.into());
        }
        if let Some(v) = env("CERTUS_TRUST_OIDC_CA_BUNDLE") {
            c.oidc_ca_bundle = Some(v.into());
        }
        if let Some(v) = env("CERTUS_TRUST_OIDC_ISSUERS") {
            c.oidc_issuers = v
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(trust_sigstore::oidc::IssuerConfig::new)
                .collect();
        }
        c.validate()?;
        Ok(c)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        if self.mode == Mode::Sigstore {
            self.validate_sigstore()?;
        }
        for (i, issuer) in self.oidc_issuers.iter().enumerate() {
            if !(issuer.url.starts_with("https://") || issuer.url.starts_with("http://")) {
                return Err(ConfigError(format!(
                    "oidc_issuers: {:?} is not an http(s) URL",
                    issuer.url
                )));
            }
            if issuer.audience.trim().is_empty() {
                return Err(ConfigError(format!("oidc_issuers: {}: empty audience", issuer.url)));
            }
            if self.oidc_issuers[..i].iter().any(|o| o.url == issuer.url) {
                return Err(ConfigError(format!("oidc_issuers: {} is listed twice", issuer.url)));
            }
        }
        if self.limits.body_limit == 0 {
            return Err(ConfigError("limits.body_limit must be above 0".into()));
        }
        if self.limits.request_timeout_secs == 0 {
            return Err(ConfigError("limits.request_timeout_secs must be above 0".into()));
        }
        if self.limits.max_batch == 0 {
            return Err(ConfigError("limits.max_batch must be above 0".into()));
        }
        if self.upload.permission_ttl_secs == 0 {
            return Err(ConfigError("upload.permission_ttl_secs must be above 0".into()));
        }
        if self.upload.inner_identity.is_some() != self.upload.inner_issuer.is_some() {
            return Err(ConfigError(
                "upload.inner_identity and upload.inner_issuer go together".into(),
            ));
        }
        if let Some(s) = &self.signer {
            if s.identity.trim().is_empty() {
                return Err(ConfigError("signer.identity is empty".into()));
            }
            if s.oidc_issuer.trim().is_empty() {
                return Err(ConfigError("signer.oidc_issuer is empty".into()));
            }
        }
        if self.upload.inner_policy.is_some() && self.policy_file.is_none() {
            return Err(ConfigError("upload.inner_policy needs a policy_file".into()));
        }
        if let Some(p) = &self.policy_file {
            if !p.is_file() {
                return Err(ConfigError(format!("policy_file: {} is not a file", p.display())));
            }
        }
        for p in &self.verify.trusted_roots {
            if !p.is_file() {
                return Err(ConfigError(format!(
                    "verify.trusted_roots: {} is not a file",
                    p.display()
                )));
            }
        }
        Ok(())
    }

    fn validate_sigstore(&self) -> Result<(), ConfigError> {
        let s = &self.sigstore;
        let file = |key: &str, p: &Option<PathBuf>| match p {
            Some(p) if !p.is_file() => Err(ConfigError(format!("sigstore.{key}: {} is not a file", p.display()))),
            _ => Ok(()),
        };
        file("trusted_root", &s.trusted_root)?;
        file("signing_config", &s.signing_config)?;
        file("tuf_root", &s.tuf_root)?;
        file("ca_bundle", &s.ca_bundle)?;
        match (&s.trusted_root, &s.signing_config, &s.tuf) {
            (Some(_), Some(_), _) => {}
            (Some(_), None, _) | (None, Some(_), _) => {
                return Err(ConfigError(
                    "sigstore.trusted_root and sigstore.signing_config go together (or use sigstore.tuf)".into(),
                ))
            }
            (None, None, None) => {
                return Err(ConfigError(
                    "mode = \"sigstore\" needs sigstore.tuf (production, staging or a repository URL) or \
                     sigstore.trusted_root + sigstore.signing_config"
                        .into(),
                ))
            }
            (None, None, Some(t)) => {
                if t != "production" && t != "staging" && s.tuf_root.is_none() {
                    return Err(ConfigError(format!(
                        "sigstore.tuf = {t:?} is a private repository: set sigstore.tuf_root to its initial root.json"
                    )));
                }
            }
        }
        if s.identity_token_file.is_some() == s.identity_token_env.is_some() {
            return Err(ConfigError(
                "mode = \"sigstore\" needs exactly one of sigstore.identity_token_file and sigstore.identity_token_env \
                 (the service's OIDC identity token for Fulcio)"
                    .into(),
            ));
        }
        if s.timeout_secs == 0 {
            return Err(ConfigError("sigstore.timeout_secs must be above 0".into()));
        }
        if s.tuf_refresh_secs == 0 {
            return Err(ConfigError("sigstore.tuf_refresh_secs must be above 0".into()));
        }
        Ok(())
    }

    /// The listen address.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|e| {
            ConfigError(format!(
                "listen = {:?}: {e} (expected host:port, e.g. 127.0.0.1:8888)",
                self.listen
            ))
        })
    }

    /// The database URL.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| self.data_dir.join("certus.db").display().to_string())
    }

    /// The request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.limits.request_timeout_secs)
    }
}
