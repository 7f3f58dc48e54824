use super::*;
use crate::embedded::testutil::temp_dir;
use std::fs;
use trust_core::timestamp::{verify_timestamp, TimestampAuthorities};
use trust_core::x509::{Certificate, ExtendedKeyUsage};

const NOW: UnixTime = UnixTime::new(1_750_000_000, 0);
const SIGNATURE: &[u8] = b"the artifact signature being timestamped";

struct Fixture {
    dir: PathBuf,
    tsa: LocalTsa,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn fixture() -> Fixture {
    let dir = temp_dir("tsa");
    let tsa = LocalTsa::load_or_create(&dir, None, NOW).unwrap();
    Fixture { dir, tsa }
}

fn authorities(tsa: &LocalTsa) -> TimestampAuthorities {
    TimestampAuthorities::new(&[tsa.certificate_authority("")]).unwrap()
}

/// A DER TimeStampReq, built by hand.
fn request_der(
    alg_oid: &[u8],
    null_params: bool,
    digest: &[u8],
    nonce: Option<&[u8]>,
    cert_req: bool,
    tail: &[u8],
) -> Vec<u8> {
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let n = content.len();
        if n < 128 {
            out.push(n as u8);
        } else {
            out.extend_from_slice(&[0x81, n as u8]);
        }
        out.extend_from_slice(content);
        out
    }
    let mut alg = tlv(0x06, alg_oid);
    if null_params {
        alg.extend_from_slice(&[0x05, 0x00]);
    }
    let mut imprint = tlv(0x30, &alg);
    imprint.extend_from_slice(&tlv(0x04, digest));
    let mut body = vec![0x02, 0x01, 0x01];
    body.extend_from_slice(&tlv(0x30, &imprint));
    if let Some(n) = nonce {
        body.extend_from_slice(&tlv(0x02, n));
    }
    if cert_req {
        body.extend_from_slice(&[0x01, 0x01, 0xff]);
    }
    body.extend_from_slice(tail);
    tlv(0x30, &body)
}

const SHA256_OID: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const SHA384_OID: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
const SHA1_OID: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];

#[test]
fn response_verifies_with_trust_core() {
    let f = fixture();
    let digest = sha256(SIGNATURE);
    let resp = f
        .tsa
        .timestamp(HashAlgorithm::Sha256, &digest, Some(&[0x01, 0x02, 0x03]), NOW)
        .unwrap();
    let verified = verify_timestamp(&resp, SIGNATURE, &authorities(&f.tsa)).unwrap();
    assert_eq!(verified.time, NOW);
    assert_eq!(verified.authority_index, 0);
    // The nonce is echoed.
    assert!(resp.windows(5).any(|w| w == [0x02, 0x03, 0x01, 0x02, 0x03]));
}

#[test]
fn sha384_and_sha512_imprints_verify() {
    let f = fixture();
    for alg in [HashAlgorithm::Sha384, HashAlgorithm::Sha512] {
        let digest = alg.hash(SIGNATURE);
        let resp = f.tsa.timestamp(alg, digest.as_bytes(), None, NOW).unwrap();
        assert!(verify_timestamp(&resp, SIGNATURE, &authorities(&f.tsa)).is_ok());
    }
}

#[test]
fn response_for_other_bytes_does_not_verify() {
    let f = fixture();
    let resp = f
        .tsa
        .timestamp(HashAlgorithm::Sha256, &sha256(b"something else"), None, NOW)
        .unwrap();
    let err = verify_timestamp(&resp, SIGNATURE, &authorities(&f.tsa)).unwrap_err();
    assert_eq!(err.code(), "timestamp.message_imprint_mismatch");
}

#[test]
fn tampered_response_fails() {
    let f = fixture();
    let resp = f
        .tsa
        .timestamp(HashAlgorithm::Sha256, &sha256(SIGNATURE), None, NOW)
        .unwrap();
    // Change the last seconds digit of the TSTInfo genTime (GeneralizedTime, 15 octets).
    let pos = resp.windows(2).position(|w| w == [0x18, 0x0f]).unwrap();
    let mut bad = resp.clone();
    assert_eq!(bad[pos + 16], b'Z');
    bad[pos + 15] ^= 1;
    let err = verify_timestamp(&bad, SIGNATURE, &authorities(&f.tsa)).unwrap_err();
    assert_eq!(err.code(), "timestamp.message_digest_mismatch", "{err}");
}

