//! The embedded CA and TSA over their standard protocols: Fulcio v2 (`/api/v2/signingCert`,
//! `/api/v2/trustBundle`, `/api/v2/configuration`) and the Sigstore TSA (`/api/v1/timestamp`,
//! `/api/v1/timestamp/certchain`), so sigstore-python and cosign can sign against local mode.

use crate::error::ApiError;
use crate::SharedState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use der::{Decode, Encode};
use serde::Deserialize;
use serde_json::{json, Value};
use trust_core::crypto::{pem_decode, HashAlgorithm, KeyKind, PublicKey, SignatureScheme};
use trust_sigstore::embedded::local::{certificate_pem, LocalError};
use trust_sigstore::oidc::{OidcError, VerifiedToken};

/// `credentials` of a Fulcio v2 request.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    /// The OIDC identity token.
    #[serde(default)]
    oidc_identity_token: Option<String>,
}

/// `publicKey` of a Fulcio v2 `publicKeyRequest`.
#[derive(Deserialize)]
pub struct FulcioPublicKey {
    /// `ECDSA`, `ED25519` (informational: the PEM says what the key is).
    #[serde(default)]
    #[allow(dead_code)]
    algorithm: Option<String>,
    /// PEM `PUBLIC KEY`.
    content: String,
}

/// A Fulcio v2 `publicKeyRequest`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyRequest {
    /// The key to certify.
    public_key: FulcioPublicKey,
    /// Base64 signature by that key over the token's identity (email, or subject).
    proof_of_possession: String,
}

/// A Fulcio v2 `CreateSigningCertificateRequest`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SigningCertRequest {
    /// The token (or send `Authorization: Bearer`).
    #[serde(default)]
    credentials: Credentials,
    /// The key and its proof of possession.
    #[serde(default)]
    public_key_request: Option<PublicKeyRequest>,
    /// Base64 of a PEM PKCS#10 certificate signing request.
    #[serde(default)]
    certificate_signing_request: Option<String>,
}

fn oidc_error(e: OidcError) -> ApiError {
    let status = if e.is_issuer_failure() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::UNAUTHORIZED
    };
    ApiError::new(status, e.code(), e.to_string())
}

fn bad_key(detail: impl Into<String>) -> ApiError {
    ApiError::bad_request("fulcio.invalid_public_key", detail)
}

/// Authenticates the request's token against the configured issuers.
async fn authenticate(
    state: &SharedState,
    headers: &HeaderMap,
    body_token: Option<&str>,
) -> Result<VerifiedToken, ApiError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    let token = body_token.filter(|t| !t.is_empty()).or(bearer).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "oidc.missing_token",
            "no identity token: send credentials.oidcIdentityToken or Authorization: Bearer",
        )
    })?;
    let verifier = state
        .config
        .oidc
        .as_ref()
        .ok_or_else(|| oidc_error(OidcError::NoIssuers))?;
    verifier.verify(token).await.map_err(oidc_error)
}

/// Verifies a proof of possession as Fulcio does: a signature by the key over the identity
/// string (ECDSA with SHA-256, whatever the curve; Ed25519 over the bytes; RSA PKCS#1 SHA-256).
fn check_proof(key: &PublicKey, challenge: &str, proof: &[u8]) -> Result<(), ApiError> {
    let scheme = match key.kind() {
        KeyKind::Ed25519 => SignatureScheme::Ed25519,
        KeyKind::Rsa { .. } => SignatureScheme::RsaPkcs1(HashAlgorithm::Sha256),
        _ => SignatureScheme::Ecdsa(HashAlgorithm::Sha256),
    };
    key.verify_with(scheme, challenge.as_bytes(), proof).map_err(|_| {
        ApiError::bad_request(
            "fulcio.invalid_proof_of_possession",
            format!("the proof of possession is not a signature by the key over {challenge:?}"),
        )
    })
}

