//! Signing keys of the embedded services (CA, CT log, TSA), and their key files.
//!
//! Keys are ECDSA P-256 or P-384 held by aws-lc-rs. On disk a key is one PEM block: PKCS#8
//! `PRIVATE KEY`, or with a passphrase PKCS#8 `ENCRYPTED PRIVATE KEY` (PBES2: PBKDF2 with
//! HMAC-SHA-256, AES-256-CBC), the format `openssl pkey` reads and writes. Files are created with
//! mode 0600, atomically (temporary file in the same directory, fsync, rename, fsync of the
//! directory), and refused when their permissions are looser.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::num::NonZeroU32;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use aws_lc_rs::cipher::{
    DecryptionContext, EncryptionContext, PaddedBlockDecryptingKey, PaddedBlockEncryptingKey, UnboundCipherKey,
    AES_128, AES_256,
};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{
    EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING,
};
use der::asn1::{Any, ObjectIdentifier, OctetString};
use der::{Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use trust_core::crypto::{pem_decode, pem_encode, sha256, Digest, HashAlgorithm, PublicKey};

/// PEM label of an unencrypted PKCS#8 key.
const LABEL_PLAIN: &str = "PRIVATE KEY";
/// PEM label of an encrypted PKCS#8 key.
const LABEL_ENCRYPTED: &str = "ENCRYPTED PRIVATE KEY";

const OID_PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");
const OID_PBKDF2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.12");
const OID_HMAC_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.2.9");
const OID_AES128_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.2");
const OID_AES256_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.42");

/// PBKDF2 iterations for keys this module encrypts (OWASP 2023 guidance for PBKDF2-HMAC-SHA256
/// is 600 000; keys are decrypted once per process start).
const PBKDF2_ITERATIONS: u32 = 600_000;
/// Upper bound on the iterations accepted when reading a key file.
const PBKDF2_MAX_ITERATIONS: u32 = 10_000_000;

/// Key failure. Every variant has a stable [`KeyError::code`] (`key.*`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Reading or writing a key file failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The key material does not parse (not PEM, not PKCS#8, not a valid EC key).
    #[error("malformed key: {0}")]
    Malformed(String),
    /// The key is valid but of another type than the one asked for.
    #[error("wrong key type: expected {expected}, found {found}")]
    WrongKeyType {
        /// The algorithm asked for.
        expected: KeyAlgorithm,
        /// What the file holds.
        found: String,
    },
    /// The key file is encrypted and no passphrase was given.
    #[error("key file {0} is encrypted: a passphrase is required")]
    PassphraseRequired(PathBuf),
    /// The passphrase does not decrypt the key file.
    #[error("wrong passphrase for key file {0}")]
    WrongPassphrase(PathBuf),
    /// A passphrase was given but the key file is not encrypted.
    #[error("key file {0} is not encrypted but a passphrase was given")]
    NotEncrypted(PathBuf),
    /// An empty passphrase was given.
    #[error("empty passphrase")]
    EmptyPassphrase,
    /// The key file is readable or writable by others than its owner.
    #[error("key file {path} has permissions {mode:04o}; it must be 0600 (or stricter)")]
    InsecurePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The encrypted key uses a scheme this module does not read.
    #[error("unsupported key encryption: {0}")]
    UnsupportedEncryption(String),
    /// Key generation, encryption or signing failed inside the crypto library.
    #[error("crypto operation failed: {0}")]
    Crypto(&'static str),
}

impl KeyError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            KeyError::Io { .. } => "key.io",
            KeyError::Malformed(_) => "key.malformed",
            KeyError::WrongKeyType { .. } => "key.wrong_type",
            KeyError::PassphraseRequired(_) => "key.passphrase_required",
            KeyError::WrongPassphrase(_) => "key.wrong_passphrase",
            KeyError::NotEncrypted(_) => "key.not_encrypted",
            KeyError::EmptyPassphrase => "key.empty_passphrase",
            KeyError::InsecurePermissions { .. } => "key.insecure_permissions",
            KeyError::UnsupportedEncryption(_) => "key.unsupported_encryption",
            KeyError::Crypto(_) => "key.crypto",
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The signature algorithm of a [`SigningKey`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// ECDSA on P-256 with SHA-256 (ecdsa-with-SHA256).
    EcdsaP256Sha256,
    /// ECDSA on P-384 with SHA-384 (ecdsa-with-SHA384).
    EcdsaP384Sha384,
}

impl KeyAlgorithm {
    fn signing(self) -> &'static EcdsaSigningAlgorithm {
        match self {
            KeyAlgorithm::EcdsaP256Sha256 => &ECDSA_P256_SHA256_ASN1_SIGNING,
            KeyAlgorithm::EcdsaP384Sha384 => &ECDSA_P384_SHA384_ASN1_SIGNING,
        }
    }

    fn other(self) -> KeyAlgorithm {
        match self {
            KeyAlgorithm::EcdsaP256Sha256 => KeyAlgorithm::EcdsaP384Sha384,
            KeyAlgorithm::EcdsaP384Sha384 => KeyAlgorithm::EcdsaP256Sha256,
        }
    }

    /// The X.509 / CMS signature algorithm OID (ecdsa-with-SHA256 or ecdsa-with-SHA384).
    pub fn signature_oid(self) -> ObjectIdentifier {
        match self {
            KeyAlgorithm::EcdsaP256Sha256 => ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2"),
            KeyAlgorithm::EcdsaP384Sha384 => ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3"),
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyAlgorithm::EcdsaP256Sha256 => "ECDSA P-256 SHA-256",
            KeyAlgorithm::EcdsaP384Sha384 => "ECDSA P-384 SHA-384",
        })
    }
}

