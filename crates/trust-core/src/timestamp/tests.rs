use super::*;
use crate::x509::tests::{b64, bundle, cases, root, try_bundle, try_root};

fn token(case: &str) -> Vec<u8> {
    let b = bundle(case);
    let t = &b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]["signedTimestamp"];
    b64(t.as_str().unwrap())
}

/// The bytes the timestamp covers: the message signature, or the DSSE envelope's first signature.
fn signature(case: &str) -> Vec<u8> {
    let b = bundle(case);
    let s = b["messageSignature"]["signature"]
        .as_str()
        .or_else(|| b["dsseEnvelope"]["signatures"][0]["sig"].as_str())
        .unwrap();
    b64(s)
}

fn tsas(case: &str) -> TimestampAuthorities {
    TimestampAuthorities::new(&root(case).timestamp_authorities).unwrap()
}

fn run(case: &str) -> Result<VerifiedTimestamp, TimestampError> {
    verify_timestamp(&token(case), &signature(case), &tsas(case))
}

fn code(r: Result<VerifiedTimestamp, TimestampError>) -> Result<VerifiedTimestamp, &'static str> {
    r.map_err(|e| e.code())
}

fn t(s: &str) -> UnixTime {
    UnixTime::parse_rfc3339(s).unwrap()
}

fn replace_once(haystack: &[u8], needle: &[u8], with: &[u8], nth: usize) -> Vec<u8> {
    let pos = haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .nth(nth)
        .map(|(i, _)| i)
        .unwrap();
    let mut out = haystack.to_vec();
    out[pos..pos + needle.len()].copy_from_slice(with);
    out
}

#[test]
fn conformance_timestamps() {
    let ok = [
        "rekor2-happy-path",
        "rekor2-timestamp-with-embedded-cert",
        "rekor2-timestamp-without-embedded-cert",
        "rekor2-dsse-happy-path",
        "rekor2-checkpoint-cosigned",
        // The signing certificate is expired at genTime, which is the verifier's check, not ours.
        "rekor2-timestamp-with-incorrect-time_fail",
        "intoto-tsa-timestamp-outside-cert-validity_fail",
    ];
    for case in ok {
        let v = run(case).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(v.authority_index, 0, "{case}");
    }
    let failing = [
        (
            "rekor2-timestamp-outside-tsa-cert-validity_fail",
            "timestamp.outside_tsa_cert_validity",
        ),
        (
            "rekor2-timestamp-outside-trust-root-tsa-validity_fail",
            "timestamp.outside_tsa_validity",
        ),
        (
            "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail",
            "timestamp.untrusted_tsa",
        ),
        (
            "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail",
            "timestamp.untrusted_tsa",
        ),
        (
            "rekor2-timestamp-payload-mismatch_fail",
            "timestamp.message_imprint_mismatch",
        ),
    ];
    for (case, expected) in failing {
        assert_eq!(code(run(case)).unwrap_err(), expected, "{case}");
    }
}

