//! Differential test of trust-core against an independent verifier, the crates.io crate
//! `sigstore-verify` (sigstore-rust), which also passes the Sigstore conformance suite.
//!
//! Both verifiers get the same bundle bytes, trusted root, artifact (bytes, or its `sha256`
//! digest) and expected signer (certificate identity + OIDC issuer, or the PEM public key), and
//! their verdicts (accept / reject) are compared:
//!
//! 1. [`conformance_cases_agree`]: the 70 conformance cases, each by artifact bytes and by digest
//!    (140 comparisons). Every disagreement must be in [`KNOWN_CASE_DIFFERENCES`], and every entry
//!    there must still occur, so the list cannot go stale.
//!    sigstore-verify can express every case (managed keys through its
//!    `PublicKeyVerificationPolicy`, digests through `Sha256Hash`): none is skipped.
//! 2. [`mutants_rejected_whenever_sigstore_verify_rejects`]: from five valid baselines, 300
//!    deterministic single mutations (bit flips in decoded base64 fields and in the checkpoint,
//!    integers changed by one, fields dropped), each verified by artifact bytes. A mutant that
//!    sigstore-verify rejects and trust-core accepts is a security bug and fails the test unless
//!    it is in [`KNOWN_LENIENT`] (changed bytes no signature covers and trust-core does not use)
//!    or in [`KNOWN_TRUST_CORE_BUGS`] (reported, awaiting a fix in trust-core). A mutant that only
//!    trust-core rejects must match a rule in [`KNOWN_STRICTER`]. Each rule's count is asserted.
//!
//! Why: two independent implementations of the same specification rarely share a blind spot; a
//! verdict difference points at a missing check on one side, or at a spec ambiguity worth writing
//! down.
//!
//! Time: trust-core takes "now" as a parameter; sigstore-verify 0.15 has no such parameter and
//! reads the wall clock (`jiff::Timestamp::now()`) wherever it needs one. The test reads the wall
//! clock once and gives that to trust-core: both use the same time up to the test's duration
//! (seconds), and no fixture has a time near now.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use serde_json::Value;
use sigstore_verify::trust_root::TrustedRoot as SvTrustedRoot;
use sigstore_verify::types::{Bundle as SvBundle, DerPublicKey, Sha256Hash};
use sigstore_verify::{PublicKeyVerificationPolicy, VerificationPolicy as SvPolicy, Verifier as SvVerifier};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use trust_core::crypto::{sha256, HashAlgorithm, PublicKey};
use trust_core::policy::{CertificateIdentity, PolicyBuilder};
use trust_core::time::UnixTime;
use trust_core::trust_root::TrustedRoot;
use trust_core::verifier::{Verifier, VerifierConfig};

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

// ---- part 1: known verdict differences on the conformance cases ------------------------------

/// How the artifact is given to both verifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Mode {
    /// The artifact bytes.
    Bytes,
    /// Only its `sha256` digest.
    Digest,
}

/// A known difference on a conformance case: (case, mode, trust-core accepts, reason).
///
/// Empty: on all 140 (case, mode) pairs the two verifiers agree, which the test asserts.
const KNOWN_CASE_DIFFERENCES: &[(&str, Mode, bool, &str)] = &[];

// ---- part 2: known verdict differences on mutants ---------------------------------------------

/// A documented class of mutants on which the two verifiers disagree.
struct Rule {
    /// Short name.
    name: &'static str,
    /// Why the verdicts differ.
    reason: &'static str,
    /// Which mutants the rule covers.
    applies: fn(&Mutant) -> bool,
    /// How many of the generated mutants it covers (asserted exactly: changing [`SEED`],
    /// [`MUTANTS_PER_BASELINE`] or the baselines means recounting).
    count: usize,
}

