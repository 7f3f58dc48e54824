use super::*;
use crate::crypto::PublicKey;
use crate::time::TimeRange;
use crate::tlog::testutil::Case;
use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, RsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING, RSA_PKCS1_SHA256};
use der::{Decode, Encode};

const SCT_OID: const_oid::ObjectIdentifier = const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");

/// The leaf of a case and the SPKI of its issuer (found among the trusted root's CA certificates).
fn leaf_and_issuer(c: &Case) -> (Certificate, Vec<u8>) {
    let leaf = Certificate::from_der(&c.leaf_der().unwrap()).unwrap();
    let issuer = c
        .root
        .certificate_authorities
        .iter()
        .flat_map(|ca| ca.certificates.iter())
        .map(|der| Certificate::from_der(der).unwrap())
        .find(|ca| ca.subject_der() == leaf.issuer_der())
        .unwrap_or_else(|| panic!("{}: issuer not in the trusted root", c.name));
    (leaf, issuer.public_key().spki_der().to_vec())
}

/// The leaf with its SCT-list extension value replaced by `list` (a TLS SignedCertificateTimestampList).
fn with_sct_list(leaf: &Certificate, list: &[u8]) -> Certificate {
    let mut cert = x509_cert::Certificate::from_der(leaf.der()).unwrap();
    let exts = cert.tbs_certificate.extensions.as_mut().unwrap();
    let ext = exts.iter_mut().find(|e| e.extn_id == SCT_OID).unwrap();
    ext.extn_value = der::asn1::OctetString::new(der::asn1::OctetString::new(list).unwrap().to_der().unwrap()).unwrap();
    Certificate::from_der(&cert.to_der().unwrap()).unwrap()
}

