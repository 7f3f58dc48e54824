//! What the standard Sigstore protocols need from the local services: a certificate for a
//! caller's key and an already-verified identity (Fulcio), and appending a client-proposed Rekor
//! v1 entry after checking it as Rekor does.

use super::{b64, BundleParts, LocalError, LocalSigstore};
use crate::content::message_signature;
use crate::embedded::ca::{IssueRequest, IssuedCertificate, SignerIdentity};
use crate::embedded::log::{LogError, LoggedEntry, NewEntry};
use crate::embedded::now;
use crate::embedded::rekor::{self, EntryKind};
use crate::embedded::store::{LogStore, SignedArtifact};
use crate::embedded::tsa::LocalTsa;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};
use trust_core::crypto::{pem_decode, pem_encode, sha256, Digest, HashAlgorithm, PublicKey};
use trust_core::dsse::{pae, IN_TOTO_PAYLOAD_TYPE};
use trust_core::x509::Certificate;

/// Largest proposed entry body accepted (Rekor's default is 32 MiB; certus-trust entries are
/// signatures over digests, so much less is needed).
pub const MAX_PROPOSED_ENTRY: usize = 1024 * 1024;

/// Largest canonical entry body logged: tlog-tiles entry bundles (`/api/v2/tile/entries`) hold
/// each entry's length in two bytes.
pub const MAX_ENTRY_BODY: usize = 65_535;

/// A proposed entry that passed its checks, ready to log.
struct Checked {
    kind: EntryKind,
    body: Vec<u8>,
    digest: Digest,
    verifier: EntryVerifier,
    content: Value,
    predicate_type: Option<String>,
}

/// The verifier of a proposed entry: a certificate (identity known if our CA issued it) or a key.
struct EntryVerifier {
    key: PublicKey,
    pem: String,
    leaf_der: Option<Vec<u8>>,
    /// Signer identity and issuer, when the certificate chains to this instance's CA.
    signer: Option<(String, String)>,
}

fn invalid(msg: impl Into<String>) -> LocalError {
    LocalError::InvalidInput(msg.into())
}

fn b64_field(v: &Value, what: &str) -> Result<Vec<u8>, LocalError> {
    let s = v.as_str().ok_or_else(|| invalid(format!("{what} is missing")))?;
    B64.decode(s).map_err(|e| invalid(format!("{what} is not base64: {e}")))
}

impl<S: LogStore> LocalSigstore<S> {
    /// The timestamp authority.
    pub fn tsa(&self) -> &LocalTsa {
        &self.tsa
    }

    /// The CA chain above issued certificates: intermediate, root (DER).
    pub fn ca_chain_der(&self) -> Vec<Vec<u8>> {
        self.ca.chain_der()
    }

    /// Issues a certificate (with an embedded SCT) for `public_key_spki_der` to an identity the
    /// caller has already authenticated (an OIDC token verified by [`crate::oidc`]).
    pub fn issue_certificate(
        &self,
        public_key_spki_der: &[u8],
        identity: SignerIdentity,
        oidc_issuer: &str,
    ) -> Result<IssuedCertificate, LocalError> {
        Ok(self.ca.issue(
            &IssueRequest {
                public_key_spki_der,
                identity,
                oidc_issuer: oidc_issuer.to_owned(),
                claims: Vec::new(),
                now: now(),
            },
            &self.ct,
        )?)
    }

    fn entry_verifier(&self, pem_bytes: &[u8]) -> Result<EntryVerifier, LocalError> {
        let pem = String::from_utf8(pem_bytes.to_vec()).map_err(|_| invalid("the verifier is not PEM text"))?;
        let (label, der) = pem_decode(&pem).map_err(|e| invalid(format!("the verifier is not PEM: {e}")))?;
        match label.as_str() {
            "CERTIFICATE" => {
                let cert =
                    Certificate::from_der(&der).map_err(|e| invalid(format!("the certificate does not parse: {e}")))?;
                // Credit the signer only for a certificate of our CA that is valid now (the entry's
                // integrated time): an expired certificate's key proves nothing about who signed.
                let at = now();
                let ours = Certificate::from_der(self.ca.intermediate_der())
                    .ok()
                    .is_some_and(|ca| cert.verify_issued_by(&ca).is_ok())
                    && cert.not_before() <= at
                    && at <= cert.not_after();
                let signer = if ours {
                    cert.signer_identity().zip(cert.fulcio().issuer.clone())
                } else {
                    None
                };
                Ok(EntryVerifier {
                    key: cert.public_key().clone(),
                    pem,
                    leaf_der: Some(der),
                    signer,
                })
            }
            "PUBLIC KEY" => Ok(EntryVerifier {
                key: PublicKey::from_spki_der(&der).map_err(|e| invalid(format!("the public key: {e}")))?,
                pem,
                leaf_der: None,
                signer: None,
            }),
            other => Err(invalid(format!(
                "the verifier is a PEM {other:?}, not a certificate or public key"
            ))),
        }
    }

