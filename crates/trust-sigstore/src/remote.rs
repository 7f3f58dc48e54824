//! The `sigstore` mode: sign with Fulcio, Rekor and the TSAs that a signing config names.
//!
//! [`SigstoreSigner::sign`] makes an ephemeral P-256 key, gets a certificate for the service's
//! OIDC identity token from Fulcio, signs, timestamps the signature at every selected TSA, logs
//! the entry at every selected Rekor (each response verified by the clients: chain key, SET,
//! inclusion proof, checkpoint, body), assembles the v0.3 bundle and verifies it as a whole
//! against the trusted root before returning it. Any failure returns an error naming the service;
//! nothing is returned (and so nothing recorded by the caller) for a signing that did not
//! complete.

use crate::client::config::{ConfigError, SigningConfig};
use crate::client::fulcio::{CertificateRequest, FulcioClient};
use crate::client::rekor::{ProposedEntry, VerifiedEntry};
use crate::client::services::{AnyRekor, EndpointConfigs, HttpClients, ServiceClients};
use crate::client::token::{TokenError, TokenSource};
use crate::client::{ClientError, EndpointConfig, Service};
use crate::content::{assemble_bundle, sign_content, ContentError, SignContent};
use crate::embedded::keys::{KeyAlgorithm, KeyError, SigningKey};
use crate::embedded::now;
use crate::tuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use trust_core::crypto::{pem_encode, Digest};
use trust_core::policy::PolicyBuilder;
use trust_core::time::UnixTime;
use trust_core::trust_root::TrustedRoot;
use trust_core::verifier::{VerifiedSigner, Verifier, VerifierConfig};

/// The trust material sigstore mode works from.
#[derive(Clone, Debug)]
pub struct TrustMaterial {
    /// The trusted root (`trusted_root.json`), parsed.
    pub trusted_root: TrustedRoot,
    /// The trusted root as distributed, for passing on.
    pub trusted_root_json: serde_json::Value,
    /// The signing config (`signing_config.v0.2.json`), parsed.
    pub signing_config: SigningConfig,
    /// The signing config as distributed, for passing on.
    pub signing_config_json: serde_json::Value,
    /// Where it came from (a TUF repository and version, or files), for status output.
    pub source: String,
    /// When it stops being usable (the earliest TUF metadata expiry), if known.
    pub expires: Option<UnixTime>,
}

impl TrustMaterial {
    /// Trust material from `trusted_root.json` and `signing_config.v0.2.json` bytes.
    pub fn from_json(
        trusted_root: &[u8],
        signing_config: &[u8],
        source: String,
        expires: Option<UnixTime>,
    ) -> Result<TrustMaterial, SignError> {
        let bad = |what: &str, e: String| SignError::Material(format!("{source}: {what}: {e}"));
        let root = TrustedRoot::from_json(trusted_root).map_err(|e| bad("trusted root", e.to_string()))?;
        let config = SigningConfig::from_json(signing_config).map_err(|e| bad("signing config", e.to_string()))?;
        let json = |b: &[u8], what: &str| serde_json::from_slice(b).map_err(|e| bad(what, e.to_string()));
        Ok(TrustMaterial {
            trusted_root: root,
            trusted_root_json: json(trusted_root, "trusted root")?,
            signing_config: config,
            signing_config_json: json(signing_config, "signing config")?,
            source,
            expires,
        })
    }

    /// Trust material from a verified TUF repository (which must list a signing config).
    pub fn from_tuf(m: tuf::TrustMaterial) -> Result<TrustMaterial, SignError> {
        let source = format!(
            "TUF {} (root v{}, targets v{}, from the {})",
            m.metadata_url,
            m.root.version,
            m.targets.version,
            match m.source {
                tuf::MaterialSource::Repository => "repository",
                tuf::MaterialSource::Cache => "verified cache",
            }
        );
        let config = m.signing_config_json.ok_or_else(|| {
            SignError::Material(format!(
                "{source}: the repository has no {}, which signing needs",
                tuf::SIGNING_CONFIG_TARGET
            ))
        })?;
        TrustMaterial::from_json(&m.trusted_root_json, &config, source, Some(m.expires))
    }

