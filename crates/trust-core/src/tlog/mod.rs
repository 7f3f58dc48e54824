//! Transparency logs: Rekor entries, SETs, RFC 6962 inclusion proofs, signed-note checkpoints.

/// Transparency log failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlogError {
    /// The entry does not parse.
    #[error("malformed transparency log entry: {0}")]
    Malformed(String),
}

impl TlogError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            TlogError::Malformed(_) => "tlog.malformed",
        }
    }
}
