use super::*;
use crate::client::testserver::{closed_port_url, resp, serve, serve_tls, Req};
use std::sync::atomic::{AtomicUsize, Ordering};

fn fast() -> EndpointConfig {
    EndpointConfig {
        timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(300),
        total_timeout: Duration::from_secs(5),
        max_retries: 3,
        initial_backoff: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(1),
        ca_bundle: None,
        max_body: 1024,
    }
}

fn client(config: EndpointConfig) -> HttpClient {
    HttpClient::new(Service::Rekor, config).unwrap()
}

/// Answers with the statuses of `script` in turn, then 200 "ok".
async fn scripted(script: Vec<(u16, Option<&'static str>)>) -> crate::client::testserver::TestServer {
    let n = Arc::new(AtomicUsize::new(0));
    serve(move |_r: Req| {
        let i = n.fetch_add(1, Ordering::SeqCst);
        let step = script.get(i).copied();
        async move {
            match step {
                Some((code, retry_after)) => {
                    let mut r = resp(code, "text/plain", format!("failure {i}\n\twith detail"));
                    if let Some(v) = retry_after {
                        r.headers_mut().insert("retry-after", HeaderValue::from_static(v));
                    }
                    r
                }
                None => resp(200, "text/plain", "ok"),
            }
        }
    })
    .await
}

/// A server that answers only after 30 s.
async fn slow_server() -> crate::client::testserver::TestServer {
    serve(|_r: Req| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        resp(200, "text/plain", "late")
    })
    .await
}

#[tokio::test]
async fn server_error_then_success_is_retried() {
    let srv = scripted(vec![(500, None), (503, None)]).await;
    let r = client(fast()).get(&srv.url(), "*/*").await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(&r.body[..], b"ok");
    assert_eq!(srv.hits(), 3);
}

#[tokio::test]
async fn persistent_server_error_ends_in_status_after_bounded_attempts() {
    let srv = scripted(vec![(502, None); 10]).await;
    let err = client(fast()).get(&srv.url(), "*/*").await.unwrap_err();
    assert_eq!(err.code(), "client.status");
    assert_eq!(err.status(), Some(502));
    assert!(err.is_unavailable());
    assert_eq!(err.service(), Service::Rekor);
    assert_eq!(srv.hits(), 4, "1 attempt + max_retries 3");
    // Control characters of the body are not echoed into the message.
    assert!(err.to_string().contains("failure 3 with detail"), "{err}");
    assert!(err.to_string().contains(&srv.url()), "{err}");
}

#[tokio::test]
async fn too_many_requests_honours_retry_after() {
    let srv = scripted(vec![(429, Some("1"))]).await;
    let start = Instant::now();
    let r = client(fast()).get(&srv.url(), "*/*").await.unwrap();
    let took = start.elapsed();
    assert_eq!(r.status, 200);
    assert_eq!(srv.hits(), 2);
    assert!(
        took >= Duration::from_millis(950),
        "waited {took:?}, Retry-After was 1 s"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn retry_after_is_capped() {
    // Retry-After: 3600 is capped to max_retry_after (1 s).
    let srv = scripted(vec![(429, Some("3600"))]).await;
    let start = Instant::now();
    client(fast()).get(&srv.url(), "*/*").await.unwrap();
    assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
}

#[tokio::test]
async fn client_error_is_not_retried() {
    for code in [400u16, 401, 404, 409, 422] {
        let srv = scripted(vec![(code, None); 3]).await;
        let err = client(fast())
            .post(&srv.url(), "application/json", "*/*", "{}", Idempotency::Safe)
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(code));
        assert!(!err.is_unavailable());
        assert_eq!(srv.hits(), 1, "HTTP {code} must not be retried");
    }
}

#[tokio::test]
async fn slow_server_times_out_within_bound() {
    let srv = slow_server().await;
    let cfg = EndpointConfig {
        max_retries: 1,
        ..fast()
    };
    let start = Instant::now();
    let err = client(cfg).get(&srv.url(), "*/*").await.unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.code(), "client.timeout", "{err}");
    assert!(err.is_unavailable());
    assert_eq!(srv.hits(), 2, "a GET timeout is retried once");
    // Two attempts of 500 ms plus one short backoff.
    assert!(
        took >= Duration::from_millis(1000) && took < Duration::from_millis(2500),
        "{took:?}"
    );
}

#[tokio::test]
async fn unsafe_post_timeout_is_not_retried() {
    let srv = slow_server().await;
    let start = Instant::now();
    let err = client(fast())
        .post(&srv.url(), "text/plain", "*/*", "x", Idempotency::Unsafe)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "client.timeout");
    assert_eq!(srv.hits(), 1);
    assert!(start.elapsed() < Duration::from_millis(1500), "{:?}", start.elapsed());
}

