use super::*;
use crate::client::testserver::{closed_port_url, resp, serve, Req, TestServer};
use crate::client::EndpointConfig;
use crate::embedded::local::{init, InitOptions, LocalSigstore};
use crate::embedded::testutil::{temp_dir, Mem};
use crate::embedded::tsa::{LocalTsa, TimestampRequest};
use std::time::{Duration, Instant};
use trust_core::crypto::HashAlgorithm;

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Mode {
    Genuine,
    WrongNonce,
    WrongImprint,
    Rejected,
}

/// The embedded TSA served as a TSA does: `application/timestamp-query` in, reply out.
pub(crate) async fn tsa_server(tsa: Arc<LocalTsa>, mode: Mode) -> TestServer {
    serve(move |r: Req| {
        let tsa = tsa.clone();
        async move {
            assert_eq!(r.headers["content-type"], "application/timestamp-query");
            let now = crate::embedded::now();
            let der = match mode {
                Mode::Genuine => tsa.timestamp_request(&r.body, now).unwrap(),
                Mode::WrongNonce => {
                    let req = TimestampRequest::from_der(&r.body).unwrap();
                    tsa.timestamp(req.hash_algorithm, &req.message_digest, Some(&[0x01, 0x02]), now)
                        .unwrap()
                }
                Mode::WrongImprint => {
                    let req = TimestampRequest::from_der(&r.body).unwrap();
                    tsa.timestamp(HashAlgorithm::Sha256, &sha256(b"other"), req.nonce.as_deref(), now)
                        .unwrap()
                }
                // PKIStatusInfo { status rejection(2), statusString { "bad" } }, no token.
                Mode::Rejected => vec![
                    0x30, 0x0c, 0x30, 0x0a, 0x02, 0x01, 0x02, 0x30, 0x05, 0x0c, 0x03, b'b', b'a', b'd',
                ],
            };
            resp(200, "application/timestamp-reply", der)
        }
    })
    .await
}

struct Fixture {
    tsa: Arc<LocalTsa>,
    root: TrustedRoot,
}

async fn fixture() -> Fixture {
    let dir = temp_dir("tsa-client");
    init(&dir, &InitOptions::default(), None).unwrap();
    let local = LocalSigstore::open(&dir, Arc::new(Mem::default()), None, 4).unwrap();
    let root = TrustedRoot::from_json(local.trusted_root().to_string().as_bytes()).unwrap();
    let tsa = Arc::new(LocalTsa::load_or_create(&dir, None, crate::embedded::now()).unwrap());
    Fixture { tsa, root }
}

fn cfg() -> EndpointConfig {
    EndpointConfig {
        timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(300),
        total_timeout: Duration::from_secs(2),
        max_retries: 2,
        initial_backoff: Duration::from_millis(20),
        ..EndpointConfig::default()
    }
}

fn client(url: &str, root: &TrustedRoot) -> TsaClient {
    TsaClient::new(url, HttpClient::new(Service::Tsa, cfg()).unwrap(), root).unwrap()
}

#[test]
fn request_is_accepted_by_the_embedded_tsa_parser() {
    let der = build_request(b"sig", &[0x80, 1, 2, 3, 4, 5, 6, 7]).unwrap();
    let req = TimestampRequest::from_der(&der).unwrap();
    assert_eq!(req.hash_algorithm, HashAlgorithm::Sha256);
    assert_eq!(req.message_digest, sha256(b"sig"));
    assert!(req.cert_req);
    // A high first bit is sign-padded to stay positive.
    assert_eq!(req.nonce.unwrap(), [0, 0x80, 1, 2, 3, 4, 5, 6, 7]);
}

#[tokio::test]
async fn genuine_timestamp_verifies() {
    let f = fixture().await;
    let srv = tsa_server(f.tsa.clone(), Mode::Genuine).await;
    let before = crate::embedded::now();
    let ts = client(&format!("{}/api/v1/timestamp", srv.url()), &f.root)
        .timestamp(b"signature bytes")
        .await
        .unwrap();
    assert!(ts.time.secs() >= before.secs() - 1 && ts.time.secs() <= crate::embedded::now().secs());
    // The token verifies independently for these bytes, and not for others.
    let auth = TimestampAuthorities::new(&f.root.timestamp_authorities).unwrap();
    verify_timestamp(&ts.token_der, b"signature bytes", &auth).unwrap();
    assert!(verify_timestamp(&ts.token_der, b"other bytes", &auth).is_err());
}

fn reason(e: &ClientError) -> &'static str {
    match e {
        ClientError::Verify { reason, .. } => reason,
        other => panic!("expected a verification error, got {other}"),
    }
}

#[tokio::test]
async fn forged_responses_are_refused() {
    let f = fixture().await;
    let srv = tsa_server(f.tsa.clone(), Mode::WrongNonce).await;
    let err = client(&srv.url(), &f.root).timestamp(b"s").await.unwrap_err();
    assert_eq!(reason(&err), "tsa.nonce_mismatch");
    let srv = tsa_server(f.tsa.clone(), Mode::WrongImprint).await;
    let err = client(&srv.url(), &f.root).timestamp(b"s").await.unwrap_err();
    assert_eq!(reason(&err), "timestamp.message_imprint_mismatch");
    assert!(!err.is_unavailable());
    let srv = tsa_server(f.tsa.clone(), Mode::Rejected).await;
    let err = client(&srv.url(), &f.root).timestamp(b"s").await.unwrap_err();
    assert_eq!(err.code(), "client.status");
    assert!(err.to_string().contains("PKIStatus 2): bad"), "{err}");
    // Garbage.
    let junk = serve(|_r: Req| async { resp(200, "application/timestamp-reply", "not DER") }).await;
    let err = client(&junk.url(), &f.root).timestamp(b"s").await.unwrap_err();
    assert_eq!(err.code(), "client.decode");
}

#[tokio::test]
async fn untrusted_tsa_is_refused() {
    let f = fixture().await;
    let other = fixture().await;
    let srv = tsa_server(f.tsa.clone(), Mode::Genuine).await;
    let err = client(&srv.url(), &other.root).timestamp(b"s").await.unwrap_err();
    assert_eq!(reason(&err), "timestamp.untrusted_tsa", "{err}");
}

#[tokio::test]
async fn outages_are_bounded() {
    let f = fixture().await;
    let down = serve(|_r: Req| async { resp(500, "text/plain", "down") }).await;
    let err = client(&down.url(), &f.root).timestamp(b"s").await.unwrap_err();
    assert!(err.is_unavailable() && err.service() == Service::Tsa);
    assert_eq!(down.hits(), 3);
    let slow = serve(|_r: Req| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        resp(200, "text/plain", "")
    })
    .await;
    let start = Instant::now();
    let err = client(&slow.url(), &f.root).timestamp(b"s").await.unwrap_err();
    assert_eq!(err.code(), "client.timeout");
    assert!(start.elapsed() < Duration::from_millis(2300), "{:?}", start.elapsed());
    let err = client(&closed_port_url().await, &f.root)
        .timestamp(b"s")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "client.connect");
}