/// Parses a base64 PEM PKCS#10 request, checks its self-signature, and returns its SPKI DER.
fn csr_public_key(b64_pem: &str) -> Result<Vec<u8>, ApiError> {
    let bad = |d: String| ApiError::bad_request("fulcio.invalid_csr", d);
    let pem = B64
        .decode(b64_pem.trim())
        .map_err(|e| bad(format!("certificateSigningRequest is not base64: {e}")))?;
    let pem = String::from_utf8(pem).map_err(|_| bad("certificateSigningRequest is not PEM text".into()))?;
    let (label, der) = pem_decode(&pem).map_err(|e| bad(format!("not PEM: {e}")))?;
    if label != "CERTIFICATE REQUEST" && label != "NEW CERTIFICATE REQUEST" {
        return Err(bad(format!("expected a PEM CERTIFICATE REQUEST, found {label:?}")));
    }
    let req = x509_cert::request::CertReq::from_der(&der).map_err(|e| bad(format!("PKCS#10: {e}")))?;
    let spki = req
        .info
        .public_key
        .to_der()
        .map_err(|e| bad(format!("PKCS#10 key: {e}")))?;
    let info = req.info.to_der().map_err(|e| bad(format!("PKCS#10: {e}")))?;
    let key = PublicKey::from_spki_der(&spki).map_err(|e| bad_key(e.to_string()))?;
    let scheme = SignatureScheme::from_oid(&req.algorithm.oid)
        .ok_or_else(|| bad(format!("unsupported CSR signature algorithm {}", req.algorithm.oid)))?;
    let sig = req
        .signature
        .as_bytes()
        .ok_or_else(|| bad("the CSR signature has unused bits".into()))?;
    key.verify_with(scheme, &info, sig)
        .map_err(|_| bad("the CSR's signature does not verify with its public key".into()))?;
    Ok(spki)
}

fn ca_error(e: LocalError) -> ApiError {
    match &e {
        LocalError::Ca(ca)
            if matches!(
                ca.code(),
                "ca.invalid_public_key" | "ca.unsupported_key_type" | "ca.invalid_email" | "ca.invalid_uri"
            ) =>
        {
            ApiError::bad_request(ca.code(), ca.to_string())
        }
        _ => e.into(),
    }
}

fn pem_chain(state: &SharedState) -> Result<Vec<String>, ApiError> {
    Ok(state
        .local()?
        .ca_chain_der()
        .iter()
        .map(|d| certificate_pem(d))
        .collect())
}

/// Fulcio v2 `CreateSigningCertificate`: a certificate for the caller's key and the identity of
/// its OIDC token (from a configured issuer). 401 for a bad token, 400 for a bad key, proof or
/// CSR; nothing is issued then.
#[utoipa::path(post, path = "/api/v2/signingCert", tag = "sigstore",
    responses((status = 200, description = "signedCertificateEmbeddedSct with the PEM chain"),
        (status = 400, body = crate::error::Problem), (status = 401, body = crate::error::Problem)))]
pub async fn signing_cert(
    State(state): State<SharedState>,
    headers: HeaderMap,
    crate::error::JsonBody(req): crate::error::JsonBody<SigningCertRequest>,
) -> Result<Json<Value>, ApiError> {
    let token = authenticate(&state, &headers, req.credentials.oidc_identity_token.as_deref()).await?;
    let spki = match (&req.public_key_request, &req.certificate_signing_request) {
        (Some(pk), None) => {
            let key = PublicKey::from_pem(&pk.public_key.content).map_err(|e| bad_key(e.to_string()))?;
            let proof = B64.decode(pk.proof_of_possession.trim()).map_err(|e| {
                ApiError::bad_request(
                    "fulcio.invalid_proof_of_possession",
                    format!("proofOfPossession is not base64: {e}"),
                )
            })?;
            check_proof(&key, &token.challenge, &proof)?;
            key.spki_der().to_vec()
        }
        (None, Some(csr)) => csr_public_key(csr)?,
        _ => {
            return Err(ApiError::bad_request(
                "fulcio.invalid_request",
                "send exactly one of publicKeyRequest and certificateSigningRequest",
            ))
        }
    };
    let issued = state
        .local()?
        .issue_certificate(&spki, token.identity, &token.issuer)
        .map_err(ca_error)?;
    let mut chain = vec![certificate_pem(&issued.leaf_der)];
    chain.extend(issued.chain_der.iter().map(|d| certificate_pem(d)));
    Ok(Json(
        json!({"signedCertificateEmbeddedSct": {"chain": {"certificates": chain}}}),
    ))
}

/// Fulcio v2 `GetTrustBundle`: the CA chain.
#[utoipa::path(get, path = "/api/v2/trustBundle", tag = "sigstore", responses((status = 200)))]
pub async fn trust_bundle(State(state): State<SharedState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({"chains": [{"certificates": pem_chain(&state)?}]})))
}