#[test]
fn gen_time_and_validity_bounds() {
    let v = run("rekor2-happy-path").unwrap();
    assert_eq!(v.time, t("2025-06-12T12:02:20Z"));
    // genTime equal to the end of the TSA's trusted-root window: closed interval.
    let case = "trust-root-tsa-validity-end-inclusive";
    assert_eq!(run(case).unwrap().time, t("2025-06-12T12:02:20Z"));
    let mut r = root(case);
    r.timestamp_authorities[0].valid_for.end = Some(t("2025-06-12T12:02:19Z"));
    let tsas = TimestampAuthorities::new(&r.timestamp_authorities).unwrap();
    let e = verify_timestamp(&token(case), &signature(case), &tsas).unwrap_err();
    assert_eq!(e.code(), "timestamp.outside_tsa_validity", "{e}");
    r.timestamp_authorities[0].valid_for.start = t("2025-06-12T12:02:21Z");
    r.timestamp_authorities[0].valid_for.end = None;
    let tsas = TimestampAuthorities::new(&r.timestamp_authorities).unwrap();
    let e = verify_timestamp(&token(case), &signature(case), &tsas).unwrap_err();
    assert_eq!(e.code(), "timestamp.outside_tsa_validity", "{e}");
    // The chain has expired by now, but it was valid at genTime.
    let v = run("rekor2-timestamp-with-expired-cert-chain").unwrap();
    assert_eq!(v.time, t("2025-08-07T15:32:26Z"));
    let e = run("rekor2-timestamp-outside-tsa-cert-validity_fail").unwrap_err();
    assert!(
        matches!(
            e,
            TimestampError::OutsideTsaCertValidity {
                reason: CertError::Expired { .. },
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn embedded_certificates_are_not_trusted_by_themselves() {
    let case = "rekor2-timestamp-with-embedded-cert";
    let none = TimestampAuthorities::new(&[]).unwrap();
    let e = verify_timestamp(&token(case), &signature(case), &none).unwrap_err();
    assert_eq!(e.code(), "timestamp.untrusted_tsa", "{e}");
    // The same TSA certificate as the embedded one, with another TSA's trusted root: untrusted.
    let other =
        TimestampAuthorities::new(&root("rekor2-timestamp-with-expired-cert-chain").timestamp_authorities).unwrap();
    let e = verify_timestamp(&token(case), &signature(case), &other).unwrap_err();
    assert_eq!(e.code(), "timestamp.untrusted_tsa", "{e}");
}

#[test]
fn tampering_is_detected() {
    let case = "rekor2-happy-path";
    let (tok, sig, tsas) = (token(case), signature(case), tsas(case));
    let check = |tok: &[u8], sig: &[u8]| code(verify_timestamp(tok, sig, &tsas)).map(|_| ());
    assert_eq!(check(&tok, &sig), Ok(()));
    // Other signature bytes.
    let mut other = sig.clone();
    other[0] ^= 1;
    assert_eq!(check(&tok, &other), Err("timestamp.message_imprint_mismatch"));
    // The CMS signature itself (last bytes of the token are the ECDSA s value).
    let mut t2 = tok.clone();
    let n = t2.len();
    t2[n - 5] ^= 1;
    assert_eq!(check(&t2, &sig), Err("timestamp.signature_invalid"));
    // genTime in the TSTInfo: the message-digest attribute no longer matches.
    let t2 = replace_once(&tok, b"20250612120220Z", b"20250612120221Z", 0);
    assert_eq!(check(&t2, &sig), Err("timestamp.message_digest_mismatch"));
    // The signingTime signed attribute (OID 1.2.840.113549.1.9.5): only the signature catches it.
    let signing_time_oid = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05];
    let pos = tok.windows(11).position(|w| w == signing_time_oid).unwrap();
    let mut t2 = tok.clone();
    assert_eq!(&t2[pos + 11..pos + 15], &[0x31, 0x0f, 0x17, 0x0d]);
    t2[pos + 16] ^= 1; // a digit of the UTCTime
    assert_eq!(check(&t2, &sig), Err("timestamp.signature_invalid"));
    // An embedded certificate is not used when the trusted TSA certificate matches the signer.
    let cert_validity = tok.windows(2).position(|w| w == [0x17, 0x0d]).unwrap();
    assert!(cert_validity < pos);
    let mut t2 = tok.clone();
    t2[cert_validity + 3] ^= 1;
    assert_eq!(check(&t2, &sig), Ok(()));
    // The ESS signing-certificate-v2 hash of the TSA certificate.
    let tsa_cert_hash = hex::decode("06f4ffe047feb35999b733b0d7a323501cfc18e4c03366a845d77536e74b2744").unwrap();
    let mut bad_hash = tsa_cert_hash.clone();
    bad_hash[0] ^= 1;
    let t2 = replace_once(&tok, &tsa_cert_hash, &bad_hash, 0);
    assert_eq!(check(&t2, &sig), Err("timestamp.signing_certificate_mismatch"));
    // The content-type attribute (second occurrence of the id-ct-TSTInfo OID).
    let tst_oid = OID_TST_INFO.as_bytes();
    let mut other_oid = tst_oid.to_vec();
    *other_oid.last_mut().unwrap() = 0x05;
    let t2 = replace_once(&tok, tst_oid, &other_oid, 1);
    assert_eq!(check(&t2, &sig), Err("timestamp.signed_attributes_invalid"));
    let t2 = replace_once(&tok, tst_oid, &other_oid, 0);
    assert_eq!(check(&t2, &sig), Err("timestamp.malformed"));
    // A response whose status is "rejection".
    let t2 = replace_once(
        &tok,
        &[0x30, 0x03, 0x02, 0x01, 0x00],
        &[0x30, 0x03, 0x02, 0x01, 0x02],
        0,
    );
    assert_eq!(check(&t2, &sig), Err("timestamp.not_granted"));
}

#[test]
fn bare_time_stamp_token_is_accepted() {
    let case = "rekor2-timestamp-without-embedded-cert";
    let tok = token(case);
    // TimeStampResp = SEQUENCE { PKIStatusInfo, ContentInfo }: cut out the ContentInfo.
    let top = asn1::single(&tok, tag::SEQUENCE, "x").unwrap();
    let mut r = top.reader();
    r.read().unwrap();
    let content_info = r.read().unwrap().raw.to_vec();
    let v = verify_timestamp(&content_info, &signature(case), &tsas(case)).unwrap();
    assert_eq!(v.time, run(case).unwrap().time);
}

#[test]
fn trusted_root_tsas_build() {
    for which in ["production", "staging"] {
        let r = crate::x509::tests::named_root(which);
        assert!(!TimestampAuthorities::new(&r.timestamp_authorities).unwrap().is_empty());
    }
}

#[test]
fn malformed_tokens_never_panic() {
    let case = "rekor2-timestamp-with-embedded-cert";
    let (tok, sig, tsas) = (token(case), signature(case), tsas(case));
    for bad in [&[][..], b"\x30\x00", b"garbage", b"\x30\x03\x02\x01\x00"] {
        let e = verify_timestamp(bad, &sig, &tsas).unwrap_err();
        assert_eq!(e.code(), "timestamp.malformed", "{bad:?}: {e}");
    }
    for len in 0..tok.len() {
        assert!(verify_timestamp(&tok[..len], &sig, &tsas).is_err(), "prefix {len}");
    }
    for i in 0..tok.len() {
        let mut t2 = tok.clone();
        t2[i] ^= 0x80;
        // Must not panic; flipping any byte must not verify, except inside unsigned, unchecked
        // fields (the embedded certificates are only candidates and the SignedData version is not used).
        let _ = verify_timestamp(&t2, &sig, &tsas);
    }
}

#[test]
fn every_fixture_timestamp_verifies_unless_it_is_the_point_of_the_case() {
    let expected_failures = [
        "rekor2-timestamp-outside-trust-root-tsa-validity_fail",
        "rekor2-timestamp-outside-tsa-cert-validity_fail",
        "rekor2-timestamp-payload-mismatch_fail",
        "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail",
        "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail",
    ];
    let mut checked = 0;
    for case in cases() {
        let Some(b) = try_bundle(&case) else { continue };
        if b["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0].is_null() {
            continue;
        }
        let Some(r) = try_root(&case) else { continue };
        let tsas = TimestampAuthorities::new(&r.timestamp_authorities).unwrap();
        let result = verify_timestamp(&token(&case), &signature(&case), &tsas);
        assert_eq!(
            result.is_err(),
            expected_failures.contains(&case.as_str()),
            "{case}: {result:?}"
        );
        checked += 1;
    }
    assert!(checked >= 30, "{checked}");
}

/// `cargo test --release -p trust-core --lib perf -- --ignored --nocapture`
#[test]
#[ignore]
fn perf() {
    use std::time::Instant;
    let case = "rekor2-happy-path";
    let (tok, sig, tsas) = (token(case), signature(case), tsas(case));
    let leaf = crate::x509::tests::leaf_der(case).unwrap();
    let pool = CertificatePool::new(&root(case).certificate_authorities).unwrap();
    let n = 2000;
    let time = |label: &str, f: &mut dyn FnMut()| {
        f();
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        println!("{label}: {:.2} us", start.elapsed().as_secs_f64() * 1e6 / f64::from(n));
    };
    time("Certificate::from_der (Fulcio leaf)", &mut || {
        std::hint::black_box(Certificate::from_der(&leaf).unwrap());
    });
    let c = Certificate::from_der(&leaf).unwrap();
    let spki = c.public_key().spki_der().to_vec();
    time("PublicKey::from_spki_der (P-256)", &mut || {
        std::hint::black_box(crate::crypto::PublicKey::from_spki_der(&spki).unwrap());
    });
    let tsa_spki = tsas.pool.chain(0).unwrap()[0].public_key().spki_der().to_vec();
    time("PublicKey::from_spki_der (P-384)", &mut || {
        std::hint::black_box(crate::crypto::PublicKey::from_spki_der(&tsa_spki).unwrap());
    });
    let at = UnixTime::from_secs(c.not_before().secs() + 1);
    time("signer_identity + fulcio", &mut || {
        std::hint::black_box((c.signer_identity(), c.fulcio().issuer.as_deref()));
    });
    time("precertificate_tbs_der", &mut || {
        std::hint::black_box(c.precertificate_tbs_der());
    });
    time("CertificatePool::verify (1 ECDSA P-384)", &mut || {
        std::hint::black_box(pool.verify(&c, at, ExtendedKeyUsage::CodeSigning).unwrap());
    });
    time("timestamp parse + imprint + signer + attrs (no signature)", &mut || {
        let t = parse_token(&tok).unwrap();
        let tst = parse_tst_info(t.tst_info).unwrap();
        assert_eq!(tst.imprint_algorithm.hash(&sig).as_bytes(), tst.imprint);
        let s = find_signer(&t.signer.sid, t.certificates.as_ref(), &tsas).unwrap();
        check_signed_attributes(&t.signer, t.tst_info, s.cert()).unwrap();
        std::hint::black_box(
            tsas.pool
                .verify(s.cert(), tst.gen_time, ExtendedKeyUsage::TimeStamping)
                .unwrap(),
        );
    });
    time("verify_timestamp (1 ECDSA P-384)", &mut || {
        std::hint::black_box(verify_timestamp(&tok, &sig, &tsas).unwrap());
    });
    time("Certificate::from_der (embedded TSA cert)", &mut || {
        std::hint::black_box(Certificate::from_der(tsas.pool.chain(0).unwrap()[0].der()).unwrap());
    });
}
