//! Transparency logs: Rekor entries, SETs, RFC 6962 inclusion proofs, signed-note checkpoints.
//!
//! Everything here is offline and clock-free:
//! - [`leaf_hash`], [`verify_inclusion`], [`verify_consistency`]: RFC 6962 / RFC 9162 Merkle proofs,
//!   allocation-free.
//! - [`Checkpoint`], [`verify_checkpoint`]: C2SP signed-note checkpoints (Rekor v1 and v2).
//! - [`verify_inclusion_with_checkpoint`]: the whole offline inclusion check for one entry.
//! - [`verify_set`]: Rekor v1 signed entry timestamps.
//! - [`rekor::check_entry_body`]: does the logged body record what the bundle claims?

mod checkpoint;
mod merkle;
pub mod rekor;
mod set;

pub use checkpoint::{note_key_hint, verify_checkpoint, Checkpoint, NoteSignature};
pub use merkle::{leaf_hash, node_hash, verify_consistency, verify_inclusion};
pub use rekor::{check_entry_body, ExpectedEntry};
pub use set::verify_set;

use crate::trust_root::TransparencyLog;

/// Transparency log failure. Every variant has a stable [`TlogError::code`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlogError {
    /// The entry does not parse.
    #[error("malformed transparency log entry: {0}")]
    Malformed(String),
    /// No trusted log has this log id (or the log does not match the one the caller named).
    #[error("transparency log is not trusted")]
    UnknownLog,
    /// The log's key was not valid at the time the entry claims.
    #[error("transparency log key not valid at the entry's integrated time")]
    OutsideLogValidity,
    /// The entry's integrated time lies after the verification time.
    #[error("integrated time {0} is in the future")]
    IntegratedTimeInFuture(String),
    /// A Rekor v2 entry (no SET, no shards) whose log index differs from its inclusion proof's,
    /// the only index the signed checkpoint vouches for.
    #[error("entry log index {entry} differs from the inclusion proof's {proof} and no SET vouches for it")]
    LogIndexMismatch {
        /// The entry's claimed index.
        entry: u64,
        /// The proof's index.
        proof: u64,
    },
    /// The entry carries neither a signed entry timestamp nor an inclusion proof.
    #[error("log entry has neither a signed entry timestamp nor an inclusion proof")]
    MissingProof,
    /// The inclusion proof is structurally impossible (index beyond the tree, wrong number of hashes).
    #[error("malformed inclusion proof: {0}")]
    InclusionProofMalformed(&'static str),
    /// The inclusion proof does not lead to the expected root.
    #[error("inclusion proof does not match the root hash")]
    InclusionProofMismatch,
    /// The consistency proof is structurally impossible.
    #[error("malformed consistency proof: {0}")]
    ConsistencyProofMalformed(&'static str),
    /// The consistency proof does not reproduce both roots.
    #[error("consistency proof does not match the root hashes")]
    ConsistencyProofMismatch,
    /// The checkpoint is not a well-formed C2SP signed note / tlog checkpoint.
    #[error("malformed checkpoint: {0}")]
    CheckpointMalformed(&'static str),
    /// The checkpoint's origin line names another log.
    #[error("checkpoint origin does not name this transparency log")]
    CheckpointOriginMismatch,
    /// No signature line carries the log's name and key hint.
    #[error("checkpoint has no signature from this transparency log")]
    CheckpointNoMatchingSignature,
    /// A signature line from the log (name and key hint match) does not verify.
    #[error("checkpoint signature does not verify")]
    CheckpointSignatureInvalid,
    /// The checkpoint's tree size or root hash differs from the inclusion proof's.
    #[error("checkpoint tree size or root hash does not match the inclusion proof")]
    CheckpointRootMismatch,
    /// The signed entry timestamp (inclusion promise) does not verify.
    #[error("signed entry timestamp does not verify")]
    SetInvalid,
    /// The canonicalized body does not parse as the declared kind and version.
    #[error("malformed log entry body: {0}")]
    BodyMalformed(String),
    /// The body parses but records something other than what the bundle holds.
    #[error("log entry body does not match the bundle: {0} differs")]
    BodyMismatch(&'static str),
    /// The body's kind/version cannot record this kind of bundle content, or the body's own
    /// `kind`/`apiVersion` differ from the entry's `kindVersion`.
    #[error("log entry kind {kind}/{version} does not fit the bundle content")]
    EntryKindMismatch {
        /// Declared kind.
        kind: String,
        /// Declared version.
        version: String,
    },
    /// A kind/version this version of trust-core does not understand.
    #[error("unsupported log entry kind {kind}/{version}")]
    UnsupportedEntryKind {
        /// Declared kind.
        kind: String,
        /// Declared version.
        version: String,
    },
}

impl TlogError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            TlogError::Malformed(_) => "tlog.malformed",
            TlogError::UnknownLog => "tlog.unknown_log",
            TlogError::OutsideLogValidity => "tlog.outside_log_validity",
            TlogError::IntegratedTimeInFuture(_) => "tlog.integrated_time_in_future",
            TlogError::MissingProof => "tlog.missing_proof",
            TlogError::LogIndexMismatch { .. } => "tlog.log_index_mismatch",
            TlogError::InclusionProofMalformed(_) => "tlog.inclusion_proof_malformed",
            TlogError::InclusionProofMismatch => "tlog.inclusion_proof_mismatch",
            TlogError::ConsistencyProofMalformed(_) => "tlog.consistency_proof_malformed",
            TlogError::ConsistencyProofMismatch => "tlog.consistency_proof_mismatch",
            TlogError::CheckpointMalformed(_) => "tlog.checkpoint_malformed",
            TlogError::CheckpointOriginMismatch => "tlog.checkpoint_origin_mismatch",
            TlogError::CheckpointNoMatchingSignature => "tlog.checkpoint_no_matching_signature",
            TlogError::CheckpointSignatureInvalid => "tlog.checkpoint_signature_invalid",
            TlogError::CheckpointRootMismatch => "tlog.checkpoint_root_mismatch",
            TlogError::SetInvalid => "tlog.set_invalid",
            TlogError::BodyMalformed(_) => "tlog.body_malformed",
            TlogError::BodyMismatch(_) => "tlog.body_mismatch",
            TlogError::EntryKindMismatch { .. } => "tlog.entry_kind_mismatch",
            TlogError::UnsupportedEntryKind { .. } => "tlog.unsupported_entry_kind",
        }
    }
}

