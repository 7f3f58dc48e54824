//! Transports for tough: HTTP(S) over the crate's HTTP layer, and a recorder that keeps the exact bytes tough read, so the cache holds what
//! was verified (no second download that could differ).

use super::{classify, Recorded, TufError};
use crate::client::{ClientError, EndpointConfig, HttpClient, Idempotency, Service};
use futures_core::Stream;
use http::header::ACCEPT;
use http::{Method, StatusCode};
use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tough::{async_trait, Bytes, FilesystemTransport, Transport, TransportError, TransportErrorKind, TransportStream};
use url::Url;

/// Wraps a transport and records every fully-read response body by URL. A body is recorded only
/// when its stream ended without error, and only as far as tough read it (tough stops at its size
/// limits, so recording is bounded by them).
#[derive(Debug, Clone)]
pub struct RecordingTransport {
    inner: Box<dyn Transport>,
    recorded: Recorded,
    root_chain_failure: Arc<Mutex<Option<TufError>>>,
}

impl RecordingTransport {
    /// Records what `inner` serves.
    pub fn new(inner: Box<dyn Transport>) -> Self {
        RecordingTransport {
            inner,
            recorded: Arc::new(Mutex::new(BTreeMap::new())),
            root_chain_failure: Arc::new(Mutex::new(None)),
        }
    }

    /// The first failure to fetch a `N.root.json` other than "not found" (which ends the chain
    /// normally), if any; taken, so a retry starts clean.
    pub fn take_root_chain_failure(&self) -> Option<TufError> {
        self.root_chain_failure.lock().ok().and_then(|mut f| f.take())
    }

    /// The shared map of recorded bodies.
    pub fn recorded(&self) -> Recorded {
        Arc::clone(&self.recorded)
    }
}

#[async_trait]
impl Transport for RecordingTransport {
    async fn fetch(&self, url: Url) -> Result<TransportStream, TransportError> {
        let inner = match self.inner.fetch(url.clone()).await {
            Ok(s) => s,
            Err(e) => {
                if e.kind() != TransportErrorKind::FileNotFound && url.path().ends_with(".root.json") {
                    if let Ok(mut f) = self.root_chain_failure.lock() {
                        f.get_or_insert_with(|| classify(&e));
                    }
                }
                return Err(e);
            }
        };
        Ok(Box::pin(Tee {
            inner,
            buf: Vec::new(),
            url: url.to_string(),
            sink: Arc::clone(&self.recorded),
            failed: false,
        }))
    }
}

struct Tee {
    inner: TransportStream,
    buf: Vec<u8>,
    url: String,
    sink: Recorded,
    failed: bool,
}

impl Stream for Tee {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let item = this.inner.as_mut().poll_next(cx);
        match &item {
            Poll::Ready(Some(Ok(b))) => this.buf.extend_from_slice(b),
            Poll::Ready(Some(Err(_))) => this.failed = true,
            Poll::Ready(None) if !this.failed => {
                if let Ok(mut m) = this.sink.lock() {
                    m.insert(std::mem::take(&mut this.url), std::mem::take(&mut this.buf));
                }
            }
            _ => {}
        }
        item
    }
}

/// A boxed transport as a `Transport` (tough's loader takes `impl Transport`).
#[derive(Debug, Clone)]
pub(crate) struct Boxed(pub(crate) Box<dyn Transport>);

#[async_trait]
impl Transport for Boxed {
    async fn fetch(&self, url: Url) -> Result<TransportStream, TransportError> {
        self.0.fetch(url).await
    }
}

/// tough's transport over certus-trust's HTTP layer ([`HttpClient`], service [`Service::Tuf`]:
/// timeouts, bounded retries on 5xx/429/connection errors, CA pinning, body limit), with `file://`
/// URLs through tough's [`FilesystemTransport`]. HTTP 404 and 403 mean "no such file" (the end of
/// the root chain, as in python-tuf); any other failure carries the [`ClientError`] naming the
/// service and URL.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    http: HttpClient,
}

impl HttpTransport {
    /// A transport with this endpoint configuration.
    pub fn new(endpoint: EndpointConfig) -> Result<Self, ClientError> {
        Ok(HttpTransport {
            http: HttpClient::new(Service::Tuf, endpoint)?,
        })
    }
}

#[async_trait]
impl Transport for HttpTransport {
    async fn fetch(&self, url: Url) -> Result<TransportStream, TransportError> {
        match url.scheme() {
            "file" => return FilesystemTransport.fetch(url).await,
            "http" | "https" => {}
            _ => return Err(TransportError::new(TransportErrorKind::UnsupportedUrlScheme, url)),
        }
        let resp = self
            .http
            .execute(
                Method::GET,
                url.as_str(),
                &[(ACCEPT, "*/*")],
                Bytes::new(),
                Idempotency::Safe,
            )
            .await
            .map_err(|e| TransportError::new_with_cause(TransportErrorKind::Other, url.as_str(), e))?;
        if resp.status == StatusCode::NOT_FOUND || resp.status == StatusCode::FORBIDDEN {
            return Err(TransportError::new(TransportErrorKind::FileNotFound, url));
        }
        let resp = self
            .http
            .ensure_success(url.as_str(), resp)
            .map_err(|e| TransportError::new_with_cause(TransportErrorKind::Other, url.as_str(), e))?;
        let body: Bytes = resp.body;
        Ok(Box::pin(Once(Some(body))))
    }
}

/// A one-chunk stream.
struct Once(Option<Bytes>);

impl Stream for Once {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.0.take().map(Ok))
    }
}
