//! Keys, hashes and signature checks (aws-lc-rs underneath; see docs/decisions.md).
//!
//! Verification by digest is first-class: [`PublicKey::verify_prehashed`] checks an ECDSA
//! signature over a digest the caller did not hash (Ed25519 cannot, by construction).

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};
use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoRef;
use std::sync::OnceLock;

/// A hash algorithm used by Sigstore material.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA2-256.
    Sha256,
    /// SHA2-384.
    Sha384,
    /// SHA2-512.
    Sha512,
}

#[allow(
    clippy::len_without_is_empty,
    reason = "`len` is the digest output length; a hash algorithm is never empty"
)]
impl HashAlgorithm {
    /// Output length in bytes.
    pub const fn len(self) -> usize {
        match self {
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }

    /// Name as used in `sha256:<hex>` style digests and Rekor bodies.
    pub const fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha384 => "sha384",
            HashAlgorithm::Sha512 => "sha512",
        }
    }

    /// Parses `sha256`, `SHA2_256` (protobuf enum name) and friends.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" | "SHA2_256" | "SHA256" => Some(HashAlgorithm::Sha256),
            "sha384" | "SHA2_384" | "SHA384" => Some(HashAlgorithm::Sha384),
            "sha512" | "SHA2_512" | "SHA512" => Some(HashAlgorithm::Sha512),
            _ => None,
        }
    }

    fn aws(self) -> &'static digest::Algorithm {
        match self {
            HashAlgorithm::Sha256 => &digest::SHA256,
            HashAlgorithm::Sha384 => &digest::SHA384,
            HashAlgorithm::Sha512 => &digest::SHA512,
        }
    }

    /// Hashes `data`.
    pub fn hash(self, data: &[u8]) -> Digest {
        Digest::from_aws(digest::digest(self.aws(), data))
    }

    /// Starts an incremental hash.
    pub fn hasher(self) -> Hasher {
        Hasher(digest::Context::new(self.aws()))
    }
}

/// Incremental hashing (for large artifacts read in chunks).
pub struct Hasher(digest::Context);

impl Hasher {
    /// Feeds more data.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    /// Finishes the hash.
    pub fn finish(self) -> Digest {
        Digest::from_aws(self.0.finish())
    }
}

/// A digest value with its algorithm.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest {
    algorithm: HashAlgorithm,
    bytes: [u8; 64],
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), hex::encode(self.as_bytes()))
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl Digest {
    /// Wraps raw digest bytes; `None` when the length does not fit the algorithm.
    pub fn new(algorithm: HashAlgorithm, value: &[u8]) -> Option<Self> {
        if value.len() != algorithm.len() {
            return None;
        }
        let mut bytes = [0u8; 64];
        bytes[..value.len()].copy_from_slice(value);
        Some(Digest { algorithm, bytes })
    }

    fn from_aws(d: digest::Digest) -> Self {
        let algorithm = if d.algorithm() == &digest::SHA256 {
            HashAlgorithm::Sha256
        } else if d.algorithm() == &digest::SHA384 {
            HashAlgorithm::Sha384
        } else {
            HashAlgorithm::Sha512
        };
        let mut bytes = [0u8; 64];
        bytes[..d.as_ref().len()].copy_from_slice(d.as_ref());
        Digest { algorithm, bytes }
    }

    /// Parses `sha256:<hex>` (also `sha384:` / `sha512:`); hex is case-insensitive.
    pub fn parse_prefixed(s: &str) -> Option<Self> {
        let (alg, hex_value) = s.split_once(':')?;
        let algorithm = HashAlgorithm::from_name(alg)?;
        let raw = hex::decode(hex_value).ok()?;
        Digest::new(algorithm, &raw)
    }

    /// The algorithm.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.algorithm.len()]
    }

    fn to_aws(self) -> Option<digest::Digest> {
        digest::Digest::import_less_safe(self.as_bytes(), self.algorithm.aws()).ok()
    }
}

