//! Rekor v1 signed entry timestamps (inclusion promises).

use super::TlogError;
use crate::crypto::KeyKind;
use crate::time::UnixTime;
use crate::trust_root::TransparencyLog;
use std::io::Write;

/// Writes the decimal form of `n` into `buf`, returning the used part.
fn decimal(n: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut w: &mut [u8] = buf;
    // 20 bytes hold every i64.
    let room = w.len();
    let used = match write!(w, "{n}") {
        Ok(()) => room - w.len(),
        Err(_) => 0,
    };
    buf.get(..used).unwrap_or_default()
}

fn is_base64_text(s: &str) -> bool {
    // Branch-free over the whole string (the body is kilobytes and, from the verifier, always
    // valid): the short-circuiting `all` cost ~40 instructions a byte.
    s.bytes().fold(true, |ok, b| {
        ok & (b.is_ascii_alphanumeric() | (b == b'+') | (b == b'/') | (b == b'='))
    })
}

/// Verifies a Rekor v1 SignedEntryTimestamp: `set` is the log's signature over the canonical JSON
/// `{"body":"<body_b64>","integratedTime":N,"logID":"<hex log id>","logIndex":N}` (keys sorted, no
/// whitespace). `body_b64` is the entry's canonicalized body in standard base64 exactly as Rekor
/// returned it, `log_id` the entry's log id, `log_index` its (global) log index.
///
/// Also requires `log_id` to be `log`'s id (`tlog.unknown_log`) and the integrated time to lie inside
/// the log key's validity (`tlog.outside_log_validity`). A bad signature is `tlog.set_invalid`.
pub fn verify_set(
    set: &[u8],
    body_b64: &str,
    integrated_time: i64,
    log_id: &[u8],
    log_index: i64,
    log: &TransparencyLog,
) -> Result<(), TlogError> {
    if log_id != log.log_id.as_slice() {
        return Err(TlogError::UnknownLog);
    }
    if log_index < 0 {
        return Err(TlogError::Malformed("negative log index".into()));
    }
    if !is_base64_text(body_b64) {
        return Err(TlogError::Malformed("canonicalized body is not base64".into()));
    }
    if !log.valid_for.contains(UnixTime::from_secs(integrated_time)) {
        return Err(TlogError::OutsideLogValidity);
    }
    let mut hex_buf = [0u8; 128];
    let hex_id = hex_buf
        .get_mut(..log_id.len() * 2)
        .ok_or_else(|| TlogError::Malformed("log id is too long".into()))?;
    hex::encode_to_slice(log_id, hex_id).map_err(|_| TlogError::Malformed("log id".into()))?;
    let (mut t_buf, mut i_buf) = ([0u8; 20], [0u8; 20]);
    let parts: [&[u8]; 9] = [
        b"{\"body\":\"",
        body_b64.as_bytes(),
        b"\",\"integratedTime\":",
        decimal(integrated_time, &mut t_buf),
        b",\"logID\":\"",
        hex_id,
        b"\",\"logIndex\":",
        decimal(log_index, &mut i_buf),
        b"}",
    ];
    let verified = if log.key.kind() == KeyKind::Ed25519 {
        // Ed25519 signs the message itself.
        log.key.verify(&parts.concat(), set)
    } else {
        // ECDSA / RSA: hash the parts in place, no copy of the (large) body.
        let mut h = log.key.kind().default_hash().hasher();
        for p in parts {
            h.update(p);
        }
        log.key.verify_prehashed(&h.finish(), set)
    };
    verified.map_err(|_| TlogError::SetInvalid)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::testutil::*;
    use super::*;

    fn set_args(case: &str) -> (Case, Entry) {
        let c = Case::load(case);
        let e = c.entry();
        (c, e)
    }

    fn check(c: &Case, e: &Entry) -> Result<(), TlogError> {
        verify_set(
            e.set.as_deref().unwrap(),
            &e.body_b64,
            e.integrated_time,
            &e.log_id,
            e.log_index,
            c.log_for(e),
        )
    }

    #[test]
    fn sets_of_rekor_v1_bundles_verify() {
        for case in [
            "happy-path-v0.1",
            "happy-path-v0.3",
            "happy-path-intoto-in-dsse-v3",
            "intoto-with-custom-trust-root",
            "managed-key-happy-path",
            "trust-root-tlog-validity-end-inclusive",
        ] {
            let (c, e) = set_args(case);
            check(&c, &e).unwrap_or_else(|err| panic!("{case}: {err}"));
        }
    }

    #[test]
    fn invalid_set_signature_fails() {
        let (c, e) = set_args("set-invalid-signature_fail");
        assert_eq!(check(&c, &e).unwrap_err().code(), "tlog.set_invalid");
    }

    #[test]
    fn each_signed_field_is_bound() {
        let (c, e) = set_args("happy-path-v0.3");
        let log = c.log_for(&e);
        let set = e.set.as_deref().unwrap();
        let run = |body: &str, t: i64, idx: i64| verify_set(set, body, t, &e.log_id, idx, log);
        run(&e.body_b64, e.integrated_time, e.log_index).unwrap();
        assert_eq!(
            run(&e.body_b64, e.integrated_time + 1, e.log_index).unwrap_err().code(),
            "tlog.set_invalid"
        );
        assert_eq!(
            run(&e.body_b64, e.integrated_time, e.log_index + 1).unwrap_err().code(),
            "tlog.set_invalid"
        );
        let mut body = e.body_b64.clone();
        body.replace_range(10..11, if &body[10..11] == "A" { "B" } else { "A" });
        assert_eq!(
            run(&body, e.integrated_time, e.log_index).unwrap_err().code(),
            "tlog.set_invalid"
        );
        assert_eq!(
            run("\"}", e.integrated_time, e.log_index).unwrap_err().code(),
            "tlog.malformed"
        );
        assert_eq!(
            run(&e.body_b64, e.integrated_time, -1).unwrap_err().code(),
            "tlog.malformed"
        );
        // Before the log key's validity.
        assert_eq!(
            run(&e.body_b64, 1_000_000_000, e.log_index).unwrap_err().code(),
            "tlog.outside_log_validity"
        );
        // Another log id.
        let mut other_id = e.log_id.clone();
        other_id[0] ^= 1;
        assert_eq!(
            verify_set(set, &e.body_b64, e.integrated_time, &other_id, e.log_index, log)
                .unwrap_err()
                .code(),
            "tlog.unknown_log"
        );
        // A signature that is not even DER.
        assert_eq!(
            verify_set(b"\x30\x00", &e.body_b64, e.integrated_time, &e.log_id, e.log_index, log)
                .unwrap_err()
                .code(),
            "tlog.set_invalid"
        );
    }

    #[test]
    fn validity_end_is_inclusive() {
        let (c, e) = set_args("trust-root-tlog-validity-end-inclusive");
        let log = c.log_for(&e);
        assert_eq!(log.valid_for.end, Some(UnixTime::from_secs(e.integrated_time)));
        check(&c, &e).unwrap();
    }

    #[test]
    fn decimal_formatting() {
        let mut b = [0u8; 20];
        assert_eq!(decimal(0, &mut b), b"0");
        assert_eq!(decimal(i64::MIN, &mut b), b"-9223372036854775808");
        assert_eq!(decimal(1689177396, &mut b), b"1689177396");
    }
}