#[test]
fn another_tsa_is_not_trusted() {
    let f = fixture();
    let g = fixture();
    let resp = f
        .tsa
        .timestamp(HashAlgorithm::Sha256, &sha256(SIGNATURE), None, NOW)
        .unwrap();
    assert!(verify_timestamp(&resp, SIGNATURE, &authorities(&g.tsa)).is_err());
}

#[test]
fn signing_certificate_is_a_timestamping_leaf_under_a_p384_root() {
    let f = fixture();
    let chain = f.tsa.chain_der();
    let leaf = Certificate::from_der(&chain[0]).unwrap();
    let root = Certificate::from_der(&chain[1]).unwrap();
    assert!(!leaf.is_ca());
    assert!(leaf.has_extended_key_usage(ExtendedKeyUsage::TimeStamping));
    assert!(!leaf.has_extended_key_usage(ExtendedKeyUsage::CodeSigning));
    assert_eq!(leaf.unhandled_critical_extension(), None);
    assert!(leaf.verify_issued_by(&root).is_ok());
    assert_eq!(root.public_key().kind(), trust_core::crypto::KeyKind::EcdsaP384);
    assert_eq!(leaf.public_key().kind(), trust_core::crypto::KeyKind::EcdsaP256);
}

#[test]
fn bad_arguments_get_specific_errors() {
    let f = fixture();
    let d = sha256(SIGNATURE);
    let code =
        |alg, digest: &[u8], nonce: Option<&[u8]>, now| f.tsa.timestamp(alg, digest, nonce, now).unwrap_err().code();
    assert_eq!(code(HashAlgorithm::Sha384, &d, None, NOW), "tsa.bad_digest_length");
    assert_eq!(
        code(HashAlgorithm::Sha256, &d[..31], None, NOW),
        "tsa.bad_digest_length"
    );
    assert_eq!(code(HashAlgorithm::Sha256, &d, Some(&[]), NOW), "tsa.bad_nonce");
    assert_eq!(
        code(HashAlgorithm::Sha256, &d, Some(&[0x00, 0x01]), NOW),
        "tsa.bad_nonce"
    );
    assert_eq!(
        code(HashAlgorithm::Sha256, &d, Some(&[0xff, 0x80]), NOW),
        "tsa.bad_nonce"
    );
    assert_eq!(code(HashAlgorithm::Sha256, &d, Some(&[1; 65]), NOW), "tsa.bad_nonce");
    assert_eq!(
        code(HashAlgorithm::Sha256, &d, None, UnixTime::from_secs(NOW.secs() - 1)),
        "tsa.outside_validity"
    );
    // Minimal encodings with a sign octet are fine.
    assert!(f
        .tsa
        .timestamp(HashAlgorithm::Sha256, &d, Some(&[0x00, 0x80]), NOW)
        .is_ok());
}

#[test]
fn timestamp_request_is_answered() {
    let f = fixture();
    let d = sha256(SIGNATURE);
    let req = request_der(SHA256_OID, true, &d, Some(&[0x42; 8]), true, &[]);
    let parsed = TimestampRequest::from_der(&req).unwrap();
    assert_eq!(parsed.hash_algorithm, HashAlgorithm::Sha256);
    assert_eq!(parsed.message_digest, d);
    assert_eq!(parsed.nonce.as_deref(), Some(&[0x42; 8][..]));
    assert!(parsed.cert_req);
    let resp = f.tsa.timestamp_request(&req, NOW).unwrap();
    assert!(verify_timestamp(&resp, SIGNATURE, &authorities(&f.tsa)).is_ok());
    // The requested AlgorithmIdentifier (with NULL parameters) is echoed.
    let mut echoed = vec![0x30, 0x0d, 0x06, 0x09];
    echoed.extend_from_slice(SHA256_OID);
    echoed.extend_from_slice(&[0x05, 0x00]);
    assert!(resp.windows(echoed.len()).any(|w| w == echoed));
    assert!(resp
        .windows(f.tsa.chain_der()[0].len())
        .any(|w| w == f.tsa.chain_der()[0]));
}

