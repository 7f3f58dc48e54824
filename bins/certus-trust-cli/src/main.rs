//! certus-trust-cli: offline verification, local-mode signing, and the sigstore-conformance client
//! protocol.
//!
//! Thin by design: parse arguments, load files, call trust-core, print. Exit status 0 only on
//! success; 1 when verification fails; 2 on bad input or usage.

mod policy_cmd;

use clap::{Args, Parser, Subcommand};
use std::borrow::Cow;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use trust_core::crypto::{Digest, PublicKey};
use trust_core::policy::{CertificateIdentity, PolicyBuilder};
use trust_core::trust_root::{embedded, TrustedRoot};
use trust_core::verifier::{TimeSource, VerifiedBundle, VerifiedSigner, Verifier, VerifierConfig};
use trust_core::{Error, ErrorFamily};

mod client_cmd;
mod local_cmd;
mod sign_cmd;
mod trust_cmd;

#[derive(Parser)]
#[command(name = "certus-trust-cli", version, about = "certus-trust: verify Sigstore bundles")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify a Sigstore bundle for an artifact (sigstore-conformance client protocol).
    VerifyBundle(VerifyBundleArgs),
    /// Sign an artifact (or an in-toto statement) with Fulcio, Rekor and the TSAs of a signing
    /// config, and write the bundle (sigstore-conformance client protocol).
    SignBundle(sign_cmd::SignBundleArgs),
    /// The embedded Sigstore on one machine: local CA, transparency log and TSA.
    #[command(subcommand)]
    Local(local_cmd::LocalCommand),
    /// A client for the certus-trust REST API (`--server URL`, `--json`).
    Server(client_cmd::ServerArgs),
    /// Signer policies: lint a policy file, check bundles against a policy.
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCommand),
    /// TUF-managed Sigstore trust material: `trust update` fetches and verifies, `trust show`
    /// re-verifies the cache offline.
    #[command(subcommand)]
    Trust(trust_cmd::TrustCommand),
}

#[derive(Args)]
struct VerifyBundleArgs {
    /// The bundle (`*.sigstore.json`).
    #[arg(long)]
    bundle: PathBuf,
    /// Expected certificate identity (SAN), exact.
    #[arg(long, requires = "certificate_oidc_issuer", conflicts_with = "key")]
    certificate_identity: Option<String>,
    /// Expected OIDC issuer, exact.
    #[arg(long, requires = "certificate_identity", conflicts_with = "key")]
    certificate_oidc_issuer: Option<String>,
    /// PEM public key, for bundles signed with a managed key.
    #[arg(long, required_unless_present = "certificate_identity")]
    key: Option<PathBuf>,
    /// Trusted root (`trusted_root.json`); defaults to the embedded Sigstore production root.
    #[arg(long)]
    trusted_root: Option<PathBuf>,
    /// Use the embedded Sigstore staging root instead of production.
    #[arg(long, conflicts_with = "trusted_root")]
    staging: bool,
    /// Print the verification result as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// The artifact: a file path, or `sha256:<hex>` to verify by digest.
    file_or_digest: String,
}

/// A failure with its stable code, reported as `error[code]: message`.
struct Failure {
    code: Cow<'static, str>,
    message: String,
    exit: u8,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let exit = if e.family() == ErrorFamily::Input { 2 } else { 1 };
        Failure {
            code: Cow::Borrowed(e.code()),
            message: e.to_string(),
            exit,
        }
    }
}

fn io_failure(path: &Path, e: std::io::Error) -> Failure {
    Failure {
        code: Cow::Borrowed("input.unreadable"),
        message: format!("{}: {e}", path.display()),
        exit: 2,
    }
}

/// Writes a file atomically: a temp file beside it, then a rename; an unwritable path is bad input.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let tmp = path.with_extension("tmp-certus");
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Failure {
                code: Cow::Borrowed("output.write"),
                message: format!("{}: {e}", path.display()),
                exit: 2,
            }
        })
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| io_failure(path, e))
}

