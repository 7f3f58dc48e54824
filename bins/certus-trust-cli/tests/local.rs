//! Local mode through the CLI binary: init, sign, export-trust, then verification by
//! certus-trust itself and by sigstore-python 4.x (the `.venv` that `cargo xtask ci` creates, or
//! `CERTUS_SIGSTORE_PYTHON`), on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use trust_store::testing::{postgres_url, TempDir};

const IDENTITY: &str = "release-bot@certus.cloud";
const ISSUER: &str = "https://issuer.certus.cloud";

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_certus-trust-cli"))
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    eprintln!(
        "{:?}\n  status {}\n  stdout {}\n  stderr {}",
        cmd,
        out.status,
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    out
}

fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(out.status.success(), "command failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fails(cmd: &mut Command, code: i32, error_code: &str) {
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(code));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("error[{error_code}]")), "{stderr}");
}

fn sigstore_python() -> PathBuf {
    if let Some(p) = std::env::var_os("CERTUS_SIGSTORE_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/sigstore");
    assert!(
        venv.is_file(),
        "sigstore-python not found at {}: run `cargo xtask ci` (creates the venv) or set CERTUS_SIGSTORE_PYTHON",
        venv.display()
    );
    venv
}

fn python_verify(tc: &Path, bundle: &Path, identity: &str, artifact: &Path) -> Output {
    run(Command::new(sigstore_python())
        .arg("--trust-config")
        .arg(tc)
        .args(["verify", "identity", "--offline", "--bundle"])
        .arg(bundle)
        .args(["--cert-identity", identity, "--cert-oidc-issuer", ISSUER])
        .arg(artifact))
}

fn certus_verify(root: &Path, bundle: &Path, identity: &str, artifact: &str) -> Output {
    run(cli()
        .arg("verify-bundle")
        .arg("--bundle")
        .arg(bundle)
        .arg("--trusted-root")
        .arg(root)
        .args([
            "--certificate-identity",
            identity,
            "--certificate-oidc-issuer",
            ISSUER,
            artifact,
        ]))
}

/// init → sign (digest, in-toto) → export → verify with both verifiers, and the negatives.
fn sign_and_verify_everywhere(database_url: Option<String>) {
    let tmp = TempDir::new();
    let d = tmp.path();
    let data = d.join("data");
    let with_db = |c: &mut Command| {
        if let Some(u) = &database_url {
            c.arg("--database-url").arg(u);
        }
    };
    let mut init = cli();
    init.args([
        "local",
        "init",
        "--identity",
        IDENTITY,
        "--oidc-issuer",
        ISSUER,
        "--data-dir",
    ])
    .arg(&data);
    with_db(&mut init);
    ok(&mut init);

    let artifact = d.join("release.tar.gz");
    std::fs::write(&artifact, b"release contents").unwrap();
    let (plain, dsse) = (d.join("plain.sigstore.json"), d.join("dsse.sigstore.json"));
    for (bundle, extra) in [
        (&plain, &[][..]),
        (
            &dsse,
            &["--in-toto", "--predicate-type", "https://slsa.dev/provenance/v1"][..],
        ),
    ] {
        let mut sign = cli();
        sign.args(["local", "sign", "--data-dir"])
            .arg(&data)
            .arg("--bundle")
            .arg(bundle)
            .args(extra)
            .arg(&artifact);
        with_db(&mut sign);
        ok(&mut sign);
    }
    let (root, tc) = (d.join("trusted_root.json"), d.join("trust_config.json"));
    let mut export = cli();
    export.args(["local", "export-trust", "--data-dir"]).arg(&data);
    export.arg("--trusted-root").arg(&root).arg("--trust-config").arg(&tc);
    with_db(&mut export);
    ok(&mut export);

    let art = artifact.to_str().unwrap();
    for bundle in [&plain, &dsse] {
        assert!(certus_verify(&root, bundle, IDENTITY, art).status.success());
        assert!(python_verify(&tc, bundle, IDENTITY, &artifact).status.success());
        // Another identity is refused by both.
        assert_eq!(
            certus_verify(&root, bundle, "mallory@certus.cloud", art).status.code(),
            Some(1)
        );
        assert!(!python_verify(&tc, bundle, "mallory@certus.cloud", &artifact)
            .status
            .success());
    }
    // By digest too.
    let digest = format!("sha256:{}", hex_sha256(b"release contents"));
    assert!(certus_verify(&root, &plain, IDENTITY, &digest).status.success());

    // Another artifact is refused by both.
    let other = d.join("other.tar.gz");
    std::fs::write(&other, b"something else").unwrap();
    assert_eq!(
        certus_verify(&root, &plain, IDENTITY, other.to_str().unwrap())
            .status
            .code(),
        Some(1)
    );
    assert!(!python_verify(&tc, &plain, IDENTITY, &other).status.success());

    // A tampered log entry (integrated time moved) is refused by both.
    let mut bundle: serde_json::Value = serde_json::from_slice(&std::fs::read(&plain).unwrap()).unwrap();
    let entry = &mut bundle["verificationMaterial"]["tlogEntries"][0];
    let t: i64 = entry["integratedTime"].as_str().unwrap().parse().unwrap();
    entry["integratedTime"] = serde_json::Value::String((t + 1).to_string());
    let tampered = d.join("tampered.sigstore.json");
    std::fs::write(&tampered, serde_json::to_vec(&bundle).unwrap()).unwrap();
    assert_eq!(certus_verify(&root, &tampered, IDENTITY, art).status.code(), Some(1));
    assert!(!python_verify(&tc, &tampered, IDENTITY, &artifact).status.success());

    // Rotate every key: what the old keys signed and what the new ones sign both verify with
    // the re-exported root, in both verifiers.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    ok(cli().args(["local", "rotate", "--all", "--data-dir"]).arg(&data));
    let rotated = d.join("rotated.sigstore.json");
    let mut sign = cli();
    sign.args(["local", "sign", "--data-dir"])
        .arg(&data)
        .arg("--bundle")
        .arg(&rotated)
        .arg(&artifact);
    with_db(&mut sign);
    ok(&mut sign);
    let mut export = cli();
    export.args(["local", "export-trust", "--data-dir"]).arg(&data);
    export.arg("--trusted-root").arg(&root).arg("--trust-config").arg(&tc);
    with_db(&mut export);
    ok(&mut export);
    for bundle in [&plain, &dsse, &rotated] {
        assert!(certus_verify(&root, bundle, IDENTITY, art).status.success());
        assert!(python_verify(&tc, bundle, IDENTITY, &artifact).status.success());
    }

    // The other instance's root does not verify this one's bundles.
    let data2 = d.join("data2");
    ok(cli().args(["local", "init", "--data-dir"]).arg(&data2));
    let root2 = d.join("root2.json");
    ok(cli()
        .args(["local", "export-trust", "--data-dir"])
        .arg(&data2)
        .arg("--trusted-root")
        .arg(&root2));
    assert_eq!(certus_verify(&root2, &plain, IDENTITY, art).status.code(), Some(1));
}

