use super::*;
use crate::client::testserver::{resp, serve, Req, TestServer};
use crate::client::token::TokenClaims;
use crate::client::{EndpointConfig, Service};
use crate::embedded::ca::{IssueRequest, LocalCa, SignerIdentity};
use crate::embedded::ct::CtLog;
use crate::embedded::keys::KeyAlgorithm;
use crate::embedded::testutil::temp_dir;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::sync::Arc;
use std::time::Duration;
use trust_core::trust_root::TrustedRoot;

pub(crate) struct Ca {
    pub(crate) ca: LocalCa,
    pub(crate) ct: CtLog,
}

/// How the test Fulcio misbehaves.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Mode {
    Genuine,
    /// Certifies a key of its own instead of the requested one.
    SwapKey,
    /// Answers in the detached-SCT form.
    Detached,
}

pub(crate) fn jwt(claims: serde_json::Value) -> String {
    format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// A Fulcio v2 endpoint backed by the embedded CA: checks the proof of possession (or the CSR's
/// self-signature) with the requested key, then issues with an embedded SCT.
pub(crate) fn handle(ca: &Ca, mode: Mode, r: Req) -> crate::client::testserver::Resp {
    let bad = |m: &str| resp(400, "application/json", format!("{{\"code\":3,\"message\":\"{m}\"}}"));
    let now = crate::embedded::now();
    match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/api/v2/trustBundle") => {
            let chain: Vec<String> = ca.ca.chain_der().iter().map(|d| pem_encode("CERTIFICATE", d)).collect();
            resp(200, "application/json", json!({"chains": [{"certificates": chain}]}).to_string())
        }
        ("GET", "/api/v2/configuration") => resp(
            200,
            "application/json",
            json!({"issuers": [{"issuerUrl": "https://issuer.example", "audience": "sigstore", "challengeClaim": "email"}]})
                .to_string(),
        ),
        ("POST", "/api/v2/signingCert") => {
            let Ok(body) = serde_json::from_slice::<serde_json::Value>(&r.body) else { return bad("json") };
            let token = body["credentials"]["oidcIdentityToken"].as_str().unwrap_or_default();
            if r.headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {token}")) {
                return bad("authorization");
            }
            let Ok(claims) = TokenClaims::parse_unverified(token) else { return bad("token") };
            let spki = if let Some(pk) = body.get("publicKeyRequest") {
                let key = PublicKey::from_pem(pk["publicKey"]["content"].as_str().unwrap_or_default()).unwrap();
                let pop = B64.decode(pk["proofOfPossession"].as_str().unwrap_or_default()).unwrap();
                if key.verify(claims.identity().as_bytes(), &pop).is_err() {
                    return bad("proof of possession");
                }
                key.spki_der().to_vec()
            } else {
                let pem = B64.decode(body["certificateSigningRequest"].as_str().unwrap_or_default()).unwrap();
                let (label, der) = pem_decode(std::str::from_utf8(&pem).unwrap()).unwrap();
                assert_eq!(label, "CERTIFICATE REQUEST");
                let csr = CertReq::from_der(&der).unwrap();
                let spki = csr.info.public_key.to_der().unwrap();
                let key = PublicKey::from_spki_der(&spki).unwrap();
                if key.verify(&csr.info.to_der().unwrap(), csr.signature.raw_bytes()).is_err() {
                    return bad("CSR signature");
                }
                spki
            };
            let other = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
            let spki = if mode == Mode::SwapKey { other.public_key_spki_der().to_vec() } else { spki };
            let issued = ca
                .ca
                .issue(
                    &IssueRequest {
                        public_key_spki_der: &spki,
                        identity: SignerIdentity::Email(claims.identity().to_string()),
                        oidc_issuer: claims.issuer.clone(),
                        claims: vec![],
                        now,
                    },
                    &ca.ct,
                )
                .unwrap();
            let mut chain = vec![pem_encode("CERTIFICATE", &issued.leaf_der)];
            chain.extend(issued.chain_der.iter().map(|d| pem_encode("CERTIFICATE", d)));
            let body = if mode == Mode::Detached {
                json!({"signedCertificateDetachedSct": {"chain": {"certificates": chain}, "signedCertificateTimestamp": B64.encode(b"sct")}})
            } else {
                json!({"signedCertificateEmbeddedSct": {"chain": {"certificates": chain}}})
            };
            resp(201, "application/json", body.to_string())
        }
        _ => resp(404, "text/plain", "not found"),
    }
}

async fn fulcio(mode: Mode) -> (TestServer, FulcioClient, Arc<Ca>) {
    let dir = temp_dir("fulcio-client");
    let now = crate::embedded::now();
    let ca = Arc::new(Ca {
        ca: LocalCa::load_or_create(&dir, None, now).unwrap(),
        ct: CtLog::load_or_create(&dir.join("ct.key.pem"), None).unwrap(),
    });
    let c2 = ca.clone();
    let srv = serve(move |r| {
        let out = handle(&c2, mode, r);
        async move { out }
    })
    .await;
    let cfg = EndpointConfig {
        timeout: Duration::from_secs(5),
        initial_backoff: Duration::from_millis(10),
        ..EndpointConfig::default()
    };
    let client = FulcioClient::new(
        &format!("{}/", srv.url()),
        HttpClient::new(Service::Fulcio, cfg).unwrap(),
    );
    (srv, client, ca)
}

fn token() -> String {
    jwt(json!({"iss": "https://issuer.example", "sub": "123", "email": "alice@example.com", "aud": "sigstore"}))
}

