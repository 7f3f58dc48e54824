//! C2SP signed notes (`c2sp.org/signed-note`) carrying tlog checkpoints (`c2sp.org/tlog-checkpoint`).
//!
//! ```text
//! <origin>\n<tree size>\n<root hash, base64>\n[<other content>\n]*\n
//! — <name> <base64(key hint(4) || signature)>\n
//! [— ...\n]*
//! ```
//!
//! Rekor v1 writes origins such as `rekor.sigstore.dev - 1193050959916656506` (host, then the shard's
//! tree id) and signs them as `rekor.sigstore.dev` with an ECDSA key whose hint is the first four
//! bytes of its log id (SHA-256 of the DER SPKI), as rekor's own `VerifyCheckpointSignature` and
//! rekor-tiles' `note.KeyHash` do. Rekor v2 origins are the bare host and its Ed25519 hints are the
//! standard note key ids. Cosignatures from witnesses (other names or keys) are ignored.

use super::TlogError;
use crate::crypto::{sha256_parts, KeyKind};
use crate::trust_root::TransparencyLog;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

const SIG_PREFIX: &str = "\u{2014} ";
const MAX_SIGNATURES: usize = 100;

/// One signature line of a signed note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The signer's name (for the log's own signature: the log origin's host).
    pub name: String,
    /// First four bytes of the signer's key id.
    pub key_hint: [u8; 4],
    /// The signature bytes (after the key hint).
    pub signature: Vec<u8>,
}

/// A parsed tlog checkpoint with its signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// First line: the log's origin.
    pub origin: String,
    /// Second line: the tree size.
    pub tree_size: u64,
    /// Third line: the root hash.
    pub root_hash: [u8; 32],
    /// Extension lines after the root hash (Rekor v1 writes `Timestamp: <nanos>`).
    pub other_content: Vec<String>,
    /// Every signature line, in order.
    pub signatures: Vec<NoteSignature>,
}

/// Splits a signed note into its text (up to and including the first `\n` of the blank-line
/// separator) and its signature block.
fn split_note(envelope: &str) -> Result<(&str, &str), TlogError> {
    let split = envelope
        .find("\n\n")
        .ok_or(TlogError::CheckpointMalformed("no blank line before the signatures"))?;
    Ok((&envelope[..split + 1], &envelope[split + 2..]))
}

/// A note key name: non-empty, no whitespace, no `+` (as golang.org/x/mod/sumdb/note).
fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(char::is_whitespace) && !name.contains('+')
}

fn parse_tree_size(line: &str) -> Option<u64> {
    let b = line.as_bytes();
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    line.parse().ok()
}

fn parse_root_hash(line: &str) -> Option<[u8; 32]> {
    // 32 bytes are 44 base64 characters with one `=`.
    if line.len() != 44 {
        return None;
    }
    let mut out = [0u8; 33];
    match STANDARD.decode_slice(line, &mut out) {
        Ok(32) => {
            let mut root = [0u8; 32];
            root.copy_from_slice(&out[..32]);
            Some(root)
        }
        _ => None,
    }
}

impl Checkpoint {
    /// Parses a signed checkpoint, strictly: UTF-8 without control characters other than `\n`, a
    /// non-empty origin, a decimal tree size without leading zeros, a base64 SHA-256 root hash,
    /// optional non-empty extension lines, a blank line, then one to 100 well-formed signature lines
    /// (`— <name> <base64>`), each ending in `\n`.
    pub fn parse(envelope: &str) -> Result<Checkpoint, TlogError> {
        let malformed = TlogError::CheckpointMalformed;
        if envelope.bytes().any(|b| b < 0x20 && b != b'\n') {
            return Err(malformed("control character in note"));
        }
        let (text, sigs) = split_note(envelope)?;

        let mut lines = text.strip_suffix('\n').unwrap_or(text).split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(malformed("missing origin"));
        }
        let tree_size = lines
            .next()
            .and_then(parse_tree_size)
            .ok_or(malformed("missing or invalid tree size"))?;
        let root_hash = lines
            .next()
            .and_then(parse_root_hash)
            .ok_or(malformed("missing or invalid root hash"))?;
        let other_content: Vec<String> = lines.map(str::to_owned).collect();

