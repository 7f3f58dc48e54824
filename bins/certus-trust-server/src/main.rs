//! certus-trust-server: the REST API over the local-mode Sigstore services.
//!
//! Thin by design: load the configuration, open the store and the data directory (creating both
//! on first start), build the verifier, serve. With no configuration at all it serves local mode
//! on 127.0.0.1:8888 with its data under `./certus-data`.

use clap::{Parser, Subcommand};
use config::{Config, LogFormat, Mode};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use trust_api::{ApiConfig, AppState, Backend};
use trust_core::trust_root::{embedded, TrustedRoot};
use trust_core::verifier::{Verifier, VerifierConfig};
use trust_policy::PolicySet;
use trust_sigstore::embedded::local::{self, InitOptions, LocalSigstore};
use trust_store::Store;

mod config;
mod sigstore_mode;

#[derive(Parser)]
#[command(
    name = "certus-trust-server",
    version,
    about = "certus-trust: sign, verify, log, gate uploads"
)]
struct Cli {
    /// TOML configuration file (values are overridden by CERTUS_TRUST_* variables).
    #[arg(long, global = true, env = "CERTUS_TRUST_CONFIG")]
    config: Option<PathBuf>,
    /// Log format: text or json (overrides the configuration).
    #[arg(long, global = true)]
    log_format: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Create the data directory (keys, certificates) and the database, then exit.
    Init,
    /// Apply database migrations, then exit.
    Migrate,
    /// Write the trusted root (and sigstore-python ClientTrustConfig), then exit.
    ExportTrust {
        /// Where to write `trusted_root.json`.
        #[arg(long)]
        trusted_root: PathBuf,
        /// Where to write the ClientTrustConfig.
        #[arg(long)]
        trust_config: Option<PathBuf>,
    },
}

/// A startup failure: a stable code and a message.
pub(crate) struct Failure(pub(crate) &'static str, pub(crate) String);

fn passphrase() -> Option<String> {
    std::env::var("CERTUS_TRUST_KEY_PASSPHRASE")
        .ok()
        .filter(|p| !p.is_empty())
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).init(),
        LogFormat::Text => builder.with_ansi(false).init(),
    }
}

/// Initializes the data directory unless it is, and checks the configured signer against it.
fn prepare_data_dir(c: &Config) -> Result<local::Manifest, Failure> {
    let fail = |e: local::LocalError| Failure(e.code(), e.to_string());
    let manifest = match local::read_manifest(&c.data_dir) {
        Ok(m) => m,
        Err(local::LocalError::NotInitialized(_)) => {
            let mut options = InitOptions::default();
            if let Some(s) = &c.signer {
                options.identity = s.identity.clone();
                options.oidc_issuer = s.oidc_issuer.clone();
            }
            options.url = c.url.clone().unwrap_or_else(|| format!("http://{}", c.listen));
            let m = local::init(&c.data_dir, &options, passphrase().as_deref()).map_err(fail)?;
            tracing::info!(data_dir = %c.data_dir.display(), identity = %m.identity, "initialized the data directory");
            m
        }
        Err(e) => return Err(fail(e)),
    };
    if let Some(s) = &c.signer {
        if s.identity != manifest.identity || s.oidc_issuer != manifest.oidc_issuer {
            return Err(Failure(
                "config.signer_mismatch",
                format!(
                    "signer = {} ({}) but {} was initialized for {} ({}); use that data directory's signer or another data_dir",
                    s.identity,
                    s.oidc_issuer,
                    c.data_dir.display(),
                    manifest.identity,
                    manifest.oidc_issuer
                ),
            ));
        }
    }
    Ok(manifest)
}

async fn open_store(c: &Config) -> Result<Arc<Store>, Failure> {
    Store::open(&c.database_url())
        .await
        .map(Arc::new)
        .map_err(|e| Failure(e.code(), e.to_string()))
}

