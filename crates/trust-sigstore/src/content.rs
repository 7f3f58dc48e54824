//! What a signer signs and how the Sigstore bundle around it is assembled, shared by the local
//! mode (embedded services) and the sigstore mode (Fulcio, Rekor, TSA).

use crate::embedded::keys::{KeyError, SigningKey};
use crate::embedded::rekor::{self, EntryKind};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};
use trust_core::crypto::{Digest, HashAlgorithm};
use trust_core::dsse::{pae, IN_TOTO_PAYLOAD_TYPE};

/// The in-toto statement type certus-trust writes.
pub const IN_TOTO_STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// The bundle media type certus-trust writes.
pub const BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// What to sign.
#[derive(Clone, Debug)]
pub enum SignContent {
    /// A message signature over the artifact digest (`hashedrekord` entry).
    Digest,
    /// An in-toto statement whose only subject is the artifact, in a DSSE envelope (`dsse` entry).
    InToto {
        /// The statement's predicate type.
        predicate_type: String,
        /// The predicate (a JSON object).
        predicate: Value,
        /// The subject's name.
        subject_name: String,
        /// Further subjects of the statement (name, SHA-256 digest), after the artifact.
        additional_subjects: Vec<(String, Digest)>,
    },
    /// A complete in-toto statement, signed verbatim in a DSSE envelope (`dsse` entry); one of
    /// its subjects must carry the artifact's SHA-256 digest.
    Statement(Vec<u8>),
}

/// Why content could not be signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContentError {
    /// The request is invalid.
    #[error("{0}")]
    InvalidInput(String),
    /// The key failed to sign.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// A DSSE envelope as signed.
#[derive(Clone, Debug)]
pub struct Envelope {
    /// The envelope JSON, as logged.
    pub json: Vec<u8>,
    /// The payload (the in-toto statement).
    pub payload: Vec<u8>,
}

/// Signed content: the signature and the bundle's content member.
#[derive(Clone, Debug)]
pub struct SignedContent {
    /// The signature (over the digest, or the DSSE PAE).
    pub signature: Vec<u8>,
    /// The log entry kind it goes into.
    pub kind: EntryKind,
    /// `{"messageSignature": ...}` or `{"dsseEnvelope": ...}`.
    pub content: Value,
    /// The in-toto predicate type, for DSSE content.
    pub predicate_type: Option<String>,
    /// The DSSE envelope, for DSSE content.
    pub envelope: Option<Envelope>,
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    B64.encode(bytes)
}

/// A bundle's `messageSignature` content member (`algorithm` as protobuf-specs names it, e.g.
/// `SHA2_256`).
pub fn message_signature(algorithm: &str, digest: &[u8], signature: &[u8]) -> Value {
    json!({"messageSignature": {
        "messageDigest": {"algorithm": algorithm, "digest": b64(digest)},
        "signature": b64(signature),
    }})
}

/// Signs `content` about `artifact` (SHA-256 only) with `key`.
pub fn sign_content(key: &SigningKey, artifact: &Digest, content: &SignContent) -> Result<SignedContent, ContentError> {
    if artifact.algorithm() != HashAlgorithm::Sha256 {
        return Err(ContentError::InvalidInput(
            "only sha256 artifact digests can be signed".into(),
        ));
    }
    match content {
        SignContent::Digest => {
            let signature = key.sign_digest(artifact)?;
            let content = message_signature("SHA2_256", artifact.as_bytes(), &signature);
            Ok(SignedContent {
                signature,
                kind: EntryKind::HashedRekord,
                content,
                predicate_type: None,
                envelope: None,
            })
        }
        SignContent::InToto {
            predicate_type,
            predicate,
            subject_name,
            additional_subjects,
        } => {
            if predicate_type.trim().is_empty() {
                return Err(ContentError::InvalidInput("the predicate type is empty".into()));
            }
            if !predicate.is_object() {
                return Err(ContentError::InvalidInput("the predicate must be a JSON object".into()));
            }
            let mut subjects =
                vec![json!({"name": subject_name, "digest": {"sha256": hex::encode(artifact.as_bytes())}})];
            for (name, digest) in additional_subjects {
                if digest.algorithm() != HashAlgorithm::Sha256 {
                    return Err(ContentError::InvalidInput(format!(
                        "subject {name}: only sha256 digests"
                    )));
                }
                subjects.push(json!({"name": name, "digest": {"sha256": hex::encode(digest.as_bytes())}}));
            }
            let statement = json!({
                "_type": IN_TOTO_STATEMENT_V1,
                "subject": subjects,
                "predicateType": predicate_type,
                "predicate": predicate,
            });
            let payload = serde_json::to_vec(&statement).map_err(|e| ContentError::InvalidInput(e.to_string()))?;
            sign_statement(key, payload, predicate_type.clone())
        }
        SignContent::Statement(payload) => {
            let predicate_type = check_statement(payload, artifact)?;
            sign_statement(key, payload.clone(), predicate_type)
        }
    }
}