/// An ECDSA private key with its public half precomputed.
pub struct SigningKey {
    alg: KeyAlgorithm,
    pair: EcdsaKeyPair,
    spki_der: Vec<u8>,
    public_key: PublicKey,
    key_id: [u8; 32],
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("key_id", &hex::encode(self.key_id))
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    fn from_pair(alg: KeyAlgorithm, pair: EcdsaKeyPair) -> Result<Self, KeyError> {
        let spki = pair
            .public_key()
            .as_der()
            .map_err(|_| KeyError::Crypto("public key encoding"))?;
        let spki_der = spki.as_ref().to_vec();
        let public_key = PublicKey::from_spki_der(&spki_der).map_err(|e| KeyError::Malformed(e.to_string()))?;
        Ok(SigningKey {
            alg,
            pair,
            key_id: sha256(&spki_der),
            spki_der,
            public_key,
        })
    }

    /// Generates a fresh key.
    pub fn generate(alg: KeyAlgorithm) -> Result<Self, KeyError> {
        let pair = EcdsaKeyPair::generate(alg.signing()).map_err(|_| KeyError::Crypto("key generation"))?;
        Self::from_pair(alg, pair)
    }

    /// Parses an unencrypted PKCS#8 (RFC 5208/5958) EC private key of algorithm `alg`.
    pub fn from_pkcs8_der(alg: KeyAlgorithm, der: &[u8]) -> Result<Self, KeyError> {
        match EcdsaKeyPair::from_pkcs8(alg.signing(), der) {
            Ok(pair) => Self::from_pair(alg, pair),
            Err(e) => {
                if EcdsaKeyPair::from_pkcs8(alg.other().signing(), der).is_ok() {
                    Err(KeyError::WrongKeyType {
                        expected: alg,
                        found: alg.other().to_string(),
                    })
                } else {
                    Err(KeyError::Malformed(format!("not a {alg} PKCS#8 key: {e}")))
                }
            }
        }
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.alg
    }