    /// Fetches and verifies the TUF repository of `cfg`; when that fails, falls back to the
    /// local cache, which is re-verified and refused once expired.
    pub async fn from_tuf_repository(cfg: &tuf::TufConfig) -> Result<TrustMaterial, SignError> {
        match tuf::update(cfg).await {
            Ok(m) => TrustMaterial::from_tuf(m),
            Err(update) => {
                tracing::warn!(
                    code = update.code(),
                    "TUF update failed, trying the verified cache: {update}"
                );
                match tuf::load_cached(cfg).await {
                    Ok(m) => TrustMaterial::from_tuf(m),
                    Err(cached) => {
                        tracing::warn!(code = cached.code(), "the TUF cache is not usable either: {cached}");
                        Err(SignError::Tuf(update))
                    }
                }
            }
        }
    }
}

/// A sigstore-mode failure. [`SignError::is_unavailable`] tells outages (503) from refusals and
/// verification failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The service's own identity token is missing, unreadable or expired.
    #[error("identity token: {0}")]
    Token(#[from] TokenError),
    /// The signing config offers no usable service.
    #[error("signing config: {0}")]
    Config(#[from] ConfigError),
    /// A Sigstore service failed, refused, or answered something that did not verify.
    #[error(transparent)]
    Service(#[from] ClientError),
    /// The request is invalid.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// Key generation or signing failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The assembled bundle did not verify against the trusted root.
    #[error("the assembled bundle does not verify against the trusted root: {0}")]
    Verify(trust_core::Error),
    /// The trust material is unusable.
    #[error("trust material: {0}")]
    Material(String),
    /// The trust material's TUF metadata has expired and no refresh has succeeded since.
    #[error("trust material from {source_name} expired at {expired}; signing waits for a successful TUF refresh")]
    Expired {
        /// Where the material came from.
        source_name: String,
        /// When it expired.
        expired: UnixTime,
    },
    /// The TUF repository could not be used (and no valid cache either).
    #[error(transparent)]
    Tuf(#[from] tuf::TufError),
}

impl SignError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            SignError::Token(e) => e.code(),
            SignError::Config(e) => e.code(),
            SignError::Service(ClientError::Config { .. }) => "client.config",
            SignError::Service(e) => match (e.service(), e.is_unavailable()) {
                (Service::Fulcio, true) => "fulcio.unavailable",
                (Service::Rekor, true) => "rekor.unavailable",
                (Service::Tsa, true) => "tsa.unavailable",
                (Service::Tuf, true) => "tuf.unavailable",
                (Service::Oidc, true) => "oidc.unavailable",
                (Service::Fulcio, false) => "fulcio.failed",
                (Service::Rekor, false) => "rekor.failed",
                (Service::Tsa, false) => "tsa.failed",
                (Service::Tuf, false) => "tuf.failed",
                (Service::Oidc, false) => "oidc.failed",
            },
            SignError::Content(_) => "request.invalid",
            SignError::Key(e) => e.code(),
            SignError::Verify(_) => "sign.bundle_unverifiable",
            SignError::Material(_) => "trust.material_invalid",
            SignError::Tuf(e) => e.code(),
            SignError::Expired { .. } => "trust.expired",
        }
    }

    /// True when a service (or the token, or the configuration's services) cannot be used right
    /// now: the caller answers 503 and may retry later.
    pub fn is_unavailable(&self) -> bool {
        match self {
            SignError::Service(e) => e.is_unavailable(),
            SignError::Token(_) | SignError::Config(_) | SignError::Expired { .. } => true,
            SignError::Tuf(e) => e.is_unavailable(),
            _ => false,
        }
    }

    /// The service concerned, if one is.
    pub fn service(&self) -> Option<Service> {
        match self {
            SignError::Service(e) => Some(e.service()),
            SignError::Token(_) => Some(Service::Oidc),
            SignError::Tuf(_) => Some(Service::Tuf),
            _ => None,
        }
    }
}