    /// Checks a client-proposed Rekor v1 entry (`hashedrekord` or `dsse`, version 0.0.1) as
    /// Rekor does, appends its canonical body, and returns the logged entry. When the entry's
    /// certificate was issued by this instance's CA, a signing record (identity and issuer from
    /// the certificate, a bundle without timestamp) is committed with it, so `/v1/transparency`
    /// finds it. Any error records nothing.
    pub async fn append_proposed(&self, proposed: &Value) -> Result<LoggedEntry, LocalError> {
        let (kind, version) = (proposed["kind"].as_str(), proposed["apiVersion"].as_str());
        let spec = &proposed["spec"];
        let (entry_kind, body, digest, verifier, content, predicate_type) = match (kind, version) {
            (Some("hashedrekord"), Some("0.0.1")) => {
                let algorithm = spec["data"]["hash"]["algorithm"].as_str().unwrap_or_default();
                if algorithm != "sha256" {
                    return Err(invalid(format!(
                        "spec.data.hash.algorithm {algorithm:?} is not supported (sha256)"
                    )));
                }
                let value = spec["data"]["hash"]["value"].as_str().unwrap_or_default();
                let digest = hex::decode(value)
                    .ok()
                    .and_then(|d| Digest::new(HashAlgorithm::Sha256, &d))
                    .ok_or_else(|| invalid("spec.data.hash.value is not 64 hex digits"))?;
                let sig = b64_field(&spec["signature"]["content"], "spec.signature.content")?;
                let pem = b64_field(
                    &spec["signature"]["publicKey"]["content"],
                    "spec.signature.publicKey.content",
                )?;
                let verifier = self.entry_verifier(&pem)?;
                verifier
                    .key
                    .verify_prehashed(&digest, &sig)
                    .map_err(|_| invalid("the signature does not verify over the digest with the given key"))?;
                let body = rekor::hashedrekord_v001(&digest, &sig, &verifier.pem);
                let content = message_signature("SHA2_256", digest.as_bytes(), &sig);
                (EntryKind::HashedRekord, body, digest, verifier, content, None)
            }
            (Some("dsse"), Some("0.0.1")) => {
                let envelope_text = spec["proposedContent"]["envelope"]
                    .as_str()
                    .ok_or_else(|| invalid("spec.proposedContent.envelope is missing"))?;
                let envelope: Value = serde_json::from_str(envelope_text)
                    .map_err(|e| invalid(format!("the DSSE envelope is not JSON: {e}")))?;
                let payload = b64_field(&envelope["payload"], "envelope payload")?;
                let payload_type = envelope["payloadType"]
                    .as_str()
                    .ok_or_else(|| invalid("the envelope has no payloadType"))?;
                let verifiers = spec["proposedContent"]["verifiers"]
                    .as_array()
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| invalid("spec.proposedContent.verifiers is missing or empty"))?
                    .iter()
                    .map(|v| self.entry_verifier(&b64_field(v, "a verifier")?))
                    .collect::<Result<Vec<_>, _>>()?;
                let sigs = envelope["signatures"]
                    .as_array()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| invalid("the envelope has no signatures"))?;
                let message = pae(payload_type, &payload);
                // Every signature must verify with one of the verifiers (as Rekor requires).
                let mut pairs = Vec::new();
                let mut first = None;
                for s in sigs {
                    let sig = b64_field(&s["sig"], "an envelope signature")?;
                    let i = verifiers
                        .iter()
                        .position(|v| v.key.verify(&message, &sig).is_ok())
                        .ok_or_else(|| invalid("an envelope signature does not verify with any verifier"))?;
                    first.get_or_insert(i);
                    pairs.push((sig, verifiers[i].pem.clone()));
                }
                let pair_refs: Vec<(&[u8], &str)> = pairs.iter().map(|(s, p)| (s.as_slice(), p.as_str())).collect();
                let body = rekor::dsse_v001_with(envelope_text.as_bytes(), &payload, &pair_refs);
                // The logged digest: the in-toto statement's first sha256 subject, else the payload's.
                let statement: Option<Value> = (payload_type == IN_TOTO_PAYLOAD_TYPE)
                    .then(|| serde_json::from_slice(&payload).ok())
                    .flatten();
                let subject = statement
                    .as_ref()
                    .and_then(|s| s["subject"][0]["digest"]["sha256"].as_str())
                    .and_then(|h| hex::decode(h).ok())
                    .and_then(|d| Digest::new(HashAlgorithm::Sha256, &d));
                let digest = subject
                    .or_else(|| Digest::new(HashAlgorithm::Sha256, &sha256(&payload)))
                    .ok_or_else(|| invalid("digest"))?;
                let predicate_type = statement
                    .as_ref()
                    .and_then(|s| s["predicateType"].as_str())
                    .map(str::to_owned);
                let verifier = verifiers
                    .into_iter()
                    .nth(first.unwrap_or_default())
                    .ok_or_else(|| invalid("no verifier"))?;
                (
                    EntryKind::Dsse,
                    body,
                    digest,
                    verifier,
                    json!({"dsseEnvelope": envelope}),
                    predicate_type,
                )
            }
            (Some(k @ ("hashedrekord" | "dsse")), v) => {
                return Err(invalid(format!(
                    "{k} version {} is not supported (0.0.1)",
                    v.unwrap_or("<missing>")
                )))
            }
            (k, _) => {
                return Err(invalid(format!(
                    "entry kind {} is not supported (hashedrekord, dsse)",
                    k.unwrap_or("<missing>")
                )))
            }
        };
        self.log_checked(Checked {
            kind: entry_kind,
            body,
            digest,
            verifier,
            content,
            predicate_type,
        })
        .await
    }

    /// Checks a client-proposed Rekor v2 entry (`CreateEntryRequest` protobuf JSON with
    /// `hashedRekordRequestV002`) as rekor-tiles does: the signature must verify over the digest
    /// with the certificate or key given. The canonical `hashedrekord` 0.0.2 body is appended.
    /// (`dsseRequestV002` is refused: sigstore clients log DSSE as a hashedrekord over the PAE.)
    pub async fn append_proposed_v2(&self, request: &Value) -> Result<LoggedEntry, LocalError> {
        if request.get("dsseRequestV002").is_some() {
            return Err(invalid(
                "dsseRequestV002 is not supported; log the envelope as a hashedRekordRequestV002 over its PAE",
            ));
        }
        let req = request
            .get("hashedRekordRequestV002")
            .ok_or_else(|| invalid("the request has no hashedRekordRequestV002"))?;
        let digest_bytes = b64_field(&req["digest"], "hashedRekordRequestV002.digest")?;
        let (algorithm, name) = match digest_bytes.len() {
            32 => (HashAlgorithm::Sha256, "SHA2_256"),
            48 => (HashAlgorithm::Sha384, "SHA2_384"),
            64 => (HashAlgorithm::Sha512, "SHA2_512"),
            n => return Err(invalid(format!("a {n}-byte digest is not SHA-256, SHA-384 or SHA-512"))),
        };
        let digest = Digest::new(algorithm, &digest_bytes).ok_or_else(|| invalid("digest"))?;
        let sig = b64_field(&req["signature"]["content"], "signature.content")?;
        let v = &req["signature"]["verifier"];
        let key_details = v["keyDetails"]
            .as_str()
            .filter(|k| !k.is_empty())
            .ok_or_else(|| invalid("signature.verifier.keyDetails is missing"))?;
        let (verifier, verifier_json) = if let Some(raw) = v["x509Certificate"].get("rawBytes") {
            let der = b64_field(raw, "signature.verifier.x509Certificate.rawBytes")?;
            let verifier = self.entry_verifier(certificate_pem(&der).as_bytes())?;
            (
                verifier,
                json!({"keyDetails": key_details, "x509Certificate": {"rawBytes": b64(&der)}}),
            )
        } else if let Some(raw) = v["publicKey"].get("rawBytes") {
            let der = b64_field(raw, "signature.verifier.publicKey.rawBytes")?;
            let verifier = self.entry_verifier(pem_encode("PUBLIC KEY", &der).as_bytes())?;
            (
                verifier,
                json!({"keyDetails": key_details, "publicKey": {"rawBytes": b64(&der)}}),
            )
        } else {
            return Err(invalid("signature.verifier has neither x509Certificate nor publicKey"));
        };
        verifier
            .key
            .verify_prehashed(&digest, &sig)
            .map_err(|_| invalid("the signature does not verify over the digest with the given key"))?;
        let body = rekor::hashedrekord_v002(name, digest.as_bytes(), &sig, verifier_json);
        let content = message_signature(name, digest.as_bytes(), &sig);
        self.log_checked(Checked {
            kind: EntryKind::HashedRekordV002,
            body,
            digest,
            verifier,
            content,
            predicate_type: None,
        })
        .await
    }

    /// Appends a checked entry (refusing a duplicate), with its signing record when our CA
    /// issued its certificate.
    async fn log_checked(&self, checked: Checked) -> Result<LoggedEntry, LocalError> {
        let Checked {
            kind: entry_kind,
            body,
            digest,
            verifier,
            content,
            predicate_type,
        } = checked;
        if body.len() > MAX_ENTRY_BODY {
            return Err(LocalError::InvalidInput(format!(
                "the canonical entry is {} bytes; at most {MAX_ENTRY_BODY} are logged (a tlog-tiles entry bundle \
                 stores each entry's length in two bytes)",
                body.len()
            )));
        }
        let uuid = hex::encode(trust_core::tlog::leaf_hash(&body));
        if self
            .log
            .store()
            .leaf_by_uuid(&uuid)
            .await
            .map_err(crate::embedded::log::LogError::from)?
            .is_some()
        {
            return Err(LocalError::Duplicate(uuid));
        }
        let artifact_digest = digest.to_string();
        let record: Option<crate::embedded::log::RecordFn> = match (verifier.signer, verifier.leaf_der) {
            (Some((identity, issuer)), Some(leaf_der)) => {
                let parts = BundleParts {
                    leaf_der,
                    content,
                    timestamp: None,
                };
                let digest = artifact_digest.clone();
                Some(Box::new(move |done: &LoggedEntry| SignedArtifact {
                    digest: digest.clone(),
                    artifact_type: None,
                    subject: None,
                    predicate_type: predicate_type.clone(),
                    signer_identity: identity.clone(),
                    signer_issuer: issuer.clone(),
                    bundle: parts.bundle_json(done),
                    log_index: done.leaf.index,
                    entry_uuid: done.leaf.uuid.clone(),
                    created: done.leaf.integrated_time,
                }))
            }
            _ => None,
        };
        // The check above races with an identical proposal in flight; the log's writer settles it.
        self.log
            .append(NewEntry {
                kind: entry_kind,
                body,
                artifact_digest,
                record,
            })
            .await
            .map_err(|e| match e {
                LogError::Duplicate(uuid) => LocalError::Duplicate(uuid),
                e => e.into(),
            })
    }
}