    /// Signs `msg`: an ASN.1 DER ECDSA signature, hashing with SHA-256 (P-256) or SHA-384 (P-384).
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.pair
            .sign(&SystemRandom::new(), msg)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| KeyError::Crypto("signing"))
    }

    /// Signs a message given only its digest (`sha256:` for P-256, `sha384:` for P-384): the same
    /// signature [`SigningKey::sign`] makes over the message itself. Used to sign artifacts by digest.
    pub fn sign_digest(&self, digest: &Digest) -> Result<Vec<u8>, KeyError> {
        let alg = match (self.alg, digest.algorithm()) {
            (KeyAlgorithm::EcdsaP256Sha256, HashAlgorithm::Sha256) => &aws_lc_rs::digest::SHA256,
            (KeyAlgorithm::EcdsaP384Sha384, HashAlgorithm::Sha384) => &aws_lc_rs::digest::SHA384,
            (alg, hash) => {
                return Err(KeyError::WrongKeyType {
                    expected: alg,
                    found: format!("a {} digest", hash.name()),
                })
            }
        };
        let imported = aws_lc_rs::digest::Digest::import_less_safe(digest.as_bytes(), alg)
            .map_err(|_| KeyError::Crypto("digest"))?;
        self.pair
            .sign_digest(&imported)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| KeyError::Crypto("signing"))
    }

    /// The DER `SubjectPublicKeyInfo` of the public key.
    pub fn public_key_spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The public key, as trust-core verifies with it.
    pub fn public_key(&self) -> PublicKey {
        self.public_key.clone()
    }

    /// SHA-256 of the DER SPKI (the Sigstore / RFC 6962 log id and key id).
    pub fn key_id(&self) -> [u8; 32] {
        self.key_id
    }

    /// The unencrypted PKCS#8 v1 DER of the private key.
    fn to_pkcs8_der(&self) -> Result<Vec<u8>, KeyError> {
        self.pair
            .to_pkcs8v1()
            .map(|d| d.as_ref().to_vec())
            .map_err(|_| KeyError::Crypto("PKCS#8 encoding"))
    }

    /// The key as PEM: PKCS#8 `PRIVATE KEY`, or `ENCRYPTED PRIVATE KEY` with a passphrase.
    pub fn to_pkcs8_pem(&self, passphrase: Option<&str>) -> Result<String, KeyError> {
        let der = self.to_pkcs8_der()?;
        match passphrase {
            None => Ok(pem_encode(LABEL_PLAIN, &der)),
            Some(p) => Ok(pem_encode(LABEL_ENCRYPTED, &encrypt_pkcs8(&der, p)?)),
        }
    }
}

/// `EncryptedPrivateKeyInfo` (RFC 5958 §3).
#[derive(Sequence)]
struct EncryptedPrivateKeyInfo {
    encryption_algorithm: AlgorithmIdentifierOwned,
    encrypted_data: OctetString,
}

/// `PBES2-params` (RFC 8018 §A.4).
#[derive(Sequence)]
struct Pbes2Params {
    key_derivation_func: AlgorithmIdentifierOwned,
    encryption_scheme: AlgorithmIdentifierOwned,
}

/// `PBKDF2-params` (RFC 8018 §A.2), salt `specified` only.
#[derive(Sequence)]
struct Pbkdf2Params {
    salt: OctetString,
    iteration_count: u32,
    key_length: Option<u32>,
    prf: Option<AlgorithmIdentifierOwned>,
}

fn der_err(what: &'static str) -> impl FnOnce(der::Error) -> KeyError {
    move |e| KeyError::Malformed(format!("{what}: {e}"))
}

fn random<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut out = [0u8; N];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| KeyError::Crypto("random"))?;
    Ok(out)
}

fn pbkdf2_sha256(passphrase: &str, salt: &[u8], iterations: NonZeroU32, out: &mut [u8]) {
    aws_lc_rs::pbkdf2::derive(
        aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt,
        passphrase.as_bytes(),
        out,
    );
}