fn verify_bundle(args: &VerifyBundleArgs) -> Result<VerifiedBundle, Failure> {
    let root_json = match (&args.trusted_root, args.staging) {
        (Some(p), _) => read(p)?,
        (None, true) => embedded::STAGING.to_vec(),
        (None, false) => embedded::PRODUCTION.to_vec(),
    };
    let root = TrustedRoot::from_json(&root_json).map_err(Error::from)?;
    let verifier = Verifier::new(root, VerifierConfig::default())?;

    let artifact_bytes;
    let mut policy = PolicyBuilder::new().now(trust_sigstore::embedded::now());
    if args.file_or_digest.starts_with("sha256:") {
        let digest = Digest::parse_prefixed(&args.file_or_digest).ok_or_else(|| Failure {
            code: Cow::Borrowed("input.invalid_digest"),
            message: format!("{:?} is not sha256:<64 hex digits>", args.file_or_digest),
            exit: 2,
        })?;
        policy = policy.artifact_digest(digest);
    } else {
        artifact_bytes = read(Path::new(&args.file_or_digest))?;
        policy = policy.artifact_bytes(&artifact_bytes);
    }
    policy = match (&args.key, &args.certificate_identity, &args.certificate_oidc_issuer) {
        (Some(key), _, _) => {
            let pem = String::from_utf8(read(key)?).map_err(|_| Failure {
                code: Cow::Borrowed("input.invalid_key"),
                message: format!("{}: not UTF-8 PEM", key.display()),
                exit: 2,
            })?;
            policy.public_key(PublicKey::from_pem(&pem).map_err(Error::from)?)
        }
        (None, Some(id), Some(issuer)) => {
            policy.certificate_identity(CertificateIdentity::exact(id, issuer).map_err(Error::from)?)
        }
        _ => policy,
    };
    let policy = policy.build().map_err(Error::from)?;
    let bundle = read(&args.bundle)?;
    Ok(verifier.verify_json(&bundle, &policy)?)
}

fn describe(v: &VerifiedBundle) -> String {
    let signer = match &v.signer {
        VerifiedSigner::Certificate { identity, issuer, .. } => {
            format!("{identity} (issuer {})", issuer.as_deref().unwrap_or("unknown"))
        }
        VerifiedSigner::PublicKey { key_id } => format!("public key {key_id}"),
        _ => "unknown signer".to_string(),
    };
    let mut out = format!("OK: {} signed by {signer}\n", v.artifact_digest);
    for e in &v.tlog_entries {
        let proof = match (e.inclusion_proof_verified, e.checkpoint_verified) {
            (true, true) => ", inclusion proof verified against a signed checkpoint",
            (true, false) => ", inclusion proof verified (no checkpoint)",
            _ => "",
        };
        out.push_str(&format!(
            "  logged: {} index {} ({} {}){proof}\n",
            e.log_url, e.log_index, e.kind, e.version
        ));
    }
    for t in &v.verified_times {
        let source = match t.source {
            TimeSource::TransparencyLog => "transparency log integrated time",
            TimeSource::Rfc3161 => "RFC 3161 timestamp",
            _ => "verified time",
        };
        out.push_str(&format!("  time: {} ({source} from {})\n", t.time, t.authority));
    }
    out
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::VerifyBundle(args) => verify_bundle(args).map(|v| {
            if args.json {
                serde_json::to_string_pretty(&v).unwrap_or_default()
            } else {
                describe(&v)
            }
        }),
        Command::SignBundle(args) => sign_cmd::run(args),
        Command::Local(cmd) => local_cmd::run(cmd),
        Command::Server(args) => client_cmd::run(args),
        Command::Policy(command) => return policy_cmd::run(command),
        Command::Trust(command) => trust_cmd::run(command),
    };
    match result {
        Ok(out) => {
            // A closed pipe (`| head`) is not a verification failure: the verdict stands.
            let mut stdout = std::io::stdout().lock();
            match writeln!(stdout, "{}", out.trim_end()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!("error[output.write]: {e}");
                    ExitCode::from(2)
                }
                _ => ExitCode::SUCCESS,
            }
        }
        Err(f) => {
            eprintln!("error[{}]: {}", f.code, f.message.replace('\n', " "));
            ExitCode::from(f.exit)
        }
    }
}