/// Mutants that trust-core rejects and sigstore-verify accepts.
const KNOWN_STRICTER: &[Rule] = &[
    Rule {
        name: "rekor-v2-proof-duplicates",
        reason: "Rekor v2: inclusionProof.logIndex, treeSize and rootHash duplicate the entry's logIndex and \
                 the signed checkpoint. sigstore-verify ignores them as unauthenticated and proves inclusion with \
                 the entry's logIndex and the checkpoint's size and root; trust-core requires treeSize and rootHash \
                 to equal the signed checkpoint's (as for Rekor v1) and proves inclusion at inclusionProof.logIndex, \
                 so changing any of them fails. Both positions are safe; see the BUG entry for the index",
        applies: |m| {
            m.rekor_v2
                && [
                    "/inclusionProof/logIndex",
                    "/inclusionProof/treeSize",
                    "/inclusionProof/rootHash",
                ]
                .iter()
                .any(|f| m.field_ends_with(f))
        },
        count: 13,
    },
    Rule {
        name: "rekor-v2-log-id",
        reason: "Rekor v2: sigstore-verify never reads logId of a v2 entry (it finds the log key through the \
                 checkpoint signature's key hint); trust-core requires logId to name a transparency log of the \
                 trusted root, whose key must then sign the checkpoint (protobuf-specs: logId is the log's key id)",
        applies: |m| m.rekor_v2 && m.field_ends_with("/logId/keyId"),
        count: 10,
    },
    Rule {
        name: "checkpoint-signer-name",
        reason: "a bit flip in the key name of a checkpoint signature line (`— <name> <base64>`): sigstore-verify \
                 matches signature lines by the 4-byte key hint only; trust-core also requires the name to be the \
                 log's origin host, as the signed-note format identifies a verifier key by name and hash together (Go's \
                 note.Open ignores signatures whose name does not match)",
        applies: |m| matches!(m.op, Op::FlipText { byte, .. } if in_signature_line_name(&m.original, byte)),
        count: 5,
    },
];

/// Mutants that sigstore-verify rejects and trust-core accepts, where that is not a weakness:
/// the changed bytes are covered by no signature and take no part in trust-core's decision.
const KNOWN_LENIENT: &[Rule] = &[Rule {
    name: "rfc3161-unused-embedded-certificate",
    reason: "the flip makes a certificate in the `certificates` field of the RFC 3161 token's SignedData \
             unparsable. That field is outside the TSA's signature, and the signer here is a TSA certificate of \
             the trusted root, so the embedded copy is never used: trust-core skips embedded certificates it cannot \
             parse (they are only ever candidates, timestamp::find_signer), sigstore-verify decodes the whole CMS \
             structure strictly and rejects the token",
    applies: |m| {
        matches!(m.op, Op::FlipBase64 { byte, .. } if m.field_ends_with("/signedTimestamp")
        && signed_data_certificates(&B64.decode(&m.original).unwrap()).is_some_and(|r| r.contains(&byte)))
    },
    count: 1,
}];

/// Mutants that sigstore-verify rejects and trust-core accepts, and trust-core should reject:
/// trust-core bugs, reported and left for a fix in trust-core. Each entry must still occur, so
/// fixing the bug makes this test fail until the entry is removed.
// Empty: the one bug this test found (a Rekor v2 entry's logIndex was not bound to the proof's
// when no SET signs it) is fixed in the verifier and pinned by tamper.rs.
const KNOWN_TRUST_CORE_BUGS: &[Rule] = &[];

/// Whether `byte` lies in the key name of one of the checkpoint's signature lines.
fn in_signature_line_name(envelope: &str, byte: usize) -> bool {
    let Some(start) = envelope.find("\n\n").map(|i| i + 2) else {
        return false;
    };
    let mut offset = start;
    for line in envelope[start..].split_inclusive('\n') {
        // `— name base64`: the name starts after the dash and a space, ends at the last space.
        let name_start = offset + "\u{2014} ".len();
        let name_end = offset + line.trim_end().rfind(' ').unwrap_or(0);
        if (name_start..name_end).contains(&byte) {
            return true;
        }
        offset += line.len();
    }
    false
}

/// Reads one DER TLV header at `pos`: (tag, start of value, end of value).
fn der_tlv(der: &[u8], pos: usize) -> Option<(u8, usize, usize)> {
    let tag = *der.get(pos)?;
    let first = usize::from(*der.get(pos + 1)?);
    let (len, header) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        let len = der
            .get(pos + 2..pos + 2 + n)?
            .iter()
            .fold(0, |acc, &b| acc << 8 | usize::from(b));
        (len, 2 + n)
    };
    Some((tag, pos + header, pos + header + len))
}

