use super::*;
use crate::client::rekor::tests::Fixture;
use crate::client::testserver::{resp, serve, Req, Resp, TestServer};
use crate::client::EndpointConfig;
use crate::embedded::log::NewEntry;
use crate::embedded::rekor::EntryKind;
use crate::embedded::store::LogStore;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;
use trust_core::crypto::{sha256, Digest, HashAlgorithm};

const GENUINE: u8 = 0;
const FORGE_PROOF: u8 = 1;
const WRONG_BODY: u8 = 2;
const OTHER_LOG_ID: u8 = 3;

/// The v2 canonical body of a request, as rekor-tiles writes it (after checking the signature
/// with the verifier's key).
fn canonical_body(req: &Value) -> Result<(Vec<u8>, Digest), String> {
    let key_of = |v: &Value| -> PublicKey {
        if let Some(c) = v["x509Certificate"]["rawBytes"].as_str() {
            let cert = x509_cert::Certificate::from_der(&B64.decode(c).unwrap()).unwrap();
            PublicKey::from_spki_der(&cert.tbs_certificate.subject_public_key_info.to_der().unwrap()).unwrap()
        } else {
            PublicKey::from_spki_der(&B64.decode(v["publicKey"]["rawBytes"].as_str().unwrap()).unwrap()).unwrap()
        }
    };
    if let Some(hr) = req.get("hashedRekordRequestV002") {
        let digest = Digest::new(
            HashAlgorithm::Sha256,
            &B64.decode(hr["digest"].as_str().unwrap()).unwrap(),
        )
        .unwrap();
        let sig = B64.decode(hr["signature"]["content"].as_str().unwrap()).unwrap();
        let verifier = &hr["signature"]["verifier"];
        if verifier["keyDetails"] != "PKIX_ECDSA_P256_SHA_256" {
            return Err("keyDetails".into());
        }
        key_of(verifier)
            .verify_prehashed(&digest, &sig)
            .map_err(|_| "signature".to_string())?;
        let body = json!({"apiVersion": "0.0.2", "kind": "hashedrekord", "spec": {"hashedRekordV002": {
            "data": {"algorithm": "SHA2_256", "digest": hr["digest"]},
            "signature": {"content": hr["signature"]["content"], "verifier": verifier},
        }}});
        Ok((serde_json::to_vec(&body).unwrap(), digest))
    } else {
        let d = &req["dsseRequestV002"];
        let env = &d["envelope"];
        let payload = B64.decode(env["payload"].as_str().unwrap()).unwrap();
        let sig = B64.decode(env["signatures"][0]["sig"].as_str().unwrap()).unwrap();
        let verifier = &d["verifiers"][0];
        let pae = trust_core::dsse::pae(env["payloadType"].as_str().unwrap(), &payload);
        key_of(verifier)
            .verify(&pae, &sig)
            .map_err(|_| "DSSE signature".to_string())?;
        let digest = Digest::new(HashAlgorithm::Sha256, &sha256(&payload)).unwrap();
        let body = json!({"apiVersion": "0.0.2", "kind": "dsse", "spec": {"dsseV002": {
            "payloadHash": {"algorithm": "SHA2_256", "digest": B64.encode(sha256(&payload))},
            "signatures": [{"content": env["signatures"][0]["sig"], "verifier": verifier}],
        }}});
        Ok((serde_json::to_vec(&body).unwrap(), digest))
    }
}

/// A Rekor v2 endpoint on the embedded log of `f`.
async fn v2_server(f: &Fixture, mode: Arc<AtomicU8>) -> TestServer {
    let rekor = f.rekor.clone();
    serve(move |r: Req| {
        let (rekor, mode) = (rekor.clone(), mode.load(Ordering::SeqCst));
        async move {
            let log = rekor.local.log();
            let path = r.path.as_str();
            let r: Resp = match (r.method.as_str(), path) {
                ("POST", "/api/v2/log/entries") => {
                    let req: Value = serde_json::from_slice(&r.body).unwrap();
                    let (mut body, digest) = match canonical_body(&req) {
                        Ok(b) => b,
                        Err(m) => return resp(400, "application/json", json!({"code": 3, "message": m}).to_string()),
                    };
                    if mode == WRONG_BODY {
                        let mut v: Value = serde_json::from_slice(&body).unwrap();
                        if let Some(hr) = v["spec"].get_mut("hashedRekordV002") {
                            hr["data"]["digest"] = json!(B64.encode(sha256(b"else")));
                        }
                        body = serde_json::to_vec(&v).unwrap();
                    }
                    let kind = body_kind(&body);
                    let logged = log
                        .append(NewEntry {
                            kind,
                            body: body.clone(),
                            artifact_digest: format!("sha256:{}", hex::encode(digest.as_bytes())),
                            record: None,
                        })
                        .await
                        .unwrap();
                    let p = &logged.inclusion_proof;
                    let mut hashes: Vec<String> = p.hashes.iter().map(|h| B64.encode(h)).collect();
                    if mode == FORGE_PROOF {
                        hashes[0] = B64.encode([7u8; 32]);
                    }
                    let log_id = if mode == OTHER_LOG_ID { [9u8; 32] } else { log.log_id() };
                    let kind_name = if kind == EntryKind::Dsse {
                        "dsse"
                    } else {
                        "hashedrekord"
                    };
                    let entry = json!({
                        "logIndex": logged.leaf.index.to_string(),
                        "logId": {"keyId": B64.encode(log_id)},
                        "kindVersion": {"kind": kind_name, "version": "0.0.2"},
                        "integratedTime": "0",
                        "inclusionProof": {
                            "logIndex": p.log_index.to_string(),
                            "rootHash": B64.encode(p.root_hash),
                            "treeSize": p.tree_size.to_string(),
                            "hashes": hashes,
                            "checkpoint": {"envelope": p.checkpoint},
                        },
                        "canonicalizedBody": B64.encode(&body),
                    });
                    resp(201, "application/json", entry.to_string())
                }
                ("GET", "/api/v2/checkpoint") => resp(200, "text/plain", log.checkpoint().await.unwrap().note),
                ("GET", p) if p.starts_with("/api/v2/tile/") => {
                    // Only the first tile of level 0 and of entries, full or partial.
                    let rest = p.trim_start_matches("/api/v2/tile/");
                    let (what, n) = rest.split_once('/').unwrap();
                    let width: u64 = n.strip_prefix("000.p/").map(|w| w.parse().unwrap()).unwrap_or(256);
                    let mut out = Vec::new();
                    for i in 0..width {
                        let Some(leaf) = log.store().leaf(i).await.unwrap() else {
                            return resp(404, "text/plain", "no such tile");
                        };
                        if what == "entries" {
                            out.extend_from_slice(&(leaf.body.len() as u16).to_be_bytes());
                            out.extend_from_slice(&leaf.body);
                        } else {
                            out.extend_from_slice(&leaf.leaf_hash);
                        }
                    }
                    resp(200, "application/octet-stream", out)
                }
                _ => resp(404, "text/plain", "not found"),
            };
            r
        }
    })
    .await
}

