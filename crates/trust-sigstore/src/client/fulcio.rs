//! Fulcio v2 REST client: `POST /api/v2/signingCert` (public key + proof of possession, or a
//! PKCS#10 CSR), `GET /api/v2/trustBundle`, `GET /api/v2/configuration`.
//!
//! A returned chain is checked before it is handed out: it parses, it is non-empty, and the
//! leaf certifies exactly the public key that was sent. With [`FulcioClient::with_trusted_root`]
//! (as [`super::ServiceClients`] builds it) the leaf must also chain to a certificate authority of
//! the trusted root (code-signing, at its own notBefore) and carry an embedded SCT from a trusted
//! CT log, unless Fulcio detached the SCT.

use super::error::ClientError;
use super::http::{HttpClient, Idempotency};
use crate::embedded::keys::SigningKey;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use der::{Decode, Encode};
use http::header;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use trust_core::crypto::{pem_decode, pem_encode, PublicKey};
use trust_core::sct::verify_embedded_scts;
use trust_core::trust_root::{TransparencyLog, TrustedRoot};
use trust_core::x509::{Certificate, CertificatePool, ExtendedKeyUsage};
use x509_cert::request::{CertReq, CertReqInfo};
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

/// A certificate issued by Fulcio.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningCertificate {
    /// The chain as DER, leaf first.
    pub chain_der: Vec<Vec<u8>>,
    /// The detached SCT (`signedCertificateDetachedSct`), if Fulcio did not embed it.
    pub detached_sct: Option<Vec<u8>>,
}

impl SigningCertificate {
    /// The leaf certificate DER.
    pub fn leaf_der(&self) -> &[u8] {
        self.chain_der.first().map(Vec::as_slice).unwrap_or_default()
    }

    /// The leaf as PEM.
    pub fn leaf_pem(&self) -> String {
        pem_encode("CERTIFICATE", self.leaf_der())
    }
}

/// What to ask a certificate for.
#[derive(Clone, Debug)]
pub enum CertificateRequest {
    /// A public key and a signature over the token's identity (email or `sub`).
    PublicKey {
        /// DER SubjectPublicKeyInfo.
        spki_der: Vec<u8>,
        /// The signature over the identity, by the matching private key.
        proof_of_possession: Vec<u8>,
    },
    /// A PKCS#10 certification request, DER (sent as base64 of its PEM).
    Csr {
        /// The CSR DER.
        csr_der: Vec<u8>,
    },
}

impl CertificateRequest {
    /// A public-key request for `key`, signing `identity` (the token's email or `sub`).
    pub fn public_key(key: &SigningKey, identity: &str) -> Result<CertificateRequest, ClientError> {
        let proof_of_possession = key.sign(identity.as_bytes()).map_err(|e| ClientError::Config {
            service: super::Service::Fulcio,
            detail: format!("signing the proof of possession: {e}"),
        })?;
        Ok(CertificateRequest::PublicKey {
            spki_der: key.public_key_spki_der().to_vec(),
            proof_of_possession,
        })
    }

    /// A CSR request for `key` (see [`build_csr`]).
    pub fn csr(key: &SigningKey) -> Result<CertificateRequest, ClientError> {
        Ok(CertificateRequest::Csr {
            csr_der: build_csr(key)?,
        })
    }

    /// The public key being certified, DER SPKI.
    pub fn spki_der(&self) -> Result<Vec<u8>, ClientError> {
        match self {
            CertificateRequest::PublicKey { spki_der, .. } => Ok(spki_der.clone()),
            CertificateRequest::Csr { csr_der } => {
                let csr = CertReq::from_der(csr_der).map_err(|e| config(format!("CSR: {e}")))?;
                csr.info
                    .public_key
                    .to_der()
                    .map_err(|e| config(format!("CSR public key: {e}")))
            }
        }
    }
}

fn config(detail: String) -> ClientError {
    ClientError::Config {
        service: super::Service::Fulcio,
        detail,
    }
}