#[test]
fn without_cert_req_the_certificate_is_left_out_and_still_verifies() {
    let f = fixture();
    let d = sha384_of(SIGNATURE);
    let req = request_der(SHA384_OID, false, &d, None, false, &[]);
    let resp = f.tsa.timestamp_request(&req, NOW).unwrap();
    assert!(!resp
        .windows(f.tsa.chain_der()[0].len())
        .any(|w| w == f.tsa.chain_der()[0]));
    assert!(verify_timestamp(&resp, SIGNATURE, &authorities(&f.tsa)).is_ok());
}

fn sha384_of(data: &[u8]) -> Vec<u8> {
    HashAlgorithm::Sha384.hash(data).as_bytes().to_vec()
}

#[test]
fn bad_requests_get_specific_errors() {
    let f = fixture();
    let d = sha256(SIGNATURE);
    let code = |der: &[u8]| f.tsa.timestamp_request(der, NOW).unwrap_err().code();
    assert_eq!(code(b"\x30\x00"), "tsa.bad_request");
    assert_eq!(code(b"garbage"), "tsa.bad_request");
    let mut trailing = request_der(SHA256_OID, false, &d, None, false, &[]);
    trailing.push(0);
    assert_eq!(code(&trailing), "tsa.bad_request");
    let mut v2 = request_der(SHA256_OID, false, &d, None, false, &[]);
    v2[4] = 2;
    assert_eq!(code(&v2), "tsa.unsupported_version");
    assert_eq!(
        code(&request_der(SHA1_OID, true, &d[..20], None, false, &[])),
        "tsa.unsupported_hash_algorithm"
    );
    assert_eq!(
        code(&request_der(SHA256_OID, false, &d[..20], None, false, &[])),
        "tsa.bad_digest_length"
    );
    assert_eq!(
        code(&request_der(SHA256_OID, false, &d, Some(&[0, 1]), false, &[])),
        "tsa.bad_nonce"
    );
    // reqPolicy must be ours: 1.2.3.4 is not.
    let mut other_policy = request_der(SHA256_OID, false, &d, None, false, &[]);
    let imprint_end = other_policy.len();
    other_policy.splice(imprint_end..imprint_end, [0x06, 0x03, 0x2a, 0x03, 0x04]);
    other_policy[1] += 5;
    assert_eq!(code(&other_policy), "tsa.unaccepted_policy");
    // Extensions ([0]) are refused.
    assert_eq!(
        code(&request_der(
            SHA256_OID,
            false,
            &d,
            None,
            true,
            &[0xa0, 0x02, 0x30, 0x00]
        )),
        "tsa.unaccepted_extension"
    );
}

#[test]
fn reopening_gives_the_same_chain_and_partial_state_is_an_error() {
    let f = fixture();
    let again = LocalTsa::load_or_create(&f.dir, None, UnixTime::from_secs(NOW.secs() + 5)).unwrap();
    assert_eq!(again.chain_der(), f.tsa.chain_der());
    let resp = again
        .timestamp(HashAlgorithm::Sha256, &sha256(SIGNATURE), None, NOW)
        .unwrap();
    assert!(verify_timestamp(&resp, SIGNATURE, &authorities(&f.tsa)).is_ok());
    fs::remove_file(f.dir.join("keys/tsa-signing.key.pem")).unwrap();
    let err = LocalTsa::load_or_create(&f.dir, None, NOW).unwrap_err();
    assert_eq!(err.code(), "tsa.incomplete_state", "{err}");
}

#[test]
fn tsa_and_ca_share_a_directory_without_clashing() {
    let f = fixture();
    let ca = crate::embedded::ca::LocalCa::load_or_create(&f.dir, None, NOW).unwrap();
    assert_ne!(ca.chain_der(), f.tsa.chain_der());
    let again = LocalTsa::load_or_create(&f.dir, None, NOW).unwrap();
    assert_eq!(again.chain_der(), f.tsa.chain_der());
}