/// SHA-256 of `data`, as a fixed array (Merkle trees, key ids).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-256 over several parts without concatenating them.
pub fn sha256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The kind of a public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// ECDSA on NIST P-256.
    EcdsaP256,
    /// ECDSA on NIST P-384.
    EcdsaP384,
    /// ECDSA on NIST P-521.
    EcdsaP521,
    /// Ed25519.
    Ed25519,
    /// RSA with the given modulus size in bits.
    Rsa {
        /// Modulus length in bits.
        bits: usize,
    },
}

impl KeyKind {
    /// The hash a signature by this key uses when nothing else says otherwise.
    pub fn default_hash(self) -> HashAlgorithm {
        match self {
            KeyKind::EcdsaP384 => HashAlgorithm::Sha384,
            KeyKind::EcdsaP521 | KeyKind::Ed25519 => HashAlgorithm::Sha512,
            KeyKind::EcdsaP256 | KeyKind::Rsa { .. } => HashAlgorithm::Sha256,
        }
    }
}

/// How a signature is laid out and hashed. ECDSA signatures are ASN.1 DER (as in X.509,
/// Sigstore bundles, Rekor and signed notes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureScheme {
    /// ECDSA with the given hash, DER signature.
    Ecdsa(HashAlgorithm),
    /// Ed25519 (pure; the message is not pre-hashed).
    Ed25519,
    /// RSASSA-PKCS1-v1_5 with the given hash.
    RsaPkcs1(HashAlgorithm),
    /// RSASSA-PSS with the given hash (MGF1 with the same hash, salt = hash length).
    RsaPss(HashAlgorithm),
}

impl SignatureScheme {
    /// Maps an X.509 / CMS signature algorithm OID to a scheme.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        use const_oid::db::rfc5912 as o;
        Some(match *oid {
            o::ECDSA_WITH_SHA_256 => SignatureScheme::Ecdsa(HashAlgorithm::Sha256),
            o::ECDSA_WITH_SHA_384 => SignatureScheme::Ecdsa(HashAlgorithm::Sha384),
            o::ECDSA_WITH_SHA_512 => SignatureScheme::Ecdsa(HashAlgorithm::Sha512),
            o::SHA_256_WITH_RSA_ENCRYPTION => SignatureScheme::RsaPkcs1(HashAlgorithm::Sha256),
            o::SHA_384_WITH_RSA_ENCRYPTION => SignatureScheme::RsaPkcs1(HashAlgorithm::Sha384),
            o::SHA_512_WITH_RSA_ENCRYPTION => SignatureScheme::RsaPkcs1(HashAlgorithm::Sha512),
            OID_ED25519 => SignatureScheme::Ed25519,
            _ => return None,
        })
    }
}

/// A key that is unusable or of an unsupported kind.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not a DER SubjectPublicKeyInfo (or PEM around one).
    #[error("malformed public key: {0}")]
    Malformed(String),
    /// Parsed, but not a kind certus-trust accepts.
    #[error("unsupported public key algorithm: {0}")]
    Unsupported(String),
}

impl KeyError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            KeyError::Malformed(_) => "key.malformed",
            KeyError::Unsupported(_) => "key.unsupported",
        }
    }
}

/// A signature that does not verify (or cannot be checked with this key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("signature does not verify")]
pub struct BadSignature;

/// A parsed public key, ready to verify signatures. Parsing validates the point / modulus once.
#[derive(Clone)]
pub struct PublicKey {
    kind: KeyKind,
    spki_der: Vec<u8>,
    default: ParsedPublicKey,
    /// The key parsed for the first non-default scheme it was asked to verify (a TSA's P-384 key
    /// signing with SHA-256): trusted keys live as long as the verifier, so they are parsed for it
    /// once, not per bundle. `None` inside when that parse failed. Other schemes parse per call.
    alternate: OnceLock<(SignatureScheme, Option<ParsedPublicKey>)>,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki_der == other.spki_der
    }
}
impl Eq for PublicKey {}

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

