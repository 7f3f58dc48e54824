//! Per-call verification policy: which artifact, and who must have signed it.
//!
//! Built with [`PolicyBuilder`]; conflicting or missing options fail at `build()`, never during
//! verification. Escapes that weaken verification carry `unsafe` in their name.

use crate::crypto::{Digest, HashAlgorithm, PublicKey};
use crate::time::UnixTime;
use regex::Regex;

/// Contradictory or invalid policy options.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// Options that cannot be combined.
    #[error("conflicting policy options: {0}")]
    Conflict(String),
    /// A required option is missing.
    #[error("incomplete policy: {0}")]
    Missing(&'static str),
    /// An identity pattern is empty or does not compile.
    #[error("invalid identity matcher: {0}")]
    InvalidMatcher(String),
}

impl PolicyError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            PolicyError::Conflict(_) => "policy.conflict",
            PolicyError::Missing(_) => "policy.missing",
            PolicyError::InvalidMatcher(_) => "policy.invalid_matcher",
        }
    }
}

/// The artifact to check the bundle against.
#[derive(Clone, Copy, Debug)]
pub enum Artifact<'a> {
    /// The artifact bytes.
    Bytes(&'a [u8]),
    /// Only the artifact digest (`sha256:<hex>`).
    Digest(Digest),
}

impl Artifact<'_> {
    /// The artifact's digest with `algorithm`; `None` when only a digest of another algorithm is known.
    pub fn digest(&self, algorithm: HashAlgorithm) -> Option<Digest> {
        match self {
            Artifact::Bytes(b) => Some(algorithm.hash(b)),
            Artifact::Digest(d) if d.algorithm() == algorithm => Some(*d),
            Artifact::Digest(_) => None,
        }
    }
}

/// Matches a string exactly or by a regular expression that is always anchored at both ends.
#[derive(Clone, Debug)]
pub enum StringMatcher {
    /// Byte-for-byte equality.
    Exact(String),
    /// A regular expression, anchored (`^(?:...)$`) when compiled.
    Regex(Regex),
}

impl StringMatcher {
    /// An exact matcher; empty strings are rejected.
    pub fn exact(value: impl Into<String>) -> Result<Self, PolicyError> {
        let value = value.into();
        if value.is_empty() {
            return Err(PolicyError::InvalidMatcher("empty exact value".into()));
        }
        Ok(StringMatcher::Exact(value))
    }

    /// An anchored regex matcher: `.*@example.com` does not match `x@example.com.evil`.
    pub fn regex(pattern: &str) -> Result<Self, PolicyError> {
        if pattern.is_empty() {
            return Err(PolicyError::InvalidMatcher("empty regex".into()));
        }
        Regex::new(&format!("^(?:{pattern})$"))
            .map(StringMatcher::Regex)
            .map_err(|e| PolicyError::InvalidMatcher(format!("{pattern:?}: {e}")))
    }

    /// Whether `value` matches.
    pub fn is_match(&self, value: &str) -> bool {
        match self {
            StringMatcher::Exact(e) => e == value,
            StringMatcher::Regex(r) => r.is_match(value),
        }
    }

    /// Human-readable form (for error messages).
    pub fn describe(&self) -> String {
        match self {
            StringMatcher::Exact(e) => e.clone(),
            StringMatcher::Regex(r) => format!("regex {}", r.as_str()),
        }
    }
}

/// An expected certificate identity: SAN and OIDC issuer.
#[derive(Clone, Debug)]
pub struct CertificateIdentity {
    /// Matcher for the subject alternative name (email, URI or username).
    pub san: StringMatcher,
    /// Matcher for the OIDC issuer extension.
    pub issuer: StringMatcher,
}

impl CertificateIdentity {
    /// Exact SAN and issuer.
    pub fn exact(san: &str, issuer: &str) -> Result<Self, PolicyError> {
        Ok(CertificateIdentity {
            san: StringMatcher::exact(san)?,
            issuer: StringMatcher::exact(issuer)?,
        })
    }
}

/// Who must have signed.
#[derive(Clone, Debug)]
pub enum SignerExpectation {
    /// A Fulcio certificate matching any of these identities.
    Identities(Vec<CertificateIdentity>),
    /// A specific public key (managed-key bundles).
    Key(PublicKey),
    /// Any certificate that chains to the trusted CAs (the caller checks the identity itself).
    UnsafeAnyIdentity,
}

