//! Shared by `benches/verify.rs` and `examples/verify_loop.rs`: the conformance fixtures, and the
//! signature floor of a bundle (every signature check it cannot skip, with the same keys and data,
//! on pre-parsed aws-lc-rs keys).
#![allow(dead_code, missing_docs, clippy::unwrap_used, clippy::expect_used)]

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use trust_core::crypto::{HashAlgorithm, KeyKind, PublicKey, SignatureScheme};
use trust_core::policy::{CertificateIdentity, PolicyBuilder, VerificationPolicy};
use trust_core::time::UnixTime;
use trust_core::tlog::{self, Checkpoint};
use trust_core::trust_root::{TransparencyLog, TrustedRoot};
use trust_core::verifier::{Verifier, VerifierConfig};
use trust_core::x509::{Certificate, CertificatePool, ExtendedKeyUsage};

pub const IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
pub const ISSUER: &str = "https://token.actions.githubusercontent.com";
/// A fixed "now" (2027-01-15), after every fixture's signing time.
pub const NOW: i64 = 1_800_000_000;

pub fn fixtures(rel: &str) -> String {
    format!("{}/../../fixtures/{rel}", env!("CARGO_MANIFEST_DIR"))
}

pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixtures(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// One conformance case: bundle bytes, its trusted root, the artifact.
pub struct Case {
    pub name: &'static str,
    pub bundle: Vec<u8>,
    pub json: serde_json::Value,
    pub root: TrustedRoot,
    pub artifact: Vec<u8>,
}

impl Case {
    pub fn load(name: &'static str) -> Case {
        let dir = format!("sigstore-conformance/bundle-verify/{name}");
        let bundle = read(&format!("{dir}/bundle.sigstore.json"));
        let root = std::fs::read(fixtures(&format!("{dir}/trusted_root.json")))
            .unwrap_or_else(|_| read("sigstore-trust-roots/production/trusted_root.json"));
        Case {
            name,
            json: serde_json::from_slice(&bundle).unwrap(),
            bundle,
            root: TrustedRoot::from_json(&root).unwrap(),
            artifact: read("sigstore-conformance/bundle-verify/a.txt"),
        }
    }

    pub fn verifier(&self) -> Verifier {
        Verifier::new(self.root.clone(), VerifierConfig::default()).unwrap()
    }

    /// The conformance policy: the default identity, artifact bytes or their SHA-256, a fixed now.
    pub fn policy(&self, by_digest: bool) -> VerificationPolicy<'_> {
        let policy = PolicyBuilder::new().now(UnixTime::from_secs(NOW));
        let policy = if by_digest {
            policy.artifact_digest(HashAlgorithm::Sha256.hash(&self.artifact))
        } else {
            policy.artifact_bytes(&self.artifact)
        };
        policy
            .certificate_identity(CertificateIdentity::exact(IDENTITY, ISSUER).unwrap())
            .build()
            .unwrap()
    }

    pub fn entry(&self) -> &serde_json::Value {
        &self.json["verificationMaterial"]["tlogEntries"][0]
    }

    pub fn leaf(&self) -> Certificate {
        let b64 = self.json["verificationMaterial"]["certificate"]["rawBytes"]
            .as_str()
            .unwrap();
        Certificate::from_der(&STANDARD.decode(b64).unwrap()).unwrap()
    }

    pub fn log(&self) -> &TransparencyLog {
        let id = STANDARD
            .decode(self.entry()["logId"]["keyId"].as_str().unwrap())
            .unwrap();
        self.root.tlogs.iter().find(|l| l.log_id == id).unwrap()
    }

    pub fn checkpoint(&self) -> String {
        self.entry()["inclusionProof"]["checkpoint"]["envelope"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

// ---- the floor: one pre-parsed aws-lc-rs key and the exact signed bytes per check ----

/// One signature check as the bundle needs it: key (already parsed), signed message, signature.
pub struct SigCheck {
    pub what: String,
    pub key: ParsedPublicKey,
    pub msg: Vec<u8>,
    /// Verify over this digest instead of hashing `msg` (artifact given by digest).
    pub prehashed: Option<digest::Digest>,
    pub sig: Vec<u8>,
}

impl SigCheck {
    pub fn new(what: String, key: &PublicKey, scheme: SignatureScheme, msg: Vec<u8>, sig: Vec<u8>) -> SigCheck {
        let (alg, bytes): (&'static dyn VerificationAlgorithm, &[u8]) = match (key.kind(), scheme) {
            (KeyKind::EcdsaP256, SignatureScheme::Ecdsa(HashAlgorithm::Sha256)) => {
                (&signature::ECDSA_P256_SHA256_ASN1, key.spki_der())
            }
            (KeyKind::EcdsaP384, SignatureScheme::Ecdsa(HashAlgorithm::Sha384)) => {
                (&signature::ECDSA_P384_SHA384_ASN1, key.spki_der())
            }
            (KeyKind::EcdsaP384, SignatureScheme::Ecdsa(HashAlgorithm::Sha256)) => {
                (&signature::ECDSA_P384_SHA256_ASN1, key.spki_der())
            }
            (KeyKind::Ed25519, SignatureScheme::Ed25519) => {
                let spki = key.spki_der();
                (&signature::ED25519, &spki[spki.len() - 32..])
            }
            other => panic!("{what}: no floor mapping for {other:?}"),
        };
        let check = SigCheck {
            what,
            key: ParsedPublicKey::new(alg, bytes).unwrap(),
            msg,
            prehashed: None,
            sig,
        };
        assert!(check.run(), "{}: floor check does not verify", check.what);
        check
    }

    pub fn prehashed(mut self, alg: &'static digest::Algorithm) -> SigCheck {
        self.prehashed = Some(digest::digest(alg, &self.msg));
        assert!(self.run(), "{}: prehashed floor check does not verify", self.what);
        self
    }

    pub fn run(&self) -> bool {
        match &self.prehashed {
            Some(d) => self.key.verify_digest_sig(d, &self.sig).is_ok(),
            None => self.key.verify_sig(&self.msg, &self.sig).is_ok(),
        }
    }
}

pub fn scheme_name(key: &PublicKey, scheme: SignatureScheme) -> String {
    let k = match key.kind() {
        KeyKind::EcdsaP256 => "p256",
        KeyKind::EcdsaP384 => "p384",
        KeyKind::Ed25519 => "ed25519",
        _ => "other",
    };
    match scheme {
        SignatureScheme::Ecdsa(h) => format!("{k}_{}", h.name()),
        _ => k.to_string(),
    }
}

/// Leaf certificate signature by its issuer (the trusted root's Fulcio intermediate).
pub fn leaf_check(c: &Case, leaf: &Certificate, pool: &CertificatePool) -> (SigCheck, Vec<u8>) {
    let at = UnixTime::from_secs(leaf.not_before().secs() + 1);
    let chain = pool.verify(leaf, at, ExtendedKeyUsage::CodeSigning).unwrap();
    let issuer = chain.issuer.public_key();
    let scheme = leaf.signature_scheme().unwrap();
    let check = SigCheck::new(
        format!("{}: leaf cert ({})", c.name, scheme_name(issuer, scheme)),
        issuer,
        scheme,
        leaf.tbs_der().to_vec(),
        leaf.signature_value().to_vec(),
    );
    (check, issuer.spki_der().to_vec())
}

/// The embedded SCT from a trusted CT log, over the precertificate (RFC 6962 §3.2).
pub fn sct_check(c: &Case, leaf: &Certificate, issuer_spki: &[u8]) -> SigCheck {
    let list = leaf.embedded_scts().unwrap();
    let mut r = &list[2..];
    let issuer_key_hash = digest::digest(&digest::SHA256, issuer_spki);
    let tbs = leaf.precertificate_tbs_der().unwrap();
    while !r.is_empty() {
        let n = usize::from(u16::from_be_bytes([r[0], r[1]]));
        let sct = &r[2..2 + n];
        r = &r[2 + n..];
        let log_id = &sct[1..33];
        let timestamp = &sct[33..41];
        let ext_len = usize::from(u16::from_be_bytes([sct[41], sct[42]]));
        let ext = &sct[43..43 + ext_len];
        let s = &sct[43 + ext_len..];
        assert_eq!((s[0], s[1]), (4, 3), "SHA-256 / ECDSA SCT");
        let sig = &s[4..4 + usize::from(u16::from_be_bytes([s[2], s[3]]))];
        let Some(log) = c.root.ctlogs.iter().find(|l| l.log_id == log_id) else {
            continue;
        };
        let mut msg = vec![0, 0];
        msg.extend_from_slice(timestamp);
        msg.extend_from_slice(&[0, 1]);
        msg.extend_from_slice(issuer_key_hash.as_ref());
        msg.extend_from_slice(&(tbs.len() as u32).to_be_bytes()[1..]);
        msg.extend_from_slice(&tbs);
        msg.extend_from_slice(&(ext_len as u16).to_be_bytes());
        msg.extend_from_slice(ext);
        let scheme = SignatureScheme::Ecdsa(HashAlgorithm::Sha256);
        return SigCheck::new(
            format!("{}: SCT ({})", c.name, scheme_name(&log.key, scheme)),
            &log.key,
            scheme,
            msg,
            sig.to_vec(),
        );
    }
    panic!("{}: no SCT from a trusted CT log", c.name)
}

/// The message signature over the artifact, by the leaf key.
pub fn artifact_check(c: &Case, leaf: &Certificate, by_digest: bool) -> SigCheck {
    let sig = STANDARD
        .decode(c.json["messageSignature"]["signature"].as_str().unwrap())
        .unwrap();
    let key = leaf.public_key();
    let scheme = key.default_scheme();
    let mode = if by_digest { "digest" } else { "bytes" };
    let check = SigCheck::new(
        format!("{}: artifact by {mode} ({})", c.name, scheme_name(key, scheme)),
        key,
        scheme,
        c.artifact.clone(),
        sig,
    );
    if by_digest {
        check.prehashed(&digest::SHA256)
    } else {
        check
    }
}

/// The DSSE envelope signature over PAE(type, payload).
pub fn dsse_check(c: &Case, leaf: &Certificate) -> SigCheck {
    let env = &c.json["dsseEnvelope"];
    let payload = STANDARD.decode(env["payload"].as_str().unwrap()).unwrap();
    let sig = STANDARD.decode(env["signatures"][0]["sig"].as_str().unwrap()).unwrap();
    let key = leaf.public_key();
    let scheme = key.default_scheme();
    SigCheck::new(
        format!("{}: DSSE envelope ({})", c.name, scheme_name(key, scheme)),
        key,
        scheme,
        trust_core::dsse::pae(env["payloadType"].as_str().unwrap(), &payload),
        sig,
    )
}

/// The Rekor v1 SET over the canonical JSON of the entry.
pub fn set_check(c: &Case) -> SigCheck {
    let e = c.entry();
    let log = c.log();
    let msg = format!(
        "{{\"body\":\"{}\",\"integratedTime\":{},\"logID\":\"{}\",\"logIndex\":{}}}",
        e["canonicalizedBody"].as_str().unwrap(),
        e["integratedTime"].as_str().unwrap(),
        hex::encode(&log.log_id),
        e["logIndex"].as_str().unwrap(),
    );
    let sig = STANDARD
        .decode(e["inclusionPromise"]["signedEntryTimestamp"].as_str().unwrap())
        .unwrap();
    let scheme = log.key.default_scheme();
    SigCheck::new(
        format!("{}: SET ({})", c.name, scheme_name(&log.key, scheme)),
        &log.key,
        scheme,
        msg.into_bytes(),
        sig,
    )
}

/// The log's checkpoint signature over the note text.
pub fn checkpoint_check(c: &Case) -> SigCheck {
    let env = c.checkpoint();
    let log = c.log();
    let split = env.find("\n\n").unwrap();
    let text = env.as_bytes()[..split + 1].to_vec();
    let cp = Checkpoint::parse(&env).unwrap();
    let name = log.origin();
    let hint = tlog::note_key_hint(log, name);
    let sig = cp
        .signatures
        .iter()
        .find(|s| s.name == name && s.key_hint == hint)
        .unwrap()
        .signature
        .clone();
    let scheme = log.key.default_scheme();
    SigCheck::new(
        format!("{}: checkpoint ({})", c.name, scheme_name(&log.key, scheme)),
        &log.key,
        scheme,
        text,
        sig,
    )
}

/// A minimal DER walker for the timestamp token (the library's own is private).
pub fn tlv(input: &[u8]) -> (u8, &[u8], &[u8], &[u8]) {
    let tag = input[0];
    let (len, hdr) = match input[1] {
        l if l < 0x80 => (usize::from(l), 2),
        l => {
            let n = usize::from(l & 0x7f);
            (input[2..2 + n].iter().fold(0, |a, &b| (a << 8) | usize::from(b)), 2 + n)
        }
    };
    // (tag, contents, whole encoding, rest)
    (tag, &input[hdr..hdr + len], &input[..hdr + len], &input[hdr + len..])
}

pub fn children(mut input: &[u8]) -> Vec<(u8, &[u8], &[u8])> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (t, v, w, rest) = tlv(input);
        out.push((t, v, w));
        input = rest;
    }
    out
}

/// The RFC 3161 timestamp signature over the signed attributes (DER SET OF), by the TSA key.
pub fn tsa_check(c: &Case) -> SigCheck {
    let b64 = c.json["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]["signedTimestamp"]
        .as_str()
        .unwrap();
    let der = STANDARD.decode(b64).unwrap();
    let (_, top, _, _) = tlv(&der);
    let top = children(top);
    // TimeStampResp { status, token } or a bare ContentInfo { oid, [0] }.
    let content_info = if top[0].0 == 0x30 { children(top[1].1) } else { top };
    let signed_data = children(tlv(content_info[1].1).1);
    let signer_infos = signed_data.last().unwrap();
    let signer = children(tlv(signer_infos.1).1);
    let (digest_alg, attrs, sig_alg, sig) = (signer[2], signer[3], signer[4], signer[5]);
    assert_eq!(attrs.0, 0xa0, "signed attributes");
    let mut msg = attrs.2.to_vec();
    msg[0] = 0x31;
    let oid = |alg: &[u8]| children(alg)[0].1.to_vec();
    let hash = match oid(digest_alg.1).as_slice() {
        [.., 1] => HashAlgorithm::Sha256,
        [.., 2] => HashAlgorithm::Sha384,
        [.., 3] => HashAlgorithm::Sha512,
        o => panic!("digest OID {o:02x?}"),
    };
    // ecdsa-with-SHA256/384 (1.2.840.10045.4.3.2/3) or id-ecPublicKey with the digest algorithm.
    let scheme = match oid(sig_alg.1).as_slice() {
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 2] => SignatureScheme::Ecdsa(HashAlgorithm::Sha256),
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 3] => SignatureScheme::Ecdsa(HashAlgorithm::Sha384),
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01] => SignatureScheme::Ecdsa(hash),
        o => panic!("signature OID {o:02x?}"),
    };
    let tsa = Certificate::from_der(&c.root.timestamp_authorities[0].certificates[0]).unwrap();
    let key = tsa.public_key();
    SigCheck::new(
        format!("{}: TSA ({})", c.name, scheme_name(key, scheme)),
        key,
        scheme,
        msg,
        sig.1.to_vec(),
    )
}

/// Every signature check `case` cannot skip.
pub fn floor_checks(c: &Case, by_digest: bool) -> Vec<SigCheck> {
    let leaf = c.leaf();
    let pool = CertificatePool::new(&c.root.certificate_authorities).unwrap();
    let (leaf_sig, issuer_spki) = leaf_check(c, &leaf, &pool);
    let mut checks = vec![leaf_sig, sct_check(c, &leaf, &issuer_spki)];
    if c.json.get("dsseEnvelope").is_some() {
        checks.push(dsse_check(c, &leaf));
    } else {
        checks.push(artifact_check(c, &leaf, by_digest));
    }
    if c.entry().get("inclusionPromise").is_some() {
        checks.push(set_check(c));
    }
    checks.push(checkpoint_check(c));
    if c.json["verificationMaterial"]
        .get("timestampVerificationData")
        .is_some()
    {
        checks.push(tsa_check(c));
    }
    checks
}
