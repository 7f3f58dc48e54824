//! The Sigstore verifier, shaped after sigstore-go's `pkg/verify`.
//!
//! A [`Verifier`] is built once from a [`TrustedRoot`] and a [`VerifierConfig`] (minimum counts of
//! transparency-log entries, signed timestamps, observer timestamps and SCTs); everything the root
//! lets us precompute (parsed keys, verified CA and TSA chains) is computed there. Each call to
//! [`Verifier::verify`] takes a [`VerificationPolicy`] (artifact + expected signer + current time)
//! and returns a [`VerifiedBundle`] or the first failed check as a typed [`Error`].
//!
//! Checks, in order: signer material against the policy, artifact signature (message signature or
//! DSSE envelope, with the in-toto subject bound to the artifact), every transparency log entry
//! (body consistency, SET, inclusion proof, checkpoint), every RFC 3161 timestamp, the thresholds,
//! the certificate chain at every verified time, the SCTs, and finally the identity.

use crate::bundle::{Bundle, BundleError, BundleVersion, Content, SignerMaterial, TlogEntry};
use crate::crypto::{Digest, HashAlgorithm, KeyKind, PublicKey};
use crate::dsse::{self, Statement, StatementError, Subject};
use crate::policy::{Artifact, PolicyError, SignerExpectation, VerificationPolicy};
use crate::sct;
use crate::time::{TimeRange, UnixTime};
use crate::timestamp::{self, TimestampAuthorities};
use crate::tlog::{self, rekor::ExpectedEntry, TlogError};
use crate::trust_root::{TransparencyLog, TrustedRoot};
use crate::x509::{Certificate, CertificatePool, ExtendedKeyUsage, FulcioExtensions};
use crate::Error;
use base64::Engine;
use serde::Serialize;

/// The artifact signature or digest does not match.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The signature does not verify with the signer's key.
    #[error("artifact signature does not verify")]
    Invalid,
    /// The DSSE envelope signature does not verify with the signer's key.
    #[error("DSSE envelope signature does not verify")]
    EnvelopeInvalid,
    /// The bundle's message digest differs from the artifact's.
    #[error("bundle message digest {bundle} does not match the artifact digest {artifact}")]
    DigestMismatch {
        /// Digest claimed by the bundle.
        bundle: String,
        /// Digest of the artifact.
        artifact: String,
    },
    /// The artifact was given as a digest of another algorithm than the bundle's.
    #[error("the artifact is given as a digest that cannot be compared with a {0} signature")]
    DigestAlgorithmUnavailable(&'static str),
    /// An Ed25519 signature cannot be verified from a digest alone.
    #[error("an Ed25519 signature needs the artifact bytes, not only its digest")]
    PrehashedUnsupported,
    /// The in-toto statement does not name the artifact.
    #[error("the artifact {0} is not a subject of the in-toto statement")]
    ArtifactNotInStatement(String),
    /// The DSSE payload is not a usable in-toto statement.
    #[error(transparent)]
    Statement(#[from] StatementError),
}

impl SignatureError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::Invalid => "signature.invalid",
            SignatureError::EnvelopeInvalid => "signature.dsse_invalid",
            SignatureError::DigestMismatch { .. } => "signature.digest_mismatch",
            SignatureError::DigestAlgorithmUnavailable(_) => "signature.digest_algorithm_unavailable",
            SignatureError::PrehashedUnsupported => "signature.prehashed_unsupported",
            SignatureError::ArtifactNotInStatement(_) => "signature.artifact_not_in_statement",
            SignatureError::Statement(StatementError::UnsupportedPayloadType(_)) => {
                "signature.unsupported_payload_type"
            }
            SignatureError::Statement(_) => "signature.malformed_statement",
        }
    }
}

/// The signer is not the expected one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The certificate SAN matches none of the expected identities.
    #[error("certificate identity {actual:?} does not match {expected}")]
    SanMismatch {
        /// What the policy accepts.
        expected: String,
        /// What the certificate says.
        actual: String,
    },
    /// The OIDC issuer matches none of the expected issuers.
    #[error("certificate OIDC issuer {actual:?} does not match {expected}")]
    IssuerMismatch {
        /// What the policy accepts.
        expected: String,
        /// What the certificate says (empty when absent).
        actual: String,
    },
    /// The certificate carries no usable SAN.
    #[error("certificate has no email, URI or username subject alternative name")]
    MissingIdentity,
    /// The bundle was signed by a certificate where the policy expects a key, or the reverse.
    #[error("bundle is signed with {found}, but the policy expects {expected}")]
    SignerKindMismatch {
        /// "a public key" or "a certificate".
        expected: &'static str,
        /// "a public key" or "a certificate".
        found: &'static str,
    },
}

