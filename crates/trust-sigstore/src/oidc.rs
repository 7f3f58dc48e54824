//! OIDC ID-token verification for the Fulcio-protocol endpoint (local mode).
//!
//! A token is a compact JWS (`header.payload.signature`). It is accepted only if its `iss` is
//! exactly one of the configured issuers, its signature verifies (RS256 or ES256) with a key from
//! that issuer's JWKS (found through `{issuer}/.well-known/openid-configuration` -> `jwks_uri`),
//! its `aud` contains the issuer's configured audience, and `exp` / `nbf` / `iat` hold at
//! [`crate::embedded::now`] within [`LEEWAY_SECS`]. The identity is then read per issuer: the
//! verified `email`, or the `sub` (a URI).
//!
//! Key sets are cached per issuer for [`JWKS_TTL`]; an unknown `kid` refetches them, at most once
//! per [`REFETCH_MIN_INTERVAL`]; a failed fetch is answered from memory for [`FAILURE_BACKOFF`].
//! Each issuer has its own lock, so a slow issuer does not delay the others. Fetching goes through
//! the [`JsonFetch`] trait (implemented by [`crate::client::http::HttpClient`], with its own
//! timeouts); the verifier adds an overall [`FETCH_TIMEOUT`] on top.

use crate::embedded::ca::SignerIdentity;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECS: i64 = 60;
/// How long a fetched key set is used before it is fetched again.
pub const JWKS_TTL: Duration = Duration::from_secs(3600);
/// Least time between two fetches of one issuer's keys (an unknown `kid` cannot force more).
pub const REFETCH_MIN_INTERVAL: Duration = Duration::from_secs(30);
/// Bound on one discovery + JWKS fetch, whatever the fetcher's own timeouts.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a failed key fetch is answered from memory before the issuer is asked again.
pub const FAILURE_BACKOFF: Duration = Duration::from_secs(5);
/// Largest token accepted.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Token verification failures. Each has a stable [`OidcError::code`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OidcError {
    /// No issuer is configured: no token can be accepted.
    #[error(
        "no OIDC issuers are configured; set [[oidc_issuers]] (or CERTUS_TRUST_OIDC_ISSUERS) to accept identity tokens"
    )]
    NoIssuers,
    /// The token is not a well-formed compact JWT.
    #[error("malformed identity token: {0}")]
    Malformed(String),
    /// The token's issuer is not configured.
    #[error("identity token issuer {0:?} is not a trusted issuer")]
    UnknownIssuer(String),
    /// The token's `alg` is not RS256 or ES256.
    #[error("unsupported token algorithm {0:?} (RS256 or ES256)")]
    UnsupportedAlgorithm(String),
    /// No key of the issuer's JWKS matches the token's `kid` and `alg`.
    #[error("issuer {issuer} has no key {kid:?} for {alg}")]
    UnknownKey {
        /// The issuer.
        issuer: String,
        /// The token's key id (empty if none).
        kid: String,
        /// The token's algorithm.
        alg: String,
    },
    /// The signature does not verify.
    #[error("identity token signature does not verify")]
    BadSignature,
    /// `exp` is in the past.
    #[error("identity token expired at {exp} (now {now})")]
    Expired {
        /// The token's `exp`.
        exp: i64,
        /// The time of the check.
        now: i64,
    },
    /// `nbf` or `iat` is in the future.
    #[error("identity token is not valid before {at} (now {now})")]
    NotYetValid {
        /// The token's `nbf` or `iat`.
        at: i64,
        /// The time of the check.
        now: i64,
    },
    /// `aud` does not contain the configured audience.
    #[error("identity token audience {got:?} does not contain {expected:?}")]
    WrongAudience {
        /// The configured audience.
        expected: String,
        /// The token's `aud`.
        got: Vec<String>,
    },
    /// A required claim is missing or has the wrong type.
    #[error("identity token has no valid {0:?} claim")]
    MissingClaim(&'static str),
    /// The email identity is not verified by the issuer.
    #[error("identity token email {0:?} is not verified (email_verified must be true)")]
    UnverifiedEmail(String),
    /// The issuer's discovery document or key set could not be fetched.
    #[error("OIDC issuer {issuer} unreachable: {reason}")]
    IssuerUnreachable {
        /// The issuer.
        issuer: String,
        /// What failed.
        reason: String,
    },
    /// The issuer's discovery document or key set is invalid.
    #[error("OIDC issuer {issuer}: invalid {what}: {reason}")]
    BadIssuerDocument {
        /// The issuer.
        issuer: String,
        /// `discovery document` or `JWKS`.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The issuer configuration is invalid.
    #[error("invalid OIDC issuer configuration: {0}")]
    Config(String),
}

impl OidcError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoIssuers => "oidc.no_issuers",
            Self::Malformed(_) => "oidc.malformed_token",
            Self::UnknownIssuer(_) => "oidc.unknown_issuer",
            Self::UnsupportedAlgorithm(_) => "oidc.unsupported_algorithm",
            Self::UnknownKey { .. } => "oidc.unknown_key",
            Self::BadSignature => "oidc.bad_signature",
            Self::Expired { .. } => "oidc.expired",
            Self::NotYetValid { .. } => "oidc.not_yet_valid",
            Self::WrongAudience { .. } => "oidc.wrong_audience",
            Self::MissingClaim(_) => "oidc.missing_claim",
            Self::UnverifiedEmail(_) => "oidc.unverified_email",
            Self::IssuerUnreachable { .. } => "oidc.issuer_unreachable",
            Self::BadIssuerDocument { .. } => "oidc.bad_issuer_document",
            Self::Config(_) => "oidc.config",
        }
    }

    /// Whether the failure is the issuer's (unreachable or broken), not the token's.
    pub fn is_issuer_failure(&self) -> bool {
        matches!(self, Self::IssuerUnreachable { .. } | Self::BadIssuerDocument { .. })
    }
}

