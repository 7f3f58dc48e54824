//! Per-call verification policy: what artifact, which signer.

/// Contradictory or invalid policy options.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// Options that cannot be combined.
    #[error("conflicting policy options: {0}")]
    Conflict(String),
}

impl PolicyError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            PolicyError::Conflict(_) => "policy.conflict",
        }
    }
}
