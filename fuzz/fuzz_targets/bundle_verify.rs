//! Fuzzes bundle parsing and full verification: arbitrary bytes as a bundle, verified against
//! the Sigstore production root (by artifact bytes and identity, and by digest and managed key).
//! Verification must return a verdict or a typed error with a stable code, never panic. Seeds are
//! real conformance bundles, so the fuzzer starts from inputs that reach the deepest checks.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use trust_core::crypto::{HashAlgorithm, PublicKey};
use trust_core::policy::{CertificateIdentity, PolicyBuilder};
use trust_core::time::UnixTime;
use trust_core::trust_root::{embedded, TrustedRoot};
use trust_core::verifier::{Verifier, VerifierConfig};

const ARTIFACT: &[u8] = include_bytes!("../../fixtures/sigstore-conformance/bundle-verify/a.txt");
const KEY: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAExRRST79+PsrRBnGAI4cMu6Omz2Jh
fwlMW+gIutNKVRaMyS4rQKvgngc5p8UbLj55pVHhIoAxi/SRgURZI0J3Xw==
-----END PUBLIC KEY-----";
const ID: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ISSUER: &str = "https://token.actions.githubusercontent.com";

fn verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| {
        let root = TrustedRoot::from_json(embedded::PRODUCTION).expect("embedded root parses");
        Verifier::new(root, VerifierConfig::default()).expect("verifier builds")
    })
}

fuzz_target!(|data: &[u8]| {
    let now = UnixTime::from_secs(1_800_000_000);
    let identity = PolicyBuilder::new()
        .artifact_bytes(ARTIFACT)
        .certificate_identity(CertificateIdentity::exact(ID, ISSUER).expect("identity"))
        .now(now)
        .build()
        .expect("policy");
    let by_digest = PolicyBuilder::new()
        .artifact_digest(HashAlgorithm::Sha256.hash(ARTIFACT))
        .public_key(PublicKey::from_pem(KEY).expect("key"))
        .now(now)
        .build()
        .expect("policy");
    for policy in [&identity, &by_digest] {
        if let Err(e) = verifier().verify_json(data, policy) {
            // Every error carries a stable code.
            assert!(e.code().contains('.'), "error without a code: {e}");
        }
    }
});
