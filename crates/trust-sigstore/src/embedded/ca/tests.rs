use super::*;
use crate::embedded::keys::SigningKey;
use crate::embedded::testutil::temp_dir;
use std::fs;
use trust_core::sct::verify_embedded_scts;
use trust_core::x509::{CertError, Certificate, CertificatePool, ExtendedKeyUsage, SubjectAltName};

const NOW: UnixTime = UnixTime::new(1_750_000_000, 250_000_000);

struct Fixture {
    dir: PathBuf,
    ca: LocalCa,
    ct: CtLog,
    leaf_key: SigningKey,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn fixture() -> Fixture {
    let dir = temp_dir("ca");
    let ca = LocalCa::load_or_create(&dir, None, NOW).unwrap();
    let ct = CtLog::load_or_create(&dir.join("keys/ct.key.pem"), None).unwrap();
    Fixture {
        dir,
        ca,
        ct,
        leaf_key: SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap(),
    }
}

fn request(spki: &[u8]) -> IssueRequest<'_> {
    IssueRequest {
        public_key_spki_der: spki,
        identity: SignerIdentity::Email("alice@example.com".into()),
        oidc_issuer: "https://accounts.example.com".into(),
        claims: vec![
            (9, "https://ci.example.com/build@refs/heads/main".into()),
            (6, "refs/heads/main".into()),
            (12, "https://git.example.com/repo".into()),
        ],
        now: NOW,
    }
}

fn pool(ca: &LocalCa) -> CertificatePool {
    CertificatePool::new(&[ca.certificate_authority("https://ca.local")]).unwrap()
}

#[test]
fn issued_leaf_chains_to_the_root_at_now_and_not_11_minutes_later() {
    let f = fixture();
    let issued = f.ca.issue(&request(f.leaf_key.public_key_spki_der()), &f.ct).unwrap();
    assert_eq!(issued.chain_der, f.ca.chain_der());
    assert_eq!(issued.chain_der[1], f.ca.root_der());
    let leaf = Certificate::from_der(&issued.leaf_der).unwrap();
    let pool = pool(&f.ca);
    let chain = pool.verify(&leaf, NOW, ExtendedKeyUsage::CodeSigning).unwrap();
    assert_eq!(chain.chain.len(), 3);
    assert_eq!(chain.issuer.der(), f.ca.intermediate_der());
    let later = UnixTime::from_secs(NOW.secs() + 11 * 60);
    let err = pool.verify(&leaf, later, ExtendedKeyUsage::CodeSigning).unwrap_err();
    assert!(matches!(err, CertError::Expired { .. }), "{err:?}");
    assert!(pool.verify(&leaf, NOW, ExtendedKeyUsage::TimeStamping).is_err());
}

#[test]
fn leaf_has_the_fulcio_shape() {
    let f = fixture();
    let issued = f.ca.issue(&request(f.leaf_key.public_key_spki_der()), &f.ct).unwrap();
    let leaf = Certificate::from_der(&issued.leaf_der).unwrap();
    assert_eq!(leaf.serial().len(), 20);
    assert!(leaf.serial()[0] & 0x80 == 0 && leaf.serial()[0] != 0);
    assert_eq!(leaf.subject_der(), &[0x30, 0x00]);
    assert_eq!(leaf.not_before(), UnixTime::from_secs(NOW.secs()));
    assert_eq!(leaf.not_after(), UnixTime::from_secs(NOW.secs() + 600));
    assert_eq!(issued.not_before, leaf.not_before());
    assert_eq!(issued.not_after, leaf.not_after());
    assert!(!leaf.is_ca());
    assert_eq!(leaf.public_key().spki_der(), f.leaf_key.public_key_spki_der());
    assert_eq!(
        leaf.subject_alternative_names(),
        &[SubjectAltName::Email("alice@example.com".into())]
    );
    assert!(leaf.has_extended_key_usage(ExtendedKeyUsage::CodeSigning));
    assert!(leaf.subject_key_id().is_some());
    let inter = Certificate::from_der(f.ca.intermediate_der()).unwrap();
    assert_eq!(leaf.authority_key_id(), inter.subject_key_id());
    assert_eq!(leaf.unhandled_critical_extension(), None);
    // The SCT list is the last extension: the TBS ends with it.
    let sct_value = leaf.extension_value(&OID_SCT_LIST).unwrap();
    assert!(leaf.tbs_der().ends_with(sct_value));
}