/// A completed signing.
#[derive(Clone, Debug)]
pub struct RemoteSigned {
    /// The v0.3 bundle JSON.
    pub bundle: String,
    /// The signature.
    pub signature: Vec<u8>,
    /// The leaf certificate, PEM.
    pub certificate_pem: String,
    /// The certificate's identity (SAN).
    pub identity: String,
    /// The certificate's OIDC issuer.
    pub issuer: String,
    /// The in-toto predicate type, for DSSE content.
    pub predicate_type: Option<String>,
    /// The verified log entries, one per selected Rekor.
    pub entries: Vec<VerifiedEntry>,
}

/// One dependency's state, for readiness.
#[derive(Clone, Debug)]
pub struct ServiceStatus {
    /// `fulcio`, `rekor`, `tsa`, `trust`.
    pub name: &'static str,
    /// The endpoint, if any.
    pub url: String,
    /// Whether it is usable.
    pub ok: bool,
    /// Why (or what it said).
    pub detail: String,
}

struct Loaded {
    material: TrustMaterial,
    verifier: Arc<Verifier>,
}

/// The sigstore-mode signer. Cheap to share (`Arc`); the trust material can be replaced while
/// it serves (after a TUF refresh).
pub struct SigstoreSigner {
    loaded: RwLock<Arc<Loaded>>,
    token: TokenSource,
    http: HttpClients,
    deadline: Duration,
}

impl std::fmt::Debug for SigstoreSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigstoreSigner").finish_non_exhaustive()
    }
}

fn load(material: TrustMaterial) -> Result<Loaded, SignError> {
    let verifier = Verifier::new(material.trusted_root.clone(), VerifierConfig::default())
        .map_err(|e| SignError::Material(e.to_string()))?;
    Ok(Loaded {
        material,
        verifier: Arc::new(verifier),
    })
}

impl SigstoreSigner {
    /// A signer over `material`, signing as the identity of the tokens from `token`, with
    /// `endpoint` (timeouts, retries, CA pinning) for every service.
    pub fn new(material: TrustMaterial, token: TokenSource, endpoint: EndpointConfig) -> Result<Self, SignError> {
        Ok(Self {
            loaded: RwLock::new(Arc::new(load(material)?)),
            token,
            http: HttpClients::new(&EndpointConfigs {
                fulcio: endpoint.clone(),
                rekor: endpoint.clone(),
                tsa: endpoint,
            })?,
            deadline: Duration::from_secs(60),
        })
    }

    /// Bounds a whole signing (every service together) to `deadline`: when it passes, the
    /// service being called is reported unavailable (timeout). Callers with their own request
    /// timeout set this below it, so the answer names the service instead of a generic timeout.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    fn current(&self) -> Arc<Loaded> {
        match self.loaded.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Replaces the trust material (a refreshed TUF repository). A material that does not load
    /// leaves the current one in place.
    pub fn set_material(&self, material: TrustMaterial) -> Result<(), SignError> {
        let loaded = Arc::new(load(material)?);
        match self.loaded.write() {
            Ok(mut g) => *g = loaded,
            Err(p) => *p.into_inner() = loaded,
        }
        Ok(())
    }

    /// The current trust material.
    pub fn material(&self) -> TrustMaterial {
        self.current().material.clone()
    }

    /// A verifier over the current trusted root.
    pub fn verifier(&self) -> Arc<Verifier> {
        self.current().verifier.clone()
    }

    /// The identity and issuer of the current identity token (what Fulcio certifies), if a
    /// usable token is available.
    pub fn identity(&self) -> Option<(String, String)> {
        let token = self.token.token(now()).ok()?;
        Some((token.claims.identity().to_owned(), token.claims.issuer.clone()))
    }

