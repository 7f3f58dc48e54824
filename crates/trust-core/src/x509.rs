//! X.509 certificates: parsing, chain building to trusted CAs, Fulcio extensions.

/// Certificate chain, validity or usage failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// The certificate does not parse.
    #[error("malformed certificate: {0}")]
    Malformed(String),
}

impl CertError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            CertError::Malformed(_) => "cert.malformed",
        }
    }
}
