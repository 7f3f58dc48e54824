use super::*;
use crate::client::testserver::{resp, serve, Req, Resp, TestServer};
use crate::client::{EndpointConfig, Service};
use crate::embedded::ca::{IssueRequest, LocalCa, SignerIdentity};
use crate::embedded::ct::CtLog;
use crate::embedded::keys::{KeyAlgorithm, SigningKey};
use crate::embedded::local::{init, InitOptions, LocalSigstore};
use crate::embedded::log::{InclusionProof, NewEntry};
use crate::embedded::rekor::{dsse_v001, hashedrekord_v001, EntryKind};
use crate::embedded::store::{LogLeaf, LogStore};
use crate::embedded::testutil::{temp_dir, Mem};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};
use trust_core::crypto::{pem_encode, sha256, HashAlgorithm, PublicKey};

/// How the test Rekor misbehaves.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
enum Mode {
    Genuine = 0,
    /// Flips a bit of every signed entry timestamp.
    ForgeSet,
    /// Flips a bit of the first inclusion-proof hash.
    ForgeProof,
    /// Logs (genuinely) a different digest than the one submitted.
    WrongBody,
    /// Answers with another entry than the one asked for.
    OtherEntry,
}

pub(crate) struct Rekor {
    pub(crate) local: LocalSigstore<Mem>,
    mode: AtomicU8,
}

impl Rekor {
    fn mode(&self) -> u8 {
        self.mode.load(Ordering::SeqCst)
    }
    fn tree_prefix(&self) -> String {
        format!("{:016x}", self.local.manifest().tree_id)
    }
    /// An entry as Rekor v1 serves it (hex hashes and log id, 80-hex UUID key).
    fn entry_json(&self, leaf: &LogLeaf, p: &InclusionProof) -> Value {
        let mut set = leaf.signed_entry_timestamp.clone();
        let mut hashes: Vec<String> = p.hashes.iter().map(hex::encode).collect();
        if self.mode() == Mode::ForgeSet as u8 {
            set[10] ^= 1;
        }
        if self.mode() == Mode::ForgeProof as u8 {
            let mut h = p.hashes[0];
            h[0] ^= 1;
            hashes[0] = hex::encode(h);
        }
        json!({format!("{}{}", self.tree_prefix(), leaf.uuid): {
            "body": B64.encode(&leaf.body),
            "integratedTime": leaf.integrated_time,
            "logID": hex::encode(self.local.log().log_id()),
            "logIndex": leaf.index,
            "verification": {
                "signedEntryTimestamp": B64.encode(set),
                "inclusionProof": {
                    "checkpoint": p.checkpoint,
                    "hashes": hashes,
                    "logIndex": p.log_index,
                    "rootHash": hex::encode(p.root_hash),
                    "treeSize": p.tree_size,
                },
            },
        }})
    }

    async fn leaf_json(&self, leaf: &LogLeaf) -> Value {
        let p = self.local.log().inclusion_proof(leaf.index, None).await.unwrap();
        self.entry_json(leaf, &p)
    }