fn encrypt_pkcs8(plain: &[u8], passphrase: &str) -> Result<Vec<u8>, KeyError> {
    if passphrase.is_empty() {
        return Err(KeyError::EmptyPassphrase);
    }
    let salt: [u8; 16] = random()?;
    let iv: [u8; 16] = random()?;
    let iterations = NonZeroU32::new(PBKDF2_ITERATIONS).ok_or(KeyError::Crypto("iterations"))?;
    let mut key = [0u8; 32];
    pbkdf2_sha256(passphrase, &salt, iterations, &mut key);
    let cipher_key = UnboundCipherKey::new(&AES_256, &key).map_err(|_| KeyError::Crypto("AES key"))?;
    let enc = PaddedBlockEncryptingKey::cbc_pkcs7(cipher_key).map_err(|_| KeyError::Crypto("AES-CBC"))?;
    let mut data = plain.to_vec();
    enc.less_safe_encrypt(&mut data, EncryptionContext::Iv128(FixedLength::from(iv)))
        .map_err(|_| KeyError::Crypto("AES-CBC encryption"))?;
    let enc_err = |e: der::Error| KeyError::Malformed(format!("encoding encrypted key: {e}"));
    let null = Some(Any::null());
    let kdf = Pbkdf2Params {
        salt: OctetString::new(salt.to_vec()).map_err(enc_err)?,
        iteration_count: PBKDF2_ITERATIONS,
        key_length: None,
        prf: Some(AlgorithmIdentifierOwned {
            oid: OID_HMAC_SHA256,
            parameters: null,
        }),
    };
    let params = Pbes2Params {
        key_derivation_func: AlgorithmIdentifierOwned {
            oid: OID_PBKDF2,
            parameters: Some(Any::encode_from(&kdf).map_err(enc_err)?),
        },
        encryption_scheme: AlgorithmIdentifierOwned {
            oid: OID_AES256_CBC,
            parameters: Some(Any::encode_from(&OctetString::new(iv.to_vec()).map_err(enc_err)?).map_err(enc_err)?),
        },
    };
    EncryptedPrivateKeyInfo {
        encryption_algorithm: AlgorithmIdentifierOwned {
            oid: OID_PBES2,
            parameters: Some(Any::encode_from(&params).map_err(enc_err)?),
        },
        encrypted_data: OctetString::new(data).map_err(enc_err)?,
    }
    .to_der()
    .map_err(enc_err)
}

/// Decrypts an `EncryptedPrivateKeyInfo` (PBES2, PBKDF2-HMAC-SHA256, AES-128/256-CBC).
fn decrypt_pkcs8(der: &[u8], passphrase: &str, path: &Path) -> Result<Vec<u8>, KeyError> {
    let unsupported = |s: &str| KeyError::UnsupportedEncryption(s.to_owned());
    let info = EncryptedPrivateKeyInfo::from_der(der).map_err(der_err("EncryptedPrivateKeyInfo"))?;
    if info.encryption_algorithm.oid != OID_PBES2 {
        return Err(unsupported(&format!("{} (only PBES2)", info.encryption_algorithm.oid)));
    }
    let params: Pbes2Params = info
        .encryption_algorithm
        .parameters
        .as_ref()
        .ok_or_else(|| KeyError::Malformed("PBES2 without parameters".into()))?
        .decode_as()
        .map_err(der_err("PBES2 parameters"))?;
    if params.key_derivation_func.oid != OID_PBKDF2 {
        return Err(unsupported(&format!(
            "key derivation {} (only PBKDF2)",
            params.key_derivation_func.oid
        )));
    }
    let kdf: Pbkdf2Params = params
        .key_derivation_func
        .parameters
        .as_ref()
        .ok_or_else(|| KeyError::Malformed("PBKDF2 without parameters".into()))?
        .decode_as()
        .map_err(der_err("PBKDF2 parameters"))?;
    match &kdf.prf {
        Some(prf) if prf.oid == OID_HMAC_SHA256 => {}
        Some(prf) => return Err(unsupported(&format!("PBKDF2 PRF {} (only HMAC-SHA-256)", prf.oid))),
        None => return Err(unsupported("PBKDF2 PRF HMAC-SHA-1 (only HMAC-SHA-256)")),
    }
    let (alg, key_len) = match params.encryption_scheme.oid {
        OID_AES256_CBC => (&AES_256, 32usize),
        OID_AES128_CBC => (&AES_128, 16usize),
        other => return Err(unsupported(&format!("cipher {other} (only AES-128/256-CBC)"))),
    };
    if kdf.key_length.is_some_and(|l| usize::try_from(l).ok() != Some(key_len)) {
        return Err(KeyError::Malformed(
            "PBKDF2 key length does not match the cipher".into(),
        ));
    }
    if kdf.iteration_count > PBKDF2_MAX_ITERATIONS {
        return Err(unsupported("more than 10 000 000 PBKDF2 iterations"));
    }
    let iterations =
        NonZeroU32::new(kdf.iteration_count).ok_or_else(|| KeyError::Malformed("zero PBKDF2 iterations".into()))?;
    let iv: OctetString = params
        .encryption_scheme
        .parameters
        .as_ref()
        .ok_or_else(|| KeyError::Malformed("AES-CBC without IV".into()))?
        .decode_as()
        .map_err(der_err("AES-CBC IV"))?;
    let iv: [u8; 16] = iv
        .as_bytes()
        .try_into()
        .map_err(|_| KeyError::Malformed("AES-CBC IV is not 16 bytes".into()))?;
    let mut key = vec![0u8; key_len];
    pbkdf2_sha256(passphrase, kdf.salt.as_bytes(), iterations, &mut key);
    let cipher_key = UnboundCipherKey::new(alg, &key).map_err(|_| KeyError::Crypto("AES key"))?;
    let dec = PaddedBlockDecryptingKey::cbc_pkcs7(cipher_key).map_err(|_| KeyError::Crypto("AES-CBC"))?;
    let mut data = info.encrypted_data.as_bytes().to_vec();
    let plain = dec
        .decrypt(&mut data, DecryptionContext::Iv128(FixedLength::from(iv)))
        .map_err(|_| KeyError::WrongPassphrase(path.to_path_buf()))?;
    Ok(plain.to_vec())
}