#[test]
fn uri_identity_goes_into_the_san() {
    let f = fixture();
    let mut req = request(f.leaf_key.public_key_spki_der());
    req.identity = SignerIdentity::Uri("https://ci.example.com/workflows/release.yml@refs/tags/v1".into());
    let leaf = Certificate::from_der(&f.ca.issue(&req, &f.ct).unwrap().leaf_der).unwrap();
    assert_eq!(
        leaf.subject_alternative_names(),
        &[SubjectAltName::Uri(
            "https://ci.example.com/workflows/release.yml@refs/tags/v1".into()
        )]
    );
}

#[test]
fn fulcio_extensions_carry_the_issuer_in_both_forms_and_the_claims() {
    let f = fixture();
    let issued = f.ca.issue(&request(f.leaf_key.public_key_spki_der()), &f.ct).unwrap();
    let leaf = Certificate::from_der(&issued.leaf_der).unwrap();
    let ext = leaf.fulcio();
    assert_eq!(ext.issuer.as_deref(), Some("https://accounts.example.com"));
    assert_eq!(
        ext.build_signer_uri.as_deref(),
        Some("https://ci.example.com/build@refs/heads/main")
    );
    assert_eq!(ext.github_workflow_ref.as_deref(), Some("refs/heads/main"));
    assert_eq!(
        ext.source_repository_uri.as_deref(),
        Some("https://git.example.com/repo")
    );
    let v1 = leaf.extension_value(&fulcio_oid(1).unwrap()).unwrap();
    assert_eq!(v1, b"https://accounts.example.com");
    let v8 = leaf.extension_value(&fulcio_oid(8).unwrap()).unwrap();
    assert_eq!(v8[0], 0x0c, "UTF8String");
    assert_eq!(&v8[2..], b"https://accounts.example.com");
    assert_eq!(
        leaf.extension_value(&fulcio_oid(6).unwrap()).unwrap(),
        b"refs/heads/main"
    );
    assert_eq!(leaf.extension_value(&fulcio_oid(9).unwrap()).unwrap()[0], 0x0c);
}

#[test]
fn embedded_sct_verifies_with_the_ct_key_and_not_another() {
    let f = fixture();
    let issued = f.ca.issue(&request(f.leaf_key.public_key_spki_der()), &f.ct).unwrap();
    let leaf = Certificate::from_der(&issued.leaf_der).unwrap();
    let issuer = Certificate::from_der(f.ca.intermediate_der()).unwrap();
    let log =
        f.ct.transparency_log("https://ct.local", UnixTime::from_secs(NOW.secs() - 60));
    assert_eq!(
        verify_embedded_scts(&leaf, issuer.public_key().spki_der(), std::slice::from_ref(&log)),
        Ok(1)
    );
    // The SCT binds the issuer key.
    let root = Certificate::from_der(f.ca.root_der()).unwrap();
    assert!(verify_embedded_scts(&leaf, root.public_key().spki_der(), std::slice::from_ref(&log)).is_err());
    // Another CT key (even under the same log id) does not verify it.
    let other = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let mut forged = log.clone();
    forged.key = other.public_key();
    let err = verify_embedded_scts(&leaf, issuer.public_key().spki_der(), &[forged]).unwrap_err();
    assert_eq!(err.code(), "sct.invalid_signature");
    let unknown = CtLog::new(other)
        .unwrap()
        .transparency_log("https://ct2.local", UnixTime::EPOCH);
    let err = verify_embedded_scts(&leaf, issuer.public_key().spki_der(), &[unknown]).unwrap_err();
    assert_eq!(err.code(), "sct.unknown_log");
}

#[test]
fn tampered_leaf_fails() {
    let f = fixture();
    let issued = f.ca.issue(&request(f.leaf_key.public_key_spki_der()), &f.ct).unwrap();
    let needle = b"alice@example.com";
    let pos = issued.leaf_der.windows(needle.len()).position(|w| w == needle).unwrap();
    let mut der = issued.leaf_der.clone();
    der[pos] = b'm'; // mallice@...
    let leaf = Certificate::from_der(&der).unwrap();
    let err = pool(&f.ca)
        .verify(&leaf, NOW, ExtendedKeyUsage::CodeSigning)
        .unwrap_err();
    assert_eq!(err, CertError::SignatureInvalid);
    // The SCT no longer matches either.
    let issuer = Certificate::from_der(f.ca.intermediate_der()).unwrap();
    let log = f.ct.transparency_log("https://ct.local", UnixTime::EPOCH);
    let err = verify_embedded_scts(&leaf, issuer.public_key().spki_der(), &[log]).unwrap_err();
    assert_eq!(err.code(), "sct.invalid_signature");
}

