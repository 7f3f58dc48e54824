//! Sigstore bundles (`dev.sigstore.bundle.v1`, media types v0.1 to v0.3).

/// A bundle that does not parse or is structurally invalid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Not JSON, or not the Bundle shape.
    #[error("malformed bundle: {0}")]
    Malformed(String),
}

impl BundleError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            BundleError::Malformed(_) => "bundle.malformed",
        }
    }
}