/// The byte range of the `certificates [0]` field of the SignedData in a TimeStampResp (or a bare
/// TimeStampToken).
fn signed_data_certificates(der: &[u8]) -> Option<std::ops::Range<usize>> {
    let (_, mut pos, _) = der_tlv(der, 0)?;
    // TimeStampResp ::= SEQUENCE { status PKIStatusInfo (SEQUENCE), timeStampToken ContentInfo }
    // ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT SignedData }
    if der_tlv(der, pos)?.0 == 0x30 {
        let (_, _, status_end) = der_tlv(der, pos)?;
        pos = der_tlv(der, status_end)?.1;
    }
    let (_, _, oid_end) = der_tlv(der, pos)?;
    let (_, signed_data, _) = der_tlv(der, oid_end)?;
    // SignedData ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo SEQUENCE,
    //                           certificates [0] IMPLICIT OPTIONAL, ... }
    let (_, mut pos, _) = der_tlv(der, signed_data)?;
    for _ in 0..3 {
        pos = der_tlv(der, pos)?.2;
    }
    match der_tlv(der, pos)? {
        (0xa0, start, end) => Some(start..end),
        _ => None,
    }
}

/// The baselines the mutants are derived from: every bundle shape the suite has (Rekor v1
/// hashedrekord and dsse entries with SET and inclusion proof, Rekor v2 entries with RFC 3161
/// timestamps, a message signature and DSSE envelopes, a certificate and a managed key).
const BASELINES: &[&str] = &[
    "happy-path-v0.3",
    "happy-path-intoto-in-dsse-v3",
    "rekor2-happy-path",
    "rekor2-dsse-happy-path",
    "managed-key-happy-path",
];

/// Mutants generated per baseline: the deterministic ones (integers, dropped fields) and then
/// random bit flips up to this number.
const MUTANTS_PER_BASELINE: usize = 60;

/// The PRNG seed: changing it changes the mutant set, and so the documented counts.
const SEED: u64 = 0x5EED_CE27_0515_0001;

// ---- inputs shared by both verifiers -------------------------------------------------------------

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/sigstore-conformance/bundle-verify")
}

/// The expected signer, as the conformance protocol gives it.
enum Signer {
    Identity {
        san: String,
        issuer: String,
    },
    /// PEM (possibly invalid: managed-key-wrong-key_fail).
    Key(String),
}

/// Everything but the bundle: artifact, signer, and both verifiers built from the same root.
struct Subject {
    artifact: Vec<u8>,
    signer: Signer,
    ours: Result<Verifier, String>,
    theirs: Result<SvVerifier, String>,
}

fn read_trimmed(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok().map(|s| s.trim().to_string())
}

impl Subject {
    /// Loads a conformance case directory (fixtures/sigstore-conformance/bundle-verify/README.md).
    fn load(dir: &Path) -> Subject {
        let or_default = |name: &str, default: PathBuf| {
            let p = dir.join(name);
            if p.exists() {
                p
            } else {
                default
            }
        };
        let root_path = or_default(
            "trusted_root.json",
            dir.join("../../../sigstore-trust-roots/production/trusted_root.json"),
        );
        let root_json = std::fs::read(root_path).unwrap();
        let ours = TrustedRoot::from_json(&root_json)
            .map_err(|e| format!("{}: {e}", e.code()))
            .and_then(|r| Verifier::new(r, VerifierConfig::default()).map_err(|e| format!("{}: {e}", e.code())));
        let theirs = std::str::from_utf8(&root_json)
            .map_err(|e| e.to_string())
            .and_then(|s| SvTrustedRoot::from_json(s).map_err(|e| format!("trusted root: {e}")))
            .and_then(|r| SvVerifier::new(&r).map_err(|e| format!("verifier: {e}")));
        let signer = match std::fs::read_to_string(dir.join("key.pub")) {
            Ok(pem) => Signer::Key(pem),
            Err(_) => Signer::Identity {
                san: read_trimmed(&dir.join("identity")).unwrap_or_else(|| DEFAULT_IDENTITY.into()),
                issuer: read_trimmed(&dir.join("issuer")).unwrap_or_else(|| DEFAULT_ISSUER.into()),
            },
        };
        Subject {
            artifact: std::fs::read(or_default("artifact", dir.join("../a.txt"))).unwrap(),
            signer,
            ours,
            theirs,
        }
    }