    /// Signs `content` about `artifact`; see the module documentation.
    pub async fn sign(&self, artifact: &Digest, content: &SignContent) -> Result<RemoteSigned, SignError> {
        let loaded = self.current();
        let at = now();
        // Everything that can fail without a network call fails first.
        if let Some(expired) = loaded.material.expires.filter(|e| *e < at) {
            return Err(SignError::Expired {
                source_name: loaded.material.source.clone(),
                expired,
            });
        }
        let token = self.token.token(at)?;
        let root = &loaded.material.trusted_root;
        let services = loaded.material.signing_config.select(at)?;
        if services.tsas.is_empty() && services.rekor.iter().any(|r| r.major_api_version == 2) {
            return Err(SignError::Material(
                "the signing config selects a Rekor v2 log but no timestamp authority: a v2 entry has no \
                 integrated time, so the signing time would be unverifiable"
                    .into(),
            ));
        }
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256)?;
        let signed = sign_content(&key, artifact, content)?;

        let clients = ServiceClients::with_http(&services, root, &self.http)?;
        let until = Instant::now() + self.deadline;
        let request = CertificateRequest::csr(&key)?;
        let cert = within(
            until,
            Service::Fulcio,
            &services.fulcio.url,
            clients.fulcio.signing_cert(&token.jwt, &request),
        )
        .await?;
        if cert.detached_sct.is_some() {
            // The bundle format has no place for a detached SCT; refuse before anything is logged.
            return Err(SignError::Service(ClientError::Verify {
                service: Service::Fulcio,
                url: services.fulcio.url.clone(),
                reason: "fulcio.detached_sct",
                detail: "the certificate carries no embedded SCT (detached SCTs are not supported)".into(),
            }));
        }
        let leaf_pem = cert.leaf_pem();

        let mut timestamps = Vec::with_capacity(services.tsas.len());
        for client in &clients.tsas {
            timestamps.push(
                within(until, Service::Tsa, client.url(), client.timestamp(&signed.signature))
                    .await?
                    .response_der,
            );
        }

        let proposed = match &signed.envelope {
            Some(e) => ProposedEntry::Dsse {
                envelope_json: String::from_utf8_lossy(&e.json).into_owned(),
                verifier_pem: leaf_pem.clone(),
            },
            None => ProposedEntry::HashedRekord {
                digest: *artifact,
                signature: signed.signature.clone(),
                verifier_pem: leaf_pem.clone(),
            },
        };
        let mut entries = Vec::with_capacity(clients.rekor.len());
        for client in &clients.rekor {
            entries.push(within(until, Service::Rekor, client.base_url(), client.create_entry(&proposed)).await?);
        }

        let bundle = assemble_bundle(
            cert.leaf_der(),
            entries.iter().map(VerifiedEntry::to_bundle_json).collect(),
            &timestamps,
            &signed.content,
        );
        let (identity, issuer) = self_check(&loaded, &bundle, artifact, entries.len(), timestamps.len(), now())?;
        Ok(RemoteSigned {
            bundle,
            signature: signed.signature,
            certificate_pem: pem_encode("CERTIFICATE", cert.leaf_der()),
            identity,
            issuer,
            predicate_type: signed.predicate_type,
            entries,
        })
    }

    /// Probes each selected service (Fulcio configuration, Rekor log info, TSA certificate
    /// chain), each within `per_probe`, and the trust material's freshness.
    pub async fn status(&self, per_probe: std::time::Duration) -> Vec<ServiceStatus> {
        let loaded = self.current();
        let at = now();
        let mut out = Vec::new();
        let m = &loaded.material;
        out.push(match m.expires {
            Some(e) if e < at => ServiceStatus {
                name: "trust",
                url: m.source.clone(),
                ok: false,
                detail: format!("expired at {e}"),
            },
            e => ServiceStatus {
                name: "trust",
                url: m.source.clone(),
                ok: true,
                detail: e.map_or_else(|| "fixed files".into(), |e| format!("valid until {e}")),
            },
        });
        let services = match m.signing_config.select(at) {
            Ok(s) => s,
            Err(e) => {
                out.push(ServiceStatus {
                    name: "signing_config",
                    url: String::new(),
                    ok: false,
                    detail: e.to_string(),
                });
                return out;
            }
        };
        let fulcio = FulcioClient::new(&services.fulcio.url, self.http.fulcio.clone());
        let res = bounded(per_probe, async {
            fulcio
                .configuration()
                .await
                .map(|_| "up".to_owned())
                .map_err(|e| e.to_string())
        })
        .await;
        out.push(status("fulcio", &services.fulcio.url, res));
        for r in &services.rekor {
            let res = bounded(per_probe, async {
                match AnyRekor::new(r, self.http.rekor.clone(), &m.trusted_root) {
                    Ok(AnyRekor::V1(c)) => c.log_info().await.map(|i| format!("tree size {}", i.tree_size)),
                    Ok(AnyRekor::V2(c)) => c
                        .checkpoint()
                        .await
                        .map(|(_, cp)| format!("tree size {}", cp.tree_size)),
                    Err(e) => Err(e),
                }
                .map_err(|e| e.to_string())
            })
            .await;
            out.push(status("rekor", &r.url, res));
        }
        for t in &services.tsas {
            let url = format!("{}/certchain", t.url.trim_end_matches('/'));
            let http = &self.http.tsa;
            let res = bounded(per_probe, async {
                let resp = http.get(&url, "application/pem-certificate-chain").await;
                match resp.and_then(|r| http.ensure_success(&url, r)) {
                    Ok(_) => Ok("up".to_owned()),
                    Err(e) => Err(e.to_string()),
                }
            })
            .await;
            out.push(status("tsa", &t.url, res));
        }
        out
    }
}