#[tokio::test]
async fn total_timeout_bounds_all_attempts() {
    let srv = slow_server().await;
    let cfg = EndpointConfig {
        max_retries: 100,
        total_timeout: Duration::from_millis(1200),
        ..fast()
    };
    let start = Instant::now();
    let err = client(cfg).get(&srv.url(), "*/*").await.unwrap_err();
    assert_eq!(err.code(), "client.timeout");
    assert!(start.elapsed() < Duration::from_millis(2000), "{:?}", start.elapsed());
}

#[tokio::test]
async fn connection_refused_is_connect_error() {
    let url = closed_port_url().await;
    let start = Instant::now();
    let err = client(fast()).get(&url, "*/*").await.unwrap_err();
    assert_eq!(err.code(), "client.connect", "{err}");
    assert!(err.is_unavailable());
    assert_eq!(err.url(), Some(url.as_str()));
    assert!(err.to_string().starts_with("Rekor at http://127.0.0.1:"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let srv = serve(|_r: Req| async { resp(200, "text/plain", vec![b'a'; 4096]) }).await;
    let err = client(fast()).get(&srv.url(), "*/*").await.unwrap_err();
    assert_eq!(err.code(), "client.body_too_large");
    assert!(!err.is_unavailable());
    assert_eq!(srv.hits(), 1);
}

#[tokio::test]
async fn bad_urls_and_bundles_are_config_errors() {
    let c = client(fast());
    for url in ["ftp://example.com/x", "not a url", "/relative"] {
        let err = c.get(url, "*/*").await.unwrap_err();
        assert_eq!(err.code(), "client.config", "{url}: {err}");
    }
    let err = HttpClient::new(
        Service::Fulcio,
        EndpointConfig {
            ca_bundle: Some("no PEM here".into()),
            ..fast()
        },
    )
    .unwrap_err();
    assert_eq!(err.code(), "client.config");
    assert_eq!(err.service(), Service::Fulcio);
}

#[tokio::test]
async fn post_sends_body_and_content_type() {
    let srv = serve(|r: Req| async move {
        let ct = r.headers.get("content-type").unwrap().to_str().unwrap().to_string();
        resp(
            201,
            "application/json",
            format!(
                "{{\"ct\":\"{ct}\",\"len\":{},\"m\":\"{} {}\"}}",
                r.body.len(),
                r.method,
                r.path
            ),
        )
    })
    .await;
    let v: serde_json::Value = client(fast())
        .post_json(
            &format!("{}/api/v1/x?y=1", srv.url()),
            &serde_json::json!({"a": 1}),
            Idempotency::Unsafe,
        )
        .await
        .unwrap();
    assert_eq!(
        v,
        serde_json::json!({"ct": "application/json", "len": 7, "m": "POST /api/v1/x?y=1"})
    );
}

/// A self-signed `localhost` certificate and a rustls server config serving it.
fn tls_server() -> (String, Arc<rustls::ServerConfig>) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::try_from(ck.signing_key.serialize_der()).unwrap();
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .unwrap();
    (ck.cert.pem(), Arc::new(cfg))
}

#[tokio::test]
async fn pinned_ca_bundle_is_trusted_and_replaces_defaults() {
    let (pem, tls) = tls_server();
    let srv = serve_tls(|_r: Req| async { resp(200, "text/plain", "secure") }, tls).await;
    // Pinned to the server's certificate: accepted.
    let pinned = HttpClient::new(
        Service::Tsa,
        EndpointConfig {
            ca_bundle: Some(pem),
            ..fast()
        },
    )
    .unwrap();
    let r = pinned.get(&srv.https_url(), "*/*").await.unwrap();
    assert_eq!(&r.body[..], b"secure");

    // Default web roots: the self-signed certificate is refused, without retrying a TLS failure
    // into a long wait.
    let start = Instant::now();
    let err = client(fast()).get(&srv.https_url(), "*/*").await.unwrap_err();
    assert_eq!(err.code(), "client.connect", "{err}");
    assert!(err.to_string().contains("certificate"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(2));

    // Pinned to another CA: refused too.
    let (other, _) = tls_server();
    let err = HttpClient::new(
        Service::Tsa,
        EndpointConfig {
            ca_bundle: Some(other),
            ..fast()
        },
    )
    .unwrap()
    .get(&srv.https_url(), "*/*")
    .await
    .unwrap_err();
    assert_eq!(err.code(), "client.connect", "{err}");
    assert!(err.to_string().contains("TSA at https://localhost:"), "{err}");
}