/// Checks a caller's in-toto statement: a JSON object of a known statement type, with a
/// predicate type and a subject carrying `artifact`. Returns the predicate type.
fn check_statement(payload: &[u8], artifact: &Digest) -> Result<String, ContentError> {
    let bad = |m: String| ContentError::InvalidInput(format!("in-toto statement: {m}"));
    let v: Value = serde_json::from_slice(payload).map_err(|e| bad(format!("not JSON: {e}")))?;
    let ty = v.get("_type").and_then(Value::as_str).unwrap_or_default();
    if ty != IN_TOTO_STATEMENT_V1 && ty != "https://in-toto.io/Statement/v0.1" {
        return Err(bad(format!("_type {ty:?} is not an in-toto statement type")));
    }
    let predicate_type = v
        .get("predicateType")
        .and_then(Value::as_str)
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| bad("no predicateType".into()))?;
    let want = hex::encode(artifact.as_bytes());
    let subjects = v
        .get("subject")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no subject".into()))?;
    let found = subjects.iter().any(|s| {
        s.get("digest")
            .and_then(|d| d.get("sha256"))
            .and_then(Value::as_str)
            .is_some_and(|d| d.eq_ignore_ascii_case(&want))
    });
    if !found {
        return Err(bad(format!("no subject has the sha256 digest {want}")));
    }
    Ok(predicate_type.to_owned())
}

/// The first SHA-256 subject digest of an in-toto statement: the artifact it is about.
pub fn statement_subject(payload: &[u8]) -> Result<Digest, ContentError> {
    let bad = |m: &str| ContentError::InvalidInput(format!("in-toto statement: {m}"));
    let v: Value = serde_json::from_slice(payload).map_err(|_| bad("not JSON"))?;
    let hex_digest = v
        .get("subject")
        .and_then(Value::as_array)
        .and_then(|s| s.iter().find_map(|s| s.get("digest")?.get("sha256")?.as_str()))
        .ok_or_else(|| bad("no subject with a sha256 digest"))?;
    Digest::parse_prefixed(&format!("sha256:{hex_digest}"))
        .ok_or_else(|| bad("the subject's sha256 digest is not 64 hex digits"))
}

fn sign_statement(key: &SigningKey, payload: Vec<u8>, predicate_type: String) -> Result<SignedContent, ContentError> {
    let signature = key.sign(&pae(IN_TOTO_PAYLOAD_TYPE, &payload))?;
    let envelope = json!({
        "payload": b64(&payload),
        "payloadType": IN_TOTO_PAYLOAD_TYPE,
        "signatures": [{"sig": b64(&signature), "keyid": ""}],
    });
    let json = serde_json::to_vec(&envelope).map_err(|e| ContentError::InvalidInput(e.to_string()))?;
    Ok(SignedContent {
        signature,
        kind: EntryKind::Dsse,
        content: json!({"dsseEnvelope": envelope}),
        predicate_type: Some(predicate_type),
        envelope: Some(Envelope { json, payload }),
    })
}

impl SignedContent {
    /// The canonical Rekor v1 entry body (`hashedrekord` or `dsse` 0.0.1) for this content
    /// signed under the certificate `cert_pem`.
    pub fn rekor_v1_body(&self, artifact: &Digest, cert_pem: &str) -> Vec<u8> {
        match &self.envelope {
            Some(e) => rekor::dsse_v001(&e.json, &e.payload, &[&self.signature], cert_pem),
            None => rekor::hashedrekord_v001(artifact, &self.signature, cert_pem),
        }
    }
}

/// A v0.3 bundle: the leaf certificate, the transparency-log entries (the bundle's
/// `tlogEntries` elements), RFC 3161 timestamps (DER), and the content member of
/// [`SignedContent`].
pub fn assemble_bundle(leaf_der: &[u8], tlog_entries: Vec<Value>, timestamps: &[Vec<u8>], content: &Value) -> String {
    let mut material = json!({
        "certificate": {"rawBytes": b64(leaf_der)},
        "tlogEntries": tlog_entries,
    });
    if let (false, Some(m)) = (timestamps.is_empty(), material.as_object_mut()) {
        let ts: Vec<Value> = timestamps.iter().map(|t| json!({"signedTimestamp": b64(t)})).collect();
        m.insert("timestampVerificationData".into(), json!({"rfc3161Timestamps": ts}));
    }
    let mut bundle = json!({
        "mediaType": BUNDLE_V03,
        "verificationMaterial": material,
    });
    if let (Some(b), Some(c)) = (bundle.as_object_mut(), content.as_object()) {
        b.extend(c.clone());
    }
    bundle.to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::embedded::keys::KeyAlgorithm;
    use trust_core::crypto::sha256;

    fn statement(ty: &str, digest: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "_type": ty,
            "subject": [{"name": "a", "digest": {"sha256": digest}}],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {},
        }))
        .unwrap()
    }

    #[test]
    fn a_callers_statement_is_signed_verbatim_and_must_name_the_artifact() {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let artifact = Digest::new(HashAlgorithm::Sha256, &sha256(b"artifact")).unwrap();
        let good = statement(IN_TOTO_STATEMENT_V1, &hex::encode(artifact.as_bytes()));
        assert_eq!(statement_subject(&good).unwrap(), artifact);
        let signed = sign_content(&key, &artifact, &SignContent::Statement(good.clone())).unwrap();
        assert_eq!(signed.envelope.unwrap().payload, good);
        assert_eq!(signed.predicate_type.as_deref(), Some("https://slsa.dev/provenance/v1"));

        let other = statement(IN_TOTO_STATEMENT_V1, &hex::encode(sha256(b"other")));
        let err = sign_content(&key, &artifact, &SignContent::Statement(other)).unwrap_err();
        assert!(err.to_string().contains("no subject has the sha256 digest"), "{err}");
        let wrong_type = statement("https://example.com/Statement", &hex::encode(artifact.as_bytes()));
        let err = sign_content(&key, &artifact, &SignContent::Statement(wrong_type)).unwrap_err();
        assert!(err.to_string().contains("is not an in-toto statement type"), "{err}");
        let err = sign_content(&key, &artifact, &SignContent::Statement(b"{".to_vec())).unwrap_err();
        assert!(err.to_string().contains("not JSON"), "{err}");
    }
}