/// Parses a PEM key file's content (see [`load_or_create`] for the rules).
fn parse_key_file(pem: &str, alg: KeyAlgorithm, passphrase: Option<&str>, path: &Path) -> Result<SigningKey, KeyError> {
    let (label, der) = pem_decode(pem).map_err(KeyError::Malformed)?;
    match (label.as_str(), passphrase) {
        (LABEL_PLAIN, None) => SigningKey::from_pkcs8_der(alg, &der),
        (LABEL_PLAIN, Some(_)) => Err(KeyError::NotEncrypted(path.to_path_buf())),
        (LABEL_ENCRYPTED, None) => Err(KeyError::PassphraseRequired(path.to_path_buf())),
        (LABEL_ENCRYPTED, Some(p)) => {
            let plain = decrypt_pkcs8(&der, p, path)?;
            match SigningKey::from_pkcs8_der(alg, &plain) {
                // Padding that happens to check out under a wrong key leaves garbage.
                Err(KeyError::Malformed(_)) => Err(KeyError::WrongPassphrase(path.to_path_buf())),
                other => other,
            }
        }
        (other, _) => Err(KeyError::Malformed(format!(
            "PEM label {other:?} (expected {LABEL_PLAIN:?} or {LABEL_ENCRYPTED:?})"
        ))),
    }
}