impl IdentityError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            IdentityError::SanMismatch { .. } => "cert.identity_mismatch",
            IdentityError::IssuerMismatch { .. } => "cert.issuer_mismatch",
            IdentityError::MissingIdentity => "cert.identity_missing",
            IdentityError::SignerKindMismatch { .. } => "signer.kind_mismatch",
        }
    }
}

/// Fewer verified items than the verifier requires.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ThresholdError {
    /// Too few transparency log entries.
    #[error("{found} verified transparency log entries, {required} required")]
    TlogEntries {
        /// Required.
        required: usize,
        /// Found.
        found: usize,
    },
    /// Too few RFC 3161 timestamps.
    #[error("{found} verified RFC 3161 timestamps, {required} required")]
    SignedTimestamps {
        /// Required.
        required: usize,
        /// Found.
        found: usize,
    },
    /// Too few verified times (integrated times with a SET, or RFC 3161 timestamps).
    #[error("{found} verified signing times (SET integrated time or RFC 3161), {required} required")]
    ObserverTimestamps {
        /// Required.
        required: usize,
        /// Found.
        found: usize,
    },
    /// Too few SCTs.
    #[error("{found} verified SCTs, {required} required")]
    Scts {
        /// Required.
        required: usize,
        /// Found.
        found: usize,
    },
}

impl ThresholdError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            ThresholdError::TlogEntries { .. } => "threshold.tlog_entries",
            ThresholdError::SignedTimestamps { .. } => "threshold.signed_timestamps",
            ThresholdError::ObserverTimestamps { .. } => "threshold.observer_timestamps",
            ThresholdError::Scts { .. } => "threshold.scts",
        }
    }
}

/// Minimum counts the verifier enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifierConfig {
    min_tlog_entries: usize,
    min_signed_timestamps: usize,
    min_observer_timestamps: usize,
    min_scts: usize,
}

impl Default for VerifierConfig {
    /// The Sigstore public-good defaults: one log entry, one verified time, one SCT.
    fn default() -> Self {
        VerifierConfig {
            min_tlog_entries: 1,
            min_signed_timestamps: 0,
            min_observer_timestamps: 1,
            min_scts: 1,
        }
    }
}

impl VerifierConfig {
    /// Require at least `n` (>= 1) verified transparency log entries.
    pub fn with_tlog_entries(mut self, n: usize) -> Result<Self, PolicyError> {
        if n == 0 {
            return Err(PolicyError::Conflict(
                "use unsafe_without_tlog() to accept bundles without log entries".into(),
            ));
        }
        self.min_tlog_entries = n;
        Ok(self)
    }

    /// Accept bundles with no transparency log entry at all.
    pub fn unsafe_without_tlog(mut self) -> Self {
        self.min_tlog_entries = 0;
        self
    }

    /// Require at least `n` verified RFC 3161 timestamps.
    pub fn with_signed_timestamps(mut self, n: usize) -> Self {
        self.min_signed_timestamps = n;
        self
    }

    /// Require at least `n` (>= 1) verified times (SET-backed integrated times plus RFC 3161 timestamps).
    pub fn with_observer_timestamps(mut self, n: usize) -> Result<Self, PolicyError> {
        if n == 0 {
            return Err(PolicyError::Conflict(
                "certificate validity needs at least one verified time".into(),
            ));
        }
        self.min_observer_timestamps = n;
        Ok(self)
    }

    /// Require at least `n` (>= 1) verified SCTs.
    pub fn with_scts(mut self, n: usize) -> Result<Self, PolicyError> {
        if n == 0 {
            return Err(PolicyError::Conflict(
                "use unsafe_without_scts() to skip certificate transparency".into(),
            ));
        }
        self.min_scts = n;
        Ok(self)
    }

    /// Do not require SCTs in certificates (private CAs without a CT log).
    pub fn unsafe_without_scts(mut self) -> Self {
        self.min_scts = 0;
        self
    }
}

/// Where a verified time came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TimeSource {
    /// A transparency log integrated time backed by a verified SET.
    TransparencyLog,
    /// An RFC 3161 timestamp from a trusted TSA.
    Rfc3161,
}