/// The whole offline inclusion check of one entry against a checkpoint: parses `envelope`, requires
/// the checkpoint's tree size and root hash to equal the proof's (`tree_size`, `root`), recomputes
/// the root from `leaf_hash(body)` at `index` (the proof's own log index: for Rekor v1 shards it
/// differs from the entry's global index) and verifies the checkpoint signature by `log`.
///
/// Returns the parsed checkpoint. Cheap checks run first; the signature check runs last.
pub fn verify_inclusion_with_checkpoint(
    body: &[u8],
    index: u64,
    tree_size: u64,
    root: &[u8; 32],
    proof: &[[u8; 32]],
    envelope: &str,
    log: &TransparencyLog,
) -> Result<Checkpoint, TlogError> {
    let cp = Checkpoint::parse(envelope)?;
    if cp.tree_size != tree_size || cp.root_hash != *root {
        return Err(TlogError::CheckpointRootMismatch);
    }
    verify_inclusion(index, cp.tree_size, &leaf_hash(body), proof, &cp.root_hash)?;
    verify_checkpoint(&cp, envelope, log)?;
    Ok(cp)
}

#[cfg(test)]
pub(crate) mod testutil;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::testutil::*;
    use super::*;

    #[test]
    fn happy_path_entries_verify_end_to_end() {
        for case in [
            "happy-path-v0.1",
            "happy-path-v0.2",
            "happy-path-v0.3",
            "happy-path-intoto-in-dsse-v3",
            "intoto-with-custom-trust-root",
            "rekor2-happy-path",
            "rekor2-dsse-happy-path",
            "bundle-with-sct-with-extensions",
            "managed-key-happy-path",
            "managed-key-and-trusted-root",
        ] {
            let c = Case::load(case);
            let e = c.entry();
            let log = c.log_for(&e);
            let p = e.proof.as_ref().unwrap();
            let cp = verify_inclusion_with_checkpoint(
                &e.body,
                p.index,
                p.tree_size,
                &p.root,
                &p.hashes,
                p.checkpoint.as_deref().unwrap(),
                log,
            )
            .unwrap_or_else(|err| panic!("{case}: {err}"));
            assert_eq!(cp.tree_size, p.tree_size, "{case}");
        }
    }

    #[test]
    fn corrupted_and_stale_proofs_fail() {
        let c = Case::load("inclusion-proof-corrupted-hash_fail");
        let e = c.entry();
        let p = e.proof.as_ref().unwrap();
        let err = verify_inclusion_with_checkpoint(
            &e.body,
            p.index,
            p.tree_size,
            &p.root,
            &p.hashes,
            p.checkpoint.as_deref().unwrap(),
            c.log_for(&e),
        )
        .unwrap_err();
        assert_eq!(err.code(), "tlog.inclusion_proof_mismatch");

        // No checkpoint in this one: the proof itself is for another tree.
        let c = Case::load("invalid-inclusion-proof_fail");
        let e = c.entry();
        let p = e.proof.as_ref().unwrap();
        let err = verify_inclusion(p.index, p.tree_size, &leaf_hash(&e.body), &p.hashes, &p.root).unwrap_err();
        assert_eq!(err.code(), "tlog.inclusion_proof_mismatch");
    }

    #[test]
    fn checkpoint_for_another_tree_is_rejected() {
        let c = Case::load("checkpoint-wrong-roothash_fail");
        let e = c.entry();
        let p = e.proof.as_ref().unwrap();
        let envelope = p.checkpoint.as_deref().unwrap();
        // The checkpoint itself is genuine...
        let cp = Checkpoint::parse(envelope).unwrap();
        verify_checkpoint(&cp, envelope, c.log_for(&e)).unwrap();
        // ...but it is not the tree the proof is for.
        let err = verify_inclusion_with_checkpoint(
            &e.body,
            p.index,
            p.tree_size,
            &p.root,
            &p.hashes,
            envelope,
            c.log_for(&e),
        )
        .unwrap_err();
        assert_eq!(err.code(), "tlog.checkpoint_root_mismatch");
    }

    #[test]
    fn every_code_is_namespaced() {
        let samples = [
            TlogError::Malformed(String::new()),
            TlogError::UnknownLog,
            TlogError::OutsideLogValidity,
            TlogError::InclusionProofMalformed(""),
            TlogError::InclusionProofMismatch,
            TlogError::ConsistencyProofMalformed(""),
            TlogError::ConsistencyProofMismatch,
            TlogError::CheckpointMalformed(""),
            TlogError::CheckpointOriginMismatch,
            TlogError::CheckpointNoMatchingSignature,
            TlogError::CheckpointSignatureInvalid,
            TlogError::CheckpointRootMismatch,
            TlogError::SetInvalid,
            TlogError::BodyMalformed(String::new()),
            TlogError::BodyMismatch(""),
            TlogError::EntryKindMismatch {
                kind: String::new(),
                version: String::new(),
            },
            TlogError::UnsupportedEntryKind {
                kind: String::new(),
                version: String::new(),
            },
        ];
        let mut codes: Vec<_> = samples.iter().map(TlogError::code).collect();
        assert!(codes.iter().all(|c| c.starts_with("tlog.")));
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), samples.len());
    }
}