#[tokio::test]
async fn public_key_request_issues_a_certificate_for_our_key() {
    let (_srv, client, ca) = fulcio(Mode::Genuine).await;
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let req = CertificateRequest::public_key(&key, "alice@example.com").unwrap();
    let cert = client.signing_cert(&token(), &req).await.unwrap();
    assert_eq!(cert.chain_der.len(), 3);
    assert_eq!(&cert.chain_der[1..], &ca.ca.chain_der()[..]);
    assert_eq!(cert.detached_sct, None);
    let leaf = x509_cert::Certificate::from_der(cert.leaf_der()).unwrap();
    assert_eq!(
        leaf.tbs_certificate.subject_public_key_info.to_der().unwrap(),
        key.public_key_spki_der()
    );
    assert!(cert.leaf_pem().starts_with("-----BEGIN CERTIFICATE-----"));

    // A proof of possession over another identity is refused by the server (400, not retried).
    let req = CertificateRequest::public_key(&key, "mallory@example.com").unwrap();
    let err = client.signing_cert(&token(), &req).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(!err.is_unavailable());
}

#[tokio::test]
async fn csr_request_issues_a_certificate_for_our_key() {
    let (_srv, client, _ca) = fulcio(Mode::Genuine).await;
    for alg in [KeyAlgorithm::EcdsaP256Sha256, KeyAlgorithm::EcdsaP384Sha384] {
        let key = SigningKey::generate(alg).unwrap();
        let req = CertificateRequest::csr(&key).unwrap();
        assert_eq!(req.spki_der().unwrap(), key.public_key_spki_der());
        let cert = client.signing_cert(&token(), &req).await.unwrap();
        let leaf = x509_cert::Certificate::from_der(cert.leaf_der()).unwrap();
        assert_eq!(
            leaf.tbs_certificate.subject_public_key_info.to_der().unwrap(),
            key.public_key_spki_der()
        );
    }
}

#[tokio::test]
async fn detached_sct_form_is_read() {
    let (_srv, client, _ca) = fulcio(Mode::Detached).await;
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let cert = client
        .signing_cert(&token(), &CertificateRequest::csr(&key).unwrap())
        .await
        .unwrap();
    assert_eq!(cert.detached_sct.as_deref(), Some(&b"sct"[..]));
}

#[tokio::test]
async fn certificate_for_another_key_is_refused() {
    let (_srv, client, _ca) = fulcio(Mode::SwapKey).await;
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let err = client
        .signing_cert(&token(), &CertificateRequest::csr(&key).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "client.verify");
    assert!(err.to_string().contains("fulcio.key_mismatch"), "{err}");
    assert!(!err.is_unavailable());
}

#[tokio::test]
async fn trust_bundle_and_configuration() {
    let (_srv, client, ca) = fulcio(Mode::Genuine).await;
    assert_eq!(client.trust_bundle().await.unwrap(), vec![ca.ca.chain_der()]);
    let conf = client.configuration().await.unwrap();
    assert_eq!(conf.issuers[0].issuer_url, "https://issuer.example");
    assert_eq!(conf.issuers[0].challenge_claim, "email");
}

#[tokio::test]
async fn malformed_responses_are_decode_errors() {
    for body in [
        json!({}),
        json!({"signedCertificateEmbeddedSct": {"chain": {"certificates": []}}}),
        json!({"signedCertificateEmbeddedSct": {"chain": {"certificates": ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"]}}}),
    ] {
        let srv = serve(move |_r| {
            let b = body.to_string();
            async move { resp(201, "application/json", b) }
        })
        .await;
        let client = FulcioClient::new(
            &srv.url(),
            HttpClient::new(Service::Fulcio, EndpointConfig::default()).unwrap(),
        );
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let err = client
            .signing_cert(&token(), &CertificateRequest::csr(&key).unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.code(), "client.decode", "{err}");
        assert_eq!(err.service(), Service::Fulcio);
    }
}

fn root_of(ca: &Ca) -> TrustedRoot {
    TrustedRoot {
        tlogs: vec![],
        ctlogs: vec![ca
            .ct
            .transparency_log("http://ct.example", trust_core::time::UnixTime::EPOCH)],
        certificate_authorities: vec![ca.ca.certificate_authority("http://fulcio.example")],
        timestamp_authorities: vec![],
    }
}

#[tokio::test]
async fn certificate_must_chain_to_the_trusted_root_with_a_valid_sct() {
    let (_srv, client, ca) = fulcio(Mode::Genuine).await;
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let req = CertificateRequest::csr(&key).unwrap();
    // Trusting this CA and CT log: accepted.
    let trusting = client.clone().with_trusted_root(&root_of(&ca)).unwrap();
    trusting.signing_cert(&token(), &req).await.unwrap();

    // Trusting another instance's CA: refused, not retried, not an outage.
    let (_srv2, _c2, other) = fulcio(Mode::Genuine).await;
    let err = client
        .clone()
        .with_trusted_root(&root_of(&other))
        .unwrap()
        .signing_cert(&token(), &req)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "client.verify", "{err}");
    assert!(err.to_string().contains("(cert.chain_untrusted)"), "{err}");
    assert!(!err.is_unavailable());

    // The right CA but another CT log: the SCT does not verify.
    let mut root = root_of(&ca);
    root.ctlogs = root_of(&other).ctlogs;
    let err = client
        .clone()
        .with_trusted_root(&root)
        .unwrap()
        .signing_cert(&token(), &req)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("(sct."), "{err}");
}