/// A verified time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedTime {
    /// Its source.
    pub source: TimeSource,
    /// The log URL or TSA URI that vouches for it.
    pub authority: String,
    /// The time.
    pub time: UnixTime,
}

/// A verified transparency log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedTlogEntry {
    /// The log's base URL.
    pub log_url: String,
    /// The log id, hex.
    pub log_id: String,
    /// Log index: the entry's global index when a SET vouches for it, otherwise the index the
    /// checkpointed inclusion proof vouches for.
    pub log_index: u64,
    /// Entry kind.
    pub kind: String,
    /// Entry version.
    pub version: String,
    /// Integrated time backed by a verified SET, if the entry has one.
    pub integrated_time: Option<UnixTime>,
    /// Whether an inclusion proof was verified.
    pub inclusion_proof_verified: bool,
    /// Whether that proof's root is vouched for by a verified, signed checkpoint.
    pub checkpoint_verified: bool,
}

/// The verified signer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum VerifiedSigner {
    /// A Fulcio-style certificate.
    Certificate {
        /// The SAN identity (email, URI or username).
        identity: String,
        /// The OIDC issuer.
        issuer: Option<String>,
        /// Every Fulcio extension (boxed: it is large next to the key variant).
        extensions: Box<FulcioExtensions>,
        /// Certificate validity start.
        not_before: UnixTime,
        /// Certificate validity end.
        not_after: UnixTime,
        /// The chain, leaf first, PEM.
        certificate_chain: Vec<String>,
        /// Number of SCTs that verified.
        verified_scts: usize,
    },
    /// A public key given by the policy.
    PublicKey {
        /// SHA-256 of the DER SPKI, hex.
        key_id: String,
    },
}

/// The in-toto statement a DSSE bundle carried.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedStatement {
    /// Predicate type.
    pub predicate_type: String,
    /// The subject that matched the artifact.
    pub matched_subject: Subject,
    /// Every subject.
    pub subjects: Vec<Subject>,
}

/// The result of a successful verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedBundle {
    /// Bundle version.
    pub bundle_version: BundleVersion,
    /// Media type.
    pub media_type: &'static str,
    /// The verified signer.
    pub signer: VerifiedSigner,
    /// The artifact digest the signature covers.
    pub artifact_digest: String,
    /// The in-toto statement, for DSSE bundles.
    pub statement: Option<VerifiedStatement>,
    /// Every verified transparency log entry.
    pub tlog_entries: Vec<VerifiedTlogEntry>,
    /// Every verified time.
    pub verified_times: Vec<VerifiedTime>,
}

/// A verifier over one trusted root.
pub struct Verifier {
    root: TrustedRoot,
    cas: CertificatePool,
    tsas: TimestampAuthorities,
    config: VerifierConfig,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

enum Signer {
    Certificate(Box<Certificate>),
    Key(PublicKey),
}

impl Verifier {
    /// Builds a verifier: parses and checks every CA and TSA chain of the root once.
    pub fn new(root: TrustedRoot, config: VerifierConfig) -> Result<Verifier, Error> {
        let cas = CertificatePool::new(&root.certificate_authorities)?;
        let tsas = TimestampAuthorities::new(&root.timestamp_authorities)?;
        Ok(Verifier {
            root,
            cas,
            tsas,
            config,
        })
    }

    /// The trusted root.
    pub fn trusted_root(&self) -> &TrustedRoot {
        &self.root
    }

    /// Parses `bundle_json` and verifies it.
    pub fn verify_json(&self, bundle_json: &[u8], policy: &VerificationPolicy<'_>) -> Result<VerifiedBundle, Error> {
        let bundle = Bundle::from_json(bundle_json)?;
        self.verify(&bundle, policy)
    }