/// Which claim names the signer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityClaim {
    /// `email`, which must come with `email_verified: true` (certificate SAN: rfc822Name).
    Email,
    /// `sub`, which must be a URI (certificate SAN: URI), as Fulcio's URI issuers.
    #[serde(alias = "uri")]
    Subject,
}

/// One trusted issuer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The issuer URL; a token's `iss` must equal it exactly.
    pub url: String,
    /// The audience a token must carry (default `sigstore`).
    #[serde(default = "default_audience")]
    pub audience: String,
    /// Which claim is the identity (default `email`).
    #[serde(default = "default_identity")]
    pub identity: IdentityClaim,
}

fn default_audience() -> String {
    "sigstore".into()
}
fn default_identity() -> IdentityClaim {
    IdentityClaim::Email
}

impl IssuerConfig {
    /// An email-identity issuer with the `sigstore` audience.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            audience: default_audience(),
            identity: default_identity(),
        }
    }
}

/// A verified token's identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The issuer (`iss`, equal to a configured issuer URL).
    pub issuer: String,
    /// The certificate identity.
    pub identity: SignerIdentity,
    /// The string a Fulcio proof of possession signs: the email, or the subject.
    pub challenge: String,
    /// The `sub` claim.
    pub subject: String,
}

/// Fetches a document over HTTP(S) (GET, expecting 200) and returns the body. Implementations
/// apply their own connect/read timeouts.
pub trait JsonFetch: Send + Sync {
    /// GETs `url`. The error text names what failed.
    fn get<'a>(&'a self, url: &'a str) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + 'a>>;
}

/// Fetching with the Sigstore HTTP layer (timeouts, bounded retries, errors naming the service).
impl JsonFetch for crate::client::http::HttpClient {
    fn get<'a>(&'a self, url: &'a str) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + 'a>> {
        Box::pin(async move {
            crate::client::http::HttpClient::get(self, url, "application/json")
                .await
                .map(|r| r.body.to_vec())
                .map_err(|e| e.to_string())
        })
    }
}

#[derive(Clone, Debug)]
enum Jwk {
    Rsa {
        kid: Option<String>,
        n: Vec<u8>,
        e: Vec<u8>,
    },
    P256 {
        kid: Option<String>,
        point: Vec<u8>,
    },
}

