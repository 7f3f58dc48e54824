//! Test support (feature `testing`): real TUF repositories generated with tough's editor and a
//! fresh Ed25519 key, for tests of [`super`] and of its users (CLI, server).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test harness: a panic is a test failure"
)]

use super::{InitialRoot, TufConfig};
use crate::client::EndpointConfig;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::Ed25519KeyPair;
use jiff::Timestamp;
use std::collections::HashMap;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use tough::editor::signed::{PathExists, SignedRole};
use tough::editor::RepositoryEditor;
use tough::key_source::KeySource;
use tough::schema::{KeyHolder, PathPattern, PathSet, RoleKeys, RoleType, Root, Target};
use tough::sign::Sign;
use tough::TargetName;
use url::Url;

/// Unix seconds `secs` from now.
pub fn in_secs(secs: i64) -> i64 {
    Timestamp::now().as_second() + secs
}

fn ts(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).unwrap()
}

/// An Ed25519 key held in memory.
#[derive(Debug)]
pub struct MemKey(Vec<u8>);

#[tough::async_trait]
impl KeySource for MemKey {
    async fn as_sign(&self) -> Result<Box<dyn Sign>, Box<dyn std::error::Error + Send + Sync + 'static>> {
        Ok(Box::new(tough::sign::parse_keypair(&self.0)?))
    }
    async fn write(&self, _: &str, _: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync + 'static>> {
        Ok(())
    }
}

/// A TUF repository on disk: `repo/metadata`, `repo/targets`, signed by one Ed25519 key per run.
pub struct TestRepo {
    /// Holds `initial-root.json`, `repo/metadata`, `repo/targets` and staging files.
    pub dir: TempDir,
    keys: Vec<Box<dyn KeySource>>,
    /// The version-1 root (`initial-root.json`): the initial root for clients.
    pub root_path: PathBuf,
}

impl TestRepo {
    /// A new repository with a fresh key and a signed version-1 root (nothing published yet).
    pub async fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let keys: Vec<Box<dyn KeySource>> = vec![Box::new(MemKey(pkcs8.as_ref().to_vec()))];
        let root_path = dir.path().join("initial-root.json");
        let repo = TestRepo { dir, keys, root_path };
        let root = repo.root_doc(1).await;
        std::fs::write(&repo.root_path, &root).unwrap();
        repo
    }

    /// The metadata directory.
    pub fn metadata(&self) -> PathBuf {
        self.dir.path().join("repo/metadata")
    }

    /// The targets directory.
    pub fn targets(&self) -> PathBuf {
        self.dir.path().join("repo/targets")
    }

    /// A root of `version`, self-signed (for version > 1 also by the previous root: same key).
    pub async fn root_doc(&self, version: u64) -> Vec<u8> {
        let key = self.keys[0].as_sign().await.unwrap().tuf_key();
        let key_id = key.key_id().unwrap();
        let role = RoleKeys {
            keyids: vec![key_id.clone()],
            threshold: NonZeroU64::new(1).unwrap(),
            _extra: HashMap::new(),
        };
        let root = Root {
            spec_version: "1.0.0".into(),
            consistent_snapshot: true,
            version: NonZeroU64::new(version).unwrap(),
            expires: ts(in_secs(365 * 86400)),
            keys: HashMap::from([(key_id, key)]),
            roles: [
                RoleType::Root,
                RoleType::Snapshot,
                RoleType::Targets,
                RoleType::Timestamp,
            ]
            .into_iter()
            .map(|r| (r, role.clone()))
            .collect(),
            _extra: HashMap::new(),
        };
        let signed = SignedRole::new(root.clone(), &KeyHolder::Root(root), &self.keys, &SystemRandom::new())
            .await
            .unwrap();
        signed.buffer().clone()
    }

    /// Publishes a version of the repository (targets/snapshot/timestamp all at `version`).
    /// `timestamp_expires` is in Unix seconds (see [`in_secs`]); the other roles expire in a day.
    pub async fn publish(&self, root: &Path, version: u64, files: &[(&str, &[u8])], timestamp_expires: i64) {
        self.publish_inner(root, version, files, timestamp_expires, None).await;
    }

    /// [`TestRepo::publish`] plus a delegated targets role `role` (paths `<role>/*`, like
    /// Sigstore's `registry.npmjs.org`) listing one target `<role>/keys.json`.
    pub async fn publish_delegated(
        &self,
        root: &Path,
        version: u64,
        files: &[(&str, &[u8])],
        timestamp_expires: i64,
        role: &str,
    ) {
        self.publish_inner(root, version, files, timestamp_expires, Some(role))
            .await;
    }

    async fn publish_inner(
        &self,
        root: &Path,
        version: u64,
        files: &[(&str, &[u8])],
        timestamp_expires: i64,
        delegated: Option<&str>,
    ) {
        let staging = self.dir.path().join(format!("staging-{version}"));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).unwrap();
        let mut paths = Vec::new();
        for (name, bytes) in files {
            let p = staging.join(name);
            std::fs::write(&p, bytes).unwrap();
            paths.push(p);
        }
        let v = NonZeroU64::new(version).unwrap();
        let one = NonZeroU64::new(1).unwrap();
        let mut editor = RepositoryEditor::new(root).await.unwrap();
        editor
            .snapshot_version(v)
            .snapshot_expires(ts(in_secs(86400)))
            .timestamp_version(v)
            .timestamp_expires(Timestamp::from_second(timestamp_expires).unwrap());
        if let Some(role) = delegated {
            let paths = PathSet::Paths(vec![PathPattern::new(format!("{role}/*")).unwrap()]);
            editor
                .delegate_role(role, &self.keys, paths, false, one, ts(in_secs(86400)), v)
                .await
                .unwrap();
        }
        editor
            .targets_version(v)
            .unwrap()
            .targets_expires(ts(in_secs(86400)))
            .unwrap();
        editor.add_target_paths(paths).await.unwrap();
        if let Some(role) = delegated {
            let file = self.dir.path().join(format!("delegated-{version}.json"));
            std::fs::write(&file, format!("{{\"version\":{version}}}")).unwrap();
            let target = Target::from_path(&file).await.unwrap();
            editor
                .sign_targets_editor(&self.keys)
                .await
                .unwrap()
                .change_delegated_targets(role)
                .unwrap()
                .add_target(TargetName::new(format!("{role}/keys.json")).unwrap(), target)
                .unwrap()
                .targets_version(v)
                .unwrap()
                .targets_expires(ts(in_secs(86400)))
                .unwrap()
                .sign_targets_editor(&self.keys)
                .await
                .unwrap();
        }
        let signed = editor.sign(&self.keys).await.unwrap();
        signed.write(self.metadata()).await.unwrap();
        signed
            .copy_targets(&staging, self.targets(), PathExists::Replace)
            .await
            .unwrap();
    }

    /// A client configuration over `file://` URLs with this repository's initial root.
    pub fn config(&self, cache: &Path) -> TufConfig {
        TufConfig {
            metadata_url: Url::from_directory_path(self.metadata()).unwrap(),
            targets_url: Url::from_directory_path(self.targets()).unwrap(),
            initial_root: InitialRoot::File(self.root_path.clone()),
            cache_dir: cache.to_path_buf(),
            endpoint: EndpointConfig::default(),
        }
    }
}