/// `call`, or a timeout of `service` once `until` has passed.
async fn within<T>(
    until: Instant,
    service: Service,
    url: &str,
    call: impl std::future::Future<Output = Result<T, ClientError>>,
) -> Result<T, SignError> {
    let left = until.saturating_duration_since(Instant::now());
    match tokio::time::timeout(left, call).await {
        Ok(r) => r.map_err(SignError::from),
        Err(_) => Err(SignError::Service(ClientError::Timeout {
            service,
            url: url.to_owned(),
            after: left,
        })),
    }
}

/// `probe`, or an error once `per_probe` has passed.
async fn bounded(
    per_probe: std::time::Duration,
    probe: impl std::future::Future<Output = Result<String, String>>,
) -> Result<String, String> {
    tokio::time::timeout(per_probe, probe)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {per_probe:?}")))
}

fn status(name: &'static str, url: &str, res: Result<String, String>) -> ServiceStatus {
    match res {
        Ok(detail) => ServiceStatus {
            name,
            url: url.to_owned(),
            ok: true,
            detail,
        },
        Err(e) => ServiceStatus {
            name,
            url: url.to_owned(),
            ok: false,
            detail: e,
        },
    }
}

/// Verifies the assembled bundle as any verifier would, at `at` (after the last service
/// answered: the log's integrated time must not be in its future), and returns the
/// certificate's identity and issuer.
fn self_check(
    loaded: &Loaded,
    bundle: &str,
    artifact: &Digest,
    tlog_entries: usize,
    timestamps: usize,
    at: UnixTime,
) -> Result<(String, String), SignError> {
    let mut config = VerifierConfig::default()
        .with_tlog_entries(tlog_entries)
        .map_err(|e| SignError::Material(e.to_string()))?;
    if timestamps > 0 {
        config = config.with_signed_timestamps(timestamps);
    }
    let verifier = Verifier::new(loaded.material.trusted_root.clone(), config).map_err(SignError::Verify)?;
    let policy = PolicyBuilder::new()
        .artifact_digest(*artifact)
        .unsafe_ignore_identity()
        .now(at)
        .build()
        .map_err(|e| SignError::Verify(e.into()))?;
    let verified = verifier
        .verify_json(bundle.as_bytes(), &policy)
        .map_err(SignError::Verify)?;
    match verified.signer {
        VerifiedSigner::Certificate { identity, issuer, .. } => Ok((identity, issuer.unwrap_or_default())),
        _ => Err(SignError::Material(
            "the bundle was not signed with a certificate".into(),
        )),
    }
}