impl Jwk {
    fn kid(&self) -> Option<&str> {
        match self {
            Jwk::Rsa { kid, .. } | Jwk::P256 { kid, .. } => kid.as_deref(),
        }
    }
    fn alg(&self) -> &'static str {
        match self {
            Jwk::Rsa { .. } => "RS256",
            Jwk::P256 { .. } => "ES256",
        }
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
        match self {
            Jwk::Rsa { n, e, .. } => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, msg, sig)
                .is_ok(),
            Jwk::P256 { point, .. } => UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(msg, sig)
                .is_ok(),
        }
    }
}

fn strip_zeros(mut b: Vec<u8>) -> Vec<u8> {
    let lead = b.iter().take_while(|&&x| x == 0).count();
    b.drain(..lead);
    b
}

/// Parses a JWKS document, keeping the RSA and P-256 signing keys (others are skipped).
fn parse_jwks(doc: &[u8]) -> Result<Vec<Jwk>, String> {
    #[derive(Deserialize)]
    struct Set {
        keys: Vec<Value>,
    }
    let set: Set = serde_json::from_slice(doc).map_err(|e| e.to_string())?;
    let field = |k: &Value, name: &str| -> Result<Vec<u8>, String> {
        let s = k[name].as_str().ok_or_else(|| format!("key without {name}"))?;
        B64URL
            .decode(s.trim_end_matches('='))
            .map_err(|e| format!("key {name}: {e}"))
    };
    let mut out = Vec::new();
    for k in &set.keys {
        if k.get("use").and_then(Value::as_str).is_some_and(|u| u != "sig") {
            continue;
        }
        let kid = k.get("kid").and_then(Value::as_str).map(str::to_owned);
        match k["kty"].as_str() {
            Some("RSA") => out.push(Jwk::Rsa {
                kid,
                n: strip_zeros(field(k, "n")?),
                e: strip_zeros(field(k, "e")?),
            }),
            Some("EC") if k["crv"].as_str() == Some("P-256") => {
                let (x, y) = (field(k, "x")?, field(k, "y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err("P-256 key coordinates must be 32 bytes".into());
                }
                let mut point = vec![4u8];
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                out.push(Jwk::P256 { kid, point });
            }
            _ => {}
        }
    }
    Ok(out)
}

struct CachedKeys {
    keys: Vec<Jwk>,
    fetched: Instant,
}

#[derive(Default)]
struct IssuerCache {
    keys: Option<CachedKeys>,
    failed: Option<(Instant, OidcError)>,
}

/// Verifies identity tokens against the configured issuers.
pub struct OidcVerifier {
    issuers: Vec<IssuerConfig>,
    fetch: Arc<dyn JsonFetch>,
    cache: HashMap<String, tokio::sync::Mutex<IssuerCache>>,
}

impl std::fmt::Debug for OidcVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcVerifier")
            .field("issuers", &self.issuers)
            .finish_non_exhaustive()
    }
}

fn b64url(part: &str, what: &str) -> Result<Vec<u8>, OidcError> {
    B64URL
        .decode(part)
        .map_err(|e| OidcError::Malformed(format!("{what} is not base64url: {e}")))
}

fn int_claim(claims: &Value, name: &'static str) -> Result<Option<i64>, OidcError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or(OidcError::MissingClaim(name)),
    }
}

impl OidcVerifier {
    /// A verifier for `issuers` (URLs must be http(s) and distinct) fetching keys with `fetch`.
    pub fn new(issuers: Vec<IssuerConfig>, fetch: Arc<dyn JsonFetch>) -> Result<Self, OidcError> {
        for (i, c) in issuers.iter().enumerate() {
            if !(c.url.starts_with("https://") || c.url.starts_with("http://")) {
                return Err(OidcError::Config(format!("issuer {:?} is not an http(s) URL", c.url)));
            }
            if c.audience.is_empty() {
                return Err(OidcError::Config(format!("issuer {}: empty audience", c.url)));
            }
            if issuers[..i].iter().any(|o| o.url == c.url) {
                return Err(OidcError::Config(format!("issuer {} is configured twice", c.url)));
            }
        }
        Ok(Self {
            fetch,
            cache: issuers
                .iter()
                .map(|c| (c.url.clone(), tokio::sync::Mutex::default()))
                .collect(),
            issuers,
        })
    }

