//! The clients for one signing, built from the services a [`SigningConfig`] selects: one
//! Fulcio, the Rekor logs (v1 or v2 per each log's `majorApiVersion`) and the TSAs.
//!
//! [`SigningConfig`]: super::config::SigningConfig

use super::config::{SelectedServices, ServiceEndpoint};
use super::error::ClientError;
use super::fulcio::FulcioClient;
use super::http::{EndpointConfig, HttpClient, Service};
use super::rekor::{ProposedEntry, RekorClient, VerifiedEntry};
use super::rekor_v2::RekorV2Client;
use super::tsa::TsaClient;
use trust_core::trust_root::TrustedRoot;

/// Per-service endpoint settings.
#[derive(Clone, Debug, Default)]
pub struct EndpointConfigs {
    /// For Fulcio.
    pub fulcio: EndpointConfig,
    /// For every Rekor log.
    pub rekor: EndpointConfig,
    /// For every TSA.
    pub tsa: EndpointConfig,
}

/// A Rekor log of either API version.
#[derive(Clone, Debug)]
pub enum AnyRekor {
    /// Rekor v1 (`majorApiVersion` 1): `hashedrekord`/`dsse` 0.0.1 entries with SETs.
    V1(RekorClient),
    /// Rekor v2 (`majorApiVersion` 2): 0.0.2 entries, no SET (needs a TSA for signing time).
    V2(RekorV2Client),
}

impl AnyRekor {
    /// The client for `endpoint` by its API version.
    pub fn new(endpoint: &ServiceEndpoint, http: HttpClient, root: &TrustedRoot) -> Result<AnyRekor, ClientError> {
        match endpoint.major_api_version {
            1 => Ok(AnyRekor::V1(RekorClient::new(&endpoint.url, http, root))),
            2 => Ok(AnyRekor::V2(RekorV2Client::new(&endpoint.url, http, root))),
            v => Err(ClientError::Config {
                service: Service::Rekor,
                detail: format!("{}: unsupported Rekor API version {v}", endpoint.url),
            }),
        }
    }

    /// Logs `entry` and returns it verified (see [`RekorClient::create_entry`] and
    /// [`RekorV2Client::create_entry`]).
    pub async fn create_entry(&self, entry: &ProposedEntry) -> Result<VerifiedEntry, ClientError> {
        match self {
            AnyRekor::V1(c) => c.create_entry(entry).await,
            AnyRekor::V2(c) => c.create_entry(entry).await,
        }
    }

    /// The log's base URL.
    pub fn base_url(&self) -> &str {
        match self {
            AnyRekor::V1(c) => c.base_url(),
            AnyRekor::V2(c) => c.base_url(),
        }
    }

    /// The API major version.
    pub fn api_version(&self) -> u32 {
        match self {
            AnyRekor::V1(_) => 1,
            AnyRekor::V2(_) => 2,
        }
    }
}

/// The clients for one signing.
#[derive(Clone, Debug)]
pub struct ServiceClients {
    /// The certificate authority.
    pub fulcio: FulcioClient,
    /// The logs to write to (at least one).
    pub rekor: Vec<AnyRekor>,
    /// The TSAs to timestamp with (possibly none).
    pub tsas: Vec<TsaClient>,
}

/// One pooled HTTP client per service, shared by every signing (connections are reused).
#[derive(Clone, Debug)]
pub struct HttpClients {
    /// For Fulcio.
    pub fulcio: HttpClient,
    /// For every Rekor log.
    pub rekor: HttpClient,
    /// For every TSA.
    pub tsa: HttpClient,
}

impl HttpClients {
    /// The clients for `configs`.
    pub fn new(configs: &EndpointConfigs) -> Result<HttpClients, ClientError> {
        Ok(HttpClients {
            fulcio: HttpClient::new(Service::Fulcio, configs.fulcio.clone())?,
            rekor: HttpClient::new(Service::Rekor, configs.rekor.clone())?,
            tsa: HttpClient::new(Service::Tsa, configs.tsa.clone())?,
        })
    }
}

impl ServiceClients {
    /// Builds the clients for `selected`, verifying their responses against `root` (Fulcio's
    /// certificates included), on new connection pools.
    pub fn new(
        selected: &SelectedServices,
        root: &TrustedRoot,
        configs: &EndpointConfigs,
    ) -> Result<ServiceClients, ClientError> {
        Self::with_http(selected, root, &HttpClients::new(configs)?)
    }

