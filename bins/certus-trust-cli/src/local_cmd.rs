//! `certus-trust-cli local ...`: the embedded Sigstore (local mode) on a data directory.

use crate::Failure;
use clap::{Args, Subcommand};
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use trust_core::crypto::{Digest, HashAlgorithm};
use trust_sigstore::embedded::local::{self, InitOptions, LocalError, LocalSigstore, Role, SignContent, SignRequest};
use trust_store::Store;

/// Environment variable holding the passphrase that encrypts the private keys (optional).
const PASSPHRASE_ENV: &str = "CERTUS_TRUST_KEY_PASSPHRASE";

#[derive(Subcommand)]
pub(crate) enum LocalCommand {
    /// Create the local CA, CT log, transparency log and TSA keys in a data directory.
    Init(InitArgs),
    /// Sign a file or digest with a short-lived certificate, log it, write a Sigstore bundle.
    Sign(SignArgs),
    /// Write the trusted root (and sigstore-python ClientTrustConfig) that verifies local signatures.
    ExportTrust(ExportArgs),
    /// Replace keys; the old ones stay in the trusted root with an end of validity. Run it while
    /// no server uses the data directory.
    Rotate(RotateArgs),
}

#[derive(Args)]
pub(crate) struct RotateArgs {
    /// The data directory.
    #[arg(long)]
    data_dir: PathBuf,
    /// Rotate the transparency log key.
    #[arg(long)]
    log: bool,
    /// Rotate the CT log key.
    #[arg(long)]
    ct: bool,
    /// Rotate the CA (root and intermediate).
    #[arg(long)]
    ca: bool,
    /// Rotate the TSA (root and signing certificate).
    #[arg(long)]
    tsa: bool,
    /// Rotate every key.
    #[arg(long, conflicts_with_all = ["log", "ct", "ca", "tsa"])]
    all: bool,
}

#[derive(Args)]
pub(crate) struct DataDir {
    /// The data directory (keys, certificates, manifest, SQLite database).
    #[arg(long)]
    data_dir: PathBuf,
    /// Database URL; defaults to the SQLite file `certus.db` in the data directory.
    #[arg(long, env = "CERTUS_TRUST_DATABASE_URL")]
    database_url: Option<String>,
}

#[derive(Args)]
pub(crate) struct InitArgs {
    #[command(flatten)]
    dir: DataDir,
    /// Signer identity put in certificates (email address or URI).
    #[arg(long, default_value = "certus-trust@localhost")]
    identity: String,
    /// OIDC issuer recorded in certificates.
    #[arg(long, default_value = "https://certus-trust.localhost")]
    oidc_issuer: String,
    /// URL the services are published under (log base URL in the trusted root).
    #[arg(long, default_value = "http://127.0.0.1:8888")]
    url: String,
}

#[derive(Args)]
pub(crate) struct SignArgs {
    #[command(flatten)]
    dir: DataDir,
    /// Sign an in-toto statement about the artifact (DSSE) instead of the digest itself.
    #[arg(long)]
    in_toto: bool,
    /// Predicate type of the statement (with --in-toto).
    #[arg(long, requires = "in_toto", default_value = "https://certus.dev/artifact/v1")]
    predicate_type: String,
    /// File holding the predicate, a JSON object (with --in-toto; default `{}`).
    #[arg(long, requires = "in_toto")]
    predicate: Option<PathBuf>,
    /// Do not add an RFC 3161 timestamp.
    #[arg(long)]
    no_timestamp: bool,
    /// Where to write the bundle.
    #[arg(long)]
    bundle: PathBuf,
    /// The artifact: a file path, or `sha256:<hex>`.
    file_or_digest: String,
}

#[derive(Args)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    dir: DataDir,
    /// Where to write `trusted_root.json`.
    #[arg(long)]
    trusted_root: PathBuf,
    /// Where to write the sigstore-python ClientTrustConfig (trusted root + signing config).
    #[arg(long)]
    trust_config: Option<PathBuf>,
}

impl From<LocalError> for Failure {
    fn from(e: LocalError) -> Self {
        let exit = match e {
            LocalError::InvalidInput(_) | LocalError::NotInitialized(_) | LocalError::AlreadyInitialized(_) => 2,
            _ => 1,
        };
        Failure {
            code: Cow::Borrowed(e.code()),
            message: e.to_string(),
            exit,
        }
    }
}

fn passphrase() -> Option<String> {
    std::env::var(PASSPHRASE_ENV).ok().filter(|p| !p.is_empty())
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure {
            code: Cow::Borrowed("runtime.start"),
            message: e.to_string(),
            exit: 1,
        })
}

/// Opens the store of an initialized data directory (checked first, so that an uninitialized
/// directory gets no database file).
async fn open_store(dir: &DataDir) -> Result<Arc<Store>, Failure> {
    local::read_manifest(&dir.data_dir)?;
    let url = match &dir.database_url {
        Some(u) => u.clone(),
        None => dir.data_dir.join("certus.db").display().to_string(),
    };
    Store::open(&url).await.map(Arc::new).map_err(|e| Failure {
        code: Cow::Borrowed(e.code()),
        message: e.to_string(),
        exit: if matches!(e, trust_store::StoreOpenError::InvalidUrl { .. }) {
            2
        } else {
            1
        },
    })
}