    /// A verifier fetching discovery documents and key sets over HTTP(S) with
    /// [`crate::client::http::HttpClient`] (5 s per attempt, one retry, [`FETCH_TIMEOUT`] overall).
    pub fn with_http(issuers: Vec<IssuerConfig>) -> Result<Self, OidcError> {
        Self::with_http_ca(issuers, None)
    }

    /// [`OidcVerifier::with_http`] with the issuers' HTTPS pinned to `ca_bundle` (PEM; replaces
    /// the web roots), for issuers behind a private CA.
    pub fn with_http_ca(issuers: Vec<IssuerConfig>, ca_bundle: Option<String>) -> Result<Self, OidcError> {
        use crate::client::http::{EndpointConfig, HttpClient, Service};
        let config = EndpointConfig {
            ca_bundle,
            timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(3),
            total_timeout: FETCH_TIMEOUT,
            max_retries: 1,
            max_body: 1024 * 1024,
            ..EndpointConfig::default()
        };
        let client = HttpClient::new(Service::Oidc, config).map_err(|e| OidcError::Config(e.to_string()))?;
        Self::new(issuers, Arc::new(client))
    }

    /// The configured issuers.
    pub fn issuers(&self) -> &[IssuerConfig] {
        &self.issuers
    }

    /// Verifies `token` at [`crate::embedded::now`].
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, OidcError> {
        self.verify_at(token, crate::embedded::now().secs()).await
    }

    /// Verifies `token` at `now` (Unix seconds).
    pub async fn verify_at(&self, token: &str, now: i64) -> Result<VerifiedToken, OidcError> {
        if self.issuers.is_empty() {
            return Err(OidcError::NoIssuers);
        }
        let token = token.trim();
        if token.len() > MAX_TOKEN_LEN {
            return Err(OidcError::Malformed(format!("longer than {MAX_TOKEN_LEN} bytes")));
        }
        let parts: Vec<&str> = token.split('.').collect();
        let [h, p, s] = parts[..] else {
            return Err(OidcError::Malformed(format!(
                "{} dot-separated parts, a JWS has 3",
                parts.len()
            )));
        };
        let header: Value =
            serde_json::from_slice(&b64url(h, "header")?).map_err(|e| OidcError::Malformed(format!("header: {e}")))?;
        let claims: Value = serde_json::from_slice(&b64url(p, "payload")?)
            .map_err(|e| OidcError::Malformed(format!("payload: {e}")))?;
        if !claims.is_object() {
            return Err(OidcError::Malformed("payload is not a JSON object".into()));
        }
        let signature = b64url(s, "signature")?;
        let alg = header["alg"].as_str().unwrap_or_default().to_owned();
        if alg != "RS256" && alg != "ES256" {
            return Err(OidcError::UnsupportedAlgorithm(alg));
        }
        let iss = claims["iss"].as_str().ok_or(OidcError::MissingClaim("iss"))?;
        let config = self
            .issuers
            .iter()
            .find(|c| c.url == iss)
            .ok_or_else(|| OidcError::UnknownIssuer(iss.to_owned()))?;
        let kid = header["kid"].as_str();
        let signed = &token.as_bytes()[..h.len() + 1 + p.len()];
        self.check_signature(config, kid, &alg, signed, &signature).await?;

        let exp = int_claim(&claims, "exp")?.ok_or(OidcError::MissingClaim("exp"))?;
        if now > exp.saturating_add(LEEWAY_SECS) {
            return Err(OidcError::Expired { exp, now });
        }
        for name in ["nbf", "iat"] {
            if let Some(at) = int_claim(&claims, name)? {
                if at > now.saturating_add(LEEWAY_SECS) {
                    return Err(OidcError::NotYetValid { at, now });
                }
            }
        }
        let aud: Vec<String> = match &claims["aud"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
            _ => return Err(OidcError::MissingClaim("aud")),
        };
        if !aud.contains(&config.audience) {
            return Err(OidcError::WrongAudience {
                expected: config.audience.clone(),
                got: aud,
            });
        }
        let subject = claims["sub"].as_str().unwrap_or_default().to_owned();
        let (identity, challenge) = match config.identity {
            IdentityClaim::Email => {
                let email = claims["email"]
                    .as_str()
                    .filter(|e| !e.is_empty())
                    .ok_or(OidcError::MissingClaim("email"))?;
                // Some issuers send the boolean as a string; only `true` counts.
                let verified = matches!(&claims["email_verified"], Value::Bool(true))
                    || claims["email_verified"].as_str() == Some("true");
                if !verified {
                    return Err(OidcError::UnverifiedEmail(email.to_owned()));
                }
                (SignerIdentity::Email(email.to_owned()), email.to_owned())
            }
            IdentityClaim::Subject => {
                if subject.is_empty() {
                    return Err(OidcError::MissingClaim("sub"));
                }
                (SignerIdentity::Uri(subject.clone()), subject.clone())
            }
        };
        Ok(VerifiedToken {
            issuer: config.url.clone(),
            identity,
            challenge,
            subject,
        })
    }