    /// [`ServiceClients::new`] over existing connection pools.
    pub fn with_http(
        selected: &SelectedServices,
        root: &TrustedRoot,
        http: &HttpClients,
    ) -> Result<ServiceClients, ClientError> {
        let fulcio = FulcioClient::new(&selected.fulcio.url, http.fulcio.clone()).with_trusted_root(root)?;
        let rekor = selected
            .rekor
            .iter()
            .map(|e| AnyRekor::new(e, http.rekor.clone(), root))
            .collect::<Result<Vec<_>, _>>()?;
        let tsas = selected
            .tsas
            .iter()
            .map(|e| TsaClient::new(&e.url, http.tsa.clone(), root))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ServiceClients { fulcio, rekor, tsas })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::client::config::ClientTrustConfig;
    use crate::client::rekor::tests::Fixture;
    use serde_json::json;

    #[tokio::test]
    async fn builds_v1_and_v2_clients_from_the_signing_config() {
        let f = Fixture::new().await;
        let mut ctc = f.rekor.local.client_trust_config();
        let start = ctc["signingConfig"]["rekorTlogUrls"][0]["validFor"]["start"].clone();
        ctc["signingConfig"]["rekorTlogUrls"] = json!([
            {"url": "http://127.0.0.1:1/v1", "majorApiVersion": 1, "validFor": {"start": start}, "operator": "a"},
            {"url": "http://127.0.0.1:1/v2", "majorApiVersion": 2, "validFor": {"start": start}, "operator": "b"},
        ]);
        ctc["signingConfig"]["rekorTlogConfig"] = json!({"selector": "ALL"});
        let ctc = ClientTrustConfig::from_json(ctc.to_string().as_bytes()).unwrap();
        let selected = ctc.signing_config.select(crate::embedded::now()).unwrap();
        let clients = ServiceClients::new(&selected, &ctc.trusted_root, &EndpointConfigs::default()).unwrap();
        let versions: Vec<(u32, &str)> = clients.rekor.iter().map(|r| (r.api_version(), r.base_url())).collect();
        // Highest API version first.
        assert_eq!(versions, [(2, "http://127.0.0.1:1/v2"), (1, "http://127.0.0.1:1/v1")]);
        assert_eq!(clients.fulcio.base_url(), "http://127.0.0.1:8888");
        assert_eq!(clients.tsas[0].url(), "http://127.0.0.1:8888/api/v1/timestamp");
    }

    #[tokio::test]
    async fn any_rekor_writes_through_the_right_protocol() {
        // The v1 fixture server genuinely logs through AnyRekor::V1.
        let f = Fixture::new().await;
        let root = TrustedRoot::from_json(f.rekor.local.trusted_root().to_string().as_bytes()).unwrap();
        let ep = ServiceEndpoint {
            url: f.url(),
            major_api_version: 1,
            valid_for: trust_core::time::TimeRange {
                start: trust_core::time::UnixTime::EPOCH,
                end: None,
            },
            operator: "x".into(),
        };
        let http = HttpClient::new(Service::Rekor, EndpointConfig::default()).unwrap();
        let r = AnyRekor::new(&ep, http.clone(), &root).unwrap();
        let e = r.create_entry(&f.hashedrekord(b"any")).await.unwrap();
        assert_eq!(e.version, "0.0.1");
        let bad = ServiceEndpoint {
            major_api_version: 3,
            ..ep
        };
        assert_eq!(AnyRekor::new(&bad, http, &root).unwrap_err().code(), "client.config");
    }
}

