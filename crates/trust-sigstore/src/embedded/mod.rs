//! The embedded (local-mode) Sigstore services: signing keys ([`keys`]), the certificate
//! transparency log that signs SCTs ([`ct`]), the certificate authority ([`ca`]), the RFC 3161
//! timestamp authority ([`tsa`]), and the storage trait of the transparency log ([`store`]).

pub mod ca;
pub mod ct;
pub mod keys;
mod pki;
pub mod store;
pub mod tsa;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod testutil {
    use std::path::PathBuf;

    /// A fresh, empty directory under the system temp dir.
    pub(crate) fn temp_dir(name: &str) -> PathBuf {
        let mut suffix = [0u8; 8];
        aws_lc_rs::rand::fill(&mut suffix).unwrap();
        let dir = std::env::temp_dir().join(format!("certus-{name}-{}", hex::encode(suffix)));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