    /// Fetches the issuer's keys into `c`; a failure is remembered for [`FAILURE_BACKOFF`] so
    /// that a down issuer is not asked again for every request.
    async fn refresh(&self, issuer: &str, c: &mut IssuerCache) -> Result<(), OidcError> {
        match self.fetch_keys(issuer).await {
            Ok(keys) => {
                c.keys = Some(CachedKeys {
                    keys,
                    fetched: Instant::now(),
                });
                c.failed = None;
                Ok(())
            }
            Err(e) => {
                c.failed = Some((Instant::now(), e.clone()));
                Err(e)
            }
        }
    }

    async fn check_signature(
        &self,
        config: &IssuerConfig,
        kid: Option<&str>,
        alg: &str,
        signed: &[u8],
        signature: &[u8],
    ) -> Result<(), OidcError> {
        let slot = self
            .cache
            .get(&config.url)
            .ok_or_else(|| OidcError::UnknownIssuer(config.url.clone()))?;
        // One lock per issuer: a slow issuer does not hold up tokens of the others.
        let mut c = slot.lock().await;
        if let Some((at, err)) = &c.failed {
            if at.elapsed() < FAILURE_BACKOFF {
                return Err(err.clone());
            }
        }
        let stale = c.keys.as_ref().is_none_or(|k| k.fetched.elapsed() > JWKS_TTL);
        if stale {
            self.refresh(&config.url, &mut c).await?;
        }
        let candidates = |c: &IssuerCache| -> Vec<Jwk> {
            c.keys
                .iter()
                .flat_map(|k| k.keys.iter())
                .filter(|k| k.alg() == alg && (kid.is_none() || k.kid() == kid))
                .cloned()
                .collect()
        };
        let mut found = candidates(&c);
        if found.is_empty()
            && !stale
            && c.keys
                .as_ref()
                .is_some_and(|k| k.fetched.elapsed() >= REFETCH_MIN_INTERVAL)
        {
            // An unknown key: the issuer may have rotated. Refetch, rate-limited.
            self.refresh(&config.url, &mut c).await?;
            found = candidates(&c);
        }
        drop(c);
        if found.is_empty() {
            return Err(OidcError::UnknownKey {
                issuer: config.url.clone(),
                kid: kid.unwrap_or_default().to_owned(),
                alg: alg.to_owned(),
            });
        }
        if found.iter().any(|k| k.verify(signed, signature)) {
            Ok(())
        } else {
            Err(OidcError::BadSignature)
        }
    }