/// PEM of a DER certificate (for protocol responses).
pub fn certificate_pem(der: &[u8]) -> String {
    pem_encode("CERTIFICATE", der)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::{init, InitOptions};
    use super::*;
    use crate::embedded::keys::{KeyAlgorithm, SigningKey};
    use crate::embedded::testutil::{temp_dir, Mem};
    use std::sync::Arc;
    use trust_core::policy::{CertificateIdentity, PolicyBuilder};
    use trust_core::trust_root::TrustedRoot;
    use trust_core::verifier::{Verifier, VerifierConfig};

    const ISSUER: &str = "https://issuer.example";

    async fn setup(name: &str) -> (LocalSigstore<Mem>, Arc<Mem>) {
        let dir = temp_dir(name);
        init(&dir, &InitOptions::default(), None).unwrap();
        let store = Arc::new(Mem::default());
        (LocalSigstore::open(&dir, store.clone(), None, 4).unwrap(), store)
    }

    /// A fresh key and a certificate for alice@example.com from the local CA.
    fn alice(local: &LocalSigstore<Mem>) -> (SigningKey, IssuedCertificate) {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let issued = local
            .issue_certificate(
                key.public_key_spki_der(),
                SignerIdentity::Email("alice@example.com".into()),
                ISSUER,
            )
            .unwrap();
        (key, issued)
    }

    /// Verifies a recorded bundle with the exported trusted root for alice and `artifact`.
    fn verify_record(local: &LocalSigstore<Mem>, bundle: &str, artifact: &[u8]) {
        let root = TrustedRoot::from_json(local.trusted_root().to_string().as_bytes()).unwrap();
        let v = Verifier::new(root, VerifierConfig::default().with_signed_timestamps(0)).unwrap();
        let policy = PolicyBuilder::new()
            .artifact_bytes(artifact)
            .certificate_identity(CertificateIdentity::exact("alice@example.com", ISSUER).unwrap())
            .now(now())
            .build()
            .unwrap();
        v.verify_json(bundle.as_bytes(), &policy).unwrap();
    }

    fn hashedrekord(digest: &[u8], sig: &[u8], pem: &str) -> Value {
        json!({"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(digest)}},
            "signature": {"content": B64.encode(sig), "publicKey": {"content": B64.encode(pem)}}}})
    }

    #[tokio::test]
    async fn a_proposed_hashedrekord_with_our_certificate_is_logged_and_recorded() {
        let (local, store) = setup("proposed-hr").await;
        let (key, issued) = alice(&local);
        let pem = certificate_pem(&issued.leaf_der);
        let artifact = b"proposed artifact";
        let digest = Digest::new(HashAlgorithm::Sha256, &sha256(artifact)).unwrap();
        let sig = key.sign_digest(&digest).unwrap();
        let entry = local
            .append_proposed(&hashedrekord(digest.as_bytes(), &sig, &pem))
            .await
            .unwrap();
        assert_eq!(entry.leaf.body, rekor::hashedrekord_v001(&digest, &sig, &pem));
        let d = store.data.lock().unwrap().clone();
        assert_eq!(d.artifacts.len(), 1);
        let rec = &d.artifacts[0];
        assert_eq!(
            (rec.signer_identity.as_str(), rec.signer_issuer.as_str()),
            ("alice@example.com", ISSUER)
        );
        // The recorded bundle verifies with the exported trusted root and the token's identity.
        verify_record(&local, &rec.bundle, artifact);
    }

    #[tokio::test]
    async fn bad_proposals_record_nothing() {
        let (local, store) = setup("proposed-bad").await;
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let pub_pem = pem_encode("PUBLIC KEY", key.public_key_spki_der());
        let digest = Digest::new(HashAlgorithm::Sha256, &sha256(b"a")).unwrap();
        let other = Digest::new(HashAlgorithm::Sha256, &sha256(b"b")).unwrap();
        let sig = key.sign_digest(&digest).unwrap();
        let code = |v: Value| {
            let local = &local;
            async move { local.append_proposed(&v).await.unwrap_err().to_string() }
        };
        assert!(code(hashedrekord(other.as_bytes(), &sig, &pub_pem))
            .await
            .contains("does not verify"));
        let mut v = hashedrekord(digest.as_bytes(), &sig, &pub_pem);
        v["apiVersion"] = json!("0.0.2");
        assert!(code(v).await.contains("not supported"));
        let mut v = hashedrekord(digest.as_bytes(), &sig, &pub_pem);
        v["kind"] = json!("rekord");
        assert!(code(v).await.contains("not supported"));
        assert!(code(hashedrekord(digest.as_bytes(), &sig, "junk"))
            .await
            .contains("PEM"));
        // dsse: an envelope signed by another key.
        let payload = br#"{"_type":"https://in-toto.io/Statement/v1"}"#;
        let bad_sig = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256)
            .unwrap()
            .sign(&pae(IN_TOTO_PAYLOAD_TYPE, payload))
            .unwrap();
        let env = json!({"payload": B64.encode(payload), "payloadType": IN_TOTO_PAYLOAD_TYPE,
            "signatures": [{"sig": B64.encode(&bad_sig), "keyid": ""}]});
        let dsse = json!({"apiVersion": "0.0.1", "kind": "dsse", "spec": {"proposedContent": {
            "envelope": env.to_string(), "verifiers": [B64.encode(&pub_pem)]}}});
        assert!(code(dsse).await.contains("does not verify"));
        let d = store.data.lock().unwrap().clone();
        assert!(d.leaves.is_empty() && d.artifacts.is_empty());
        // A bare public key is logged (as Rekor does) but records no signer.
        local
            .append_proposed(&hashedrekord(digest.as_bytes(), &sig, &pub_pem))
            .await
            .unwrap();
        let again = local
            .append_proposed(&hashedrekord(digest.as_bytes(), &sig, &pub_pem))
            .await
            .unwrap_err();
        assert_eq!(again.code(), "local.duplicate_entry");
        let d = store.data.lock().unwrap();
        assert_eq!((d.leaves.len(), d.artifacts.len()), (1, 0));
    }

    #[tokio::test]
    async fn a_proposed_dsse_entry_is_canonicalized_and_recorded() {
        let (local, store) = setup("proposed-dsse").await;
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let issued = local
            .issue_certificate(
                key.public_key_spki_der(),
                SignerIdentity::Uri("https://ci.example/b".into()),
                ISSUER,
            )
            .unwrap();
        let pem = certificate_pem(&issued.leaf_der);
        let statement = json!({"_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "x", "digest": {"sha256": hex::encode(sha256(b"x"))}}],
            "predicateType": "https://slsa.dev/provenance/v1", "predicate": {}});
        let payload = statement.to_string().into_bytes();
        let sig = key.sign(&pae(IN_TOTO_PAYLOAD_TYPE, &payload)).unwrap();
        let env = json!({"payload": B64.encode(&payload), "payloadType": IN_TOTO_PAYLOAD_TYPE,
            "signatures": [{"sig": B64.encode(&sig), "keyid": ""}]})
        .to_string();
        let proposed = json!({"apiVersion": "0.0.1", "kind": "dsse", "spec": {"proposedContent": {
            "envelope": env, "verifiers": [B64.encode(&pem)]}}});
        let entry = local.append_proposed(&proposed).await.unwrap();
        assert_eq!(entry.kind, EntryKind::Dsse);
        assert_eq!(
            entry.leaf.body,
            rekor::dsse_v001(env.as_bytes(), &payload, &[&sig], &pem)
        );
        assert_eq!(
            entry.leaf.artifact_digest,
            format!("sha256:{}", hex::encode(sha256(b"x")))
        );
        let d = store.data.lock().unwrap();
        assert_eq!(
            d.artifacts[0].predicate_type.as_deref(),
            Some("https://slsa.dev/provenance/v1")
        );
        assert_eq!(d.artifacts[0].signer_identity, "https://ci.example/b");
    }

    #[tokio::test]
    async fn a_rekor_v2_request_is_checked_and_logged_as_hashedrekord_002() {
        let (local, store) = setup("proposed-v2").await;
        let (key, issued) = alice(&local);
        let digest = Digest::new(HashAlgorithm::Sha256, &sha256(b"v2")).unwrap();
        let request = |sig: &[u8]| {
            json!({"hashedRekordRequestV002": {"digest": B64.encode(digest.as_bytes()), "signature": {
                "content": B64.encode(sig),
                "verifier": {"x509Certificate": {"rawBytes": B64.encode(&issued.leaf_der)}, "keyDetails": "PKIX_ECDSA_P256_SHA_256"}}}})
        };
        let other = Digest::new(HashAlgorithm::Sha256, &sha256(b"other")).unwrap();
        let err = local
            .append_proposed_v2(&request(&key.sign_digest(&other).unwrap()))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("does not verify"), "{err}");
        let err = local
            .append_proposed_v2(&json!({"dsseRequestV002": {}}))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "local.invalid_input");
        assert!(store.data.lock().unwrap().leaves.is_empty());

        let sig = key.sign_digest(&digest).unwrap();
        let entry = local.append_proposed_v2(&request(&sig)).await.unwrap();
        assert_eq!((entry.kind.kind(), entry.kind.version()), ("hashedrekord", "0.0.2"));
        let body: Value = serde_json::from_slice(&entry.leaf.body).unwrap();
        let spec = &body["spec"]["hashedRekordV002"];
        assert_eq!(spec["data"]["algorithm"], "SHA2_256");
        assert_eq!(spec["data"]["digest"], B64.encode(digest.as_bytes()));
        assert_eq!(
            spec["signature"]["verifier"]["x509Certificate"]["rawBytes"],
            B64.encode(&issued.leaf_der)
        );
        // The recorded bundle (our certificate) verifies for the signed digest.
        let rec = store.data.lock().unwrap().artifacts[0].clone();
        verify_record(&local, &rec.bundle, b"v2");
    }
}