#[test]
fn p384_and_ed25519_leaf_keys_are_certified() {
    let f = fixture();
    let p384 = SigningKey::generate(KeyAlgorithm::EcdsaP384Sha384).unwrap();
    let leaf = f.ca.issue(&request(p384.public_key_spki_der()), &f.ct).unwrap();
    let leaf = Certificate::from_der(&leaf.leaf_der).unwrap();
    assert_eq!(leaf.public_key().spki_der(), p384.public_key_spki_der());
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    let ed = Ed25519KeyPair::generate().unwrap();
    let spki = ed.public_key().as_der().unwrap();
    let leaf = f.ca.issue(&request(spki.as_ref()), &f.ct).unwrap();
    let leaf = Certificate::from_der(&leaf.leaf_der).unwrap();
    assert_eq!(leaf.public_key().kind(), KeyKind::Ed25519);
    assert!(pool(&f.ca).verify(&leaf, NOW, ExtendedKeyUsage::CodeSigning).is_ok());
}

#[test]
fn bad_requests_get_specific_errors() {
    let f = fixture();
    let spki = f.leaf_key.public_key_spki_der().to_vec();
    let code = |edit: &dyn Fn(&mut IssueRequest<'_>)| {
        let mut req = request(&spki);
        edit(&mut req);
        f.ca.issue(&req, &f.ct).unwrap_err().code()
    };
    assert_eq!(
        code(&|r| r.identity = SignerIdentity::Email(String::new())),
        "ca.empty_identity"
    );
    assert_eq!(
        code(&|r| r.identity = SignerIdentity::Uri(String::new())),
        "ca.empty_identity"
    );
    assert_eq!(
        code(&|r| r.identity = SignerIdentity::Email("alice".into())),
        "ca.invalid_email"
    );
    assert_eq!(
        code(&|r| r.identity = SignerIdentity::Email("@example.com".into())),
        "ca.invalid_email"
    );
    assert_eq!(
        code(&|r| r.identity = SignerIdentity::Email("a b@example.com".into())),
        "ca.invalid_email"
    );
    assert_eq!(
        code(&|r| r.identity = SignerIdentity::Email("ålice@example.com".into())),
        "ca.invalid_email"
    );
    assert_eq!(
        code(&|r| r.identity = SignerIdentity::Uri("no scheme".into())),
        "ca.invalid_uri"
    );
    assert_eq!(
        code(&|r| r.identity = SignerIdentity::Uri("https://a b".into())),
        "ca.invalid_uri"
    );
    assert_eq!(
        code(&|r| r.identity = SignerIdentity::Uri("1http://x".into())),
        "ca.invalid_uri"
    );
    assert_eq!(
        code(&|r| r.identity = SignerIdentity::Uri("https://x/%zz".into())),
        "ca.invalid_uri"
    );
    assert_eq!(
        code(&|r| r.identity = SignerIdentity::Uri("https:".into())),
        "ca.invalid_uri"
    );
    assert_eq!(code(&|r| r.oidc_issuer = String::new()), "ca.empty_issuer");
    assert_eq!(code(&|r| r.oidc_issuer = "  ".into()), "ca.empty_issuer");
    for bad in [&b"\x30\x00"[..], &spki[..spki.len() - 1]] {
        let err = f.ca.issue(&request(bad), &f.ct).unwrap_err();
        assert_eq!(err.code(), "ca.invalid_public_key", "{err}");
    }
    assert_eq!(code(&|r| r.claims.push((8, "x".into()))), "ca.invalid_claim");
    assert_eq!(code(&|r| r.claims.push((1, "x".into()))), "ca.invalid_claim");
    assert_eq!(code(&|r| r.claims.push((9, "again".into()))), "ca.invalid_claim");
    assert_eq!(code(&|r| r.claims.push((10, String::new()))), "ca.invalid_claim");
    assert_eq!(
        code(&|r| r.now = UnixTime::from_secs(NOW.secs() - 1)),
        "ca.outside_validity"
    );
    assert_eq!(
        code(&|r| r.now = UnixTime::from_secs(NOW.secs() + pki::TEN_YEARS_SECS - 599)),
        "ca.outside_validity"
    );
}

