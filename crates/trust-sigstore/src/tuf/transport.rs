//! Transports for tough: a recorder that keeps the exact bytes tough read, so the cache holds what
//! was verified (no second download that could differ).

use super::Recorded;
use futures_core::Stream;
use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tough::{async_trait, Bytes, Transport, TransportError, TransportStream};
use url::Url;

/// Wraps a transport and records every fully-read response body by URL. A body is recorded only
/// when its stream ended without error, and only as far as tough read it (tough stops at its size
/// limits, so recording is bounded by them).
#[derive(Debug, Clone)]
pub struct RecordingTransport {
    inner: Box<dyn Transport>,
    recorded: Recorded,
}

impl RecordingTransport {
    /// Records what `inner` serves.
    pub fn new(inner: Box<dyn Transport>) -> Self {
        RecordingTransport {
            inner,
            recorded: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    /// The shared map of recorded bodies.
    pub fn recorded(&self) -> Recorded {
        Arc::clone(&self.recorded)
    }
}

#[async_trait]
impl Transport for RecordingTransport {
    async fn fetch(&self, url: Url) -> Result<TransportStream, TransportError> {
        let inner = self.inner.fetch(url.clone()).await?;
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