        if sigs.is_empty() {
            return Err(malformed("no signature"));
        }
        if !sigs.ends_with('\n') {
            return Err(malformed("signature block does not end with a newline"));
        }
        let mut signatures = Vec::new();
        for line in sigs.strip_suffix('\n').unwrap_or(sigs).split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(malformed("too many signatures"));
            }
            let rest = line
                .strip_prefix(SIG_PREFIX)
                .ok_or(malformed("signature line does not start with an em dash"))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or(malformed("signature line without a signature"))?;
            if !valid_name(name) {
                return Err(malformed("invalid signer name"));
            }
            let raw = STANDARD.decode(b64).map_err(|_| malformed("signature is not base64"))?;
            if raw.len() < 5 {
                return Err(malformed("signature is too short"));
            }
            let mut key_hint = [0u8; 4];
            key_hint.copy_from_slice(&raw[..4]);
            signatures.push(NoteSignature {
                name: name.to_owned(),
                key_hint,
                signature: raw[4..].to_vec(),
            });
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            tree_size,
            root_hash,
            other_content,
            signatures,
        })
    }

    /// Whether `text` (a note text, ending in `\n`) is exactly this checkpoint's body.
    fn is_text_of(&self, text: &str) -> bool {
        let Some(body) = text.strip_suffix('\n') else {
            return false;
        };
        let mut lines = body.split('\n');
        if lines.next() != Some(self.origin.as_str()) {
            return false;
        }
        if lines.next().and_then(parse_tree_size) != Some(self.tree_size) {
            return false;
        }
        if lines.next().and_then(parse_root_hash) != Some(self.root_hash) {
            return false;
        }
        let mut other = self.other_content.iter();
        for line in lines {
            if other.next().map(String::as_str) != Some(line) {
                return false;
            }
        }
        other.next().is_none()
    }
}

/// The signed-note key hint under which `log` signs checkpoints as `name`:
/// - ECDSA (Rekor v1 and rekor-tiles): the first four bytes of SHA-256 of the DER SPKI (the log id);
/// - Ed25519: the C2SP key id, SHA-256(`name` || 0x0A || 0x01 || 32-byte key), truncated;
/// - RSA (rekor-tiles): SHA-256(`name` || 0x0A || 0xFF || "PKIX-RSA-PKCS#1v1.5" || DER SPKI), truncated.
pub fn note_key_hint(log: &TransparencyLog, name: &str) -> [u8; 4] {
    let spki = log.key.spki_der();
    let id = match log.key.kind() {
        KeyKind::Ed25519 => {
            let raw = spki.get(spki.len().saturating_sub(32)..).unwrap_or_default();
            sha256_parts(&[name.as_bytes(), b"\n\x01", raw])
        }
        KeyKind::Rsa { .. } => sha256_parts(&[name.as_bytes(), b"\n\xffPKIX-RSA-PKCS#1v1.5", spki]),
        _ => log.key.key_id(),
    };
    [id[0], id[1], id[2], id[3]]
}

/// Whether a checkpoint origin names `log`: the bare origin (`log2025-1.rekor.sigstore.dev`), or
/// Rekor v1's `<origin> - <tree id>`.
fn origin_matches(origin: &str, log_origin: &str) -> bool {
    match origin.strip_prefix(log_origin) {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix(" - ")
            .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())),
        None => false,
    }
}