/// The server's trusted root: `base` (its own keys in local mode, the Sigstore trusted root in
/// sigstore mode), plus public-good Sigstore and configured roots.
fn trusted_root(c: &Config, base: TrustedRoot) -> Result<TrustedRoot, Failure> {
    let parse = |what: &str, bytes: &[u8]| {
        TrustedRoot::from_json(bytes).map_err(|e| Failure("config.trusted_root_invalid", format!("{what}: {e}")))
    };
    let mut root = base;
    let mut extra = Vec::new();
    if c.verify.trust_public_good {
        extra.push(parse("the embedded public-good root", embedded::PRODUCTION)?);
    }
    for p in &c.verify.trusted_roots {
        let bytes =
            std::fs::read(p).map_err(|e| Failure("config.trusted_root_invalid", format!("{}: {e}", p.display())))?;
        extra.push(parse(&format!("verify.trusted_roots {}", p.display()), &bytes)?);
    }
    for r in extra {
        root.tlogs.extend(r.tlogs);
        root.ctlogs.extend(r.ctlogs);
        root.certificate_authorities.extend(r.certificate_authorities);
        root.timestamp_authorities.extend(r.timestamp_authorities);
    }
    Ok(root)
}

/// The verifier over [`trusted_root`].
fn build_verifier(c: &Config, base: TrustedRoot) -> Result<Verifier, Failure> {
    Verifier::new(trusted_root(c, base)?, VerifierConfig::default()).map_err(|e| Failure(e.code(), e.to_string()))
}

/// The verifier for `oidc_issuers` (`None` when none is configured: signingCert answers 401).
fn oidc_verifier(c: &Config) -> Result<Option<std::sync::Arc<trust_sigstore::oidc::OidcVerifier>>, Failure> {
    if c.oidc_issuers.is_empty() {
        return Ok(None);
    }
    let ca_bundle = match &c.oidc_ca_bundle {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .map_err(|e| Failure("config.invalid", format!("oidc_ca_bundle {}: {e}", p.display())))?,
        ),
        None => None,
    };
    let v = trust_sigstore::oidc::OidcVerifier::with_http_ca(c.oidc_issuers.clone(), ca_bundle)
        .map_err(|e| Failure("config.invalid", e.to_string()))?;
    for i in c.oidc_issuers.iter().filter(|i| i.url.starts_with("http://")) {
        tracing::warn!(issuer = %i.url, "OIDC issuer over plain HTTP: its keys can be tampered with in transit (use only on loopback or in tests)");
    }
    let urls: Vec<&str> = c.oidc_issuers.iter().map(|i| i.url.as_str()).collect();
    tracing::info!(issuers = ?urls, "accepting OIDC identity tokens on /api/v2/signingCert");
    Ok(Some(std::sync::Arc::new(v)))
}

/// Loads `policy_file`; a policy file with errors stops the start, each error with its line.
/// `upload.inner_policy` must name a policy of it.
fn load_policies(c: &Config) -> Result<Option<PolicySet>, Failure> {
    let Some(path) = &c.policy_file else { return Ok(None) };
    let set = PolicySet::from_file(path).map_err(|e| Failure("config.policy_invalid", e.to_string()))?;
    if let Some(name) = &c.upload.inner_policy {
        if set.get(name).is_none() {
            return Err(Failure(
                "config.invalid",
                format!("upload.inner_policy = {name:?} is not a policy of {}", path.display()),
            ));
        }
    }
    tracing::info!(policy_file = %path.display(), policies = set.policies().count(), "loaded signer policies");
    Ok(Some(set))
}

