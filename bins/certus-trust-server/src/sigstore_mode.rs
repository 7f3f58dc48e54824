//! `mode = "sigstore"`: the signer over Fulcio, Rekor and TSAs, its trust material (fixed files
//! or a TUF repository, refreshed in the background), and the service's identity token.

use crate::config::Config;
use crate::Failure;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use trust_core::trust_root::TrustedRoot;
use trust_sigstore::client::token::TokenSource;
use trust_sigstore::client::EndpointConfig;
use trust_sigstore::remote::{SignError, SigstoreSigner, TrustMaterial};
use trust_sigstore::tuf::{self, InitialRoot, TufConfig, TufError};

fn read(key: &str, p: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(p).map_err(|e| Failure("config.invalid", format!("sigstore.{key} {}: {e}", p.display())))
}

/// Trust material from a fixed `trusted_root.json` and `signing_config.v0.2.json`.
pub(crate) fn material_from_files(trusted_root: &Path, signing_config: &Path) -> Result<TrustMaterial, Failure> {
    let root_bytes = read("trusted_root", trusted_root)?;
    let config_bytes = read("signing_config", signing_config)?;
    let source = format!("files {} and {}", trusted_root.display(), signing_config.display());
    TrustMaterial::from_json(&root_bytes, &config_bytes, source, None).map_err(fail)
}

fn fail(e: SignError) -> Failure {
    Failure(e.code(), e.to_string())
}

/// Every call's bounds and pinning.
fn endpoint(c: &Config) -> Result<EndpointConfig, Failure> {
    let s = &c.sigstore;
    let ca_bundle = match &s.ca_bundle {
        Some(p) => Some(String::from_utf8(read("ca_bundle", p)?).map_err(|_| {
            Failure(
                "config.invalid",
                format!("sigstore.ca_bundle {}: not PEM text", p.display()),
            )
        })?),
        None => None,
    };
    let timeout = Duration::from_secs(s.timeout_secs);
    Ok(EndpointConfig {
        timeout,
        connect_timeout: timeout.min(Duration::from_secs(5)),
        total_timeout: timeout * (s.retries + 1) + Duration::from_secs(2 * u64::from(s.retries)),
        max_retries: s.retries,
        ca_bundle,
        ..EndpointConfig::default()
    })
}

fn token_source(c: &Config) -> TokenSource {
    match (&c.sigstore.identity_token_file, &c.sigstore.identity_token_env) {
        (Some(p), _) => TokenSource::file(p),
        (None, Some(var)) => TokenSource::Env(var.clone()),
        // Config validation requires one of the two.
        (None, None) => TokenSource::Env("CERTUS_TRUST_SIGSTORE_IDENTITY_TOKEN".into()),
    }
}

/// The TUF repository of the configuration.
fn tuf_config(c: &Config) -> Result<TufConfig, Failure> {
    let s = &c.sigstore;
    let cache = Some(s.tuf_cache.clone().unwrap_or_else(|| c.data_dir.join("tuf")));
    let fail = |e: TufError| Failure(e.code(), e.to_string());
    let mut cfg = match s.tuf.as_deref() {
        Some("production") | None => TufConfig::production(cache).map_err(fail)?,
        Some("staging") => TufConfig::staging(cache).map_err(fail)?,
        Some(url) => {
            let root = s.tuf_root.clone().ok_or_else(|| {
                Failure(
                    "config.invalid",
                    "sigstore.tuf_root is needed for a private repository".into(),
                )
            })?;
            TufConfig::new(url, InitialRoot::File(root), cache).map_err(fail)?
        }
    };
    cfg.endpoint = endpoint(c)?;
    Ok(cfg)
}

/// Background refresh of TUF-distributed trust material.
pub(crate) struct Refresh {
    cfg: TufConfig,
    signer: Arc<SigstoreSigner>,
    every: Duration,
}

impl Refresh {
    /// Runs until the process ends: refreshes every interval, hands each newly verified
    /// trusted root to `on_root` and the signer. A failed refresh keeps the current material
    /// (readiness reports it once it expires).
    pub(crate) async fn run(self, on_root: impl Fn(TrustedRoot) -> Result<(), String>) {
        let mut tick = tokio::time::interval(self.every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let fetched = match tuf::update(&self.cfg).await {
                Ok(m) => TrustMaterial::from_tuf(m).map_err(fail),
                Err(e) => Err(Failure(e.code(), e.to_string())),
            };
            match fetched {
                Ok(m) => {
                    let source = m.source.clone();
                    // The verifier first: if either refuses the material, neither has moved.
                    if let Err(e) = on_root(m.trusted_root.clone()) {
                        tracing::error!("refreshed trusted root refused by the verifier: {e}");
                        continue;
                    }
                    if let Err(e) = self.signer.set_material(m) {
                        tracing::error!(code = e.code(), "refreshed trust material refused by the signer: {e}");
                        continue;
                    }
                    tracing::info!(source = %source, "trust material refreshed");
                }
                Err(Failure(code, m)) => {
                    tracing::warn!(code, "TUF refresh failed, keeping the current trust material: {m}")
                }
            }
        }
    }
}

/// The signer, and the refresh task when the trust material comes from TUF.
pub(crate) async fn start(c: &Config) -> Result<(Arc<SigstoreSigner>, Option<Refresh>), Failure> {
    let s = &c.sigstore;
    let (material, tuf) = match (&s.trusted_root, &s.signing_config) {
        (Some(root), Some(config)) => (material_from_files(root, config)?, None),
        _ => {
            let cfg = tuf_config(c)?;
            (TrustMaterial::from_tuf_repository(&cfg).await.map_err(fail)?, Some(cfg))
        }
    };
    tracing::info!(source = %material.source, "sigstore trust material loaded");
    let signer = Arc::new(SigstoreSigner::new(material, token_source(c), endpoint(c)?).map_err(fail)?);
    let refresh = tuf.map(|cfg| Refresh {
        cfg,
        signer: signer.clone(),
        every: Duration::from_secs(s.tuf_refresh_secs),
    });
    Ok((signer, refresh))
}