    /// Verifies a parsed bundle.
    pub fn verify(&self, bundle: &Bundle, policy: &VerificationPolicy<'_>) -> Result<VerifiedBundle, Error> {
        let signer = self.signer(bundle, policy)?;
        let key = match &signer {
            Signer::Certificate(c) => c.public_key(),
            Signer::Key(k) => k,
        };
        let (artifact_digest, statement) = verify_content(&bundle.content, key, &policy.artifact)?;

        let (verifier_der, verifier_is_cert) = match &signer {
            Signer::Certificate(c) => (c.der(), true),
            Signer::Key(k) => (k.spki_der(), false),
        };
        let mut verified_times = Vec::new();
        let mut tlog_entries = Vec::with_capacity(bundle.tlog_entries.len());
        let mut untimed_log_validity = Vec::new();
        for entry in &bundle.tlog_entries {
            let expected = match &bundle.content {
                Content::MessageSignature { signature, .. } => ExpectedEntry::MessageSignature {
                    signature,
                    digest: &artifact_digest,
                    verifier_der,
                    verifier_is_cert,
                },
                Content::Dsse(env) => ExpectedEntry::Dsse {
                    payload_type: &env.payload_type,
                    payload: &env.payload,
                    signatures: &[bundle.content.signature_bytes()],
                    verifier_der,
                    verifier_is_cert,
                },
            };
            let (verified, log_validity) = self.verify_tlog_entry(entry, &expected, policy.now)?;
            match verified.integrated_time {
                Some(t) => verified_times.push(VerifiedTime {
                    source: TimeSource::TransparencyLog,
                    authority: verified.log_url.clone(),
                    time: t,
                }),
                // No integrated time (Rekor v2): the log key's validity is checked against the
                // RFC 3161 times below.
                None => untimed_log_validity.push(log_validity),
            }
            tlog_entries.push(verified);
        }
        if tlog_entries.len() < self.config.min_tlog_entries {
            return Err(ThresholdError::TlogEntries {
                required: self.config.min_tlog_entries,
                found: tlog_entries.len(),
            }
            .into());
        }

        let signature_bytes = bundle.content.signature_bytes();
        let mut signed_timestamps = 0;
        for token in &bundle.rfc3161_timestamps {
            let ts = timestamp::verify_timestamp(token, signature_bytes, &self.tsas)?;
            if ts.time > policy.now {
                return Err(timestamp::TimestampError::InFuture(ts.time.to_string()).into());
            }
            let authority = self
                .root
                .timestamp_authorities
                .get(ts.authority_index)
                .map(|a| {
                    if a.uri.is_empty() {
                        a.subject.1.clone()
                    } else {
                        a.uri.clone()
                    }
                })
                .unwrap_or_default();
            verified_times.push(VerifiedTime {
                source: TimeSource::Rfc3161,
                authority,
                time: ts.time,
            });
            signed_timestamps += 1;
        }
        for validity in &untimed_log_validity {
            if verified_times.iter().any(|t| !validity.contains(t.time)) {
                return Err(TlogError::OutsideLogValidity.into());
            }
        }
        if signed_timestamps < self.config.min_signed_timestamps {
            return Err(ThresholdError::SignedTimestamps {
                required: self.config.min_signed_timestamps,
                found: signed_timestamps,
            }
            .into());
        }

        let signer = match signer {
            Signer::Key(k) => VerifiedSigner::PublicKey {
                key_id: hex::encode(k.key_id()),
            },
            Signer::Certificate(leaf) => {
                if verified_times.len() < self.config.min_observer_timestamps {
                    return Err(ThresholdError::ObserverTimestamps {
                        required: self.config.min_observer_timestamps,
                        found: verified_times.len(),
                    }
                    .into());
                }
                self.verify_certificate(*leaf, &verified_times, &policy.signer)?
            }
        };

        Ok(VerifiedBundle {
            bundle_version: bundle.version,
            media_type: bundle.version.media_type(),
            signer,
            artifact_digest: artifact_digest.to_string(),
            statement,
            tlog_entries,
            verified_times,
        })
    }

    /// Resolves the signing key from the bundle and the policy, rejecting mismatched kinds.
    fn signer(&self, bundle: &Bundle, policy: &VerificationPolicy<'_>) -> Result<Signer, Error> {
        match (&bundle.signer, &policy.signer) {
            (SignerMaterial::PublicKey { .. }, SignerExpectation::Key(k)) => Ok(Signer::Key(k.clone())),
            (SignerMaterial::PublicKey { .. }, _) => Err(IdentityError::SignerKindMismatch {
                expected: "a certificate",
                found: "a public key",
            }
            .into()),
            (SignerMaterial::Certificate { .. }, SignerExpectation::Key(_)) => Err(IdentityError::SignerKindMismatch {
                expected: "a public key",
                found: "a certificate",
            }
            .into()),
            (SignerMaterial::Certificate { leaf, chain }, _) => {
                for extra in chain {
                    if Certificate::from_der(extra)?.is_self_signed() {
                        return Err(BundleError::Invalid {
                            field: "verificationMaterial.x509CertificateChain",
                            reason: "contains a self-signed root certificate; roots come only from the trusted root"
                                .into(),
                        }
                        .into());
                    }
                }
                Ok(Signer::Certificate(Box::new(Certificate::from_der(leaf)?)))
            }
        }
    }