/// A complete, consistent verification policy.
#[derive(Clone, Debug)]
pub struct VerificationPolicy<'a> {
    /// The artifact.
    pub artifact: Artifact<'a>,
    /// The expected signer.
    pub signer: SignerExpectation,
    /// The current time (entries claiming a later time are rejected).
    pub now: UnixTime,
}

/// Builds a [`VerificationPolicy`].
#[derive(Default)]
pub struct PolicyBuilder<'a> {
    artifact: Vec<Artifact<'a>>,
    identities: Vec<CertificateIdentity>,
    key: Option<PublicKey>,
    any_identity: bool,
    now: Option<UnixTime>,
}

impl<'a> PolicyBuilder<'a> {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Verify against the artifact bytes.
    pub fn artifact_bytes(mut self, bytes: &'a [u8]) -> Self {
        self.artifact.push(Artifact::Bytes(bytes));
        self
    }

    /// Verify against an artifact digest only.
    pub fn artifact_digest(mut self, digest: Digest) -> Self {
        self.artifact.push(Artifact::Digest(digest));
        self
    }

    /// Accept a certificate with this identity (may be given several times: any one matches).
    pub fn certificate_identity(mut self, identity: CertificateIdentity) -> Self {
        self.identities.push(identity);
        self
    }

    /// Require a signature by this key.
    pub fn public_key(mut self, key: PublicKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Accept any certificate identity (the chain, SCTs and logs are still verified).
    pub fn unsafe_ignore_identity(mut self) -> Self {
        self.any_identity = true;
        self
    }

    /// The current time.
    pub fn now(mut self, now: UnixTime) -> Self {
        self.now = Some(now);
        self
    }

    /// Checks the options for completeness and conflicts.
    pub fn build(self) -> Result<VerificationPolicy<'a>, PolicyError> {
        let artifact = match self.artifact.as_slice() {
            [a] => *a,
            [] => return Err(PolicyError::Missing("artifact bytes or digest")),
            _ => return Err(PolicyError::Conflict("more than one artifact given".into())),
        };
        let signer = match (self.identities.is_empty(), self.key, self.any_identity) {
            (false, None, false) => SignerExpectation::Identities(self.identities),
            (true, Some(k), false) => SignerExpectation::Key(k),
            (true, None, true) => SignerExpectation::UnsafeAnyIdentity,
            (true, None, false) => return Err(PolicyError::Missing("certificate identity or public key")),
            _ => {
                return Err(PolicyError::Conflict(
                    "choose one of certificate identity, public key, unsafe_ignore_identity".into(),
                ))
            }
        };
        let now = self.now.ok_or(PolicyError::Missing("current time"))?;
        Ok(VerificationPolicy { artifact, signer, now })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexes_are_anchored() {
        let m = StringMatcher::regex(".*@certus.cloud").unwrap();
        assert!(m.is_match("x@certus.cloud"));
        assert!(!m.is_match("x@certus.cloud.evil.com"));
        assert!(!m.is_match("evil\nx@certus.cloud"));
        assert!(StringMatcher::regex("(").is_err());
        assert!(StringMatcher::exact("").is_err());
    }

    #[test]
    fn conflicts_fail_at_build() {
        let now = UnixTime::from_secs(1);
        let id = || CertificateIdentity::exact("a@b.c", "https://issuer").unwrap();
        assert_eq!(
            PolicyBuilder::new()
                .now(now)
                .certificate_identity(id())
                .build()
                .unwrap_err()
                .code(),
            "policy.missing"
        );
        let d = HashAlgorithm::Sha256.hash(b"x");
        let err = PolicyBuilder::new()
            .artifact_bytes(b"x")
            .artifact_digest(d)
            .certificate_identity(id())
            .now(now)
            .build();
        assert_eq!(err.unwrap_err().code(), "policy.conflict");
        let err = PolicyBuilder::new()
            .artifact_bytes(b"x")
            .certificate_identity(id())
            .unsafe_ignore_identity()
            .now(now)
            .build();
        assert_eq!(err.unwrap_err().code(), "policy.conflict");
        assert!(PolicyBuilder::new()
            .artifact_bytes(b"x")
            .certificate_identity(id())
            .build()
            .is_err());
        assert!(PolicyBuilder::new()
            .artifact_bytes(b"x")
            .certificate_identity(id())
            .now(now)
            .build()
            .is_ok());
    }
}