/// Writes `bytes` to `path` atomically with permission bits `mode`: a temporary file in the same
/// directory (created with `mode`), fsync, rename over `path`, fsync of the directory. Creates
/// the directory (0700) when missing.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "path has no file name"))?;
    let suffix: [u8; 8] = random().map_err(|_| std::io::Error::other("random"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", hex::encode(suffix)));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).mode(mode).open(&tmp)?;
        // The umask may have cleared bits of `mode`; set exactly what was asked.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Loads the key at `path`, or creates it if the file does not exist.
///
/// Creating generates a key of `alg` and writes it as PKCS#8 PEM with mode 0600 atomically
/// (temporary file in the same directory, fsync, rename, fsync of the directory). With a
/// passphrase the file is an `ENCRYPTED PRIVATE KEY` (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC),
/// which `openssl pkey -passin` reads.
///
/// Loading fails with a specific error when the file's permissions are looser than 0600, it is
/// encrypted and no passphrase is given, it is not encrypted and one is given, the passphrase is
/// wrong, or it holds another key type than `alg`.
pub fn load_or_create(path: &Path, alg: KeyAlgorithm, passphrase: Option<&str>) -> Result<SigningKey, KeyError> {
    if passphrase == Some("") {
        return Err(KeyError::EmptyPassphrase);
    }
    match fs::metadata(path) {
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                return Err(KeyError::InsecurePermissions {
                    path: path.to_path_buf(),
                    mode,
                });
            }
            let pem = fs::read_to_string(path).map_err(io_err(path))?;
            parse_key_file(&pem, alg, passphrase, path)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SigningKey::generate(alg)?;
            let pem = key.to_pkcs8_pem(passphrase)?;
            write_atomic(path, pem.as_bytes(), 0o600).map_err(io_err(path))?;
            Ok(key)
        }
        Err(e) => Err(io_err(path)(e)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::embedded::testutil::temp_dir;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn signatures_verify_with_trust_core() {
        for alg in [KeyAlgorithm::EcdsaP256Sha256, KeyAlgorithm::EcdsaP384Sha384] {
            let key = SigningKey::generate(alg).unwrap();
            assert_eq!(key.algorithm(), alg);
            let sig = key.sign(b"hello").unwrap();
            let pk = key.public_key();
            assert!(pk.verify(b"hello", &sig).is_ok());
            assert!(pk.verify(b"hellO", &sig).is_err());
            assert_eq!(pk.spki_der(), key.public_key_spki_der());
            assert_eq!(key.key_id(), sha256(key.public_key_spki_der()));
            assert_eq!(key.key_id(), pk.key_id());
        }
    }

    #[test]
    fn p256_signature_hashes_with_sha256_and_p384_with_sha384() {
        use trust_core::crypto::{HashAlgorithm, SignatureScheme};
        let k256 = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let sig = k256.sign(b"m").unwrap();
        let pk = k256.public_key();
        assert!(pk
            .verify_with(SignatureScheme::Ecdsa(HashAlgorithm::Sha256), b"m", &sig)
            .is_ok());
        let k384 = SigningKey::generate(KeyAlgorithm::EcdsaP384Sha384).unwrap();
        let sig = k384.sign(b"m").unwrap();
        let pk = k384.public_key();
        assert!(pk
            .verify_with(SignatureScheme::Ecdsa(HashAlgorithm::Sha384), b"m", &sig)
            .is_ok());
        assert!(pk
            .verify_with(SignatureScheme::Ecdsa(HashAlgorithm::Sha256), b"m", &sig)
            .is_err());
    }

    #[test]
    fn created_file_is_0600_and_reloads_to_the_same_key() {
        let dir = temp_dir("keys");
        let path = dir.join("sub/ct.key.pem");
        let a = load_or_create(&path, KeyAlgorithm::EcdsaP256Sha256, None).unwrap();
        assert_eq!(mode(&path), 0o600);
        let pem = fs::read_to_string(&path).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let b = load_or_create(&path, KeyAlgorithm::EcdsaP256Sha256, None).unwrap();
        assert_eq!(a.public_key_spki_der(), b.public_key_spki_der());
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.join("sub")).unwrap().count(), 1);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn looser_permissions_are_refused() {
        let dir = temp_dir("keys");
        let path = dir.join("k.pem");
        load_or_create(&path, KeyAlgorithm::EcdsaP256Sha256, None).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let err = load_or_create(&path, KeyAlgorithm::EcdsaP256Sha256, None).unwrap_err();
        assert_eq!(err.code(), "key.insecure_permissions", "{err}");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert!(load_or_create(&path, KeyAlgorithm::EcdsaP256Sha256, None).is_ok());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn wrong_key_type_is_refused() {
        let dir = temp_dir("keys");
        let path = dir.join("k.pem");
        load_or_create(&path, KeyAlgorithm::EcdsaP384Sha384, None).unwrap();
        let err = load_or_create(&path, KeyAlgorithm::EcdsaP256Sha256, None).unwrap_err();
        assert_eq!(err.code(), "key.wrong_type", "{err}");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn garbage_is_malformed() {
        let dir = temp_dir("keys");
        let path = dir.join("k.pem");
        write_atomic(
            &path,
            pem_encode(LABEL_PLAIN, b"\x30\x03\x02\x01\x00").as_bytes(),
            0o600,
        )
        .unwrap();
        let err = load_or_create(&path, KeyAlgorithm::EcdsaP256Sha256, None).unwrap_err();
        assert_eq!(err.code(), "key.malformed", "{err}");
        write_atomic(&path, b"not pem", 0o600).unwrap();
        let err = load_or_create(&path, KeyAlgorithm::EcdsaP256Sha256, None).unwrap_err();
        assert_eq!(err.code(), "key.malformed", "{err}");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn encrypted_key_needs_the_right_passphrase() {
        let dir = temp_dir("keys");
        let path = dir.join("k.pem");
        let a = load_or_create(&path, KeyAlgorithm::EcdsaP384Sha384, Some("correct horse")).unwrap();
        assert_eq!(mode(&path), 0o600);
        let pem = fs::read_to_string(&path).unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let b = load_or_create(&path, KeyAlgorithm::EcdsaP384Sha384, Some("correct horse")).unwrap();
        assert_eq!(a.public_key_spki_der(), b.public_key_spki_der());
        let err = load_or_create(&path, KeyAlgorithm::EcdsaP384Sha384, Some("battery staple")).unwrap_err();
        assert_eq!(err.code(), "key.wrong_passphrase", "{err}");
        let err = load_or_create(&path, KeyAlgorithm::EcdsaP384Sha384, None).unwrap_err();
        assert_eq!(err.code(), "key.passphrase_required", "{err}");
        let err = load_or_create(&path, KeyAlgorithm::EcdsaP256Sha256, Some("correct horse")).unwrap_err();
        assert_eq!(err.code(), "key.wrong_type", "{err}");
        let err = load_or_create(&path, KeyAlgorithm::EcdsaP384Sha384, Some("")).unwrap_err();
        assert_eq!(err.code(), "key.empty_passphrase", "{err}");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn passphrase_on_unencrypted_file_is_refused() {
        let dir = temp_dir("keys");
        let path = dir.join("k.pem");
        load_or_create(&path, KeyAlgorithm::EcdsaP256Sha256, None).unwrap();
        let err = load_or_create(&path, KeyAlgorithm::EcdsaP256Sha256, Some("pw")).unwrap_err();
        assert_eq!(err.code(), "key.not_encrypted", "{err}");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn pkcs8_der_round_trips() {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let der = key.to_pkcs8_der().unwrap();
        let again = SigningKey::from_pkcs8_der(KeyAlgorithm::EcdsaP256Sha256, &der).unwrap();
        assert_eq!(again.key_id(), key.key_id());
    }

    /// Written by `openssl pkcs8 -topk8 -v2 aes-256-cbc -v2prf hmacWithSHA256 -passout pass:pw`
    /// (OpenSSL 3.0), 2048 iterations.
    const OPENSSL_ENCRYPTED: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAiRdrBC65pV4QICCAAw
DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEE8ygprDUUznhzXV9dx/A18EgZA4
sVEbqjgyYnA4MqwaxgkL5BLW+PYV+AF06MEC6zOsPQcZOaEDegYdXC5qB+PW8XfO
nnkS1vynwLtWZN5r+oW+pQu+2IcEAChDWXRjZQhRtQvawaNhy4gjGrTFptFTUQg5
/URPfV7k7EE3FcXk8lrwuCDxvVC8G0GcXgF8UNsvatvbLn/ApJj3L7p1Yue9JCU=
-----END ENCRYPTED PRIVATE KEY-----
";
    /// `openssl pkey -pubout -outform DER` of that key.
    const OPENSSL_SPKI_HEX: &str = "3059301306072a8648ce3d020106082a8648ce3d030107034200047f448c5bd0f4d8f00a605ff598382825619675ae1b4ae11ebb2da64185adf3311c0c11dca6a6564cdbd581615b3784a97227736a88ffe92c9a4ab9c81148ec66";

    #[test]
    fn reads_a_key_encrypted_by_openssl() {
        let dir = temp_dir("keys");
        let path = dir.join("k.pem");
        write_atomic(&path, OPENSSL_ENCRYPTED.as_bytes(), 0o600).unwrap();
        let key = load_or_create(&path, KeyAlgorithm::EcdsaP256Sha256, Some("pw")).unwrap();
        assert_eq!(hex::encode(key.public_key_spki_der()), OPENSSL_SPKI_HEX);
        let err = load_or_create(&path, KeyAlgorithm::EcdsaP256Sha256, Some("pW")).unwrap_err();
        assert_eq!(err.code(), "key.wrong_passphrase", "{err}");
        fs::remove_dir_all(dir).unwrap();
    }
}