fn body_kind(body: &[u8]) -> EntryKind {
    let v: Value = serde_json::from_slice(body).unwrap();
    if v["kind"] == "dsse" {
        EntryKind::Dsse
    } else {
        EntryKind::HashedRekord
    }
}

async fn setup() -> (Fixture, TestServer, RekorV2Client, Arc<AtomicU8>) {
    let f = Fixture::new().await;
    let mode = Arc::new(AtomicU8::new(GENUINE));
    let srv = v2_server(&f, mode.clone()).await;
    let root = TrustedRoot::from_json(f.rekor.local.trusted_root().to_string().as_bytes()).unwrap();
    let cfg = EndpointConfig {
        timeout: Duration::from_secs(5),
        ..EndpointConfig::default()
    };
    let client = RekorV2Client::new(&srv.url(), HttpClient::new(Service::Rekor, cfg).unwrap(), &root);
    (f, srv, client, mode)
}

#[test]
fn tile_paths() {
    assert_eq!(tile_path(0), "000");
    assert_eq!(tile_path(7), "007");
    assert_eq!(tile_path(1234), "x001/234");
    assert_eq!(tile_path(1_234_067), "x001/x234/067");
}

#[tokio::test]
async fn creates_verified_v2_entries_and_reads_checkpoint_and_tiles() {
    let (f, _srv, client, _mode) = setup().await;
    let e = client.create_entry(&f.hashedrekord(b"v2 artifact")).await.unwrap();
    assert_eq!(
        (e.kind.as_str(), e.version.as_str(), e.log_index),
        ("hashedrekord", "0.0.2", 0)
    );
    assert_eq!(e.signed_entry_timestamp, None);
    let b = e.to_bundle_json();
    assert!(b.get("inclusionPromise").is_none());
    assert_eq!(b["kindVersion"]["version"], "0.0.2");
    let d = client.create_entry(&f.dsse(br#"{"_type":"x"}"#)).await.unwrap();
    assert_eq!((d.kind.as_str(), d.log_index), ("dsse", 1));

    let (note, cp) = client.checkpoint().await.unwrap();
    assert_eq!(cp.tree_size, 2);
    assert!(note.contains("\n\n"));
    let tile = client.tile(0, 0, Some(2)).await.unwrap();
    assert_eq!(tile, [leaf_hash(&e.body), leaf_hash(&d.body)]);
    let bundle = client.entry_bundle(0, Some(2)).await.unwrap();
    assert_eq!(bundle, [e.body.clone(), d.body.clone()]);
    // A full tile does not exist yet.
    assert_eq!(client.tile(0, 0, None).await.unwrap_err().status(), Some(404));
    assert_eq!(client.tile(0, 0, Some(300)).await.unwrap_err().code(), "client.config");
}

fn reason(e: &ClientError) -> &'static str {
    match e {
        ClientError::Verify { reason, .. } => reason,
        other => panic!("expected a verification error, got {other}"),
    }
}

#[tokio::test]
async fn forged_v2_responses_are_refused() {
    let (f, _srv, client, mode) = setup().await;
    client.create_entry(&f.hashedrekord(b"first")).await.unwrap();
    mode.store(FORGE_PROOF, Ordering::SeqCst);
    let err = client.create_entry(&f.hashedrekord(b"a")).await.unwrap_err();
    assert_eq!(reason(&err), "tlog.inclusion_proof_mismatch", "{err}");
    mode.store(WRONG_BODY, Ordering::SeqCst);
    let err = client.create_entry(&f.hashedrekord(b"b")).await.unwrap_err();
    assert_eq!(reason(&err), "tlog.body_mismatch", "{err}");
    mode.store(OTHER_LOG_ID, Ordering::SeqCst);
    let err = client.create_entry(&f.hashedrekord(b"c")).await.unwrap_err();
    assert_eq!(reason(&err), "tlog.unknown_log", "{err}");
}