    /// What a real Rekor does with a proposed entry: check the signature with the verifier's
    /// key, canonicalize, refuse duplicates with 409, append.
    async fn create(&self, proposed: &Value) -> Resp {
        let bad = |m: String| resp(400, "application/json", json!({"code": 400, "message": m}).to_string());
        let spec = &proposed["spec"];
        let pem_of = |b64: &Value| String::from_utf8(B64.decode(b64.as_str().unwrap_or_default()).unwrap()).unwrap();
        let key_of = |pem: &str| {
            let (_, der) = pem_decode(pem).unwrap();
            let cert = <x509_cert::Certificate as der::Decode>::from_der(&der).unwrap();
            PublicKey::from_spki_der(&der::Encode::to_der(&cert.tbs_certificate.subject_public_key_info).unwrap())
                .unwrap()
        };
        let (kind, mut body, digest) = match proposed["kind"].as_str() {
            Some("hashedrekord") => {
                let digest = Digest::new(
                    HashAlgorithm::Sha256,
                    &hex::decode(spec["data"]["hash"]["value"].as_str().unwrap()).unwrap(),
                )
                .unwrap();
                let sig = B64.decode(spec["signature"]["content"].as_str().unwrap()).unwrap();
                let pem = pem_of(&spec["signature"]["publicKey"]["content"]);
                if key_of(&pem).verify_prehashed(&digest, &sig).is_err() {
                    return bad("signature does not verify".into());
                }
                (EntryKind::HashedRekord, hashedrekord_v001(&digest, &sig, &pem), digest)
            }
            Some("dsse") => {
                let env_json = spec["proposedContent"]["envelope"].as_str().unwrap();
                let env: Value = serde_json::from_str(env_json).unwrap();
                let pem = pem_of(&spec["proposedContent"]["verifiers"][0]);
                let payload = B64.decode(env["payload"].as_str().unwrap()).unwrap();
                let sig = B64.decode(env["signatures"][0]["sig"].as_str().unwrap()).unwrap();
                let pae = trust_core::dsse::pae(env["payloadType"].as_str().unwrap(), &payload);
                if key_of(&pem).verify(&pae, &sig).is_err() {
                    return bad("DSSE signature does not verify".into());
                }
                let digest = Digest::new(HashAlgorithm::Sha256, &sha256(&payload)).unwrap();
                (
                    EntryKind::Dsse,
                    dsse_v001(env_json.as_bytes(), &payload, &[&sig], &pem),
                    digest,
                )
            }
            other => return bad(format!("unsupported kind {other:?}")),
        };
        if self.mode() == Mode::WrongBody as u8 {
            // Replace the logged digest: still a well-formed, genuinely logged entry.
            let mut v: Value = serde_json::from_slice(&body).unwrap();
            if kind == EntryKind::HashedRekord {
                v["spec"]["data"]["hash"]["value"] = json!(hex::encode(sha256(b"something else")));
            } else {
                v["spec"]["payloadHash"]["value"] = json!(hex::encode(sha256(b"something else")));
            }
            body = serde_json::to_vec(&v).unwrap();
        }
        let uuid = hex::encode(leaf_hash(&body));
        if self.local.log().store().leaf_by_uuid(&uuid).await.unwrap().is_some() {
            let mut r = resp(
                409,
                "application/json",
                r#"{"code":409,"message":"an equivalent entry already exists in the transparency log"}"#,
            );
            r.headers_mut().insert(
                "location",
                format!("/api/v1/log/entries/{}{uuid}", self.tree_prefix())
                    .parse()
                    .unwrap(),
            );
            return r;
        }
        let logged = self
            .local
            .log()
            .append(NewEntry {
                kind,
                body,
                artifact_digest: format!("sha256:{}", hex::encode(digest.as_bytes())),
                record: None,
            })
            .await
            .unwrap();
        resp(
            201,
            "application/json",
            self.entry_json(&logged.leaf, &logged.inclusion_proof).to_string(),
        )
    }