    /// trust-core's verdict. A panic is reported as `Err("PANIC ...")` (and fails the tests).
    fn ours(&self, bundle: &[u8], mode: Mode, now: UnixTime) -> Result<(), String> {
        let verifier = self.ours.as_ref().map_err(Clone::clone)?;
        let mut policy = PolicyBuilder::new().now(now);
        policy = match mode {
            Mode::Bytes => policy.artifact_bytes(&self.artifact),
            Mode::Digest => policy.artifact_digest(HashAlgorithm::Sha256.hash(&self.artifact)),
        };
        policy = match &self.signer {
            Signer::Key(pem) => policy.public_key(PublicKey::from_pem(pem).map_err(|e| format!("{}: {e}", e.code()))?),
            Signer::Identity { san, issuer } => {
                policy.certificate_identity(CertificateIdentity::exact(san, issuer).unwrap())
            }
        };
        let policy = policy.build().map_err(|e| format!("{}: {e}", e.code()))?;
        catch_unwind(AssertUnwindSafe(|| verifier.verify_json(bundle, &policy)))
            .map_err(|p| format!("PANIC {}", panic_message(&p)))?
            .map(|_| ())
            .map_err(|e| format!("{}: {e}", e.code()))
    }

    /// sigstore-verify's verdict, called as its conformance client does. A panic counts as a
    /// rejection, reported as `Err("PANIC ...")`.
    fn theirs(&self, bundle: &[u8], mode: Mode) -> Result<(), String> {
        let verifier = self.theirs.as_ref().map_err(Clone::clone)?;
        let json = std::str::from_utf8(bundle).map_err(|e| format!("bundle: {e}"))?;
        let bundle = SvBundle::from_json(json).map_err(|e| format!("bundle: {e}"))?;
        let digest = Sha256Hash::from(sha256(&self.artifact));
        let run = || match (&self.signer, mode) {
            (Signer::Identity { san, issuer }, Mode::Bytes) => {
                verifier.verify(self.artifact.as_slice(), &bundle, &SvPolicy::new(san, issuer))
            }
            (Signer::Identity { san, issuer }, Mode::Digest) => {
                verifier.verify(digest, &bundle, &SvPolicy::new(san, issuer))
            }
            (Signer::Key(pem), _) => {
                let key = DerPublicKey::from_pem(pem).map_err(sigstore_verify::Error::from)?;
                let policy = PublicKeyVerificationPolicy::new(key);
                match mode {
                    Mode::Bytes => verifier.verify(self.artifact.as_slice(), &bundle, &policy),
                    Mode::Digest => verifier.verify(digest, &bundle, &policy),
                }
            }
        };
        catch_unwind(AssertUnwindSafe(run))
            .map_err(|p| format!("PANIC {}", panic_message(&p)))?
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

fn now() -> UnixTime {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    UnixTime::from_secs(i64::try_from(d.as_secs()).unwrap())
}

fn verdict(r: &Result<(), String>) -> String {
    match r {
        Ok(()) => "accept".into(),
        Err(e) => format!("reject ({})", e.chars().take(110).collect::<String>()),
    }
}

// ---- part 1 ------------------------------------------------------------------------------------

#[test]
fn conformance_cases_agree() {
    let now = now();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(conformance_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 70, "expected the 70 upstream cases");

    let mut compared = 0;
    let mut table = String::new();
    let mut unexplained = Vec::new();
    let mut seen = BTreeSet::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let subject = Subject::load(dir);
        let bundle = std::fs::read(dir.join("bundle.sigstore.json")).unwrap();
        for mode in [Mode::Bytes, Mode::Digest] {
            compared += 1;
            let ours = subject.ours(&bundle, mode, now);
            let theirs = subject.theirs(&bundle, mode);
            assert!(
                !ours.as_ref().is_err_and(|e| e.starts_with("PANIC")),
                "{name} [{mode:?}]: trust-core panicked: {ours:?}"
            );
            if ours.is_ok() == theirs.is_ok() {
                continue;
            }
            writeln!(
                table,
                "{name:<58} {mode:<6?} expected {:<6} | trust-core {} | sigstore-verify {}",
                if name.ends_with("_fail") { "reject" } else { "accept" },
                verdict(&ours),
                verdict(&theirs)
            )
            .unwrap();
            let known = KNOWN_CASE_DIFFERENCES
                .iter()
                .position(|&(c, m, ours_accepts, _)| c == name && m == mode && ours_accepts == ours.is_ok());
            match known {
                Some(i) => {
                    seen.insert(i);
                }
                None => unexplained.push(format!("{name} [{mode:?}]")),
            }
        }
    }
    assert_eq!(compared, 140);
    println!(
        "conformance: {compared} comparisons, {} disagreements\n{table}",
        table.lines().count()
    );
    let stale: Vec<_> = KNOWN_CASE_DIFFERENCES
        .iter()
        .enumerate()
        .filter(|(i, _)| !seen.contains(i))
        .map(|(_, (c, m, _, _))| format!("{c} [{m:?}]"))
        .collect();
    assert!(
        unexplained.is_empty(),
        "unexplained disagreements:\n{}",
        unexplained.join("\n")
    );
    assert!(
        stale.is_empty(),
        "allow-listed differences that no longer occur (remove them):\n{}",
        stale.join("\n")
    );
}

// ---- part 2: mutants ---------------------------------------------------------------------------

/// SplitMix64: a fixed-seed generator, enough to pick mutation sites deterministically.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }
}

