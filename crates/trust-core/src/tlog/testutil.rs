//! Test-only access to the conformance fixtures (raw JSON; bundle parsing lives elsewhere).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use crate::trust_root::{TransparencyLog, TrustedRoot};
use base64::Engine;
use serde_json::Value;

pub fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

pub fn fixture_path(rel: &str) -> String {
    format!("{}/../../fixtures/{rel}", env!("CARGO_MANIFEST_DIR"))
}

pub struct Case {
    pub name: String,
    pub bundle: Value,
    pub root: TrustedRoot,
}

pub struct Proof {
    pub index: u64,
    pub tree_size: u64,
    pub root: [u8; 32],
    pub hashes: Vec<[u8; 32]>,
    pub checkpoint: Option<String>,
}

pub struct Entry {
    pub kind: String,
    pub version: String,
    pub body: Vec<u8>,
    pub body_b64: String,
    pub log_id: Vec<u8>,
    pub log_index: i64,
    pub integrated_time: i64,
    pub set: Option<Vec<u8>>,
    pub proof: Option<Proof>,
}

fn arr32(v: &[u8]) -> [u8; 32] {
    v.try_into().unwrap()
}

fn int(v: &Value) -> i64 {
    match v {
        Value::String(s) => s.parse().unwrap(),
        Value::Number(n) => n.as_i64().unwrap(),
        Value::Null => 0,
        other => panic!("not an integer: {other}"),
    }
}

impl Case {
    pub fn load(name: &str) -> Case {
        let dir = fixture_path(&format!("sigstore-conformance/bundle-verify/{name}"));
        let bundle: Value =
            serde_json::from_slice(&std::fs::read(format!("{dir}/bundle.sigstore.json")).unwrap()).unwrap();
        let root_json = std::fs::read(format!("{dir}/trusted_root.json")).unwrap_or_else(|_| {
            std::fs::read(fixture_path("sigstore-trust-roots/production/trusted_root.json")).unwrap()
        });
        Case {
            name: name.to_string(),
            bundle,
            root: TrustedRoot::from_json(&root_json).unwrap(),
        }
    }

    pub fn file(&self, file: &str) -> Option<Vec<u8>> {
        std::fs::read(fixture_path(&format!(
            "sigstore-conformance/bundle-verify/{}/{file}",
            self.name
        )))
        .ok()
    }

    pub fn entry(&self) -> Entry {
        let t = &self.bundle["verificationMaterial"]["tlogEntries"][0];
        let body_b64 = t["canonicalizedBody"].as_str().unwrap().to_string();
        let proof = t.get("inclusionProof").map(|p| Proof {
            index: int(&p["logIndex"]) as u64,
            tree_size: int(&p["treeSize"]) as u64,
            root: arr32(&b64(p["rootHash"].as_str().unwrap())),
            hashes: p["hashes"]
                .as_array()
                .map(|h| h.iter().map(|x| arr32(&b64(x.as_str().unwrap()))).collect())
                .unwrap_or_default(),
            checkpoint: p["checkpoint"]["envelope"].as_str().map(str::to_string),
        });
        Entry {
            kind: t["kindVersion"]["kind"].as_str().unwrap().to_string(),
            version: t["kindVersion"]["version"].as_str().unwrap().to_string(),
            body: b64(&body_b64),
            body_b64,
            log_id: b64(t["logId"]["keyId"].as_str().unwrap()),
            log_index: int(&t["logIndex"]),
            integrated_time: int(&t["integratedTime"]),
            set: t["inclusionPromise"]["signedEntryTimestamp"].as_str().map(b64),
            proof,
        }
    }

    pub fn log_for(&self, e: &Entry) -> &TransparencyLog {
        self.root
            .tlogs
            .iter()
            .find(|l| l.log_id == e.log_id)
            .unwrap_or_else(|| panic!("{}: no trusted log for the entry", self.name))
    }

    /// DER of the signing certificate (leaf), if the bundle is certificate-based.
    pub fn leaf_der(&self) -> Option<Vec<u8>> {
        let vm = &self.bundle["verificationMaterial"];
        vm["certificate"]["rawBytes"]
            .as_str()
            .or_else(|| vm["x509CertificateChain"]["certificates"][0]["rawBytes"].as_str())
            .map(b64)
    }
}
