//! Certificates from certus-trust's embedded CA (trust-sigstore): every Fulcio extension it can
//! write, decoded by trust-core, matched by name by a policy. The GitHub fixtures lack
//! `deployment_environment`; this CA writes all twenty.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use trust_core::bundle::BundleVersion;
use trust_core::time::UnixTime;
use trust_core::verifier::{VerifiedBundle, VerifiedSigner, VerifiedTime};
use trust_core::x509::{Certificate, CertificatePool, ExtendedKeyUsage};
use trust_policy::{Context, PolicySet, EXTENSIONS};
use trust_sigstore::embedded::ca::{IssueRequest, LocalCa, SignerIdentity};
use trust_sigstore::embedded::ct::CtLog;
use trust_sigstore::embedded::keys::{KeyAlgorithm, SigningKey};

const NOW: UnixTime = UnixTime::new(1_780_000_000, 0);
const IDENTITY: &str = "certus-assurance@certus.cloud";
const ISSUER: &str = "https://accounts.certus.cloud";

/// Issues a leaf with every Fulcio extension arc (2-6, 9-23) set to a distinct value, checks it
/// chains to the embedded root, and wraps the decoded certificate as a verification result.
fn issued() -> VerifiedBundle {
    let dir = std::env::temp_dir().join(format!("trust-policy-ca-{}", std::process::id()));
    let ca = LocalCa::load_or_create(&dir, None, NOW).unwrap();
    let ct = CtLog::load_or_create(&dir.join("keys/ct.key.pem"), None).unwrap();
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let claims = (2..=6).chain(9..=23).map(|arc| (arc, format!("value-{arc}"))).collect();
    let cert = ca
        .issue(
            &IssueRequest {
                public_key_spki_der: key.public_key_spki_der(),
                identity: SignerIdentity::Email(IDENTITY.into()),
                oidc_issuer: ISSUER.into(),
                claims,
                now: NOW,
            },
            &ct,
        )
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let leaf = Certificate::from_der(&cert.leaf_der).unwrap();
    let pool = CertificatePool::new(&[ca.certificate_authority("https://ca.local")]).unwrap();
    pool.verify(&leaf, NOW, ExtendedKeyUsage::CodeSigning).unwrap();
    VerifiedBundle {
        bundle_version: BundleVersion::V0_3,
        media_type: BundleVersion::V0_3.media_type(),
        signer: VerifiedSigner::Certificate {
            identity: leaf.signer_identity().unwrap(),
            issuer: leaf.fulcio().issuer.clone(),
            extensions: Box::new(leaf.fulcio().clone()),
            not_before: leaf.not_before(),
            not_after: leaf.not_after(),
            certificate_chain: vec![leaf.pem().to_owned()],
            verified_scts: 1,
        },
        artifact_digest: format!("sha256:{}", "ab".repeat(32)),
        statement: None,
        tlog_entries: Vec::new(),
        verified_times: vec![VerifiedTime {
            source: trust_core::verifier::TimeSource::TransparencyLog,
            authority: "https://log.local".into(),
            time: NOW,
        }],
    }
}

fn policy(flip: Option<&str>) -> PolicySet {
    let mut y = format!(
        "version: 1\npolicies:\n  p:\n    rules:\n      - name: assurance\n        identity: {{exact: {IDENTITY}}}\n        issuer: {{exact: \"{ISSUER}\"}}\n        extensions:\n"
    );
    for ext in EXTENSIONS {
        let arc = ext.oid().rsplit('.').next().unwrap();
        let value = if flip == Some(ext.name()) {
            "other".to_string()
        } else {
            format!("value-{arc}")
        };
        y.push_str(&format!("          {}: {{exact: {value}}}\n", ext.name()));
    }
    PolicySet::from_yaml_str(&y, "ca.yaml").unwrap()
}

#[test]
fn every_extension_written_by_the_embedded_ca_is_matchable_by_name() {
    let v = issued();
    let ctx = Context::new(UnixTime::from_secs(NOW.secs() + 60));
    let d = policy(None).evaluate("p", &[&v], &ctx).unwrap();
    assert!(d.allowed, "{d:#?}");
    for ext in EXTENSIONS {
        let d = policy(Some(ext.name())).evaluate("p", &[&v], &ctx).unwrap();
        assert!(!d.allowed, "{}", ext.name());
        assert_eq!(d.failures.len(), 1, "{}: {d:?}", ext.name());
        let arc = ext.oid().rsplit('.').next().unwrap();
        assert_eq!(d.failures[0].actual, format!("{}: value-{arc}", ext.name()));
    }
}