fn algorithm_for(kind: KeyKind, scheme: SignatureScheme) -> Option<&'static dyn VerificationAlgorithm> {
    use HashAlgorithm::*;
    Some(match (kind, scheme) {
        (KeyKind::EcdsaP256, SignatureScheme::Ecdsa(Sha256)) => &signature::ECDSA_P256_SHA256_ASN1,
        (KeyKind::EcdsaP256, SignatureScheme::Ecdsa(Sha384)) => &signature::ECDSA_P256_SHA384_ASN1,
        (KeyKind::EcdsaP256, SignatureScheme::Ecdsa(Sha512)) => &signature::ECDSA_P256_SHA512_ASN1,
        (KeyKind::EcdsaP384, SignatureScheme::Ecdsa(Sha256)) => &signature::ECDSA_P384_SHA256_ASN1,
        (KeyKind::EcdsaP384, SignatureScheme::Ecdsa(Sha384)) => &signature::ECDSA_P384_SHA384_ASN1,
        (KeyKind::EcdsaP384, SignatureScheme::Ecdsa(Sha512)) => &signature::ECDSA_P384_SHA512_ASN1,
        (KeyKind::EcdsaP521, SignatureScheme::Ecdsa(Sha512)) => &signature::ECDSA_P521_SHA512_ASN1,
        (KeyKind::EcdsaP521, SignatureScheme::Ecdsa(Sha384)) => &signature::ECDSA_P521_SHA384_ASN1,
        (KeyKind::EcdsaP521, SignatureScheme::Ecdsa(Sha256)) => &signature::ECDSA_P521_SHA256_ASN1,
        (KeyKind::Ed25519, SignatureScheme::Ed25519) => &signature::ED25519,
        (KeyKind::Rsa { .. }, SignatureScheme::RsaPkcs1(Sha256)) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (KeyKind::Rsa { .. }, SignatureScheme::RsaPkcs1(Sha384)) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (KeyKind::Rsa { .. }, SignatureScheme::RsaPkcs1(Sha512)) => &signature::RSA_PKCS1_2048_8192_SHA512,
        (KeyKind::Rsa { .. }, SignatureScheme::RsaPss(Sha256)) => &signature::RSA_PSS_2048_8192_SHA256,
        (KeyKind::Rsa { .. }, SignatureScheme::RsaPss(Sha384)) => &signature::RSA_PSS_2048_8192_SHA384,
        (KeyKind::Rsa { .. }, SignatureScheme::RsaPss(Sha512)) => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

impl PublicKey {
    /// Parses a DER `SubjectPublicKeyInfo` (EC P-256/384/521, Ed25519, RSA).
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let spki = SubjectPublicKeyInfoRef::from_der(der).map_err(|e| KeyError::Malformed(e.to_string()))?;
        let kind = match spki.algorithm.oid {
            OID_EC_PUBLIC_KEY => {
                let curve: ObjectIdentifier = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as().ok())
                    .ok_or_else(|| KeyError::Malformed("EC key without named curve".into()))?;
                match curve {
                    OID_P256 => KeyKind::EcdsaP256,
                    OID_P384 => KeyKind::EcdsaP384,
                    OID_P521 => KeyKind::EcdsaP521,
                    other => return Err(KeyError::Unsupported(format!("EC curve {other}"))),
                }
            }
            OID_ED25519 => KeyKind::Ed25519,
            OID_RSA => {
                let bits = rsa_modulus_bits(spki.subject_public_key.raw_bytes())
                    .ok_or_else(|| KeyError::Malformed("RSA public key".into()))?;
                if !(2048..=8192).contains(&bits) {
                    return Err(KeyError::Unsupported(format!("RSA modulus of {bits} bits")));
                }
                KeyKind::Rsa { bits }
            }
            other => return Err(KeyError::Unsupported(format!("algorithm {other}"))),
        };
        let scheme = match kind {
            KeyKind::Ed25519 => SignatureScheme::Ed25519,
            KeyKind::Rsa { .. } => SignatureScheme::RsaPkcs1(HashAlgorithm::Sha256),
            _ => SignatureScheme::Ecdsa(kind.default_hash()),
        };
        let alg = algorithm_for(kind, scheme).ok_or_else(|| KeyError::Unsupported(format!("{kind:?}")))?;
        // aws-lc-rs parses SPKI for EC/RSA; Ed25519 wants the raw 32-byte key.
        let key_bytes: &[u8] = if kind == KeyKind::Ed25519 {
            spki.subject_public_key.raw_bytes()
        } else {
            der
        };
        let default = ParsedPublicKey::new(alg, key_bytes).map_err(|e| KeyError::Malformed(e.to_string()))?;
        Ok(PublicKey {
            kind,
            spki_der: der.to_vec(),
            default,
            alternate: OnceLock::new(),
        })
    }

    /// Parses a bare PKCS#1 `RSAPublicKey` (as some CT log keys are published).
    pub fn from_pkcs1_rsa_der(der: &[u8]) -> Result<Self, KeyError> {
        let spki = spki::SubjectPublicKeyInfoOwned {
            algorithm: spki::AlgorithmIdentifierOwned {
                oid: OID_RSA,
                parameters: Some(der::asn1::Null.into()),
            },
            subject_public_key: der::asn1::BitString::from_bytes(der)
                .map_err(|e| KeyError::Malformed(e.to_string()))?,
        };
        let spki_der = spki.to_der().map_err(|e| KeyError::Malformed(e.to_string()))?;
        PublicKey::from_spki_der(&spki_der)
    }

    /// Parses a PEM `PUBLIC KEY` block.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let (label, der) = pem_decode(pem).map_err(KeyError::Malformed)?;
        if label != "PUBLIC KEY" {
            return Err(KeyError::Malformed(format!(
                "expected a PEM PUBLIC KEY block, found {label:?}"
            )));
        }
        PublicKey::from_spki_der(&der)
    }

    /// The key kind.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The scheme this key signs with by default (ECDSA with the curve's hash, Ed25519, RSA PKCS#1 SHA-256).
    pub fn default_scheme(&self) -> SignatureScheme {
        match self.kind {
            KeyKind::Ed25519 => SignatureScheme::Ed25519,
            KeyKind::Rsa { .. } => SignatureScheme::RsaPkcs1(HashAlgorithm::Sha256),
            k => SignatureScheme::Ecdsa(k.default_hash()),
        }
    }

    /// SHA-256 of the DER SPKI (the Sigstore / RFC 6962 key id).
    pub fn key_id(&self) -> [u8; 32] {
        sha256(&self.spki_der)
    }

    fn unparsed_bytes(&self) -> &[u8] {
        if self.kind == KeyKind::Ed25519 {
            &self.spki_der[self.spki_der.len() - 32..]
        } else {
            &self.spki_der
        }
    }

    /// Verifies `sig` over `msg` with the key's default scheme.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), BadSignature> {
        self.default.verify_sig(msg, sig).map_err(|_| BadSignature)
    }

    /// Verifies `sig` over `msg` with an explicit scheme (for example from a certificate's
    /// signature algorithm). A scheme the key cannot produce fails.
    pub fn verify_with(&self, scheme: SignatureScheme, msg: &[u8], sig: &[u8]) -> Result<(), BadSignature> {
        if scheme == self.default_scheme() {
            return self.verify(msg, sig);
        }
        self.with_alternate(scheme, |key| key.verify_sig(msg, sig))
    }

    /// Runs `verify` with the key parsed for `scheme` (not the default one): from the cache when
    /// `scheme` is the cached alternate, else parsed for this call. A key that does not parse for
    /// `scheme` is a bad signature, as before the cache.
    fn with_alternate(
        &self,
        scheme: SignatureScheme,
        verify: impl Fn(&ParsedPublicKey) -> Result<(), aws_lc_rs::error::Unspecified>,
    ) -> Result<(), BadSignature> {
        let alg = algorithm_for(self.kind, scheme).ok_or(BadSignature)?;
        let parse = || ParsedPublicKey::new(alg, self.unparsed_bytes()).ok();
        let (cached_scheme, cached) = self.alternate.get_or_init(|| (scheme, parse()));
        let result = if *cached_scheme == scheme {
            cached.as_ref().map(&verify)
        } else {
            parse().as_ref().map(&verify)
        };
        match result {
            Some(Ok(())) => Ok(()),
            _ => Err(BadSignature),
        }
    }

    /// Verifies a signature over a digest computed elsewhere (ECDSA and RSA only: Ed25519 signs the
    /// message itself and cannot be checked from a digest).
    pub fn verify_prehashed(&self, digest: &Digest, sig: &[u8]) -> Result<(), BadSignature> {
        let d = digest.to_aws().ok_or(BadSignature)?;
        let scheme = match self.kind {
            KeyKind::Ed25519 => return Err(BadSignature),
            KeyKind::Rsa { .. } => SignatureScheme::RsaPkcs1(digest.algorithm()),
            _ => SignatureScheme::Ecdsa(digest.algorithm()),
        };
        if scheme == self.default_scheme() {
            return self.default.verify_digest_sig(&d, sig).map_err(|_| BadSignature);
        }
        self.with_alternate(scheme, |key| key.verify_digest_sig(&d, sig))
    }
}

