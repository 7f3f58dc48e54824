//! In-process loopback HTTP(S) servers for the client tests (127.0.0.1 only).

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A request as the handler sees it (body already read).
#[derive(Clone, Debug)]
pub(crate) struct Req {
    pub method: http::Method,
    /// Path and query.
    pub path: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

pub(crate) type Resp = http::Response<Full<Bytes>>;
type Handler = Arc<dyn Fn(Req) -> Pin<Box<dyn Future<Output = Resp> + Send>> + Send + Sync>;

/// A running server; stops when dropped.
pub(crate) struct TestServer {
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn https_url(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A response with `status`, JSON-ish `body` and extra headers.
pub(crate) fn resp(status: u16, content_type: &str, body: impl Into<Bytes>) -> Resp {
    http::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(body.into()))
        .unwrap()
}

/// Serves `handler` over plain HTTP/1.1 on 127.0.0.1.
pub(crate) async fn serve<F, Fut>(handler: F) -> TestServer
where
    F: Fn(Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Resp> + Send + 'static,
{
    serve_inner(handler, None).await
}

/// Serves `handler` over HTTPS with `tls`.
pub(crate) async fn serve_tls<F, Fut>(handler: F, tls: Arc<rustls::ServerConfig>) -> TestServer
where
    F: Fn(Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Resp> + Send + 'static,
{
    serve_inner(handler, Some(tokio_rustls::TlsAcceptor::from(tls))).await
}

async fn serve_inner<F, Fut>(handler: F, tls: Option<tokio_rustls::TlsAcceptor>) -> TestServer
where
    F: Fn(Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Resp> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let handler: Handler = Arc::new(move |r| Box::pin(handler(r)));
    let h2 = hits.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (handler, hits, tls) = (handler.clone(), h2.clone(), tls.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |req: http::Request<Incoming>| {
                    let (handler, hits) = (handler.clone(), hits.clone());
                    async move {
                        hits.fetch_add(1, Ordering::SeqCst);
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        let r = Req {
                            method: parts.method,
                            path: parts.uri.path_and_query().map(|p| p.to_string()).unwrap_or_default(),
                            headers: parts.headers,
                            body,
                        };
                        Ok::<_, std::convert::Infallible>(handler(r).await)
                    }
                });
                let conn = hyper::server::conn::http1::Builder::new();
                match tls {
                    Some(acceptor) => {
                        if let Ok(s) = acceptor.accept(stream).await {
                            let _ = conn.serve_connection(TokioIo::new(s), svc).await;
                        }
                    }
                    None => {
                        let _ = conn.serve_connection(TokioIo::new(stream), svc).await;
                    }
                }
            });
        }
    });
    TestServer { addr, hits, task }
}

/// A URL on 127.0.0.1 where nothing listens (bound then released).
pub(crate) async fn closed_port_url() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}