    fn verify_tlog_entry(
        &self,
        entry: &TlogEntry,
        expected: &ExpectedEntry<'_>,
        now: UnixTime,
    ) -> Result<(VerifiedTlogEntry, TimeRange), Error> {
        let log = self.find_log(entry)?;
        tlog::rekor::check_entry_body(&entry.kind, &entry.version, &entry.canonicalized_body, expected)?;

        let mut integrated_time = None;
        if let Some(set) = &entry.signed_entry_timestamp {
            let log_index = i64::try_from(entry.log_index).map_err(|_| TlogError::Malformed("log index".into()))?;
            // The SET signs the body's standard base64: re-encode rather than trust the bundle's spelling.
            let body_b64 = base64::engine::general_purpose::STANDARD.encode(&entry.canonicalized_body);
            tlog::verify_set(set, &body_b64, entry.integrated_time, &entry.log_id, log_index, log)?;
            let t = UnixTime::from_secs(entry.integrated_time);
            if t > now {
                return Err(TlogError::IntegratedTimeInFuture(t.to_string()).into());
            }
            if !log.valid_for.contains(t) {
                return Err(TlogError::OutsideLogValidity.into());
            }
            integrated_time = Some(t);
        }

        // A SET signs the entry's (global) index, and Rekor v1 proofs use a shard-local one.
        // Without a SET only the proof's index is authenticated: report that one, and for Rekor v2
        // entries (no integrated time, no shards) require the entry to claim the same.
        let mut log_index = entry.log_index;
        if let (Some(p), None) = (&entry.inclusion_proof, integrated_time) {
            if entry.integrated_time == 0 && p.log_index != entry.log_index {
                return Err(TlogError::LogIndexMismatch {
                    entry: entry.log_index,
                    proof: p.log_index,
                }
                .into());
            }
            log_index = p.log_index;
        }
        let (inclusion_proof_verified, checkpoint_verified) = match &entry.inclusion_proof {
            Some(p) => match &p.checkpoint {
                Some(envelope) => {
                    tlog::verify_inclusion_with_checkpoint(
                        &entry.canonicalized_body,
                        p.log_index,
                        p.tree_size,
                        &p.root_hash,
                        &p.hashes,
                        envelope,
                        log,
                    )?;
                    (true, true)
                }
                // v0.1 only (the bundle parser enforces it): the proof is checked against its own,
                // unsigned root hash; the SET checked above is the log's signed promise.
                None => {
                    let leaf = tlog::leaf_hash(&entry.canonicalized_body);
                    tlog::verify_inclusion(p.log_index, p.tree_size, &leaf, &p.hashes, &p.root_hash)?;
                    (true, false)
                }
            },
            None if integrated_time.is_some() => (false, false),
            None => return Err(TlogError::MissingProof.into()),
        };

        let verified = VerifiedTlogEntry {
            log_url: log.base_url.clone(),
            log_id: hex::encode(&entry.log_id),
            log_index,
            kind: entry.kind.clone(),
            version: entry.version.clone(),
            integrated_time,
            inclusion_proof_verified,
            checkpoint_verified,
        };
        Ok((verified, log.valid_for))
    }

    /// The trusted log for an entry: matching log id, and for entries with an integrated time, a
    /// key generation valid at that time.
    fn find_log(&self, entry: &TlogEntry) -> Result<&TransparencyLog, Error> {
        let mut candidates = self.root.tlogs.iter().filter(|l| l.log_id == entry.log_id).peekable();
        if candidates.peek().is_none() {
            return Err(TlogError::UnknownLog.into());
        }
        let t = UnixTime::from_secs(entry.integrated_time);
        let mut first = None;
        for log in candidates {
            if entry.integrated_time == 0 || log.valid_for.contains(t) {
                return Ok(log);
            }
            first.get_or_insert(log);
        }
        first.ok_or_else(|| TlogError::UnknownLog.into())
    }