    async fn handle(&self, r: Req) -> Resp {
        let json_resp = |v: Value| resp(200, "application/json", v.to_string());
        let not_found = || resp(404, "application/json", r#"{"code":404,"message":"not found"}"#);
        let store = self.local.log().store();
        let (path, query) = r.path.split_once('?').unwrap_or((&r.path, ""));
        match (r.method.as_str(), path) {
            ("POST", "/api/v1/log/entries") => self.create(&serde_json::from_slice(&r.body).unwrap()).await,
            ("GET", "/api/v1/log/entries") => {
                let index: u64 = query.strip_prefix("logIndex=").unwrap().parse().unwrap();
                let index = if self.mode() == Mode::OtherEntry as u8 {
                    0
                } else {
                    index
                };
                match store.leaf(index).await.unwrap() {
                    Some(l) => json_resp(self.leaf_json(&l).await),
                    None => not_found(),
                }
            }
            ("GET", p) if p.starts_with("/api/v1/log/entries/") => {
                let uuid = p.rsplit('/').next().unwrap();
                let mut leaf = store.leaf_by_uuid(&uuid[uuid.len() - 64..]).await.unwrap();
                if self.mode() == Mode::OtherEntry as u8 {
                    leaf = store.leaf(0).await.unwrap();
                }
                match leaf {
                    Some(l) => json_resp(self.leaf_json(&l).await),
                    None => not_found(),
                }
            }
            ("POST", "/api/v1/log/entries/retrieve") => {
                let q: Value = serde_json::from_slice(&r.body).unwrap();
                let mut out = Vec::new();
                for u in q["entryUUIDs"].as_array().unwrap() {
                    let u = u.as_str().unwrap();
                    if let Some(l) = store.leaf_by_uuid(&u[u.len() - 64..]).await.unwrap() {
                        out.push(self.leaf_json(&l).await);
                    }
                }
                json_resp(json!(out))
            }
            ("POST", "/api/v1/index/retrieve") => {
                let q: Value = serde_json::from_slice(&r.body).unwrap();
                let leaves = store.leaves_by_digest(q["hash"].as_str().unwrap()).await.unwrap();
                // Alternate the two UUID forms, as a sharded log does.
                let uuids: Vec<String> = leaves
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        if i % 2 == 0 {
                            format!("{}{}", self.tree_prefix(), l.uuid)
                        } else {
                            l.uuid.clone()
                        }
                    })
                    .collect();
                json_resp(json!(uuids))
            }
            ("GET", "/api/v1/log") => {
                let cp = self.local.log().checkpoint().await.unwrap();
                json_resp(json!({
                    "rootHash": hex::encode(cp.root_hash),
                    "treeSize": cp.tree_size,
                    "signedTreeHead": cp.note,
                    "treeID": self.local.manifest().tree_id.to_string(),
                }))
            }
            ("GET", "/api/v1/log/proof") => {
                let mut first = 0;
                let mut last = 0;
                for kv in query.split('&') {
                    match kv.split_once('=') {
                        Some(("firstSize", v)) => first = v.parse().unwrap(),
                        Some(("lastSize", v)) => last = v.parse().unwrap(),
                        _ => {}
                    }
                }
                let hashes = self.local.log().consistency_proof(first, last).await.unwrap();
                let cp = store.checkpoint(last).await.unwrap().unwrap();
                json_resp(
                    json!({"rootHash": hex::encode(cp.root_hash), "hashes": hashes.iter().map(hex::encode).collect::<Vec<_>>()}),
                )
            }
            _ => not_found(),
        }
    }
}

pub(crate) struct Fixture {
    srv: TestServer,
    pub(crate) rekor: Arc<Rekor>,
    client: RekorClient,
    pub(crate) ca: LocalCa,
    pub(crate) ct: CtLog,
    pub(crate) dir: std::path::PathBuf,
}

impl Fixture {
    pub(crate) async fn new() -> Fixture {
        let dir = temp_dir("rekor-client");
        init(&dir, &InitOptions::default(), None).unwrap();
        let local = LocalSigstore::open(&dir, Arc::new(Mem::default()), None, 8).unwrap();
        let root = TrustedRoot::from_json(local.trusted_root().to_string().as_bytes()).unwrap();
        let rekor = Arc::new(Rekor {
            local,
            mode: AtomicU8::new(Mode::Genuine as u8),
        });
        let r2 = rekor.clone();
        let srv = serve(move |r| {
            let rekor = r2.clone();
            async move { rekor.handle(r).await }
        })
        .await;
        let cfg = EndpointConfig {
            timeout: Duration::from_secs(5),
            initial_backoff: Duration::from_millis(10),
            ..EndpointConfig::default()
        };
        let client = RekorClient::new(&srv.url(), HttpClient::new(Service::Rekor, cfg).unwrap(), &root);
        let now = crate::embedded::now();
        Fixture {
            dir: dir.clone(),
            srv,
            rekor,
            client,
            ca: LocalCa::load_or_create(&dir, None, now).unwrap(),
            ct: CtLog::load_or_create(&dir.join("keys/ct.key.pem"), None).unwrap(),
        }
    }