/// One single change to a bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    /// Flip one bit of the decoded base64 value.
    FlipBase64 { byte: usize, bit: u8 },
    /// Flip one of the 7 low bits of one byte of the (ASCII) checkpoint text.
    FlipText { byte: usize, bit: u8 },
    /// Flip one bit of the decoded signature on one signature line of the checkpoint.
    FlipCheckpointSignature { line: usize, byte: usize, bit: u8 },
    /// Add this to an int64 (proto3 JSON string) field.
    Add(i64),
    /// Remove the field (or array element).
    Drop,
}

/// A mutated bundle.
struct Mutant {
    baseline: &'static str,
    /// Whether the baseline's log entry is a Rekor v2 entry (hashedrekord 0.0.2).
    rekor_v2: bool,
    /// JSON pointer of the mutated field.
    pointer: String,
    /// The field's value before the mutation (empty unless a string).
    original: String,
    op: Op,
    /// The mutated bundle.
    json: Vec<u8>,
}

impl Mutant {
    fn describe(&self) -> String {
        let op = match &self.op {
            Op::FlipBase64 { byte, bit } => format!("flip bit {bit} of decoded byte {byte} of"),
            Op::FlipText { byte, bit } => format!("flip bit {bit} of text byte {byte} of"),
            Op::FlipCheckpointSignature { line, byte, bit } => {
                format!("flip bit {bit} of byte {byte} of signature line {line} of")
            }
            Op::Add(d) => format!("add {d:+} to"),
            Op::Drop => "drop".into(),
        };
        format!("{}: {op} {}", self.baseline, self.pointer)
    }

    fn field_ends_with(&self, suffix: &str) -> bool {
        field(&self.pointer).ends_with(suffix)
    }
}

/// A JSON pointer without array indices, e.g. `/verificationMaterial/tlogEntries/logId/keyId`.
fn field(pointer: &str) -> String {
    pointer
        .split('/')
        .filter(|s| !s.is_empty() && s.parse::<usize>().is_err())
        .fold(String::new(), |acc, s| acc + "/" + s)
}

const ENTRY: &str = "/verificationMaterial/tlogEntries/0";

/// base64 fields whose decoded bytes are flipped (by field name, any array index).
const BASE64_FIELDS: &[&str] = &[
    "/messageSignature/signature",
    "/messageSignature/messageDigest/digest",
    "/verificationMaterial/certificate/rawBytes",
    "/verificationMaterial/x509CertificateChain/certificates/rawBytes",
    "/verificationMaterial/publicKey/hint",
    "/verificationMaterial/tlogEntries/canonicalizedBody",
    "/verificationMaterial/tlogEntries/logId/keyId",
    "/verificationMaterial/tlogEntries/inclusionPromise/signedEntryTimestamp",
    "/verificationMaterial/tlogEntries/inclusionProof/rootHash",
    "/verificationMaterial/tlogEntries/inclusionProof/hashes",
    "/verificationMaterial/timestampVerificationData/rfc3161Timestamps/signedTimestamp",
    "/dsseEnvelope/payload",
    "/dsseEnvelope/signatures/sig",
];

const CHECKPOINT: &str = "/verificationMaterial/tlogEntries/inclusionProof/checkpoint/envelope";

const INT_FIELDS: &[&str] = &[
    "logIndex",
    "integratedTime",
    "inclusionProof/logIndex",
    "inclusionProof/treeSize",
];

/// Fields (or array elements) dropped, where present.
const DROPS: &[&str] = &[
    "/messageSignature/messageDigest",
    "/verificationMaterial/publicKey/hint",
    "/verificationMaterial/timestampVerificationData",
    "/verificationMaterial/timestampVerificationData/rfc3161Timestamps/0",
    "/verificationMaterial/tlogEntries/0",
    "/verificationMaterial/tlogEntries/0/integratedTime",
    "/verificationMaterial/tlogEntries/0/inclusionPromise",
    "/verificationMaterial/tlogEntries/0/inclusionProof",
    "/verificationMaterial/tlogEntries/0/inclusionProof/checkpoint",
    "/verificationMaterial/tlogEntries/0/inclusionProof/hashes/0",
    "/verificationMaterial/tlogEntries/0/logId",
    "/dsseEnvelope/signatures/0/keyid",
];