/// A whole signing through the clients against genuine loopback Fulcio, Rekor v1 and TSA
/// servers, assembled into a bundle v0.3 that trust-core's verifier accepts.
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod end_to_end {
    use super::*;
    use crate::client::config::ClientTrustConfig;
    use crate::client::fulcio::{tests as fulcio_tests, CertificateRequest};
    use crate::client::rekor::tests::Fixture;
    use crate::client::testserver::serve;
    use crate::client::token::IdentityToken;
    use crate::client::tsa::tests as tsa_tests;
    use crate::embedded::ca::LocalCa;
    use crate::embedded::ct::CtLog;
    use crate::embedded::keys::{KeyAlgorithm, SigningKey};
    use crate::embedded::tsa::LocalTsa;
    use base64::engine::general_purpose::STANDARD as B64;
    use base64::Engine as _;
    use serde_json::json;
    use std::sync::Arc;
    use trust_core::crypto::{sha256, Digest, HashAlgorithm};
    use trust_core::policy::{CertificateIdentity, PolicyBuilder};
    use trust_core::verifier::{Verifier, VerifierConfig};

    #[tokio::test]
    async fn signing_through_the_clients_yields_a_verifying_bundle() {
        let f = Fixture::new().await;
        let now = crate::embedded::now();
        let ca = Arc::new(fulcio_tests::Ca {
            ca: LocalCa::load_or_create(&f.dir, None, now).unwrap(),
            ct: CtLog::load_or_create(&f.dir.join("keys/ct.key.pem"), None).unwrap(),
        });
        let fulcio = serve(move |r| {
            let out = fulcio_tests::handle(&ca, fulcio_tests::Mode::Genuine, r);
            async move { out }
        })
        .await;
        let tsa = Arc::new(LocalTsa::load_or_create(&f.dir, None, now).unwrap());
        let tsa = tsa_tests::tsa_server(tsa, tsa_tests::Mode::Genuine).await;

        let mut ctc = f.rekor.local.client_trust_config();
        ctc["signingConfig"]["caUrls"][0]["url"] = json!(fulcio.url());
        ctc["signingConfig"]["rekorTlogUrls"][0]["url"] = json!(f.url());
        ctc["signingConfig"]["tsaUrls"][0]["url"] = json!(format!("{}/api/v1/timestamp", tsa.url()));
        let ctc = ClientTrustConfig::from_json(ctc.to_string().as_bytes()).unwrap();
        let clients = ServiceClients::new(
            &ctc.signing_config.select(now).unwrap(),
            &ctc.trusted_root,
            &EndpointConfigs::default(),
        )
        .unwrap();

        let jwt = fulcio_tests::jwt(json!({
            "iss": "https://issuer.example", "sub": "1", "email": "alice@example.com", "exp": now.secs() + 600,
        }));
        let token = IdentityToken::parse(&jwt, now).unwrap();
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let request = CertificateRequest::public_key(&key, token.claims.identity()).unwrap();
        let cert = clients.fulcio.signing_cert(&token.jwt, &request).await.unwrap();

        let artifact = b"end to end artifact";
        let digest = Digest::new(HashAlgorithm::Sha256, &sha256(artifact)).unwrap();
        let signature = key.sign_digest(&digest).unwrap();
        let entry = clients.rekor[0]
            .create_entry(&ProposedEntry::HashedRekord {
                digest,
                signature: signature.clone(),
                verifier_pem: cert.leaf_pem(),
            })
            .await
            .unwrap();
        let ts = clients.tsas[0].timestamp(&signature).await.unwrap();

        let bundle = json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {
                "certificate": {"rawBytes": B64.encode(cert.leaf_der())},
                "tlogEntries": [entry.to_bundle_json()],
                "timestampVerificationData": {"rfc3161Timestamps": [{"signedTimestamp": B64.encode(&ts.token_der)}]},
            },
            "messageSignature": {
                "messageDigest": {"algorithm": "SHA2_256", "digest": B64.encode(digest.as_bytes())},
                "signature": B64.encode(&signature),
            },
        });
        let verifier = Verifier::new(
            ctc.trusted_root.clone(),
            VerifierConfig::default().with_signed_timestamps(1),
        )
        .unwrap();
        let id = CertificateIdentity::exact("alice@example.com", "https://issuer.example").unwrap();
        let policy = |bytes: &'static [u8]| {
            PolicyBuilder::new()
                .artifact_bytes(bytes)
                .certificate_identity(id.clone())
                .now(crate::embedded::now())
                .build()
                .unwrap()
        };
        let verified = verifier
            .verify_json(bundle.to_string().as_bytes(), &policy(artifact))
            .unwrap();
        assert_eq!(verified.tlog_entries[0].log_index, entry.log_index);
        assert!(verifier
            .verify_json(bundle.to_string().as_bytes(), &policy(b"another artifact"))
            .is_err());
    }
}