fn rsa_modulus_bits(rsa_public_key: &[u8]) -> Option<usize> {
    #[derive(der::Sequence)]
    struct RsaPub<'a> {
        n: der::asn1::UintRef<'a>,
        _e: der::asn1::UintRef<'a>,
    }
    let k = RsaPub::from_der(rsa_public_key).ok()?;
    let n = k.n.as_bytes();
    let lead = *n.first()?;
    Some(n.len() * 8 - lead.leading_zeros() as usize)
}

/// Decodes one PEM block, returning its label and DER bytes.
pub fn pem_decode(pem: &str) -> Result<(String, Vec<u8>), String> {
    let (label, der) = der::pem::decode_vec(pem.trim().as_bytes()).map_err(|e| format!("invalid PEM: {e}"))?;
    Ok((label.to_string(), der))
}

/// Encodes DER bytes as one PEM block with the given label (RFC 7468: 64-column base64, `\n` line
/// endings; an empty string for a label RFC 7468 does not allow).
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    // Fast path for the usual labels (words of A-Z / 0-9 separated by single spaces, such as
    // "CERTIFICATE"): the same bytes as `der::pem::encode_string`, several times faster since
    // it skips the constant-time base64 of `base64ct` (PEM here only ever wraps public material).
    let simple = label
        .split(' ')
        .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
    if !simple || der.is_empty() {
        return der::pem::encode_string(label, der::pem::LineEnding::LF, der).unwrap_or_default();
    }
    let b64_len = der.len().div_ceil(3) * 4;
    let mut out = String::with_capacity(2 * label.len() + 32 + b64_len + b64_len / 64 + 1);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // One encoding pass (per-call setup dominates on 48-byte lines), then 64-column lines.
    let mut b64 = vec![0u8; b64_len];
    let n = base64::Engine::encode_slice(&base64::engine::general_purpose::STANDARD, der, &mut b64).unwrap_or_default();
    for line in b64.get(..n).unwrap_or_default().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// Re-encodes any DER value (used to normalise material before hashing).