fn artifact(file_or_digest: &str) -> Result<(Digest, String), Failure> {
    if file_or_digest.starts_with("sha256:") {
        let d = Digest::parse_prefixed(file_or_digest).ok_or_else(|| Failure {
            code: Cow::Borrowed("input.bad_digest"),
            message: format!("{file_or_digest:?} is not sha256:<64 hex digits>"),
            exit: 2,
        })?;
        return Ok((d, file_or_digest.to_owned()));
    }
    let path = Path::new(file_or_digest);
    let bytes = crate::read(path)?;
    let name = path
        .file_name()
        .map_or_else(|| file_or_digest.to_owned(), |n| n.to_string_lossy().into_owned());
    let digest = Digest::new(HashAlgorithm::Sha256, &trust_core::crypto::sha256(&bytes)).ok_or_else(|| Failure {
        code: Cow::Borrowed("input.bad_digest"),
        message: "SHA-256 digest".into(),
        exit: 2,
    })?;
    Ok((digest, name))
}

pub(crate) fn run(cmd: &LocalCommand) -> Result<String, Failure> {
    let pass = passphrase();
    match cmd {
        LocalCommand::Init(a) => {
            let options = InitOptions {
                identity: a.identity.clone(),
                oidc_issuer: a.oidc_issuer.clone(),
                url: a.url.clone(),
            };
            let m = local::init(&a.dir.data_dir, &options, pass.as_deref())?;
            // Create the database and its schema now, so a bad URL fails at init.
            runtime()?.block_on(open_store(&a.dir))?;
            Ok(format!(
                "initialized {}: signer {} (issuer {}), log {} - {}",
                a.dir.data_dir.display(),
                m.identity,
                m.oidc_issuer,
                m.url,
                m.tree_id
            ))
        }
        LocalCommand::Sign(a) => {
            let (digest, name) = artifact(&a.file_or_digest)?;
            let content = if a.in_toto {
                let predicate = match &a.predicate {
                    Some(p) => serde_json::from_slice(&crate::read(p)?).map_err(|e| Failure {
                        code: Cow::Borrowed("input.bad_predicate"),
                        message: format!("{}: {e}", p.display()),
                        exit: 2,
                    })?,
                    None => serde_json::json!({}),
                };
                SignContent::InToto {
                    predicate_type: a.predicate_type.clone(),
                    predicate,
                    subject_name: name.clone(),
                    additional_subjects: Vec::new(),
                }
            } else {
                SignContent::Digest
            };
            let signed = runtime()?.block_on(async {
                let store = open_store(&a.dir).await?;
                let local = LocalSigstore::open(&a.dir.data_dir, store, pass.as_deref(), 1)?;
                local
                    .sign(SignRequest {
                        artifact: digest,
                        content,
                        artifact_type: None,
                        subject: Some(name),
                        timestamp: !a.no_timestamp,
                        identity: None,
                    })
                    .await
                    .map_err(Failure::from)
            })?;
            crate::write_file(&a.bundle, signed.bundle.as_bytes())?;
            Ok(format!(
                "signed {digest} as {} (issuer {}): log index {}, bundle {}",
                signed.identity,
                signed.issuer,
                signed.entry.leaf.index,
                a.bundle.display()
            ))
        }
        LocalCommand::Rotate(a) => {
            let roles: Vec<Role> = [
                (a.log, Role::Log),
                (a.ct, Role::Ct),
                (a.ca, Role::Ca),
                (a.tsa, Role::Tsa),
            ]
            .into_iter()
            .filter(|&(on, _)| on || a.all)
            .map(|(_, r)| r)
            .collect();
            let m = local::rotate(&a.data_dir, &roles, pass.as_deref())?;
            let names: Vec<String> = roles.iter().map(|r| format!("{r:?}").to_lowercase()).collect();
            Ok(format!(
                "rotated {} in {}; {} retired key(s) stay in the trusted root: export it again",
                names.join(", "),
                a.data_dir.display(),
                m.retired.len()
            ))
        }
        LocalCommand::ExportTrust(a) => {
            let (root, config) = runtime()?.block_on(async {
                let store = open_store(&a.dir).await?;
                let local = LocalSigstore::open(&a.dir.data_dir, store, pass.as_deref(), 1)?;
                Ok::<_, Failure>((local.trusted_root(), local.client_trust_config()))
            })?;
            let pretty = |v: &serde_json::Value| serde_json::to_vec_pretty(v).unwrap_or_default();
            crate::write_file(&a.trusted_root, &pretty(&root))?;
            let mut out = format!("wrote {}", a.trusted_root.display());
            if let Some(p) = &a.trust_config {
                crate::write_file(p, &pretty(&config))?;
                out.push_str(&format!(" and {}", p.display()));
            }
            Ok(out)
        }
    }
}