    /// The test Rekor v1 server's URL.
    pub(crate) fn url(&self) -> String {
        self.srv.url()
    }

    fn set_mode(&self, m: Mode) {
        self.rekor.mode.store(m as u8, Ordering::SeqCst);
    }

    /// A fresh key with a certificate from the embedded CA.
    fn signer(&self) -> (SigningKey, String) {
        let key = SigningKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let issued = self
            .ca
            .issue(
                &IssueRequest {
                    public_key_spki_der: key.public_key_spki_der(),
                    identity: SignerIdentity::Email("alice@example.com".into()),
                    oidc_issuer: "https://issuer.example".into(),
                    claims: vec![],
                    now: crate::embedded::now(),
                },
                &self.ct,
            )
            .unwrap();
        (key, pem_encode("CERTIFICATE", &issued.leaf_der))
    }

    pub(crate) fn hashedrekord(&self, artifact: &[u8]) -> ProposedEntry {
        let (key, pem) = self.signer();
        let digest = Digest::new(HashAlgorithm::Sha256, &sha256(artifact)).unwrap();
        ProposedEntry::HashedRekord {
            signature: key.sign_digest(&digest).unwrap(),
            digest,
            verifier_pem: pem,
        }
    }

    pub(crate) fn dsse(&self, statement: &[u8]) -> ProposedEntry {
        let (key, pem) = self.signer();
        let pt = "application/vnd.in-toto+json";
        let sig = key.sign(&trust_core::dsse::pae(pt, statement)).unwrap();
        let env = json!({"payloadType": pt, "payload": B64.encode(statement), "signatures": [{"keyid": "", "sig": B64.encode(sig)}]});
        ProposedEntry::Dsse {
            envelope_json: env.to_string(),
            verifier_pem: pem,
        }
    }
}