pub fn to_der<T: Encode>(value: &T) -> Option<Vec<u8>> {
    value.to_der().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING};

    fn ec_key(alg: &'static signature::EcdsaSigningAlgorithm) -> (EcdsaKeyPair, PublicKey) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let kp = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref()).unwrap();
        let spki =
            aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(kp.public_key()).unwrap();
        let pk = PublicKey::from_spki_der(spki.as_ref()).unwrap();
        (kp, pk)
    }

    #[test]
    fn ecdsa_message_and_prehashed_paths_agree() {
        for (alg, kind, hash) in [
            (
                &ECDSA_P256_SHA256_ASN1_SIGNING,
                KeyKind::EcdsaP256,
                HashAlgorithm::Sha256,
            ),
            (
                &ECDSA_P384_SHA384_ASN1_SIGNING,
                KeyKind::EcdsaP384,
                HashAlgorithm::Sha384,
            ),
        ] {
            let (kp, pk) = ec_key(alg);
            assert_eq!(pk.kind(), kind);
            let msg = b"certus";
            let sig = kp.sign(&SystemRandom::new(), msg).unwrap();
            pk.verify(msg, sig.as_ref()).unwrap();
            pk.verify_prehashed(&hash.hash(msg), sig.as_ref()).unwrap();
            assert_eq!(pk.verify(b"certuS", sig.as_ref()), Err(BadSignature));
            assert_eq!(
                pk.verify_prehashed(&hash.hash(b"certuS"), sig.as_ref()),
                Err(BadSignature)
            );
            let pem = pem_encode("PUBLIC KEY", pk.spki_der());
            assert_eq!(PublicKey::from_pem(&pem).unwrap(), pk);
        }
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn non_default_schemes_verify_with_and_without_the_cached_key() {
        // A P-384 key signing with SHA-256 (as Sigstore's TSA does) and with SHA-512: the first
        // non-default scheme is cached, the second is parsed per call; both must behave the same.
        let (kp, pk) = ec_key(&ECDSA_P384_SHA384_ASN1_SIGNING);
        let msg = b"certus timestamp";
        for _ in 0..2 {
            for hash in [HashAlgorithm::Sha256, HashAlgorithm::Sha512] {
                // ECDSA signs the digest as an integer, truncated to the curve size: a SHA-256
                // digest left-padded to 48 bytes, or the first 48 bytes of a SHA-512 digest,
                // signed "as SHA-384" is the P-384 signature with SHA-256 / SHA-512.
                let h = digest::digest(hash.aws(), msg);
                let mut as_384 = [0u8; 48];
                match h.as_ref().len() {
                    32 => as_384[16..].copy_from_slice(h.as_ref()),
                    _ => as_384.copy_from_slice(&h.as_ref()[..48]),
                }
                let digest = digest::Digest::import_less_safe(&as_384, &digest::SHA384).unwrap();
                let sig = kp.sign_digest(&digest).unwrap();
                let scheme = SignatureScheme::Ecdsa(hash);
                pk.verify_with(scheme, msg, sig.as_ref()).unwrap();
                pk.verify_prehashed(&hash.hash(msg), sig.as_ref()).unwrap();
                assert_eq!(
                    pk.verify_with(scheme, b"certus timestamP", sig.as_ref()),
                    Err(BadSignature)
                );
                assert_eq!(
                    pk.verify(msg, sig.as_ref()),
                    Err(BadSignature),
                    "default scheme is SHA-384"
                );
                // A clone shares what was cached and still verifies.
                pk.clone().verify_with(scheme, msg, sig.as_ref()).unwrap();
            }
        }
        assert_eq!(
            pk.verify_with(SignatureScheme::Ed25519, msg, b"sig"),
            Err(BadSignature),
            "a scheme the key cannot produce fails"
        );
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn pem_encoding_matches_rfc7468_encoder() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1500).collect();
        for label in [
            "CERTIFICATE",
            "PUBLIC KEY",
            "X509 CRL",
            "",
            "bad  label",
            "-bad",
            "lower",
        ] {
            for len in (0..200).chain([700, 1023, 1024, 1025, 1500]) {
                let der = &data[..len];
                let expected = der::pem::encode_string(label, der::pem::LineEnding::LF, der).unwrap_or_default();
                assert_eq!(pem_encode(label, der), expected, "{label:?} {len}");
            }
        }
        let (label, der) = pem_decode(&pem_encode("CERTIFICATE", &data[..777])).unwrap();
        assert_eq!((label.as_str(), der.as_slice()), ("CERTIFICATE", &data[..777]));
    }

    #[test]
    fn digest_prefix_parsing() {
        let d =
            Digest::parse_prefixed("sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf").unwrap();
        assert_eq!(d.algorithm(), HashAlgorithm::Sha256);
        assert!(Digest::parse_prefixed("sha256:abcd").is_none());
        assert!(Digest::parse_prefixed("md5:abcd").is_none());
        assert!(Digest::parse_prefixed("a0cfc712").is_none());
    }

    #[test]
    fn garbage_keys_are_rejected() {
        assert!(matches!(
            PublicKey::from_spki_der(b"\x30\x03\x02\x01\x01"),
            Err(KeyError::Malformed(_))
        ));
        assert!(PublicKey::from_pem("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----").is_err());
    }
}