fn tls_list(scts: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::new();
    for s in scts {
        body.extend_from_slice(&(s.len() as u16).to_be_bytes());
        body.extend_from_slice(s);
    }
    let mut out = (body.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

struct RawSct {
    version: u8,
    log_id: [u8; 32],
    timestamp: u64,
    extensions: Vec<u8>,
    hash_alg: u8,
    sig_alg: u8,
    signature: Vec<u8>,
}

impl RawSct {
    fn encode(&self) -> Vec<u8> {
        let mut out = vec![self.version];
        out.extend_from_slice(&self.log_id);
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&(self.extensions.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.extensions);
        out.extend_from_slice(&[self.hash_alg, self.sig_alg]);
        out.extend_from_slice(&(self.signature.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.signature);
        out
    }

    fn as_sct(&self) -> Sct<'_> {
        Sct {
            log_id: &self.log_id,
            timestamp: self.timestamp,
            extensions: &self.extensions,
            hash_alg: self.hash_alg,
            sig_alg: self.sig_alg,
            signature: &self.signature,
        }
    }
}

/// The SCTs embedded in a leaf.
fn embedded(leaf: &Certificate) -> Vec<RawSct> {
    let mut list = Reader(leaf.embedded_scts().unwrap());
    let mut scts = Reader(list.vec16().unwrap());
    let mut out = Vec::new();
    while !scts.0.is_empty() {
        let s = parse_sct(scts.vec16().unwrap()).unwrap().unwrap();
        out.push(RawSct {
            version: 0,
            log_id: s.log_id.try_into().unwrap(),
            timestamp: s.timestamp,
            extensions: s.extensions.to_vec(),
            hash_alg: s.hash_alg,
            sig_alg: s.sig_alg,
            signature: s.signature.to_vec(),
        });
    }
    out
}

fn signed_data(leaf: &Certificate, issuer_spki: &[u8], sct: &RawSct) -> Vec<u8> {
    let tbs = leaf.precertificate_tbs_der().unwrap();
    let mut out = Vec::new();
    feed_signed_data(&tbs, &sha256(issuer_spki), &sct.as_sct(), &mut |b| {
        out.extend_from_slice(b)
    });
    out
}

fn log_with_key(spki_der: &[u8]) -> TransparencyLog {
    let key = PublicKey::from_spki_der(spki_der).unwrap();
    TransparencyLog {
        base_url: "https://ct.example".into(),
        hash_algorithm: HashAlgorithm::Sha256,
        log_id: key.key_id().to_vec(),
        key,
        valid_for: TimeRange {
            start: UnixTime::from_secs(0),
            end: None,
        },
    }
}

#[test]
fn embedded_scts_of_fixtures_verify() {
    for case in [
        "happy-path-v0.1",
        "happy-path-v0.3",
        "happy-path-intoto-in-dsse-v3",
        "rekor2-happy-path",
        "rekor2-dsse-happy-path",
        "bundle-with-sct-with-extensions",
    ] {
        let c = Case::load(case);
        let (leaf, issuer) = leaf_and_issuer(&c);
        let n = verify_embedded_scts(&leaf, &issuer, &c.root.ctlogs).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(n, 1, "{case}");
    }
}

#[test]
fn sct_with_extensions_is_signed_with_them() {
    let c = Case::load("bundle-with-sct-with-extensions");
    let (leaf, issuer) = leaf_and_issuer(&c);
    let scts = embedded(&leaf);
    assert!(!scts[0].extensions.is_empty());
    // Flip one byte of the extensions: the signature no longer verifies.
    let mut tampered = RawSct {
        ..scts.into_iter().next().unwrap()
    };
    tampered.extensions[0] ^= 1;
    let leaf2 = with_sct_list(&leaf, &tls_list(&[tampered.encode()]));
    assert_eq!(
        verify_embedded_scts(&leaf2, &issuer, &c.root.ctlogs),
        Err(SctError::InvalidSignature)
    );
}

#[test]
fn untrusted_ct_logs_are_rejected() {
    // invalid-ct-key: production bundle, trusted root with staging CT logs.
    let c = Case::load("invalid-ct-key_fail");
    let prod = Case::load("happy-path-v0.1");
    let (leaf, issuer) = leaf_and_issuer(&prod);
    assert_eq!(c.leaf_der().unwrap(), leaf.der());
    assert_eq!(
        verify_embedded_scts(&leaf, &issuer, &c.root.ctlogs),
        Err(SctError::UnknownLog)
    );
    assert_eq!(SctError::UnknownLog.code(), "sct.unknown_log");
    // A staging certificate against the production CT logs.
    let mut staging = Case::load("bundle-from-wrong-instance_fail");
    let staging_root = Case::load("rekor2-happy-path").root;
    staging.root = staging_root;
    let (leaf, issuer) = leaf_and_issuer(&staging);
    verify_embedded_scts(&leaf, &issuer, &staging.root.ctlogs).unwrap();
    assert_eq!(
        verify_embedded_scts(&leaf, &issuer, &prod.root.ctlogs),
        Err(SctError::UnknownLog)
    );
    assert_eq!(verify_embedded_scts(&leaf, &issuer, &[]), Err(SctError::UnknownLog));
}

#[test]
fn signed_fields_are_bound() {
    let c = Case::load("happy-path-v0.3");
    let (leaf, issuer) = leaf_and_issuer(&c);
    let logs = &c.root.ctlogs;
    let original = embedded(&leaf).into_iter().next().unwrap();
    let run = |edit: &dyn Fn(&mut RawSct)| {
        let mut s = RawSct {
            ..embedded(&leaf).into_iter().next().unwrap()
        };
        edit(&mut s);
        verify_embedded_scts(&with_sct_list(&leaf, &tls_list(&[s.encode()])), &issuer, logs)
    };
    assert_eq!(run(&|_| {}), Ok(1));
    assert_eq!(run(&|s| s.timestamp += 1), Err(SctError::InvalidSignature));
    assert_eq!(run(&|s| s.extensions = vec![0]), Err(SctError::InvalidSignature));
    assert_eq!(run(&|s| s.hash_alg = 5), Err(SctError::InvalidSignature));
    assert_eq!(run(&|s| s.hash_alg = 9), Err(SctError::InvalidSignature));
    assert_eq!(run(&|s| s.sig_alg = 1), Err(SctError::InvalidSignature));
    assert_eq!(
        run(&|s| {
            let n = s.signature.len();
            s.signature[n - 1] ^= 1;
        }),
        Err(SctError::InvalidSignature)
    );
    assert_eq!(run(&|s| s.log_id[0] ^= 1), Err(SctError::UnknownLog));
    assert_eq!(run(&|s| s.version = 1), Err(SctError::UnsupportedVersion));
    // The issuer key is part of the signed data.
    assert_eq!(
        verify_embedded_scts(&leaf, &c.leaf_der().map(|_| b"other".to_vec()).unwrap(), logs),
        Err(SctError::InvalidSignature)
    );
    // Any other byte of the TBS too (here: the serial number).
    let mut cert = x509_cert::Certificate::from_der(leaf.der()).unwrap();
    let serial = cert.tbs_certificate.serial_number.as_bytes().to_vec();
    let mut s2 = serial.clone();
    let last = s2.len() - 1;
    s2[last] ^= 1;
    cert.tbs_certificate.serial_number = x509_cert::serial_number::SerialNumber::new(&s2).unwrap();
    assert_eq!(
        verify_embedded_scts(&Certificate::from_der(&cert.to_der().unwrap()).unwrap(), &issuer, logs),
        Err(SctError::InvalidSignature)
    );
    // Outside the log key's validity (closed interval: the exact end still verifies).
    let ts = UnixTime::new(
        (original.timestamp / 1000) as i64,
        (original.timestamp % 1000) as u32 * 1_000_000,
    );
    let mut narrowed = logs.clone();
    for l in &mut narrowed {
        l.valid_for.end = Some(ts);
    }
    assert_eq!(verify_embedded_scts(&leaf, &issuer, &narrowed), Ok(1));
    for l in &mut narrowed {
        l.valid_for.end = Some(UnixTime::new(ts.secs(), ts.subsec_nanos().saturating_sub(1_000_000)));
        if ts.subsec_nanos() == 0 {
            l.valid_for.end = Some(UnixTime::from_secs(ts.secs() - 1));
        }
    }
    assert_eq!(
        verify_embedded_scts(&leaf, &issuer, &narrowed),
        Err(SctError::OutsideLogValidity)
    );
}

#[test]
fn several_logs_count_once_each_including_rsa() {
    let c = Case::load("happy-path-v0.3");
    let (leaf, issuer) = leaf_and_issuer(&c);
    let real = embedded(&leaf).into_iter().next().unwrap();
    let rng = SystemRandom::new();

    // An RSA CT log.
    let rsa = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let rsa_log = log_with_key(rsa.public_key().as_der().unwrap().as_ref());
    let mut rsa_sct = RawSct {
        version: 0,
        log_id: rsa_log.log_id.clone().try_into().unwrap(),
        timestamp: real.timestamp,
        extensions: vec![],
        hash_alg: 4,
        sig_alg: 1,
        signature: vec![],
    };
    let mut sig = vec![0; rsa.public_modulus_len()];
    rsa.sign(
        &RSA_PKCS1_SHA256,
        &rng,
        &signed_data(&leaf, &issuer, &rsa_sct),
        &mut sig,
    )
    .unwrap();
    rsa_sct.signature = sig;

    // An ECDSA CT log whose SCT carries extensions.
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let ec = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
    let ec_spki: PublicKeyX509Der = ec.public_key().as_der().unwrap();
    let ec_log = log_with_key(ec_spki.as_ref());
    let mut ec_sct = RawSct {
        version: 0,
        log_id: ec_log.log_id.clone().try_into().unwrap(),
        timestamp: real.timestamp + 5,
        extensions: vec![0, 0, 5, 1, 2, 3, 4, 5],
        hash_alg: 4,
        sig_alg: 3,
        signature: vec![],
    };
    ec_sct.signature = ec
        .sign(&rng, &signed_data(&leaf, &issuer, &ec_sct))
        .unwrap()
        .as_ref()
        .to_vec();

    let mut logs = c.root.ctlogs.clone();
    logs.push(rsa_log);
    logs.push(ec_log);
    let unknown = RawSct {
        log_id: [9; 32],
        ..RawSct {
            ..embedded(&leaf).into_iter().next().unwrap()
        }
    };
    let future_version = RawSct {
        version: 7,
        ..RawSct {
            ..embedded(&leaf).into_iter().next().unwrap()
        }
    };
    let list = tls_list(&[
        real.encode(),
        unknown.encode(),
        rsa_sct.encode(),
        future_version.encode(),
        real.encode(),
        ec_sct.encode(),
    ]);
    let leaf2 = with_sct_list(&leaf, &list);
    assert_eq!(verify_embedded_scts(&leaf2, &issuer, &logs), Ok(3));
    // Only the RSA one.
    let leaf3 = with_sct_list(&leaf, &tls_list(&[rsa_sct.encode()]));
    assert_eq!(verify_embedded_scts(&leaf3, &issuer, &logs), Ok(1));
    // A bad SCT next to a good one does not fail the good one.
    let mut bad = RawSct {
        ..embedded(&leaf).into_iter().next().unwrap()
    };
    bad.timestamp += 1;
    let leaf4 = with_sct_list(&leaf, &tls_list(&[bad.encode(), ec_sct.encode()]));
    assert_eq!(verify_embedded_scts(&leaf4, &issuer, &logs), Ok(1));
    // Most telling error wins when nothing verifies.
    let leaf5 = with_sct_list(
        &leaf,
        &tls_list(&[future_version.encode(), unknown.encode(), bad.encode()]),
    );
    assert_eq!(
        verify_embedded_scts(&leaf5, &issuer, &logs),
        Err(SctError::InvalidSignature)
    );
    let leaf6 = with_sct_list(&leaf, &tls_list(&[future_version.encode(), unknown.encode()]));
    assert_eq!(verify_embedded_scts(&leaf6, &issuer, &logs), Err(SctError::UnknownLog));
}

#[test]
fn malformed_material_is_reported_not_panicked_on() {
    let c = Case::load("happy-path-v0.3");
    let (leaf, issuer) = leaf_and_issuer(&c);
    let logs = &c.root.ctlogs;
    // A malformed leaf never reaches SCT verification: the certificate parser rejects every
    // truncation, trailing data and garbage.
    let der = leaf.der();
    for n in 0..der.len() {
        assert!(Certificate::from_der(&der[..n]).is_err(), "{n}");
    }
    let long = [der, &[0u8][..]].concat();
    assert_eq!(Certificate::from_der(&long).unwrap_err().code(), "cert.malformed");
    for g in [
        &b""[..],
        b"\x30",
        b"\x30\x80",
        b"\x30\x81\x05abcde",
        b"\x1f\x00",
        b"\x30\x85\x00\x00\x00\x00\x01",
    ] {
        assert_eq!(Certificate::from_der(g).unwrap_err().code(), "cert.malformed", "{g:?}");
    }
    // Broken TLS lists.
    let one = embedded(&leaf).into_iter().next().unwrap().encode();
    let good = tls_list(std::slice::from_ref(&one));
    for list in [
        vec![],
        vec![0],
        good[..good.len() - 1].to_vec(),
        [good.clone(), vec![0]].concat(),
        tls_list(&[one[..one.len() - 1].to_vec()]),
        tls_list(&[[one.clone(), vec![0]].concat()]),
        tls_list(&[vec![]]),
    ] {
        let r = verify_embedded_scts(&with_sct_list(&leaf, &list), &issuer, logs);
        assert_eq!(r.unwrap_err().code(), "sct.malformed", "{list:?}");
    }
    // An empty list has no SCT.
    assert_eq!(
        verify_embedded_scts(&with_sct_list(&leaf, &[0, 0]), &issuer, logs),
        Err(SctError::Missing)
    );
    // A certificate without the extension (the issuing CA's).
    let ca = Certificate::from_der(&c.root.certificate_authorities[0].certificates[0]).unwrap();
    assert_eq!(verify_embedded_scts(&ca, &issuer, logs), Err(SctError::Missing));
    assert_eq!(SctError::Missing.code(), "sct.missing");
}