/// Verifies that `cp` (parsed from `envelope`) is signed by `log`: its origin names the log, and a
/// signature line whose name is the log's origin ([`TransparencyLog::origin`]) and whose key hint is
/// the log's ([`note_key_hint`]) verifies over the note text. Other signature lines (witness
/// cosignatures, other keys of the same name) are ignored; a matching line that does not verify does
/// not hide a later one that does.
///
/// Codes: `tlog.checkpoint_malformed` (envelope is not the text `cp` was parsed from),
/// `tlog.checkpoint_origin_mismatch`, `tlog.checkpoint_no_matching_signature`,
/// `tlog.checkpoint_signature_invalid`.
pub fn verify_checkpoint(cp: &Checkpoint, envelope: &str, log: &TransparencyLog) -> Result<(), TlogError> {
    let (text, _) = split_note(envelope)?;
    if !cp.is_text_of(text) {
        return Err(TlogError::CheckpointMalformed("checkpoint does not match the envelope"));
    }
    let name = log.origin();
    if !origin_matches(&cp.origin, name) {
        return Err(TlogError::CheckpointOriginMismatch);
    }
    let hint = note_key_hint(log, name);
    let mut candidate = false;
    for sig in cp.signatures.iter().filter(|s| s.name == name && s.key_hint == hint) {
        candidate = true;
        if log.key.verify(text.as_bytes(), &sig.signature).is_ok() {
            return Ok(());
        }
    }
    Err(if candidate {
        TlogError::CheckpointSignatureInvalid
    } else {
        TlogError::CheckpointNoMatchingSignature
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    fn checkpoint_of(case: &str) -> (Case, String) {
        let c = Case::load(case);
        let e = c.entry();
        let env = e.proof.unwrap().checkpoint.unwrap();
        (c, env)
    }

    fn verify_case(case: &str) -> Result<Checkpoint, TlogError> {
        let (c, env) = checkpoint_of(case);
        let e = c.entry();
        let cp = Checkpoint::parse(&env)?;
        verify_checkpoint(&cp, &env, c.log_for(&e))?;
        Ok(cp)
    }

    #[test]
    fn rekor_v1_checkpoint_parses_and_verifies() {
        let cp = verify_case("happy-path-v0.1").unwrap();
        assert_eq!(cp.origin, "rekor.sigstore.dev - 2605736670972794746");
        assert_eq!(cp.tree_size, 23083062);
        assert_eq!(cp.other_content, vec!["Timestamp: 1689177396617352539".to_string()]);
        assert_eq!(cp.signatures.len(), 1);
        assert_eq!(cp.signatures[0].name, "rekor.sigstore.dev");
        for case in [
            "happy-path-v0.3",
            "intoto-with-custom-trust-root",
            "managed-key-and-trusted-root",
        ] {
            verify_case(case).unwrap_or_else(|e| panic!("{case}: {e}"));
        }
    }

    #[test]
    fn rekor_v2_checkpoints_with_cosignatures_verify() {
        for case in [
            "rekor2-happy-path",
            "rekor2-checkpoint-cosigned",
            "rekor2-checkpoint-multiple-cosigs",
            "rekor2-checkpoint-origin-not-first",
            "rekor2-checkpoint-two-sigs-cosigned",
            "rekor2-checkpoint-two-sigs-from-origin",
            "rekor2-dsse-happy-path",
            "bundle-with-sct-with-extensions",
        ] {
            let cp = verify_case(case).unwrap_or_else(|e| panic!("{case}: {e}"));
            assert!(cp.other_content.is_empty(), "{case}");
        }
    }

    #[test]
    fn broken_checkpoints_fail_with_specific_codes() {
        for (case, code) in [
            (
                "rekor2-checkpoint-missing-log-signature_fail",
                "tlog.checkpoint_malformed",
            ),
            ("rekor2-checkpoint-missing-origin_fail", "tlog.checkpoint_malformed"),
            ("rekor2-checkpoint-missing-root-hash_fail", "tlog.checkpoint_malformed"),
            ("rekor2-checkpoint-missing-size_fail", "tlog.checkpoint_malformed"),
            (
                "rekor2-checkpoint-no-matching-signature_fail",
                "tlog.checkpoint_origin_mismatch",
            ),
            ("checkpoint-bad-keyhint_fail", "tlog.checkpoint_no_matching_signature"),
            ("invalid-checkpoint-signature_fail", "tlog.checkpoint_signature_invalid"),
        ] {
            let err = verify_case(case).unwrap_err();
            assert_eq!(err.code(), code, "{case}: {err}");
        }
    }

    #[test]
    fn tampering_is_detected() {
        let (c, env) = checkpoint_of("rekor2-happy-path");
        let e = c.entry();
        let log = c.log_for(&e);
        let check = |env: &str| Checkpoint::parse(env).and_then(|cp| verify_checkpoint(&cp, env, log));
        check(&env).unwrap();

        // Only the signer name changes: the log's signature is no longer there.
        let renamed = env.replace(
            "\u{2014} log2025-alpha1.rekor.sigstage.dev ",
            "\u{2014} log2025-alpha9.rekor.sigstage.dev ",
        );
        assert_eq!(
            check(&renamed).unwrap_err().code(),
            "tlog.checkpoint_no_matching_signature"
        );
        // The signed text changes (tree size): signature invalid.
        let resized = env.replacen("\n736\n", "\n737\n", 1);
        assert_eq!(check(&resized).unwrap_err().code(), "tlog.checkpoint_signature_invalid");
        // An extension line is added to the signed text.
        let extended = env.replacen("=\n\n", "=\nextra\n\n", 1);
        let cp = Checkpoint::parse(&extended).unwrap();
        assert_eq!(cp.other_content, vec!["extra".to_string()]);
        assert_eq!(
            check(&extended).unwrap_err().code(),
            "tlog.checkpoint_signature_invalid"
        );
        // A checkpoint parsed from one envelope cannot be verified against another.
        let cp = Checkpoint::parse(&env).unwrap();
        assert_eq!(
            verify_checkpoint(&cp, &resized, log).unwrap_err().code(),
            "tlog.checkpoint_malformed"
        );
        // A log's checkpoint verified against another log of the root.
        let other = c.root.tlogs.iter().find(|l| l.log_id != log.log_id).unwrap();
        assert_eq!(
            verify_checkpoint(&cp, &env, other).unwrap_err().code(),
            "tlog.checkpoint_origin_mismatch"
        );
    }

    #[test]
    fn strict_parsing() {
        let good =
            "example.com/log\n5\nrs1YPY0ydAV0lxgfrq5pE4oRpUJwo3syeps5+eGUTDI=\n\n\u{2014} example.com/log AAAAAAE=\n";
        let cp = Checkpoint::parse(good).unwrap();
        assert_eq!(cp.signatures[0].key_hint, [0, 0, 0, 0]);
        assert_eq!(cp.signatures[0].signature, vec![1]);
        let sigs = "\n\n\u{2014} example.com/log AAAAAAE=\n";
        let root = "rs1YPY0ydAV0lxgfrq5pE4oRpUJwo3syeps5+eGUTDI=";
        for bad in [
            String::new(),
            "\n".into(),
            format!("example.com/log\n5\n{root}"),
            format!("example.com/log\n5\n{root}\n\n"),
            format!("example.com/log\n05\n{root}{sigs}"),
            format!("example.com/log\n+5\n{root}{sigs}"),
            format!("example.com/log\n-5\n{root}{sigs}"),
            format!("example.com/log\n18446744073709551616\n{root}{sigs}"),
            format!("example.com/log\n5\nrs1YPY0ydAV0lxgfrq5pE4oRpUJwo3syeps5+eGUTD={sigs}"),
            format!("example.com/log\n5\nAAAA{sigs}"),
            format!("\n5\n{root}{sigs}"),
            format!("example.com/log\r\n5\n{root}{sigs}"),
            format!("example.com/log\n5\n{root}\n\n\u{2014} example.com/log AAAAAAE="),
            format!("example.com/log\n5\n{root}\n\n- example.com/log AAAAAAE=\n"),
            format!("example.com/log\n5\n{root}\n\n\u{2014} example.com/log AAAAAA==\n"),
            format!("example.com/log\n5\n{root}\n\n\u{2014} example.com/log !!!!\n"),
            format!("example.com/log\n5\n{root}\n\n\u{2014} a+b AAAAAAE=\n"),
            format!("example.com/log\n5\n{root}\n\n\u{2014} example.com/logAAAAAAE=\n"),
            format!("example.com/log\n5\n{root}\n\n\u{2014} example.com/log AAAAAAE=\n\n"),
            format!("example.com/log\n5\n{root}\n\n{}", "\u{2014} w AAAAAAE=\n".repeat(101)),
        ] {
            let err = Checkpoint::parse(&bad).unwrap_err();
            assert_eq!(err.code(), "tlog.checkpoint_malformed", "{bad:?}");
        }
        assert_eq!(
            Checkpoint::parse(&format!("o\n0\n{root}\n\n{}", "\u{2014} w AAAAAAE=\n".repeat(100)))
                .unwrap()
                .signatures
                .len(),
            100
        );
    }

    #[test]
    fn origin_forms() {
        assert!(origin_matches("rekor.sigstore.dev", "rekor.sigstore.dev"));
        assert!(origin_matches(
            "rekor.sigstore.dev - 2605736670972794746",
            "rekor.sigstore.dev"
        ));
        assert!(!origin_matches("rekor.sigstore.dev - ", "rekor.sigstore.dev"));
        assert!(!origin_matches("rekor.sigstore.dev - x", "rekor.sigstore.dev"));
        assert!(!origin_matches("rekor.sigstore.devx", "rekor.sigstore.dev"));
        assert!(!origin_matches("evil.rekor.sigstore.dev", "rekor.sigstore.dev"));
    }

    #[test]
    fn key_hints_match_published_log_ids() {
        // Rekor v2 (Ed25519) log ids in the trusted root are the full C2SP note key ids.
        let c = Case::load("rekor2-happy-path");
        for log in &c.root.tlogs {
            let hint = note_key_hint(log, log.origin());
            assert_eq!(&hint[..], &log.log_id[..4], "{}", log.base_url);
        }
    }
}