/// Every leaf string of `v` with its JSON pointer.
fn leaves(v: &Value, pointer: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, x)| leaves(x, format!("{pointer}/{k}"), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| leaves(x, format!("{pointer}/{i}"), out)),
        Value::String(_) => out.push(pointer),
        _ => {}
    }
}

fn flip(bytes: &mut [u8], byte: usize, bit: u8) {
    bytes[byte] ^= 1 << bit;
}

/// The checkpoint's signature lines (after the blank line): `(prefix up to the base64, base64)`.
fn checkpoint_signature_lines(envelope: &str) -> Vec<(String, String)> {
    let (_, sigs) = envelope.split_once("\n\n").unwrap();
    sigs.lines()
        .map(|l| {
            let (prefix, b64) = l.rsplit_once(' ').unwrap();
            (prefix.to_string(), b64.to_string())
        })
        .collect()
}

/// Applies `op` at `pointer` to a copy of `base`.
fn apply(base: &Value, pointer: &str, op: &Op) -> Value {
    let mut v = base.clone();
    if *op == Op::Drop {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        match v.pointer_mut(parent).unwrap() {
            Value::Object(m) => {
                m.remove(key).unwrap();
            }
            Value::Array(a) => {
                a.remove(key.parse().unwrap());
            }
            _ => panic!("{pointer}: parent is not a container"),
        }
        return v;
    }
    let field = v.pointer_mut(pointer).unwrap();
    let s = field.as_str().unwrap().to_string();
    *field = Value::String(match *op {
        Op::FlipBase64 { byte, bit } => {
            let mut bytes = B64.decode(&s).unwrap();
            flip(&mut bytes, byte, bit);
            B64.encode(bytes)
        }
        Op::FlipText { byte, bit } => {
            let mut bytes = s.into_bytes();
            flip(&mut bytes, byte, bit);
            String::from_utf8(bytes).unwrap()
        }
        Op::FlipCheckpointSignature { line, byte, bit } => {
            let (head, _) = s.split_once("\n\n").unwrap();
            let mut lines = checkpoint_signature_lines(&s);
            let mut sig = B64.decode(&lines[line].1).unwrap();
            flip(&mut sig, byte, bit);
            lines[line].1 = B64.encode(sig);
            let sigs: String = lines.iter().map(|(p, b)| format!("{p} {b}\n")).collect();
            format!("{head}\n\n{sigs}")
        }
        Op::Add(d) => (s.parse::<i64>().unwrap() + d).to_string(),
        Op::Drop => unreachable!(),
    });
    v
}