fn hex_sha256(data: &[u8]) -> String {
    trust_core::crypto::sha256(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn local_signing_interoperates_on_sqlite() {
    sign_and_verify_everywhere(None);
}

#[test]
fn local_signing_interoperates_on_postgres() {
    sign_and_verify_everywhere(Some(postgres_url()));
}

#[test]
fn local_commands_refuse_bad_input_clearly() {
    let tmp = TempDir::new();
    let data = tmp.path().join("data");
    let file = tmp.path().join("f");
    std::fs::write(&file, b"x").unwrap();
    let bundle = tmp.path().join("b.json");
    fails(
        cli()
            .args(["local", "sign", "--data-dir"])
            .arg(&data)
            .arg("--bundle")
            .arg(&bundle)
            .arg(&file),
        2,
        "local.not_initialized",
    );
    assert!(!bundle.exists());
    fails(
        cli().args(["local", "init", "--identity", "", "--data-dir"]).arg(&data),
        2,
        "local.invalid_input",
    );
    ok(cli().args(["local", "init", "--data-dir"]).arg(&data));
    fails(
        cli().args(["local", "init", "--data-dir"]).arg(&data),
        2,
        "local.already_initialized",
    );
    fails(
        cli()
            .args(["local", "sign", "--data-dir"])
            .arg(&data)
            .arg("--bundle")
            .arg(&bundle)
            .arg("sha256:abc"),
        2,
        "input.bad_digest",
    );
    fails(
        cli()
            .args(["local", "sign", "--data-dir"])
            .arg(&data)
            .arg("--bundle")
            .arg(&bundle)
            .arg(tmp.path().join("missing")),
        2,
        "input.unreadable",
    );
    assert!(!bundle.exists());
    fails(
        cli()
            .args(["local", "sign", "--database-url", "mysql://x/y", "--data-dir"])
            .arg(&data)
            .arg("--bundle")
            .arg(&bundle)
            .arg(&file),
        2,
        "store.invalid_url",
    );
    // An encrypted data directory needs its passphrase.
    let enc = tmp.path().join("enc");
    ok(cli()
        .env("CERTUS_TRUST_KEY_PASSPHRASE", "correct horse")
        .args(["local", "init", "--data-dir"])
        .arg(&enc));
    fails(
        cli()
            .env_remove("CERTUS_TRUST_KEY_PASSPHRASE")
            .args(["local", "sign", "--data-dir"])
            .arg(&enc)
            .arg("--bundle")
            .arg(&bundle)
            .arg(&file),
        1,
        "key.passphrase_required",
    );
    ok(cli()
        .env("CERTUS_TRUST_KEY_PASSPHRASE", "correct horse")
        .args(["local", "sign", "--data-dir"])
        .arg(&enc)
        .arg("--bundle")
        .arg(&bundle)
        .arg(&file));
    assert!(bundle.exists());
}