    async fn fetch_keys(&self, issuer: &str) -> Result<Vec<Jwk>, OidcError> {
        let unreachable = |reason: String| OidcError::IssuerUnreachable {
            issuer: issuer.to_owned(),
            reason,
        };
        let bad = |what: &'static str, reason: String| OidcError::BadIssuerDocument {
            issuer: issuer.to_owned(),
            what,
            reason,
        };
        let work = async {
            let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
            let doc = self.fetch.get(&url).await.map_err(unreachable)?;
            let doc: Value = serde_json::from_slice(&doc).map_err(|e| bad("discovery document", e.to_string()))?;
            if doc["issuer"].as_str() != Some(issuer) {
                return Err(bad(
                    "discovery document",
                    format!("its issuer is {}, not {issuer}", doc["issuer"]),
                ));
            }
            let jwks_uri = doc["jwks_uri"]
                .as_str()
                .ok_or_else(|| bad("discovery document", "no jwks_uri".into()))?;
            if issuer.starts_with("https://") && !jwks_uri.starts_with("https://") {
                // The keys must come over the same protection as the discovery document.
                return Err(bad(
                    "discovery document",
                    format!("jwks_uri {jwks_uri} is not https for an https issuer"),
                ));
            }
            let jwks = self.fetch.get(jwks_uri).await.map_err(unreachable)?;
            parse_jwks(&jwks).map_err(|e| bad("JWKS", e))
        };
        tokio::time::timeout(FETCH_TIMEOUT, work)
            .await
            .map_err(|_| unreachable(format!("no answer within {FETCH_TIMEOUT:?}")))?
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    const ISS: &str = "https://issuer.example";

    /// Serves documents from a map (the key set can be replaced to model rotation); counts GETs.
    #[derive(Default)]
    struct Docs {
        docs: Mutex<HashMap<String, Vec<u8>>>,
        gets: AtomicUsize,
    }
    impl JsonFetch for Docs {
        fn get<'a>(&'a self, url: &'a str) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + 'a>> {
            self.gets.fetch_add(1, Ordering::SeqCst);
            let r = self
                .docs
                .lock()
                .unwrap()
                .get(url)
                .cloned()
                .ok_or_else(|| format!("{url}: connection refused"));
            Box::pin(async move { r })
        }
    }

    enum Key {
        Rsa(RsaKeyPair),
        Ec(EcdsaKeyPair),
    }

