//! RFC 3161 signed timestamps.

/// Timestamp failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The timestamp token does not parse.
    #[error("malformed RFC 3161 timestamp: {0}")]
    Malformed(String),
}

impl TimestampError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            TimestampError::Malformed(_) => "timestamp.malformed",
        }
    }
}
