use super::*;
use crate::trust_root::TrustedRoot;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use base64::Engine;

pub(crate) fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/../../fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

pub(crate) fn b64(s: &str) -> Vec<u8> {
    // Some fixtures wrap base64 lines (protobuf JSON decoders ignore the newlines).
    let s: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

pub(crate) fn bundle(case: &str) -> serde_json::Value {
    try_bundle(case).unwrap()
}

pub(crate) fn try_bundle(case: &str) -> Option<serde_json::Value> {
    serde_json::from_slice(&fixture(&format!(
        "sigstore-conformance/bundle-verify/{case}/bundle.sigstore.json"
    )))
    .ok()
}

/// The case's own trusted root, else the production one.
pub(crate) fn root(case: &str) -> TrustedRoot {
    try_root(case).unwrap()
}

/// `None` for the cases whose trusted root is deliberately invalid.
pub(crate) fn try_root(case: &str) -> Option<TrustedRoot> {
    let own = format!(
        "{}/../../fixtures/sigstore-conformance/bundle-verify/{case}/trusted_root.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let json = std::fs::read(own).unwrap_or_else(|_| fixture("sigstore-trust-roots/production/trusted_root.json"));
    TrustedRoot::from_json(&json).ok()
}

pub(crate) fn named_root(which: &str) -> TrustedRoot {
    TrustedRoot::from_json(&fixture(&format!("sigstore-trust-roots/{which}/trusted_root.json"))).unwrap()
}

pub(crate) fn leaf_der(case: &str) -> Option<Vec<u8>> {
    let b = try_bundle(case)?;
    let vm = &b["verificationMaterial"];
    let raw = vm["certificate"]["rawBytes"]
        .as_str()
        .or_else(|| vm["x509CertificateChain"]["certificates"][0]["rawBytes"].as_str())?;
    Some(b64(raw))
}

fn leaf(case: &str) -> Certificate {
    Certificate::from_der(&leaf_der(case).unwrap()).unwrap()
}

pub(crate) fn cases() -> Vec<String> {
    let dir = format!(
        "{}/../../fixtures/sigstore-conformance/bundle-verify",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("bundle.sigstore.json").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn secs(t: UnixTime, delta: i64) -> UnixTime {
    UnixTime::from_secs(t.secs() + delta)
}

const IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const GITHUB: &str = "https://token.actions.githubusercontent.com";

#[test]
fn happy_path_leaf_decodes() {
    let c = leaf("happy-path-v0.3");
    assert_eq!(c.signer_identity().as_deref(), Some(IDENTITY));
    assert_eq!(c.subject_alternative_names(), &[SubjectAltName::Uri(IDENTITY.into())]);
    assert_eq!(
        (c.not_before().secs(), c.not_after().secs()),
        (1_710_869_186, 1_710_869_786)
    );
    assert!(!c.is_ca() && !c.is_self_signed());
    assert!(c.has_extended_key_usage(ExtendedKeyUsage::CodeSigning));
    assert!(!c.has_extended_key_usage(ExtendedKeyUsage::TimeStamping));
    assert_eq!(c.unhandled_critical_extension(), None);
    assert_eq!(c.public_key().kind(), crate::crypto::KeyKind::EcdsaP256);
    assert_eq!(hex::encode(c.serial()), "68bfedb264131e4db59add54ba4fb0edabc3073e");
    assert_eq!(
        hex::encode(c.authority_key_id().unwrap()),
        "dfd3e9cf56241196f9a8d8e92855a2c62e18643f"
    );
    assert_eq!(
        hex::encode(c.subject_key_id().unwrap()),
        "16fd520b388428ddab472ae37959456d22e0d7f4"
    );
    let repo = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon";
    let sha = "c7b3dfb335f051e1c86bda4c716fac97df62ad81";
    let s = |v: &str| Some(v.to_string());
    let expected = FulcioExtensions {
        issuer: s(GITHUB),
        github_workflow_trigger: s("workflow_dispatch"),
        github_workflow_sha: s(sha),
        github_workflow_name: s("Extremely dangerous OIDC beacon"),
        github_workflow_repository: s("sigstore-conformance/extremely-dangerous-public-oidc-beacon"),
        github_workflow_ref: s("refs/heads/main"),
        build_signer_uri: s(IDENTITY),
        build_signer_digest: s(sha),
        runner_environment: s("github-hosted"),
        source_repository_uri: s(repo),
        source_repository_digest: s(sha),
        source_repository_ref: s("refs/heads/main"),
        source_repository_identifier: s("632596897"),
        source_repository_owner_uri: s("https://github.com/sigstore-conformance"),
        source_repository_owner_identifier: s("131804563"),
        build_config_uri: s(IDENTITY),
        build_config_digest: s(sha),
        build_trigger: s("workflow_dispatch"),
        run_invocation_uri: s(&format!("{repo}/actions/runs/8347481628/attempts/1")),
        source_repository_visibility_at_signing: s("public"),
        deployment_environment: None,
    };
    assert_eq!(c.fulcio(), &expected);
    // Raw slices are views of the DER.
    assert_eq!(c.der(), leaf_der("happy-path-v0.3").unwrap().as_slice());
    assert!(c.der().windows(c.tbs_der().len()).any(|w| w == c.tbs_der()));
    assert_eq!(c.tbs_der()[0], 0x30);
    let ext = c
        .extension_value(&ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.2"))
        .unwrap();
    assert_eq!(ext, b"workflow_dispatch");
}

#[test]
fn pem_is_the_der_and_is_cached() {
    let cert = leaf("happy-path-v0.3");
    let pem = cert.pem();
    assert_eq!(pem, crate::crypto::pem_encode("CERTIFICATE", cert.der()));
    assert!(std::ptr::eq(pem, cert.pem()), "encoded once");
    let (label, der) = crate::crypto::pem_decode(pem).unwrap();
    assert_eq!((label.as_str(), der.as_slice()), ("CERTIFICATE", cert.der()));
    assert_eq!(cert.clone().pem(), pem);
}

#[test]
fn issuer_falls_back_to_deprecated_extension_and_v2_wins() {
    // intoto-with-custom-trust-root has .8 before .1; both say GitHub.
    let c = leaf("intoto-with-custom-trust-root");
    assert_eq!(c.fulcio().issuer.as_deref(), Some(GITHUB));
    assert_eq!(c.fulcio().build_signer_uri, None);
    let mut b = extensions::FulcioBuilder::default();
    b.add(1, b"https://v1").unwrap();
    assert_eq!(b.finish().issuer.as_deref(), Some("https://v1"));
    let mut b = extensions::FulcioBuilder::default();
    b.add(1, b"https://v1").unwrap();
    b.add(8, b"\x0c\x0ahttps://v2").unwrap();
    b.add(23, b"\x0c\x04prod").unwrap();
    let f = b.finish();
    assert_eq!(
        (f.issuer.as_deref(), f.deployment_environment.as_deref()),
        (Some("https://v2"), Some("prod"))
    );
    let mut b = extensions::FulcioBuilder::default();
    let err = b.add(9, b"\x04\x01x").unwrap_err();
    assert_eq!(err.code(), "cert.malformed");
}

#[test]
fn embedded_scts_and_precertificate_tbs() {
    let c = leaf("happy-path-v0.3");
    let scts = c.embedded_scts().unwrap();
    // TLS vector: u16 total length, then one u16-prefixed SCT.
    assert_eq!(usize::from(u16::from_be_bytes([scts[0], scts[1]])), scts.len() - 2);
    let pre = c.precertificate_tbs_der().unwrap();
    let parsed = asn1::single(&pre, asn1::tag::SEQUENCE, "x").unwrap();
    assert!(pre.len() < c.tbs_der().len());
    assert!(!pre.windows(scts.len()).any(|w| w == scts));
    // Everything but the SCT extension is kept, in order.
    let ext_count = |tbs: &[u8]| {
        let t = asn1::single(tbs, asn1::tag::SEQUENCE, "x").unwrap();
        let mut r = t.reader();
        let mut last = None;
        while !r.is_empty() {
            last = Some(r.read().unwrap());
        }
        let exts = asn1::single_in(&last.unwrap(), asn1::tag::SEQUENCE, "x").unwrap();
        let mut r = exts.reader();
        let mut n = 0;
        while !r.is_empty() {
            r.read().unwrap();
            n += 1;
        }
        n
    };
    assert_eq!(ext_count(&pre) + 1, ext_count(c.tbs_der()));
    assert_eq!(parsed.raw.len(), pre.len());
}

/// `precertificate_tbs_der` equals an independent DER re-encoding (x509-cert) of the TBS without
/// the SCT-list extension, for every fixture leaf that carries SCTs.
#[test]
fn precertificate_tbs_matches_a_der_reencoding() {
    let mut compared = 0;
    for case in cases() {
        let Some(c) = leaf_der(&case).and_then(|der| Certificate::from_der(&der).ok()) else {
            continue;
        };
        let Some(pre) = c.precertificate_tbs_der() else {
            assert!(c.embedded_scts().is_none(), "{case}");
            continue;
        };
        let mut cert = <x509_cert::Certificate as der::Decode>::from_der(c.der()).unwrap();
        let exts: Vec<_> = cert.tbs_certificate.extensions.take().unwrap_or_default();
        let kept: Vec<_> = exts.into_iter().filter(|e| e.extn_id != OID_SCT_LIST).collect();
        cert.tbs_certificate.extensions = Some(kept).filter(|k| !k.is_empty());
        assert_eq!(pre, der::Encode::to_der(&cert.tbs_certificate).unwrap(), "{case}");
        compared += 1;
    }
    assert!(compared >= 10, "only {compared} fixture leaves with SCTs");
}

/// An SCT-list extension holding one fake SCT of `n` bytes.
fn sct_ext(critical: bool, n: usize) -> Vec<u8> {
    let mut list = ((n + 2) as u16).to_be_bytes().to_vec();
    list.extend_from_slice(&(n as u16).to_be_bytes());
    list.extend(std::iter::repeat_n(0x5a, n));
    ext("1.3.6.1.4.1.11129.2.4.2", critical, &tlv(0x04, &list))
}

/// The precertificate TBS of synthetic leaves is the TBS of the same leaf issued without the SCT
/// list: when it is the only extension (the `[3]` field is dropped, not left empty), when it is
/// critical, and whatever the length forms of the TBS, `[3]` and extensions headers become.
#[test]
fn precertificate_tbs_of_synthetic_leaves() {
    let (key, spki) = (Key::new(), Key::new().spki());
    let issue = |exts: &[Vec<u8>]| Certificate::from_der(&make_der("inter", &key, "", &spki, (T0, T0 + 100), exts));
    let check = |exts: &[Vec<u8>], sct_at: usize, sct: Vec<u8>| {
        let mut with = exts.to_vec();
        with.insert(sct_at, sct);
        let (c, without) = (issue(&with).unwrap(), issue(exts).unwrap());
        assert!(c.embedded_scts().is_some());
        let pre = c.precertificate_tbs_der().unwrap();
        assert_eq!(pre, without.tbs_der(), "{} extension(s), SCT at {sct_at}", exts.len());
        assert!(without.embedded_scts().is_none() && without.precertificate_tbs_der().is_none());
    };
    // The SCT list is the only extension.
    check(&[], 0, sct_ext(false, 100));
    check(&[], 0, sct_ext(true, 300));
    // Padding sizes around every short/long and one/two/three-octet length boundary.
    let sizes = (0..300).chain((65_300..65_600).step_by(7));
    for (i, pad) in sizes.enumerate() {
        let others = vec![ext("2.5.29.37", false, EKU_CODE), ext("1.2.3.4", false, &vec![7; pad])];
        check(&others, i % 3, sct_ext(i % 2 == 0, 40 + i % 200));
    }
}

/// A leaf with a non-minimal DER length never gets as far as a precertificate: the parser rejects it.
#[test]
fn non_minimal_lengths_are_rejected_before_splicing() {
    let (key, spki) = (Key::new(), Key::new().spki());
    let issue = |sct: Vec<u8>| {
        let exts = [leaf_exts(), vec![sct]].concat();
        Certificate::from_der(&make_der("inter", &key, "", &spki, (T0, T0 + 100), &exts))
    };
    let good = sct_ext(false, 20);
    // The same SCT extension with its outer length in the long form (0x81 for a length < 0x80).
    let bad = [&[0x30, 0x81][..], &good[1..]].concat();
    assert_eq!(issue(bad).unwrap_err().code(), "cert.malformed");
    assert!(issue(good).unwrap().precertificate_tbs_der().is_some());
}

#[test]
fn der_lengths_are_minimal() {
    for (len, want) in [
        (0usize, vec![0]),
        (0x7f, vec![0x7f]),
        (0x80, vec![0x81, 0x80]),
        (0xff, vec![0x81, 0xff]),
        (0x100, vec![0x82, 0x01, 0x00]),
        (0xffff, vec![0x82, 0xff, 0xff]),
        (0x1_0000, vec![0x83, 0x01, 0x00, 0x00]),
        (0x100_0000, vec![0x84, 0x01, 0x00, 0x00, 0x00]),
    ] {
        let mut out = Vec::new();
        push_len(&mut out, len);
        assert_eq!(out, want, "{len}");
        assert_eq!(len_octets(len), want.len(), "{len}");
    }
}

#[test]
fn chain_verifies_against_production_inside_validity() {
    let pool = CertificatePool::new(&named_root("production").certificate_authorities).unwrap();
    let c = leaf("happy-path-v0.3");
    let v = pool
        .verify(&c, secs(c.not_before(), 1), ExtendedKeyUsage::CodeSigning)
        .unwrap();
    assert_eq!(v.authority_index, 1);
    assert_eq!(v.chain.len(), 3);
    assert!(std::ptr::eq(v.chain[0], &c));
    assert!(std::ptr::eq(v.issuer, v.chain[1]));
    assert_eq!(v.issuer.subject_key_id(), c.authority_key_id());
    assert!(v.chain[2].is_self_signed());
    // Closed interval: both ends are inside.
    pool.verify(&c, c.not_before(), ExtendedKeyUsage::CodeSigning).unwrap();
    pool.verify(&c, c.not_after(), ExtendedKeyUsage::CodeSigning).unwrap();
    // Re-checking at other times without another signature verification.
    v.check_time(c.not_after()).unwrap();
    assert_eq!(
        v.check_time(secs(c.not_after(), 1)).unwrap_err().code(),
        "cert.expired_at_signing_time"
    );
    assert_eq!(
        v.check_time(secs(c.not_before(), -1)).unwrap_err().code(),
        "cert.not_yet_valid_at_signing_time"
    );
}

#[test]
fn chain_fails_outside_leaf_validity() {
    let pool = CertificatePool::new(&named_root("production").certificate_authorities).unwrap();
    let c = leaf("happy-path-v0.3");
    let e = pool
        .verify(&c, secs(c.not_after(), 1), ExtendedKeyUsage::CodeSigning)
        .unwrap_err();
    assert_eq!(e.code(), "cert.expired_at_signing_time", "{e}");
    let e = pool
        .verify(&c, secs(c.not_before(), -1), ExtendedKeyUsage::CodeSigning)
        .unwrap_err();
    assert_eq!(e.code(), "cert.not_yet_valid_at_signing_time", "{e}");
    let e = pool
        .verify(
            &c,
            UnixTime::new(c.not_after().secs(), 1),
            ExtendedKeyUsage::CodeSigning,
        )
        .unwrap_err();
    assert_eq!(e.code(), "cert.expired_at_signing_time", "{e}");
}

#[test]
fn chain_fails_against_another_instance() {
    let staging = CertificatePool::new(&named_root("staging").certificate_authorities).unwrap();
    let production = CertificatePool::new(&named_root("production").certificate_authorities).unwrap();
    let c = leaf("happy-path-v0.3");
    let e = staging
        .verify(&c, secs(c.not_before(), 1), ExtendedKeyUsage::CodeSigning)
        .unwrap_err();
    assert_eq!(e.code(), "cert.chain_untrusted", "{e}");
    let s = leaf("bundle-from-wrong-instance_fail");
    staging
        .verify(&s, secs(s.not_before(), 1), ExtendedKeyUsage::CodeSigning)
        .unwrap();
    let e = production
        .verify(&s, secs(s.not_before(), 1), ExtendedKeyUsage::CodeSigning)
        .unwrap_err();
    assert_eq!(e.code(), "cert.chain_untrusted", "{e}");
}

#[test]
fn tampered_leaf_fails_signature() {
    let pool = CertificatePool::new(&named_root("production").certificate_authorities).unwrap();
    let der = leaf_der("happy-path-v0.3").unwrap();
    let good = Certificate::from_der(&der).unwrap();
    let at = secs(good.not_before(), 1);
    // A byte inside the ECDSA signature's r value.
    let mut sig_flip = der.clone();
    let pos = der.len() - 20;
    sig_flip[pos] ^= 0x01;
    let c = Certificate::from_der(&sig_flip).unwrap();
    assert_eq!(c.signature_value().len(), good.signature_value().len());
    assert_eq!(
        pool.verify(&c, at, ExtendedKeyUsage::CodeSigning).unwrap_err().code(),
        "cert.signature_invalid"
    );
    // A byte of a Fulcio extension in the TBS.
    let mut tbs_flip = der.clone();
    let needle = b"workflow_dispatch";
    let p = der.windows(needle.len()).position(|w| w == needle).unwrap();
    tbs_flip[p] = b'W';
    let c = Certificate::from_der(&tbs_flip).unwrap();
    assert_eq!(c.fulcio().github_workflow_trigger.as_deref(), Some("Workflow_dispatch"));
    assert_eq!(
        pool.verify(&c, at, ExtendedKeyUsage::CodeSigning).unwrap_err().code(),
        "cert.signature_invalid"
    );
    let issuer = pool.chain(1).unwrap().first().unwrap();
    assert_eq!(c.verify_issued_by(issuer).unwrap_err().code(), "cert.signature_invalid");
    good.verify_issued_by(issuer).unwrap();
    assert_eq!(good.verify_issued_by(&good).unwrap_err().code(), "cert.issuer_mismatch");
}

#[test]
fn expired_certificate_case_fails_on_validity() {
    // intoto-expired-certificate_fail: the leaf (2030) was issued outside its CA's validity (2023).
    let case = "intoto-expired-certificate_fail";
    let pool = CertificatePool::new(&root(case).certificate_authorities).unwrap();
    let c = leaf(case);
    let integrated = UnixTime::from_secs(1_675_209_600);
    let e = pool.verify(&c, integrated, ExtendedKeyUsage::CodeSigning).unwrap_err();
    assert_eq!(e.code(), "cert.not_yet_valid_at_signing_time", "{e}");
    let e = pool
        .verify(&c, secs(c.not_before(), 1), ExtendedKeyUsage::CodeSigning)
        .unwrap_err();
    assert_eq!(e.code(), "cert.issuer_outside_validity", "{e}");
    // The sibling case with a correctly dated leaf verifies.
    let ok = leaf("intoto-with-custom-trust-root");
    pool.verify(&ok, secs(ok.not_before(), 1), ExtendedKeyUsage::CodeSigning)
        .unwrap();
}

#[test]
fn authority_validity_window_is_enforced() {
    // The first production CA is valid until 2022-12-31T23:59:59.999Z; its leaves are older.
    let root = named_root("production");
    let mut cas = root.certificate_authorities.clone();
    cas.truncate(1);
    let intermediate_leaf = leaf("happy-path-v0.3");
    let pool = CertificatePool::new(&cas).unwrap();
    let e = pool.verify(
        &intermediate_leaf,
        secs(intermediate_leaf.not_before(), 1),
        ExtendedKeyUsage::CodeSigning,
    );
    assert_eq!(e.unwrap_err().code(), "cert.chain_untrusted");
    let mut cas = root.certificate_authorities.clone();
    cas[1].valid_for.end = Some(secs(intermediate_leaf.not_before(), 0));
    let pool = CertificatePool::new(&cas).unwrap();
    pool.verify(
        &intermediate_leaf,
        intermediate_leaf.not_before(),
        ExtendedKeyUsage::CodeSigning,
    )
    .unwrap();
    let e = pool.verify(
        &intermediate_leaf,
        secs(intermediate_leaf.not_before(), 1),
        ExtendedKeyUsage::CodeSigning,
    );
    assert_eq!(e.unwrap_err().code(), "cert.outside_authority_validity");
}

#[test]
fn usage_checks() {
    let root = named_root("production");
    let pool = CertificatePool::new(&root.certificate_authorities).unwrap();
    let c = leaf("happy-path-v0.3");
    let at = secs(c.not_before(), 1);
    assert_eq!(
        pool.verify(&c, at, ExtendedKeyUsage::TimeStamping).unwrap_err().code(),
        "cert.not_timestamping"
    );
    // The intermediate presented as a leaf is a CA.
    let intermediate = pool.chain(1).unwrap()[0].clone();
    let e = pool
        .verify(&intermediate, at, ExtendedKeyUsage::CodeSigning)
        .unwrap_err();
    assert_eq!(e.code(), "cert.leaf_is_ca");
    // A TSA signing certificate is not a code-signing certificate.
    let tsa = CertificatePool::new(&root.timestamp_authorities).unwrap();
    let tsa_leaf = tsa.chain(0).unwrap()[0].clone();
    let t = secs(tsa_leaf.not_before(), 1);
    tsa.verify(
        &tsa_leaf,
        UnixTime::from_secs(1_760_000_000),
        ExtendedKeyUsage::TimeStamping,
    )
    .unwrap();
    assert_eq!(
        tsa.verify(&tsa_leaf, t, ExtendedKeyUsage::CodeSigning)
            .unwrap_err()
            .code(),
        "cert.not_code_signing"
    );
}

#[test]
fn every_fixture_trusted_root_builds_pools() {
    let mut n = 0;
    for case in cases() {
        let Some(r) = try_root(&case) else { continue };
        CertificatePool::new(&r.certificate_authorities).unwrap_or_else(|e| panic!("{case}: {e}"));
        CertificatePool::new(&r.timestamp_authorities).unwrap_or_else(|e| panic!("{case}: {e}"));
        n += 1;
    }
    assert!(n > 60);
    for which in ["production", "staging"] {
        let r = named_root(which);
        CertificatePool::new(&r.certificate_authorities).unwrap();
        CertificatePool::new(&r.timestamp_authorities).unwrap();
    }
}

#[test]
fn every_fixture_leaf_parses_and_chains_at_issuance() {
    for case in cases() {
        let Some(der) = leaf_der(&case) else { continue };
        let c = Certificate::from_der(&der).unwrap_or_else(|e| panic!("{case}: {e}"));
        let identity = c.signer_identity().unwrap_or_else(|| panic!("{case}: no identity"));
        if !case.ends_with("_fail") {
            assert_eq!(identity, IDENTITY, "{case}");
        }
        assert!(c.fulcio().issuer.is_some(), "{case}");
        let Some(root) = try_root(&case) else { continue };
        let pool = CertificatePool::new(&root.certificate_authorities).unwrap();
        let r = pool.verify(&c, secs(c.not_before(), 1), ExtendedKeyUsage::CodeSigning);
        match case.as_str() {
            "bundle-from-wrong-instance_fail" => assert_eq!(r.unwrap_err().code(), "cert.chain_untrusted"),
            "intoto-expired-certificate_fail" => assert_eq!(r.unwrap_err().code(), "cert.issuer_outside_validity"),
            _ => {
                r.unwrap_or_else(|e| panic!("{case}: {e}"));
            }
        }
    }
}

#[test]
fn bundle_chain_root_is_self_signed() {
    let vm = &bundle("bundle-with-root-cert_fail")["verificationMaterial"];
    let certs: Vec<Certificate> = vm["x509CertificateChain"]["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Certificate::from_der(&b64(c["rawBytes"].as_str().unwrap())).unwrap())
        .collect();
    assert_eq!(
        certs.iter().map(Certificate::is_self_signed).collect::<Vec<_>>(),
        [false, true, false]
    );
}

#[test]
fn malformed_input_never_panics() {
    let der = leaf_der("happy-path-v0.3").unwrap();
    assert_eq!(Certificate::from_der(&[]).unwrap_err().code(), "cert.malformed");
    assert_eq!(Certificate::from_der(b"garbage").unwrap_err().code(), "cert.malformed");
    let mut trailing = der.clone();
    trailing.push(0);
    assert_eq!(Certificate::from_der(&trailing).unwrap_err().code(), "cert.malformed");
    for len in 0..der.len() {
        assert!(Certificate::from_der(&der[..len]).is_err(), "prefix {len}");
    }
    for i in 0..der.len() {
        for x in [0x01u8, 0x80, 0xff] {
            let mut d = der.clone();
            d[i] ^= x;
            if let Ok(c) = Certificate::from_der(&d) {
                let _ = (c.signer_identity(), c.precertificate_tbs_der(), c.is_self_signed());
            }
        }
    }
}

// ---- synthetic certificates, to reach checks the fixtures do not exercise ----

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    push_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

fn name(cn: &str) -> Vec<u8> {
    let atv = tlv(
        0x30,
        &[tlv(0x06, &[0x55, 0x04, 0x03]), tlv(0x0c, cn.as_bytes())].concat(),
    );
    tlv(0x30, &tlv(0x31, &atv))
}

fn gtime(secs: i64) -> Vec<u8> {
    let (y, mo, d, h, mi, s) = UnixTime::from_secs(secs).to_civil();
    tlv(0x18, format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z").as_bytes())
}

struct Key(EcdsaKeyPair);

impl Key {
    fn new() -> Key {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new()).unwrap();
        Key(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap())
    }
    fn spki(&self) -> Vec<u8> {
        aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(self.0.public_key())
            .unwrap()
            .as_ref()
            .to_vec()
    }
}

const BC_CA: &[u8] = &[0x30, 0x03, 0x01, 0x01, 0xff];
const BC_CA_PATHLEN0: &[u8] = &[0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x00];
const KU_CERT_SIGN: &[u8] = &[0x03, 0x02, 0x01, 0x06];
const KU_DIGITAL_SIG: &[u8] = &[0x03, 0x02, 0x07, 0x80];
const EKU_CODE: &[u8] = &[0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];
const EKU_TSA: &[u8] = &[0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];

fn ext(oid: &str, critical: bool, value: &[u8]) -> Vec<u8> {
    let oid = ObjectIdentifier::new(oid).unwrap();
    let mut c = tlv(0x06, oid.as_bytes());
    if critical {
        c.extend_from_slice(&[0x01, 0x01, 0xff]);
    }
    c.extend(tlv(0x04, value));
    tlv(0x30, &c)
}

fn make_cert(
    issuer: &str,
    key: &Key,
    subject: &str,
    spki: &[u8],
    validity: (i64, i64),
    exts: &[Vec<u8>],
) -> Certificate {
    Certificate::from_der(&make_der(issuer, key, subject, spki, validity, exts)).unwrap()
}

fn make_der(issuer: &str, key: &Key, subject: &str, spki: &[u8], validity: (i64, i64), exts: &[Vec<u8>]) -> Vec<u8> {
    let alg = tlv(0x30, &tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]));
    let mut tbs = tlv(0xa0, &[0x02, 0x01, 0x02]);
    tbs.extend(tlv(0x02, &[0x01]));
    tbs.extend_from_slice(&alg);
    tbs.extend(name(issuer));
    tbs.extend(tlv(0x30, &[gtime(validity.0), gtime(validity.1)].concat()));
    tbs.extend(name(subject));
    tbs.extend_from_slice(spki);
    if !exts.is_empty() {
        tbs.extend(tlv(0xa3, &tlv(0x30, &exts.concat())));
    }
    let tbs = tlv(0x30, &tbs);
    let sig = key.0.sign(&SystemRandom::new(), &tbs).unwrap();
    let mut bits = vec![0u8];
    bits.extend_from_slice(sig.as_ref());
    tlv(0x30, &[tbs, alg, tlv(0x03, &bits)].concat())
}

const T0: i64 = 1_700_000_000;

fn authority(certs: &[&Certificate]) -> crate::trust_root::CertificateAuthority {
    crate::trust_root::CertificateAuthority {
        uri: String::new(),
        subject: (String::new(), String::new()),
        certificates: certs.iter().map(|c| c.der().to_vec()).collect(),
        valid_for: crate::time::TimeRange {
            start: UnixTime::from_secs(T0),
            end: None,
        },
    }
}

struct Pki {
    root: Certificate,
    inter_key: Key,
    inter: Certificate,
}

fn pki(inter_exts: &[Vec<u8>]) -> Pki {
    let root_key = Key::new();
    let root = make_cert(
        "root",
        &root_key,
        "root",
        &root_key.spki(),
        (T0, T0 + 1000),
        &[ext("2.5.29.19", true, BC_CA), ext("2.5.29.15", true, KU_CERT_SIGN)],
    );
    let inter_key = Key::new();
    let inter = make_cert(
        "root",
        &root_key,
        "inter",
        &inter_key.spki(),
        (T0, T0 + 1000),
        inter_exts,
    );
    Pki { root, inter_key, inter }
}

fn ca_exts() -> Vec<Vec<u8>> {
    vec![
        ext("2.5.29.19", true, BC_CA_PATHLEN0),
        ext("2.5.29.15", true, KU_CERT_SIGN),
    ]
}

fn leaf_exts() -> Vec<Vec<u8>> {
    vec![
        ext("2.5.29.15", true, KU_DIGITAL_SIG),
        ext("2.5.29.37", false, EKU_CODE),
    ]
}

#[test]
fn synthetic_chain_checks() {
    let p = pki(&ca_exts());
    let pool = CertificatePool::new(&[authority(&[&p.inter, &p.root])]).unwrap();
    let at = UnixTime::from_secs(T0 + 10);
    let issue = |exts: &[Vec<u8>]| make_cert("inter", &p.inter_key, "", &Key::new().spki(), (T0, T0 + 100), exts);
    let code = |c: &Certificate| {
        pool.verify(c, at, ExtendedKeyUsage::CodeSigning)
            .map(|_| ())
            .map_err(|e| e.code())
    };

    assert_eq!(code(&issue(&leaf_exts())), Ok(()));
    // Unknown critical extension on the leaf (CT poison: a precertificate is not a certificate).
    let mut e = leaf_exts();
    e.push(ext("1.3.6.1.4.1.11129.2.4.3", true, &[0x05, 0x00]));
    let c = issue(&e);
    assert_eq!(
        c.unhandled_critical_extension().as_deref(),
        Some("1.3.6.1.4.1.11129.2.4.3")
    );
    assert_eq!(code(&c), Err("cert.unhandled_critical_extension"));
    // The same extension, non-critical, is ignored.
    let mut e = leaf_exts();
    e.push(ext("1.3.6.1.4.1.11129.2.4.3", false, &[0x05, 0x00]));
    assert_eq!(code(&issue(&e)), Ok(()));
    // A CA leaf.
    let mut e = leaf_exts();
    e.push(ext("2.5.29.19", true, BC_CA));
    assert_eq!(code(&issue(&e)), Err("cert.leaf_is_ca"));
    // No EKU at all, or the wrong one.
    assert_eq!(code(&issue(&leaf_exts()[..1])), Err("cert.not_code_signing"));
    assert_eq!(
        code(&issue(&[
            ext("2.5.29.15", true, KU_DIGITAL_SIG),
            ext("2.5.29.37", false, EKU_TSA)
        ])),
        Err("cert.not_code_signing")
    );
    // keyUsage without digitalSignature.
    assert_eq!(
        code(&issue(&[
            ext("2.5.29.15", true, KU_CERT_SIGN),
            ext("2.5.29.37", false, EKU_CODE)
        ])),
        Err("cert.key_usage_invalid")
    );
    // Duplicate extensions are malformed.
    let dup = [leaf_exts(), vec![ext("2.5.29.37", false, EKU_CODE)]].concat();
    let der = make_der("inter", &p.inter_key, "", &Key::new().spki(), (T0, T0 + 100), &dup);
    assert_eq!(Certificate::from_der(&der).unwrap_err().code(), "cert.malformed");
    // Long OIDs (fingerprints only cover 15 octets): same tail, different head is not a duplicate.
    let long_a = "1.3.6.1.4.1.99999.1.2.3.4.5.6.7.8.9.10.11.12";
    let long_b = "1.3.6.1.4.1.99998.1.2.3.4.5.6.7.8.9.10.11.12";
    let two = [
        leaf_exts(),
        vec![ext(long_a, false, &[0x05, 0x00]), ext(long_b, false, &[0x05, 0x00])],
    ]
    .concat();
    assert_eq!(code(&issue(&two)), Ok(()));
    let dup = [
        leaf_exts(),
        vec![ext(long_a, false, &[0x05, 0x00]), ext(long_a, false, &[0x05, 0x00])],
    ]
    .concat();
    let der = make_der("inter", &p.inter_key, "", &Key::new().spki(), (T0, T0 + 100), &dup);
    assert_eq!(Certificate::from_der(&der).unwrap_err().code(), "cert.malformed");
    // Leaf issued by an untrusted key with the trusted intermediate's name and no key ids.
    let rogue = make_cert(
        "inter",
        &Key::new(),
        "",
        &Key::new().spki(),
        (T0, T0 + 100),
        &leaf_exts(),
    );
    assert_eq!(code(&rogue), Err("cert.chain_untrusted"));
}

#[test]
fn synthetic_trusted_chain_rules() {
    let at = UnixTime::from_secs(T0 + 10);
    // Intermediate without keyCertSign cannot issue leaves (but the pool still builds: it could be a TSA leaf).
    let p = pki(&[ext("2.5.29.19", true, BC_CA)]);
    let pool = CertificatePool::new(&[authority(&[&p.inter, &p.root])]).unwrap();
    let leaf = make_cert(
        "inter",
        &p.inter_key,
        "",
        &Key::new().spki(),
        (T0, T0 + 100),
        &leaf_exts(),
    );
    let e = pool.verify(&leaf, at, ExtendedKeyUsage::CodeSigning).unwrap_err();
    assert_eq!(e.code(), "cert.issuer_not_ca", "{e}");
    // An intermediate restricted to time stamping cannot be used for code signing.
    let mut exts = ca_exts();
    exts.push(ext("2.5.29.37", false, EKU_TSA));
    let p = pki(&exts);
    let pool = CertificatePool::new(&[authority(&[&p.inter, &p.root])]).unwrap();
    let leaf = make_cert(
        "inter",
        &p.inter_key,
        "",
        &Key::new().spki(),
        (T0, T0 + 100),
        &leaf_exts(),
    );
    let e = pool.verify(&leaf, at, ExtendedKeyUsage::CodeSigning).unwrap_err();
    assert_eq!(e.code(), "cert.issuer_eku_mismatch", "{e}");
    // A root whose pathLenConstraint (0) forbids the intermediate.
    let root_key = Key::new();
    let root = make_cert(
        "root",
        &root_key,
        "root",
        &root_key.spki(),
        (T0, T0 + 1000),
        &[
            ext("2.5.29.19", true, BC_CA_PATHLEN0),
            ext("2.5.29.15", true, KU_CERT_SIGN),
        ],
    );
    let inter_key = Key::new();
    let inter = make_cert(
        "root",
        &root_key,
        "inter",
        &inter_key.spki(),
        (T0, T0 + 1000),
        &ca_exts(),
    );
    let pool = CertificatePool::new(&[authority(&[&inter, &root])]).unwrap();
    let leaf = make_cert(
        "inter",
        &inter_key,
        "",
        &Key::new().spki(),
        (T0, T0 + 100),
        &leaf_exts(),
    );
    assert_eq!(
        pool.verify(&leaf, at, ExtendedKeyUsage::CodeSigning)
            .unwrap_err()
            .code(),
        "cert.issuer_not_ca"
    );
    // A chain whose links do not verify is rejected at construction.
    let p = pki(&ca_exts());
    let other = pki(&ca_exts());
    let e = CertificatePool::new(&[authority(&[&p.inter, &other.root])]).unwrap_err();
    assert_eq!(e.code(), "cert.invalid_trusted_chain", "{e}");
    // A chain whose issuer is not a CA is rejected at construction.
    let e = CertificatePool::new(&[authority(&[&p.root, &p.inter])]).unwrap_err();
    assert_eq!(e.code(), "cert.invalid_trusted_chain", "{e}");
    // The intermediate expiring before `at` is reported as such.
    let p = pki(&ca_exts());
    let pool = CertificatePool::new(&[authority(&[&p.inter, &p.root])]).unwrap();
    let leaf = make_cert(
        "inter",
        &p.inter_key,
        "",
        &Key::new().spki(),
        (T0, T0 + 5000),
        &leaf_exts(),
    );
    let e = pool
        .verify(&leaf, UnixTime::from_secs(T0 + 2000), ExtendedKeyUsage::CodeSigning)
        .unwrap_err();
    assert_eq!(e.code(), "cert.issuer_outside_validity", "{e}");
}

/// The reconstructed precertificate TBS is exactly what the CT log signed (RFC 6962 §3.2).
#[test]
fn embedded_sct_verifies_over_precertificate_tbs() {
    for (case, root) in [
        ("happy-path-v0.3", named_root("production")),
        ("rekor2-happy-path", try_root("rekor2-happy-path").unwrap()),
        (
            "bundle-with-sct-with-extensions",
            try_root("bundle-with-sct-with-extensions").unwrap(),
        ),
    ] {
        let c = leaf(case);
        let pool = CertificatePool::new(&root.certificate_authorities).unwrap();
        let chain = pool
            .verify(&c, secs(c.not_before(), 1), ExtendedKeyUsage::CodeSigning)
            .unwrap();
        let list = c.embedded_scts().unwrap();
        let sct_len = usize::from(u16::from_be_bytes([list[2], list[3]]));
        let sct = &list[4..4 + sct_len];
        assert_eq!(sct[0], 0, "v1");
        let log_id = &sct[1..33];
        let timestamp = &sct[33..41];
        let ext_len = usize::from(u16::from_be_bytes([sct[41], sct[42]]));
        let exts = &sct[41..43 + ext_len];
        let rest = &sct[43 + ext_len..];
        let sig_len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let sig = &rest[4..4 + sig_len];
        let tbs = c.precertificate_tbs_der().unwrap();
        let mut msg = vec![0u8, 0];
        msg.extend_from_slice(timestamp);
        msg.extend_from_slice(&[0, 1]);
        msg.extend_from_slice(&crate::crypto::sha256(chain.issuer.public_key().spki_der()));
        msg.extend_from_slice(&(tbs.len() as u32).to_be_bytes()[1..]);
        msg.extend_from_slice(&tbs);
        msg.extend_from_slice(exts);
        let log = root.ctlogs_by_id(log_id).next().unwrap();
        let scheme = match log.key.kind() {
            crate::crypto::KeyKind::Rsa { .. } => {
                crate::crypto::SignatureScheme::RsaPkcs1(crate::crypto::HashAlgorithm::Sha256)
            }
            _ => crate::crypto::SignatureScheme::Ecdsa(crate::crypto::HashAlgorithm::Sha256),
        };
        log.key
            .verify_with(scheme, &msg, sig)
            .unwrap_or_else(|_| panic!("{case}"));
        // And not over the full TBS.
        let mut bad = msg.clone();
        bad.truncate(msg.len() - tbs.len() - exts.len() - 3);
        bad.extend_from_slice(&(c.tbs_der().len() as u32).to_be_bytes()[1..]);
        bad.extend_from_slice(c.tbs_der());
        bad.extend_from_slice(exts);
        assert!(log.key.verify_with(scheme, &bad, sig).is_err());
    }
}

#[test]
fn subject_alternative_names_and_identity_precedence() {
    let key = Key::new();
    let username_oid = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.7");
    let other_name = tlv(
        0xa0,
        &[
            tlv(0x06, username_oid.as_bytes()),
            tlv(0xa0, &tlv(0x0c, b"octocat!github")),
        ]
        .concat(),
    );
    let email = tlv(0x81, b"a@example.com");
    let uri = tlv(0x86, b"https://example.com/wf");
    let ip = tlv(0x87, &[10, 0, 0, 1]);
    let dns = tlv(0x82, b"example.com");
    let cert = |names: &[&Vec<u8>]| {
        let san = tlv(0x30, &names.iter().map(|n| n.as_slice()).collect::<Vec<_>>().concat());
        make_cert(
            "ca",
            &key,
            "ca",
            &key.spki(),
            (T0, T0 + 10),
            &[ext("2.5.29.17", true, &san)],
        )
    };
    let c = cert(&[&dns, &ip, &other_name, &email, &uri]);
    assert_eq!(
        c.subject_alternative_names(),
        &[
            SubjectAltName::Dns("example.com".into()),
            SubjectAltName::IpAddress([10, 0, 0, 1].into()),
            SubjectAltName::OtherName {
                oid: "1.3.6.1.4.1.57264.1.7".into(),
                value: "octocat!github".into()
            },
            SubjectAltName::Email("a@example.com".into()),
            SubjectAltName::Uri("https://example.com/wf".into()),
        ]
    );
    assert_eq!(c.signer_identity().as_deref(), Some("https://example.com/wf"));
    assert_eq!(
        cert(&[&other_name, &email]).signer_identity().as_deref(),
        Some("a@example.com")
    );
    assert_eq!(
        cert(&[&dns, &other_name]).signer_identity().as_deref(),
        Some("octocat!github")
    );
    assert_eq!(cert(&[&dns, &ip]).signer_identity(), None);
    // Self-issued and signed with its own key; not when the names differ or the key does.
    assert!(c.is_self_signed());
    let san = tlv(0x30, &uri);
    let other_subject = make_cert(
        "ca",
        &key,
        "",
        &key.spki(),
        (T0, T0 + 10),
        &[ext("2.5.29.17", true, &san)],
    );
    assert!(!other_subject.is_self_signed());
    assert!(!make_cert("ca", &Key::new(), "ca", &key.spki(), (T0, T0 + 10), &[]).is_self_signed());
    // A non-ASCII IA5String is malformed.
    let san = tlv(0x30, &tlv(0x81, "é@example.com".as_bytes()));
    let der = make_der(
        "ca",
        &key,
        "",
        &key.spki(),
        (T0, T0 + 10),
        &[ext("2.5.29.17", true, &san)],
    );
    assert_eq!(Certificate::from_der(&der).unwrap_err().code(), "cert.malformed");
}