/// Rough timings of the hot paths (release build): `cargo test --release -p trust-core --lib
/// tlog::perf -- --ignored --nocapture`.
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod perf {
    use super::testutil::*;
    use super::*;
    use std::time::Instant;

    /// Best of five batches (the machine is shared).
    fn time<T>(what: &str, n: u32, mut f: impl FnMut() -> T) {
        let mut best = f64::MAX;
        for _ in 0..5 {
            let t = Instant::now();
            for _ in 0..n / 5 {
                std::hint::black_box(f());
            }
            best = best.min(t.elapsed().as_secs_f64() * 1e6 / f64::from(n / 5));
        }
        println!("{what:<48} {best:>9.2} us");
    }

    #[test]
    #[ignore = "timing report, run in release"]
    fn hot_paths() {
        for case in ["happy-path-v0.3", "rekor2-happy-path"] {
            let c = Case::load(case);
            let e = c.entry();
            let log = c.log_for(&e);
            let p = e.proof.as_ref().unwrap();
            let env = p.checkpoint.as_deref().unwrap();
            let leaf = c.leaf_der().unwrap();
            let sig = b64(c.bundle["messageSignature"]["signature"].as_str().unwrap());
            let digest = crate::crypto::HashAlgorithm::Sha256
                .hash(&std::fs::read(fixture_path("sigstore-conformance/bundle-verify/a.txt")).unwrap());
            let expected = ExpectedEntry::MessageSignature {
                signature: &sig,
                digest: &digest,
                verifier_der: &leaf,
                verifier_is_cert: true,
            };
            println!("== {case}");
            time("leaf_hash(body)", 20_000, || leaf_hash(&e.body));
            time("verify_inclusion", 20_000, || {
                verify_inclusion(p.index, p.tree_size, &leaf_hash(&e.body), &p.hashes, &p.root)
            });
            time("Checkpoint::parse", 20_000, || Checkpoint::parse(env));
            let cp = Checkpoint::parse(env).unwrap();
            time("verify_checkpoint (signature)", 2_000, || {
                verify_checkpoint(&cp, env, log)
            });
            time("check_entry_body", 20_000, || {
                check_entry_body(&e.kind, &e.version, &e.body, &expected)
            });
            if let Some(set) = &e.set {
                time("verify_set (signature)", 2_000, || {
                    verify_set(set, &e.body_b64, e.integrated_time, &e.log_id, e.log_index, log)
                });
            }
            let leaf = crate::x509::Certificate::from_der(&leaf).unwrap();
            let issuer = c
                .root
                .certificate_authorities
                .iter()
                .flat_map(|ca| ca.certificates.iter())
                .find_map(|der| {
                    let ca = crate::x509::Certificate::from_der(der).ok()?;
                    let spki = ca.public_key().spki_der().to_vec();
                    crate::sct::verify_embedded_scts(&leaf, &spki, &c.root.ctlogs).ok()?;
                    Some(spki)
                })
                .unwrap();
            time("verify_embedded_scts (signature)", 2_000, || {
                crate::sct::verify_embedded_scts(&leaf, &issuer, &c.root.ctlogs)
            });
        }
    }
}