/// Fulcio v2 `GetConfiguration`: the accepted issuers, audiences and challenge claims.
#[utoipa::path(get, path = "/api/v2/configuration", tag = "sigstore", responses((status = 200)))]
pub async fn configuration(State(state): State<SharedState>) -> Json<Value> {
    let issuers: Vec<Value> = state
        .config
        .oidc
        .as_ref()
        .map(|v| v.issuers())
        .unwrap_or_default()
        .iter()
        .map(|c| {
            let claim = match c.identity {
                trust_sigstore::oidc::IdentityClaim::Email => "email",
                trust_sigstore::oidc::IdentityClaim::Subject => "sub",
            };
            json!({"issuerUrl": c.url, "audience": c.audience, "challengeClaim": claim})
        })
        .collect();
    Json(json!({"issuers": issuers}))
}

/// RFC 3161 over HTTP: a DER `TimeStampReq` in, a DER `TimeStampResp` out.
#[utoipa::path(post, path = "/api/v1/timestamp", tag = "sigstore",
    request_body(content = Vec<u8>, content_type = "application/timestamp-query"),
    responses((status = 200, content_type = "application/timestamp-reply"), (status = 400, body = crate::error::Problem)))]
pub async fn timestamp(State(state): State<SharedState>, body: Bytes) -> Result<Response, ApiError> {
    let reply = state
        .local()?
        .tsa()
        .timestamp_request(&body, trust_sigstore::embedded::now())
        .map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/timestamp-reply")], reply).into_response())
}

/// The TSA's certificate chain, PEM (signing certificate first).
#[utoipa::path(get, path = "/api/v1/timestamp/certchain", tag = "sigstore",
    responses((status = 200, content_type = "application/pem-certificate-chain")))]
pub async fn timestamp_chain(State(state): State<SharedState>) -> Result<Response, ApiError> {
    let pem: String = state
        .local()?
        .tsa()
        .chain_der()
        .iter()
        .map(|d| certificate_pem(d))
        .collect();
    Ok(([(header::CONTENT_TYPE, "application/pem-certificate-chain")], pem).into_response())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use trust_core::crypto::pem_encode;

    /// A P-256 CSR made with `openssl ecparam -name prime256v1 -genkey` and
    /// `openssl req -new -subj /CN=ignored` (OpenSSL 3).
    const CSR: &str = "-----BEGIN CERTIFICATE REQUEST-----
MIHMMHQCAQAwEjEQMA4GA1UEAwwHaWdub3JlZDBZMBMGByqGSM49AgEGCCqGSM49
AwEHA0IABCk3CAw0/RyajZ7W7VPkljYvv10dPLGpP2pOOLmL0cAdEnvafMZvaA3J
YKOxHEPzzhnvVmNMqboHHAoHINGestSgADAKBggqhkjOPQQDAgNIADBFAiBw7UwO
3+V9JvVH2A9fK5y+2RVjT/pmAjDdVaUQTy1xgAIhAKJeO5azGbHdEjGmyTcltg7l
b7oE/ndIDe72kbyD9gHH
-----END CERTIFICATE REQUEST-----
";

    #[test]
    fn a_csr_yields_its_key_only_when_its_signature_verifies() {
        let spki = csr_public_key(&B64.encode(CSR)).unwrap();
        assert_eq!(PublicKey::from_spki_der(&spki).unwrap().kind(), KeyKind::EcdsaP256);
        // The same request with one byte of the signed subject changed.
        let (_, mut der) = pem_decode(CSR).unwrap();
        let at = der.windows(7).position(|w| w == b"ignored").unwrap();
        der[at + 6] = b'x';
        let tampered = pem_encode("CERTIFICATE REQUEST", &der);
        let err = csr_public_key(&B64.encode(tampered)).unwrap_err();
        assert_eq!(err.code, "fulcio.invalid_csr");
        assert!(err.detail.contains("does not verify"), "{}", err.detail);
        assert_eq!(csr_public_key("not base64!").unwrap_err().code, "fulcio.invalid_csr");
        let cert_label = pem_encode("CERTIFICATE", &der);
        assert!(csr_public_key(&B64.encode(cert_label))
            .unwrap_err()
            .detail
            .contains("CERTIFICATE REQUEST"));
    }

    #[test]
    fn a_proof_of_possession_must_sign_the_identity() {
        let key = trust_sigstore::embedded::keys::SigningKey::generate(
            trust_sigstore::embedded::keys::KeyAlgorithm::EcdsaP256Sha256,
        )
        .unwrap();
        let public = key.public_key();
        let proof = key.sign(b"alice@example.com").unwrap();
        check_proof(&public, "alice@example.com", &proof).unwrap();
        let err = check_proof(&public, "mallory@example.com", &proof).unwrap_err();
        assert_eq!(err.code, "fulcio.invalid_proof_of_possession");
    }
}
