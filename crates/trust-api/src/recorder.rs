//! Group commit for verification records: every verification is recorded before its response,
//! and concurrent verifications share one transaction instead of paying one commit each.

use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use trust_store::{Store, VerificationRecord};

const MAX_BATCH: usize = 512;

type Pending = (VerificationRecord, oneshot::Sender<Result<(), trust_store::Error>>);

/// Handle to the record writer task.
#[derive(Clone)]
pub struct Recorder {
    queue: mpsc::Sender<Pending>,
}

impl Recorder {
    /// Starts the writer task on the current runtime.
    pub fn start(store: Arc<Store>) -> Self {
        let (queue, mut rx) = mpsc::channel::<Pending>(MAX_BATCH * 4);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let (records, replies): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
                let result = store.insert_verification_records(&records).await;
                for reply in replies {
                    let _ = reply.send(result.clone());
                }
            }
        });
        Self { queue }
    }

    /// Records one verification; returns once it is committed.
    pub async fn record(&self, record: VerificationRecord) -> Result<(), trust_store::Error> {
        let closed = || trust_store::Error::Unavailable("the verification recorder is shut down".into());
        let (tx, rx) = oneshot::channel();
        self.queue.send((record, tx)).await.map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }
}