/// Reloads the policy file on every SIGHUP. Requests in flight finish with the set they started
/// with; a file with errors is refused (each error logged) and the previous set stays.
async fn reload_policies_on_sighup(state: trust_api::SharedState, path: PathBuf) {
    let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP: policy reload disabled");
        return;
    };
    while hup.recv().await.is_some() {
        match PolicySet::from_file(&path) {
            Ok(set) => {
                let n = set.policies().count();
                state.set_policies(set);
                tracing::info!(policy_file = %path.display(), policies = n, "reloaded signer policies");
            }
            Err(e) => {
                tracing::error!(policy_file = %path.display(), "policy reload refused, keeping the previous policies: {e}")
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: no new connections, finishing in-flight requests");
}

async fn run(cli: Cli, c: Config) -> Result<(), Failure> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            let store = open_store(&c).await?;
            tracing::info!(target = %store.target(), "database schema is up to date");
            Ok(())
        }
        Command::Init => {
            let m = prepare_data_dir(&c)?;
            let store = open_store(&c).await?;
            println!(
                "initialized {} (signer {} from {}), database {}",
                c.data_dir.display(),
                m.identity,
                m.oidc_issuer,
                store.target()
            );
            Ok(())
        }
        Command::ExportTrust {
            trusted_root,
            trust_config,
        } => {
            let store = open_store(&c).await?;
            let local = LocalSigstore::open(&c.data_dir, store, passphrase().as_deref(), 1)
                .map_err(|e| Failure(e.code(), e.to_string()))?;
            let write = |p: &PathBuf, v: serde_json::Value| {
                std::fs::write(p, serde_json::to_vec_pretty(&v).unwrap_or_default())
                    .map_err(|e| Failure("output.write", format!("{}: {e}", p.display())))
            };
            write(&trusted_root, local.trusted_root())?;
            if let Some(p) = &trust_config {
                write(p, local.client_trust_config())?;
            }
            Ok(())
        }
        Command::Serve => {
            let store = match c.mode {
                Mode::Local => {
                    prepare_data_dir(&c)?;
                    open_store(&c).await?
                }
                Mode::Sigstore => {
                    // No keys here: the data directory holds the SQLite file and the TUF cache.
                    std::fs::create_dir_all(&c.data_dir)
                        .map_err(|e| Failure("config.invalid", format!("data_dir {}: {e}", c.data_dir.display())))?;
                    open_store(&c).await?
                }
            };
            let (backend, verifier, refresh) = match c.mode {
                Mode::Local => {
                    let local =
                        LocalSigstore::open(&c.data_dir, store.clone(), passphrase().as_deref(), c.limits.max_batch)
                            .map_err(|e| Failure(e.code(), e.to_string()))?;
                    let own = TrustedRoot::from_json(local.trusted_root().to_string().as_bytes()).map_err(|e| {
                        Failure(
                            "config.trusted_root_invalid",
                            format!("the service's own trusted root: {e}"),
                        )
                    })?;
                    let verifier = build_verifier(&c, own)?;
                    (Backend::Local(Box::new(local)), verifier, None)
                }
                Mode::Sigstore => {
                    let (signer, refresh) = sigstore_mode::start(&c).await?;
                    let verifier = build_verifier(&c, signer.material().trusted_root)?;
                    (Backend::Sigstore(signer), verifier, refresh)
                }
            };
            let api = ApiConfig {
                body_limit: c.limits.body_limit,
                request_timeout: c.request_timeout(),
                timestamp_signatures: c.timestamp,
                oidc: oidc_verifier(&c)?,
                default_inner_signer: c.upload.inner_identity.clone().zip(c.upload.inner_issuer.clone()),
                permission_ttl: std::time::Duration::from_secs(c.upload.permission_ttl_secs),
                default_inner_policy: c.upload.inner_policy.clone(),
            };
            let policies = load_policies(&c)?;
            let state = AppState::new(backend, store, verifier, api, policies);
            if let Some(refresh) = refresh {
                let c = c.clone();
                let state = state.clone();
                tokio::spawn(refresh.run(move |root| {
                    build_verifier(&c, root)
                        .map(|v| state.set_verifier(v))
                        .map_err(|Failure(code, m)| format!("{code}: {m}"))
                }));
            }
            if let Some(path) = c.policy_file.clone() {
                tokio::spawn(reload_policies_on_sighup(state.clone(), path));
            }
            let addr = c.listen_addr().map_err(|e| Failure("config.invalid", e.0))?;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| Failure("server.bind", format!("cannot listen on {addr}: {e}")))?;
            let mode = match c.mode {
                Mode::Local => "local",
                Mode::Sigstore => "sigstore",
            };
            tracing::info!(listen = %addr, data_dir = %c.data_dir.display(), database = %state.store.target(), mode, "certus-trust serving");
            trust_api::serve(listener, state, shutdown_signal())
                .await
                .map_err(|e| Failure("server.io", e.to_string()))?;
            tracing::info!("stopped");
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref()).and_then(|mut c| {
        if let Some(f) = &cli.log_format {
            c.log_format = match f.as_str() {
                "json" => LogFormat::Json,
                "text" => LogFormat::Text,
                other => {
                    return Err(config::ConfigError(format!(
                        "--log-format {other:?}: expected text or json"
                    )))
                }
            };
        }
        Ok(c)
    });
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error[config.invalid]: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error[runtime.start]: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, message)) => {
            tracing::error!(code, "{message}");
            eprintln!("error[{code}]: {message}");
            ExitCode::FAILURE
        }
    }
}