    fn verify_certificate(
        &self,
        leaf: Certificate,
        times: &[VerifiedTime],
        expectation: &SignerExpectation,
    ) -> Result<VerifiedSigner, Error> {
        let (first, rest) = times
            .split_first()
            .ok_or(ThresholdError::ObserverTimestamps { required: 1, found: 0 })?;
        // The signatures of the chain are checked once; every further verified time only needs
        // the validity windows re-checked.
        let chain = self.cas.verify(&leaf, first.time, ExtendedKeyUsage::CodeSigning)?;
        for t in rest {
            chain.check_time(t.time)?;
        }

        let verified_scts = if self.config.min_scts > 0 {
            let n = sct::verify_embedded_scts(&leaf, chain.issuer.public_key().spki_der(), &self.root.ctlogs)?;
            if n < self.config.min_scts {
                return Err(ThresholdError::Scts {
                    required: self.config.min_scts,
                    found: n,
                }
                .into());
            }
            n
        } else {
            0
        };

        let identity = leaf.signer_identity().ok_or(IdentityError::MissingIdentity)?;
        if let SignerExpectation::Identities(ids) = expectation {
            let issuer = leaf.fulcio().issuer.as_deref().unwrap_or("");
            if !ids.iter().any(|id| id.san.is_match(&identity)) {
                let expected = ids.iter().map(|i| i.san.describe()).collect::<Vec<_>>().join(" or ");
                return Err(IdentityError::SanMismatch {
                    expected,
                    actual: identity,
                }
                .into());
            }
            if !ids
                .iter()
                .any(|id| id.san.is_match(&identity) && id.issuer.is_match(issuer))
            {
                let expected = ids.iter().map(|i| i.issuer.describe()).collect::<Vec<_>>().join(" or ");
                return Err(IdentityError::IssuerMismatch {
                    expected,
                    actual: issuer.to_string(),
                }
                .into());
            }
        }
        let certificate_chain = chain.chain.iter().map(|c| c.pem().to_owned()).collect();
        let (not_before, not_after) = (leaf.not_before(), leaf.not_after());
        drop(chain);
        // The leaf is ours (parsed from this bundle): move its extensions out rather than copy.
        let extensions = Box::new(leaf.into_fulcio());
        Ok(VerifiedSigner::Certificate {
            identity,
            issuer: extensions.issuer.clone(),
            not_before,
            not_after,
            certificate_chain,
            extensions,
            verified_scts,
        })
    }
}

/// Checks the artifact signature (or DSSE envelope) and binds it to the artifact.
fn verify_content(
    content: &Content,
    key: &PublicKey,
    artifact: &Artifact<'_>,
) -> Result<(Digest, Option<VerifiedStatement>), Error> {
    match content {
        Content::MessageSignature { digest, signature } => {
            let algorithm = digest.map_or(HashAlgorithm::Sha256, |d| d.algorithm());
            let actual = artifact
                .digest(algorithm)
                .ok_or(SignatureError::DigestAlgorithmUnavailable(algorithm.name()))?;
            if let Some(claimed) = digest {
                if *claimed != actual {
                    return Err(SignatureError::DigestMismatch {
                        bundle: claimed.to_string(),
                        artifact: actual.to_string(),
                    }
                    .into());
                }
            }
            let ok = match (key.kind(), artifact) {
                (KeyKind::Ed25519, Artifact::Bytes(bytes)) => key.verify(bytes, signature),
                (KeyKind::Ed25519, Artifact::Digest(_)) => return Err(SignatureError::PrehashedUnsupported.into()),
                _ => key.verify_prehashed(&actual, signature),
            };
            ok.map_err(|_| SignatureError::Invalid)?;
            Ok((actual, None))
        }
        Content::Dsse(env) => {
            let sig = content.signature_bytes();
            key.verify(&dsse::pae(&env.payload_type, &env.payload), sig)
                .map_err(|_| SignatureError::EnvelopeInvalid)?;
            let statement = Statement::from_envelope(&env.payload_type, &env.payload).map_err(SignatureError::from)?;
            let actual = artifact
                .digest(HashAlgorithm::Sha256)
                .ok_or(SignatureError::DigestAlgorithmUnavailable("sha256"))?;
            let matched = statement
                .subject_matching(&actual)
                .ok_or_else(|| SignatureError::ArtifactNotInStatement(actual.to_string()))?
                .clone();
            Ok((
                actual,
                Some(VerifiedStatement {
                    predicate_type: statement.predicate_type,
                    matched_subject: matched,
                    subjects: statement.subject,
                }),
            ))
        }
    }
}