    impl Key {
        fn rsa() -> Self {
            Key::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap())
        }
        fn ec() -> Self {
            Key::Ec(EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap())
        }
        fn jwk(&self, kid: &str) -> Value {
            match self {
                Key::Rsa(k) => {
                    let p = k.public_key();
                    json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                        "n": B64URL.encode(p.modulus().big_endian_without_leading_zero()),
                        "e": B64URL.encode(p.exponent().big_endian_without_leading_zero())})
                }
                Key::Ec(k) => {
                    let pt = k.public_key().as_ref();
                    json!({"kty": "EC", "kid": kid, "crv": "P-256",
                        "x": B64URL.encode(&pt[1..33]), "y": B64URL.encode(&pt[33..65])})
                }
            }
        }
        fn sign(&self, kid: &str, claims: &Value) -> String {
            let alg = match self {
                Key::Rsa(_) => "RS256",
                Key::Ec(_) => "ES256",
            };
            let h = B64URL.encode(json!({"alg": alg, "kid": kid, "typ": "JWT"}).to_string());
            let p = B64URL.encode(claims.to_string());
            let msg = format!("{h}.{p}");
            let sig = match self {
                Key::Rsa(k) => {
                    let mut sig = vec![0; k.public_modulus_len()];
                    k.sign(
                        &signature::RSA_PKCS1_SHA256,
                        &SystemRandom::new(),
                        msg.as_bytes(),
                        &mut sig,
                    )
                    .unwrap();
                    sig
                }
                Key::Ec(k) => k.sign(&SystemRandom::new(), msg.as_bytes()).unwrap().as_ref().to_vec(),
            };
            format!("{msg}.{}", B64URL.encode(sig))
        }
    }

    fn docs(keys: &[(&Key, &str)]) -> Arc<Docs> {
        let d = Arc::new(Docs::default());
        publish(&d, keys);
        d
    }
    fn publish(d: &Docs, keys: &[(&Key, &str)]) {
        let mut m = d.docs.lock().unwrap();
        m.insert(
            format!("{ISS}/.well-known/openid-configuration"),
            json!({"issuer": ISS, "jwks_uri": format!("{ISS}/jwks")})
                .to_string()
                .into_bytes(),
        );
        let jwks: Vec<Value> = keys.iter().map(|(k, kid)| k.jwk(kid)).collect();
        m.insert(format!("{ISS}/jwks"), json!({"keys": jwks}).to_string().into_bytes());
    }

    fn claims(now: i64) -> Value {
        json!({"iss": ISS, "aud": "sigstore", "sub": "user-1", "email": "alice@example.com",
            "email_verified": true, "iat": now, "exp": now + 300})
    }

    fn verifier(d: Arc<Docs>, configs: Vec<IssuerConfig>) -> OidcVerifier {
        OidcVerifier::new(configs, d).unwrap()
    }

    const NOW: i64 = 1_800_000_000;

    #[tokio::test]
    async fn rs256_and_es256_tokens_verify_and_name_the_email() {
        let (rsa, ec) = (Key::rsa(), Key::ec());
        let d = docs(&[(&rsa, "r1"), (&ec, "e1")]);
        let v = verifier(d.clone(), vec![IssuerConfig::new(ISS)]);
        for (key, kid) in [(&rsa, "r1"), (&ec, "e1")] {
            let t = v.verify_at(&key.sign(kid, &claims(NOW)), NOW).await.unwrap();
            assert_eq!(t.identity, SignerIdentity::Email("alice@example.com".into()));
            assert_eq!((t.issuer.as_str(), t.challenge.as_str()), (ISS, "alice@example.com"));
        }
        assert_eq!(d.gets.load(Ordering::SeqCst), 2, "discovery + JWKS once, then cached");
    }

    #[tokio::test]
    async fn every_bad_token_is_refused_with_its_reason() {
        let rsa = Key::rsa();
        let d = docs(&[(&rsa, "r1")]);
        let v = verifier(d, vec![IssuerConfig::new(ISS)]);
        let code = |t: String| {
            let v = &v;
            async move { v.verify_at(&t, NOW).await.unwrap_err().code() }
        };
        let with = |k: &str, val: Value| {
            let mut c = claims(NOW);
            c[k] = val;
            rsa.sign("r1", &c)
        };
        assert_eq!(code(with("exp", json!(NOW - 61))).await, "oidc.expired");
        assert_eq!(code(with("nbf", json!(NOW + 600))).await, "oidc.not_yet_valid");
        assert_eq!(code(with("iat", json!(NOW + 600))).await, "oidc.not_yet_valid");
        assert_eq!(code(with("aud", json!(["other"]))).await, "oidc.wrong_audience");
        assert_eq!(
            code(with("email_verified", json!(false))).await,
            "oidc.unverified_email"
        );
        assert_eq!(code(with("email", Value::Null)).await, "oidc.missing_claim");
        assert_eq!(
            code(with("iss", json!("https://evil.example"))).await,
            "oidc.unknown_issuer"
        );
        assert_eq!(
            code(with("iss", json!("https://issuer.example/"))).await,
            "oidc.unknown_issuer"
        );
        // Within the leeway is fine.
        v.verify_at(&with("exp", json!(NOW - 30)), NOW).await.unwrap();
        // A forged signature: a payload swapped under a valid header and signature.
        let good = rsa.sign("r1", &claims(NOW));
        let mut forged_claims = claims(NOW);
        forged_claims["email"] = json!("mallory@example.com");
        let parts: Vec<&str> = good.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], B64URL.encode(forged_claims.to_string()), parts[2]);
        assert_eq!(code(forged).await, "oidc.bad_signature");
        // Signed by a key the issuer does not publish under that kid.
        assert_eq!(code(Key::rsa().sign("r1", &claims(NOW))).await, "oidc.bad_signature");
        assert_eq!(code(Key::rsa().sign("r9", &claims(NOW))).await, "oidc.unknown_key");
        // alg none, and garbage.
        let none = format!(
            "{}.{}.",
            B64URL.encode(r#"{"alg":"none"}"#),
            B64URL.encode(claims(NOW).to_string())
        );
        assert_eq!(code(none).await, "oidc.unsupported_algorithm");
        assert_eq!(code("a.b".into()).await, "oidc.malformed_token");
        assert_eq!(code("!!.??.**".into()).await, "oidc.malformed_token");
    }

    #[tokio::test]
    async fn subject_issuers_use_sub_and_audiences_are_per_issuer() {
        let ec = Key::ec();
        let d = docs(&[(&ec, "e1")]);
        let cfg = IssuerConfig {
            url: ISS.into(),
            audience: "certus".into(),
            identity: IdentityClaim::Subject,
        };
        let v = verifier(d, vec![cfg]);
        let mut c = claims(NOW);
        c["sub"] = json!("https://ci.example/workflows/build");
        c["aud"] = json!(["x", "certus"]);
        c["email_verified"] = json!(false);
        let t = v.verify_at(&ec.sign("e1", &c), NOW).await.unwrap();
        assert_eq!(
            t.identity,
            SignerIdentity::Uri("https://ci.example/workflows/build".into())
        );
        c["aud"] = json!("sigstore");
        assert_eq!(
            v.verify_at(&ec.sign("e1", &c), NOW).await.unwrap_err().code(),
            "oidc.wrong_audience"
        );
    }

    #[tokio::test]
    async fn unreachable_issuers_and_missing_configuration_are_typed() {
        let rsa = Key::rsa();
        let empty = Arc::new(Docs::default());
        let v = verifier(empty.clone(), vec![IssuerConfig::new(ISS)]);
        let err = v.verify_at(&rsa.sign("r1", &claims(NOW)), NOW).await.unwrap_err();
        assert_eq!(err.code(), "oidc.issuer_unreachable");
        assert!(err.is_issuer_failure());
        // The failure is remembered for a while: the down issuer is not asked again at once.
        let again = v.verify_at(&rsa.sign("r1", &claims(NOW)), NOW).await.unwrap_err();
        assert_eq!(again, err);
        assert_eq!(empty.gets.load(Ordering::SeqCst), 1);
        let none = verifier(empty, Vec::new());
        assert_eq!(
            none.verify_at(&rsa.sign("r1", &claims(NOW)), NOW)
                .await
                .unwrap_err()
                .code(),
            "oidc.no_issuers"
        );
        // A discovery document claiming another issuer is refused.
        let d = docs(&[(&rsa, "r1")]);
        d.docs.lock().unwrap().insert(
            format!("{ISS}/.well-known/openid-configuration"),
            json!({"issuer": "https://other", "jwks_uri": format!("{ISS}/jwks")})
                .to_string()
                .into_bytes(),
        );
        let v = verifier(d, vec![IssuerConfig::new(ISS)]);
        assert_eq!(
            v.verify_at(&rsa.sign("r1", &claims(NOW)), NOW)
                .await
                .unwrap_err()
                .code(),
            "oidc.bad_issuer_document"
        );
        assert_eq!(
            OidcVerifier::new(vec![IssuerConfig::new("ftp://x")], Arc::new(Docs::default()))
                .unwrap_err()
                .code(),
            "oidc.config"
        );
    }

    #[tokio::test]
    async fn an_unknown_kid_refetches_at_most_once_per_interval() {
        let (old, new) = (Key::rsa(), Key::rsa());
        let d = docs(&[(&old, "k1")]);
        let v = verifier(d.clone(), vec![IssuerConfig::new(ISS)]);
        v.verify_at(&old.sign("k1", &claims(NOW)), NOW).await.unwrap();
        publish(&d, &[(&new, "k2")]);
        // Fetched just now: the unknown kid does not cause a refetch yet.
        let err = v.verify_at(&new.sign("k2", &claims(NOW)), NOW).await.unwrap_err();
        assert_eq!(err.code(), "oidc.unknown_key");
        assert_eq!(d.gets.load(Ordering::SeqCst), 2);
        // Once the interval has passed, the rotated key is fetched.
        v.cache[ISS].lock().await.keys.as_mut().unwrap().fetched -= REFETCH_MIN_INTERVAL;
        v.verify_at(&new.sign("k2", &claims(NOW)), NOW).await.unwrap();
        assert_eq!(d.gets.load(Ordering::SeqCst), 4);
    }
}