#[test]
fn ca_certificates_are_root_p384_and_intermediate_p256_path_len_0() {
    let f = fixture();
    let root = Certificate::from_der(f.ca.root_der()).unwrap();
    let inter = Certificate::from_der(f.ca.intermediate_der()).unwrap();
    assert!(root.is_ca() && root.is_self_signed());
    assert_eq!(root.public_key().kind(), KeyKind::EcdsaP384);
    assert_eq!(inter.public_key().kind(), KeyKind::EcdsaP256);
    assert_eq!(inter.path_len_constraint(), Some(0));
    assert!(inter.verify_issued_by(&root).is_ok());
    assert!(root.verify_issued_by(&root).is_ok());
    assert_eq!(f.ca.root_validity().start, UnixTime::from_secs(NOW.secs()));
    assert_eq!(
        f.ca.root_validity().end,
        Some(UnixTime::from_secs(NOW.secs() + pki::TEN_YEARS_SECS))
    );
    let (r, i) = (f.ca.root_validity(), f.ca.intermediate_validity());
    assert!(i.start >= r.start && i.end <= r.end);
}

#[test]
fn reopening_gives_the_same_chain_and_signs_with_the_same_key() {
    let f = fixture();
    let again = LocalCa::load_or_create(&f.dir, None, UnixTime::from_secs(NOW.secs() + 86_400)).unwrap();
    assert_eq!(again.chain_der(), f.ca.chain_der());
    let issued = again.issue(&request(f.leaf_key.public_key_spki_der()), &f.ct).unwrap();
    let leaf = Certificate::from_der(&issued.leaf_der).unwrap();
    assert!(pool(&f.ca).verify(&leaf, NOW, ExtendedKeyUsage::CodeSigning).is_ok());
    let meta = fs::metadata(f.dir.join("keys/ca-root.key.pem")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
}

#[test]
fn partial_state_is_an_error_not_a_new_ca() {
    let f = fixture();
    fs::remove_file(f.dir.join("certs/ca-intermediate.pem")).unwrap();
    let err = LocalCa::load_or_create(&f.dir, None, NOW).unwrap_err();
    assert_eq!(err.code(), "ca.incomplete_state", "{err}");
    assert!(!f.dir.join("certs/ca-intermediate.pem").exists());

    let dir = temp_dir("ca-keyless");
    let other = LocalCa::load_or_create(&dir, None, NOW).unwrap();
    fs::remove_file(dir.join("keys/ca-root.key.pem")).unwrap();
    let err = LocalCa::load_or_create(&dir, None, NOW).unwrap_err();
    assert_eq!(err.code(), "ca.incomplete_state", "{err}");
    drop(other);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn certificate_not_matching_its_key_is_corrupt_state() {
    let f = fixture();
    let dir = temp_dir("ca-other");
    LocalCa::load_or_create(&dir, None, NOW).unwrap();
    fs::copy(
        dir.join("certs/ca-intermediate.pem"),
        f.dir.join("certs/ca-intermediate.pem"),
    )
    .unwrap();
    let err = LocalCa::load_or_create(&f.dir, None, NOW).unwrap_err();
    assert_eq!(err.code(), "ca.corrupt_state", "{err}");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn encrypted_ca_needs_its_passphrase() {
    let dir = temp_dir("ca-enc");
    let ca = LocalCa::load_or_create(&dir, Some("s3cret"), NOW).unwrap();
    let pem = fs::read_to_string(dir.join("keys/ca-intermediate.key.pem")).unwrap();
    assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    assert_eq!(
        LocalCa::load_or_create(&dir, None, NOW).unwrap_err().code(),
        "key.passphrase_required"
    );
    assert_eq!(
        LocalCa::load_or_create(&dir, Some("wrong"), NOW).unwrap_err().code(),
        "key.wrong_passphrase"
    );
    let again = LocalCa::load_or_create(&dir, Some("s3cret"), NOW).unwrap();
    assert_eq!(again.chain_der(), ca.chain_der());
    fs::remove_dir_all(dir).unwrap();
}