/// A PKCS#10 CSR for `key`: empty subject (Fulcio takes the identity from the token), no
/// attributes, self-signed with the key.
pub fn build_csr(key: &SigningKey) -> Result<Vec<u8>, ClientError> {
    let public_key = SubjectPublicKeyInfoOwned::from_der(key.public_key_spki_der())
        .map_err(|e| config(format!("public key: {e}")))?;
    let info = CertReqInfo {
        version: x509_cert::request::Version::V1,
        subject: Default::default(),
        public_key,
        attributes: Default::default(),
    };
    let tbs = info.to_der().map_err(|e| config(format!("CSR: {e}")))?;
    let sig = key.sign(&tbs).map_err(|e| config(format!("signing the CSR: {e}")))?;
    let req = CertReq {
        info,
        algorithm: AlgorithmIdentifierOwned {
            oid: key.algorithm().signature_oid(),
            parameters: None,
        },
        signature: der::asn1::BitString::from_bytes(&sig).map_err(|e| config(format!("CSR: {e}")))?,
    };
    req.to_der().map_err(|e| config(format!("CSR: {e}")))
}

/// Fulcio's `algorithm` name for a key.
fn algorithm_name(spki_der: &[u8]) -> Result<&'static str, ClientError> {
    use trust_core::crypto::KeyKind;
    let key = PublicKey::from_spki_der(spki_der).map_err(|e| config(format!("public key: {e}")))?;
    Ok(match key.kind() {
        KeyKind::Ed25519 => "ED25519",
        KeyKind::Rsa { .. } => "RSA_PSS",
        _ => "ECDSA",
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Chain {
    certificates: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Embedded {
    chain: Chain,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Detached {
    chain: Chain,
    signed_certificate_timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SigningCertResponse {
    signed_certificate_embedded_sct: Option<Embedded>,
    signed_certificate_detached_sct: Option<Detached>,
}

/// Fulcio's `/api/v2/configuration`: the OIDC issuers it accepts.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulcioConfiguration {
    /// The accepted issuers.
    #[serde(default)]
    pub issuers: Vec<FulcioIssuer>,
}

/// One accepted OIDC issuer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulcioIssuer {
    /// The issuer URL (or `wildcardIssuerUrl`).
    #[serde(default, alias = "wildcardIssuerUrl")]
    pub issuer_url: String,
    /// The audience Fulcio expects.
    #[serde(default)]
    pub audience: String,
    /// The challenge claim (`email`, `sub`, ...).
    #[serde(default)]
    pub challenge_claim: String,
    /// The SPIFFE trust domain, for SPIFFE issuers.
    #[serde(default)]
    pub spiffe_trust_domain: String,
}

/// What a returned certificate is checked against.
#[derive(Debug)]
struct FulcioTrust {
    pool: CertificatePool,
    ctlogs: Vec<TransparencyLog>,
}

/// A client of one Fulcio instance.
#[derive(Clone, Debug)]
pub struct FulcioClient {
    http: HttpClient,
    base_url: String,
    trust: Option<Arc<FulcioTrust>>,
}

impl FulcioClient {
    /// A client for the Fulcio at `base_url` (e.g. `https://fulcio.sigstore.dev`), over `http`.
    pub fn new(base_url: &str, http: HttpClient) -> FulcioClient {
        FulcioClient {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            trust: None,
        }
    }

    /// Also require issued certificates to chain to `root`'s certificate authorities and carry a
    /// valid embedded SCT from `root`'s CT logs.
    pub fn with_trusted_root(mut self, root: &TrustedRoot) -> Result<FulcioClient, ClientError> {
        let pool = CertificatePool::new(&root.certificate_authorities)
            .map_err(|e| config(format!("trusted root certificate authorities: {e}")))?;
        self.trust = Some(Arc::new(FulcioTrust {
            pool,
            ctlogs: root.ctlogs.clone(),
        }));
        Ok(self)
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `POST /api/v2/signingCert` with `token` (a compact JWT) and `request`. The leaf of the
    /// returned chain must certify the requested key (else [`ClientError::Verify`]).
    pub async fn signing_cert(
        &self,
        token: &str,
        request: &CertificateRequest,
    ) -> Result<SigningCertificate, ClientError> {
        let url = format!("{}/api/v2/signingCert", self.base_url);
        let requested_spki = request.spki_der()?;
        let mut body = json!({"credentials": {"oidcIdentityToken": token}});
        match request {
            CertificateRequest::PublicKey {
                spki_der,
                proof_of_possession,
            } => {
                body["publicKeyRequest"] = json!({
                    "publicKey": {"algorithm": algorithm_name(spki_der)?, "content": pem_encode("PUBLIC KEY", spki_der)},
                    "proofOfPossession": B64.encode(proof_of_possession),
                });
            }
            CertificateRequest::Csr { csr_der } => {
                body["certificateSigningRequest"] = json!(B64.encode(pem_encode("CERTIFICATE REQUEST", csr_der)));
            }
        }
        let bearer = format!("Bearer {token}");
        let headers = [
            (header::CONTENT_TYPE, "application/json"),
            (header::ACCEPT, "application/json"),
            (header::AUTHORIZATION, bearer.as_str()),
        ];
        let resp = self
            .http
            .execute(
                http::Method::POST,
                &url,
                &headers,
                body.to_string().into(),
                Idempotency::Safe,
            )
            .await?;
        let resp = self.http.ensure_success(&url, resp)?;
        let parsed: SigningCertResponse = self.http.decode_json(&url, &resp.body)?;
        let (chain, sct) = match (
            parsed.signed_certificate_embedded_sct,
            parsed.signed_certificate_detached_sct,
        ) {
            (Some(e), None) => (e.chain, None),
            (None, Some(d)) => (d.chain, d.signed_certificate_timestamp),
            _ => {
                return Err(self.http.decode(
                    &url,
                    "expected exactly one of signedCertificateEmbeddedSct, signedCertificateDetachedSct",
                ))
            }
        };
        let chain_der = self.decode_chain(&url, &chain.certificates)?;
        let detached_sct = sct
            .map(|s| B64.decode(s))
            .transpose()
            .map_err(|e| self.http.decode(&url, format!("signedCertificateTimestamp: {e}")))?;
        let leaf = x509_cert::Certificate::from_der(&chain_der[0])
            .map_err(|e| self.http.decode(&url, format!("leaf certificate: {e}")))?;
        let leaf_spki = leaf
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| self.http.decode(&url, format!("leaf public key: {e}")))?;
        if leaf_spki != requested_spki {
            return Err(ClientError::Verify {
                service: super::Service::Fulcio,
                url,
                reason: "fulcio.key_mismatch",
                detail: "the issued certificate does not certify the requested public key".into(),
            });
        }
        if let Some(trust) = &self.trust {
            let verify = |reason: &'static str, detail: String| ClientError::Verify {
                service: super::Service::Fulcio,
                url: url.clone(),
                reason,
                detail,
            };
            let leaf = Certificate::from_der(&chain_der[0]).map_err(|e| verify(e.code(), e.to_string()))?;
            let chain = trust
                .pool
                .verify(&leaf, leaf.not_before(), ExtendedKeyUsage::CodeSigning)
                .map_err(|e| verify(e.code(), e.to_string()))?;
            if detached_sct.is_none() {
                verify_embedded_scts(&leaf, chain.issuer.public_key().spki_der(), &trust.ctlogs)
                    .map_err(|e| verify(e.code(), e.to_string()))?;
            }
        }
        Ok(SigningCertificate {
            chain_der,
            detached_sct,
        })
    }

    fn decode_chain(&self, url: &str, pems: &[String]) -> Result<Vec<Vec<u8>>, ClientError> {
        if pems.is_empty() {
            return Err(self.http.decode(url, "empty certificate chain"));
        }
        pems.iter()
            .enumerate()
            .map(|(i, pem)| {
                let (label, der) =
                    pem_decode(pem).map_err(|e| self.http.decode(url, format!("certificate {i}: {e}")))?;
                if label != "CERTIFICATE" {
                    return Err(self.http.decode(url, format!("certificate {i}: PEM label {label}")));
                }
                x509_cert::Certificate::from_der(&der)
                    .map_err(|e| self.http.decode(url, format!("certificate {i}: {e}")))?;
                Ok(der)
            })
            .collect()
    }

    /// `GET /api/v2/trustBundle`: the CA chains Fulcio issues from, each as DER, leafmost first.
    pub async fn trust_bundle(&self) -> Result<Vec<Vec<Vec<u8>>>, ClientError> {
        #[derive(Deserialize)]
        struct Bundle {
            chains: Vec<Chain>,
        }
        let url = format!("{}/api/v2/trustBundle", self.base_url);
        let b: Bundle = self.http.get_json(&url).await?;
        b.chains
            .iter()
            .map(|c| self.decode_chain(&url, &c.certificates))
            .collect()
    }

    /// `GET /api/v2/configuration`.
    pub async fn configuration(&self) -> Result<FulcioConfiguration, ClientError> {
        self.http
            .get_json(&format!("{}/api/v2/configuration", self.base_url))
            .await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
pub(crate) mod tests;
