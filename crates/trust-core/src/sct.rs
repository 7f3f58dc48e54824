//! Signed certificate timestamps (RFC 6962) embedded in Fulcio certificates.

/// SCT failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SctError {
    /// The SCT list does not parse.
    #[error("malformed SCT list: {0}")]
    Malformed(String),
}

impl SctError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            SctError::Malformed(_) => "sct.malformed",
        }
    }
}
