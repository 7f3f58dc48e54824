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

impl ServiceClients {
    /// Builds the clients for `selected`, verifying their responses against `root` (Fulcio's
    /// certificates included). Each Rekor
    /// shares one connection pool, as does each TSA.
    pub fn new(
        selected: &SelectedServices,
        root: &TrustedRoot,
        configs: &EndpointConfigs,
    ) -> Result<ServiceClients, ClientError> {
        let fulcio = FulcioClient::new(
            &selected.fulcio.url,
            HttpClient::new(Service::Fulcio, configs.fulcio.clone())?,
        )
        .with_trusted_root(root)?;
        let rekor_http = HttpClient::new(Service::Rekor, configs.rekor.clone())?;
        let rekor = selected
            .rekor
            .iter()
            .map(|e| AnyRekor::new(e, rekor_http.clone(), root))
            .collect::<Result<Vec<_>, _>>()?;
        let tsa_http = HttpClient::new(Service::Tsa, configs.tsa.clone())?;
        let tsas = selected
            .tsas
            .iter()
            .map(|e| TsaClient::new(&e.url, tsa_http.clone(), root))
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