/// The deterministic set of mutants of one baseline.
fn mutants(baseline: &'static str, json: &Value, rng: &mut Rng) -> Vec<Mutant> {
    let mut pointers = Vec::new();
    leaves(json, String::new(), &mut pointers);
    let mut ops: Vec<(String, Op)> = Vec::new();

    // Integers, ±1.
    for f in INT_FIELDS {
        let p = format!("{ENTRY}/{f}");
        if json.pointer(&p).is_some() {
            ops.push((p.clone(), Op::Add(1)));
            ops.push((p, Op::Add(-1)));
        }
    }
    // Dropped fields.
    for p in DROPS {
        if json.pointer(p).is_some() {
            ops.push(((*p).to_string(), Op::Drop));
        }
    }
    // The checkpoint, one flip in each part: origin, tree size, signer name, key hint, signature.
    let checkpoint = format!("{ENTRY}/inclusionProof/checkpoint/envelope");
    if let Some(env) = json.pointer(&checkpoint).and_then(Value::as_str) {
        let size_line = env.find('\n').unwrap() + 1;
        let name = env.find("\n\n").unwrap() + 2 + "\u{2014} ".len();
        let sig_len = B64.decode(&checkpoint_signature_lines(env)[0].1).unwrap().len();
        for op in [
            Op::FlipText { byte: 0, bit: 0 },
            Op::FlipText {
                byte: size_line,
                bit: 0,
            },
            Op::FlipText { byte: name, bit: 0 },
            Op::FlipCheckpointSignature {
                line: 0,
                byte: 0,
                bit: 0,
            },
            Op::FlipCheckpointSignature {
                line: 0,
                byte: sig_len - 1,
                bit: 0,
            },
        ] {
            ops.push((checkpoint.clone(), op));
        }
    }
    // The RFC 3161 token: the tag of the first certificate embedded in its SignedData.
    let token = "/verificationMaterial/timestampVerificationData/rfc3161Timestamps/0/signedTimestamp";
    if let Some(t) = json.pointer(token).and_then(Value::as_str) {
        if let Some(certs) = signed_data_certificates(&B64.decode(t).unwrap()) {
            ops.push((
                token.to_string(),
                Op::FlipBase64 {
                    byte: certs.start,
                    bit: 0,
                },
            ));
        }
    }
    // Random bit flips. A field is chosen uniformly among the field names (so that the many
    // inclusion-proof hashes count as one field), then an element, a byte and a bit.
    let mut fields: Vec<(String, Vec<String>)> = Vec::new();
    for p in &pointers {
        let f = field(p);
        if BASE64_FIELDS.contains(&f.as_str()) || f == CHECKPOINT {
            match fields.iter_mut().find(|(name, _)| *name == f) {
                Some((_, ps)) => ps.push(p.clone()),
                None => fields.push((f, vec![p.clone()])),
            }
        }
    }
    // The checkpoint is mutated two ways (text and decoded signature): list it twice.
    if let Some(cp) = fields.iter().find(|(f, _)| f == CHECKPOINT).cloned() {
        fields.push(cp);
    }
    let mut seen: BTreeSet<(String, String)> = ops.iter().map(|(p, o)| (p.clone(), format!("{o:?}"))).collect();
    let mut checkpoint_turn = false;
    while ops.len() < MUTANTS_PER_BASELINE {
        let (f, ps) = &fields[rng.below(fields.len())];
        let p = ps[rng.below(ps.len())].clone();
        let s = json.pointer(&p).unwrap().as_str().unwrap();
        let op = if f == CHECKPOINT {
            checkpoint_turn = !checkpoint_turn;
            if checkpoint_turn {
                // ASCII bytes only (not the em dash of signature lines), so the text stays UTF-8.
                let ascii: Vec<usize> = (0..s.len()).filter(|&i| s.as_bytes()[i].is_ascii()).collect();
                Op::FlipText {
                    byte: ascii[rng.below(ascii.len())],
                    bit: u8::try_from(rng.below(7)).unwrap(),
                }
            } else {
                let lines = checkpoint_signature_lines(s);
                let line = rng.below(lines.len());
                Op::FlipCheckpointSignature {
                    line,
                    byte: rng.below(B64.decode(&lines[line].1).unwrap().len()),
                    bit: u8::try_from(rng.below(8)).unwrap(),
                }
            }
        } else {
            Op::FlipBase64 {
                byte: rng.below(B64.decode(s).unwrap().len()),
                bit: u8::try_from(rng.below(8)).unwrap(),
            }
        };
        if seen.insert((p.clone(), format!("{op:?}"))) {
            ops.push((p, op));
        }
    }
    let rekor_v2 = json.pointer(&format!("{ENTRY}/kindVersion/version")) == Some(&Value::from("0.0.2"));
    ops.into_iter()
        .map(|(pointer, op)| Mutant {
            baseline,
            rekor_v2,
            original: json
                .pointer(&pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            json: serde_json::to_vec(&apply(json, &pointer, &op)).unwrap(),
            pointer,
            op,
        })
        .collect()
}

#[test]
fn mutants_rejected_whenever_sigstore_verify_rejects() {
    let now = now();
    let mut rng = Rng(SEED);
    let mut total = 0;
    let mut both_reject = 0;
    let mut both_accept = Vec::new();
    let mut unexplained_stricter = Vec::new();
    let mut security = Vec::new();
    let mut our_panics = Vec::new();
    let mut their_panics = Vec::new();
    let lists: [(&str, &[Rule]); 3] = [
        ("only trust-core rejects", KNOWN_STRICTER),
        ("only sigstore-verify rejects, not a weakness", KNOWN_LENIENT),
        (
            "only sigstore-verify rejects, KNOWN TRUST-CORE BUG",
            KNOWN_TRUST_CORE_BUGS,
        ),
    ];
    let mut matched: Vec<Vec<Vec<String>>> = lists.iter().map(|(_, rules)| vec![Vec::new(); rules.len()]).collect();
    for &baseline in BASELINES {
        let dir = conformance_dir().join(baseline);
        let subject = Subject::load(&dir);
        let json: Value = serde_json::from_slice(&std::fs::read(dir.join("bundle.sigstore.json")).unwrap()).unwrap();
        let reencoded = serde_json::to_vec(&json).unwrap();
        for mode in [Mode::Bytes, Mode::Digest] {
            subject
                .ours(&reencoded, mode, now)
                .unwrap_or_else(|e| panic!("baseline {baseline} [{mode:?}]: trust-core rejects: {e}"));
            subject
                .theirs(&reencoded, mode)
                .unwrap_or_else(|e| panic!("baseline {baseline} [{mode:?}]: sigstore-verify rejects: {e}"));
        }
        for m in mutants(baseline, &json, &mut rng) {
            total += 1;
            let ours = subject.ours(&m.json, Mode::Bytes, now);
            let theirs = subject.theirs(&m.json, Mode::Bytes);
            let line = format!(
                "{}\n      trust-core {}\n      sigstore-verify {}",
                m.describe(),
                verdict(&ours),
                verdict(&theirs)
            );
            if ours.as_ref().is_err_and(|e| e.starts_with("PANIC")) {
                our_panics.push(line.clone());
            }
            if theirs.as_ref().is_err_and(|e| e.starts_with("PANIC")) {
                their_panics.push(line.clone());
            }
            let list = match (ours.is_ok(), theirs.is_ok()) {
                (false, false) => {
                    both_reject += 1;
                    continue;
                }
                (true, true) => {
                    both_accept.push(line);
                    continue;
                }
                (false, true) => 0,
                (true, false) => 1,
            };
            // A disagreement: the first list of its direction with a matching rule explains it.
            let explained = (list..lists.len())
                .take(if list == 0 { 1 } else { 2 })
                .find_map(|l| lists[l].1.iter().position(|r| (r.applies)(&m)).map(|i| (l, i)));
            match explained {
                Some((l, i)) => matched[l][i].push(line),
                None if list == 0 => unexplained_stricter.push(line),
                None => security.push(line),
            }
        }
    }

    let disagreements: usize =
        matched.iter().flatten().map(Vec::len).sum::<usize>() + unexplained_stricter.len() + security.len();
    println!(
        "mutants: {total}; agree {} (both reject {both_reject}, both accept {}); disagree {disagreements}",
        both_reject + both_accept.len(),
        both_accept.len()
    );
    println!("accepted by both:");
    both_accept.iter().for_each(|l| println!("  {l}"));
    for ((title, rules), found) in lists.iter().zip(&matched) {
        for (rule, lines) in rules.iter().zip(found) {
            println!("{title} [{}]: {} (documented {})", rule.name, lines.len(), rule.count);
            println!("    reason: {}", rule.reason);
            lines.iter().for_each(|l| println!("  {l}"));
        }
    }
    for (title, lines) in [
        ("only trust-core rejects, NO DOCUMENTED RULE", &unexplained_stricter),
        ("SECURITY: sigstore-verify rejects, trust-core ACCEPTS", &security),
        ("sigstore-verify panicked (counted as a rejection)", &their_panics),
    ] {
        if !lines.is_empty() {
            println!("{title}: {}", lines.len());
            lines.iter().for_each(|l| println!("  {l}"));
        }
    }

    let first_lines = |v: &[String]| {
        v.iter()
            .map(|l| l.lines().next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(total >= 300, "only {total} mutants");
    assert!(
        our_panics.is_empty(),
        "trust-core panicked:\n{}",
        first_lines(&our_panics)
    );
    assert!(
        security.is_empty(),
        "SECURITY: {} mutants rejected by sigstore-verify are ACCEPTED by trust-core:\n{}",
        security.len(),
        first_lines(&security)
    );
    assert!(
        unexplained_stricter.is_empty(),
        "{} mutants rejected only by trust-core match no documented rule:\n{}",
        unexplained_stricter.len(),
        first_lines(&unexplained_stricter)
    );
    for ((_, rules), found) in lists.iter().zip(&matched) {
        for (rule, lines) in rules.iter().zip(found) {
            assert_eq!(
                lines.len(),
                rule.count,
                "rule {} covers {} mutants, documented {}",
                rule.name,
                lines.len(),
                rule.count
            );
        }
    }
}
