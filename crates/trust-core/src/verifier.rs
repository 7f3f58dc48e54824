//! The verifier.

/// The artifact signature or digest does not match.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The signature does not verify.
    #[error("artifact signature does not verify")]
    Invalid,
}

impl SignatureError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::Invalid => "signature.invalid",
        }
    }
}

/// The signer is not the expected one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// SAN mismatch.
    #[error("certificate identity mismatch")]
    Mismatch,
}

impl IdentityError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            IdentityError::Mismatch => "cert.identity_mismatch",
        }
    }
}