#[tokio::test]
async fn creates_and_verifies_hashedrekord_and_dsse_entries() {
    let f = Fixture::new().await;
    let e = f.client.create_entry(&f.hashedrekord(b"artifact one")).await.unwrap();
    assert_eq!((e.kind.as_str(), e.version.as_str()), ("hashedrekord", "0.0.1"));
    assert_eq!(e.log_index, 0);
    assert_eq!(e.uuid.len(), 80, "the tree-id-prefixed form is accepted");
    let d = f
        .client
        .create_entry(&f.dsse(br#"{"_type":"https://in-toto.io/Statement/v1"}"#))
        .await
        .unwrap();
    assert_eq!((d.kind.as_str(), d.log_index), ("dsse", 1));
    assert_eq!(d.inclusion_proof.tree_size, 2);

    // The bundle element: base64 and decimal strings, as bundle v0.3 wants.
    let b = e.to_bundle_json();
    assert_eq!(b["logIndex"], "0");
    assert_eq!(
        B64.decode(b["logId"]["keyId"].as_str().unwrap()).unwrap(),
        f.rekor.local.log().log_id()
    );
    assert_eq!(B64.decode(b["canonicalizedBody"].as_str().unwrap()).unwrap(), e.body);
    assert_eq!(b["inclusionProof"]["treeSize"], "1");
    assert_eq!(
        B64.decode(b["inclusionProof"]["rootHash"].as_str().unwrap()).unwrap(),
        e.inclusion_proof.root_hash
    );
    assert!(b["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()
        .unwrap()
        .contains("\n\n"));
}

#[tokio::test]
async fn duplicate_entry_409_returns_the_verified_existing_entry() {
    let f = Fixture::new().await;
    let entry = f.hashedrekord(b"twice");
    let first = f.client.create_entry(&entry).await.unwrap();
    let again = f.client.create_entry(&entry).await.unwrap();
    assert_eq!(again.log_index, first.log_index);
    assert_eq!(again.body, first.body);
    assert_eq!(f.rekor.local.log().store().tree_size().await.unwrap(), 1);
}

#[tokio::test]
async fn reads_entries_by_uuid_index_retrieve_and_search() {
    let f = Fixture::new().await;
    let a = f.client.create_entry(&f.hashedrekord(b"same")).await.unwrap();
    let b = f.client.create_entry(&f.hashedrekord(b"same")).await.unwrap();
    let c = f.client.create_entry(&f.hashedrekord(b"other")).await.unwrap();
    // Both UUID forms.
    assert_eq!(f.client.get_entry(&a.uuid).await.unwrap().log_index, 0);
    assert_eq!(f.client.get_entry(&b.uuid[16..]).await.unwrap().log_index, 1);
    let by_index = f.client.get_entry_by_index(2).await.unwrap();
    assert_eq!(by_index.body, c.body);
    // A later read proves against a newer checkpoint.
    assert_eq!(by_index.inclusion_proof.tree_size, 3);

    let digest = Digest::new(HashAlgorithm::Sha256, &sha256(b"same")).unwrap();
    let uuids = f.client.search_by_digest(&digest).await.unwrap();
    assert_eq!(uuids.len(), 2, "every match is returned");
    assert_eq!(uuids[0].len(), 80);
    assert_eq!(uuids[1].len(), 64);
    let refs: Vec<&str> = uuids.iter().map(String::as_str).collect();
    let got = f.client.retrieve_entries(&refs).await.unwrap();
    let mut idx: Vec<u64> = got.iter().map(|e| e.log_index).collect();
    idx.sort();
    assert_eq!(idx, [0, 1]);

    let err = f.client.get_entry(&"0".repeat(64)).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    let err = f.client.get_entry("zz").await.unwrap_err();
    assert_eq!(err.code(), "client.config");
}

#[tokio::test]
async fn log_info_and_consistency() {
    let f = Fixture::new().await;
    f.client.create_entry(&f.hashedrekord(b"1")).await.unwrap();
    let old = f.client.log_info().await.unwrap();
    assert_eq!(old.tree_size, 1);
    for i in 0..4u8 {
        f.client.create_entry(&f.hashedrekord(&[i])).await.unwrap();
    }
    let new = f.client.log_info().await.unwrap();
    assert_eq!(new.tree_size, 5);
    assert_eq!(new.checkpoint.root_hash, new.root_hash);
    let proof = f.client.verify_consistency(&old, &new).await.unwrap();
    assert!(!proof.is_empty());
    // A tree head that does not extend the old one fails.
    let mut forged = new.clone();
    forged.root_hash[0] ^= 1;
    let err = f.client.verify_consistency(&old, &forged).await.unwrap_err();
    assert_eq!(err.code(), "client.verify");
}

fn reason(e: &ClientError) -> &'static str {
    match e {
        ClientError::Verify { reason, .. } => reason,
        other => panic!("expected a verification error, got {other}"),
    }
}

#[tokio::test]
async fn forged_set_is_refused() {
    let f = Fixture::new().await;
    f.set_mode(Mode::ForgeSet);
    let err = f.client.create_entry(&f.hashedrekord(b"x")).await.unwrap_err();
    assert_eq!(reason(&err), "tlog.set_invalid", "{err}");
    assert!(!err.is_unavailable());
    assert_eq!(f.srv.hits(), 1, "a verification failure is not retried");
}

#[tokio::test]
async fn forged_inclusion_proof_is_refused() {
    let f = Fixture::new().await;
    f.client.create_entry(&f.hashedrekord(b"a")).await.unwrap();
    f.set_mode(Mode::ForgeProof);
    let err = f.client.create_entry(&f.hashedrekord(b"b")).await.unwrap_err();
    assert_eq!(reason(&err), "tlog.inclusion_proof_mismatch", "{err}");
}

#[tokio::test]
async fn wrong_logged_body_is_refused() {
    let f = Fixture::new().await;
    f.set_mode(Mode::WrongBody);
    let err = f.client.create_entry(&f.hashedrekord(b"a")).await.unwrap_err();
    assert_eq!(reason(&err), "tlog.body_mismatch", "{err}");
    let err = f.client.create_entry(&f.dsse(b"{}")).await.unwrap_err();
    assert_eq!(reason(&err), "tlog.body_mismatch", "{err}");
}

#[tokio::test]
async fn other_entry_than_asked_is_refused() {
    let f = Fixture::new().await;
    f.client.create_entry(&f.hashedrekord(b"a")).await.unwrap();
    let b = f.client.create_entry(&f.hashedrekord(b"b")).await.unwrap();
    f.set_mode(Mode::OtherEntry);
    let err = f.client.get_entry(&b.uuid).await.unwrap_err();
    assert_eq!(reason(&err), "rekor.uuid_mismatch");
    let err = f.client.get_entry_by_index(1).await.unwrap_err();
    assert_eq!(reason(&err), "rekor.index_mismatch");
}

#[tokio::test]
async fn untrusted_log_is_refused() {
    // The same genuine log, but the client trusts another instance's root.
    let f = Fixture::new().await;
    let other = temp_dir("rekor-other");
    init(&other, &InitOptions::default(), None).unwrap();
    let local = LocalSigstore::open(&other, Arc::new(Mem::default()), None, 8).unwrap();
    let root = TrustedRoot::from_json(local.trusted_root().to_string().as_bytes()).unwrap();
    let client = RekorClient::new(
        &f.srv.url(),
        HttpClient::new(Service::Rekor, EndpointConfig::default()).unwrap(),
        &root,
    );
    let err = client.create_entry(&f.hashedrekord(b"a")).await.unwrap_err();
    assert_eq!(reason(&err), "tlog.unknown_log");
    let err = client.log_info().await.unwrap_err();
    assert_eq!(err.code(), "client.verify");
}

#[tokio::test]
async fn outages_end_in_bounded_unavailable_errors() {
    let f = Fixture::new().await;
    let root = TrustedRoot::from_json(f.rekor.local.trusted_root().to_string().as_bytes()).unwrap();
    let cfg = EndpointConfig {
        timeout: Duration::from_millis(400),
        connect_timeout: Duration::from_millis(300),
        total_timeout: Duration::from_secs(2),
        max_retries: 2,
        initial_backoff: Duration::from_millis(20),
        ..EndpointConfig::default()
    };
    let client_for = |url: &str| RekorClient::new(url, HttpClient::new(Service::Rekor, cfg.clone()).unwrap(), &root);

    // 500 then 429 then genuine: retried through to a verified entry.
    let inner = f.rekor.clone();
    let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let flaky = serve(move |r| {
        let (inner, i) = (inner.clone(), n.fetch_add(1, Ordering::SeqCst));
        async move {
            match i {
                0 => resp(500, "text/plain", "boom"),
                1 => {
                    let mut r = resp(429, "text/plain", "slow down");
                    r.headers_mut().insert("retry-after", "0".parse().unwrap());
                    r
                }
                _ => inner.handle(r).await,
            }
        }
    })
    .await;
    let e = client_for(&flaky.url())
        .create_entry(&f.hashedrekord(b"flaky"))
        .await
        .unwrap();
    assert_eq!(e.log_index, 0);
    assert_eq!(flaky.hits(), 3);

    // Slow: timeout, bounded.
    let slow = serve(|_r: Req| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        resp(200, "application/json", "{}")
    })
    .await;
    let start = Instant::now();
    let err = client_for(&slow.url())
        .create_entry(&f.hashedrekord(b"s"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "client.timeout");
    assert!(err.is_unavailable() && err.service() == Service::Rekor);
    assert!(start.elapsed() < Duration::from_millis(2300), "{:?}", start.elapsed());

    // Down: connect error, bounded.
    let start = Instant::now();
    let url = crate::client::testserver::closed_port_url().await;
    let err = client_for(&url).log_info().await.unwrap_err();
    assert_eq!(err.code(), "client.connect");
    assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());

    // Persistent 503.
    let down = serve(|_r: Req| async { resp(503, "text/plain", "maintenance") }).await;
    let err = client_for(&down.url())
        .create_entry(&f.hashedrekord(b"d"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(err.is_unavailable());
    assert_eq!(down.hits(), 3);
}
