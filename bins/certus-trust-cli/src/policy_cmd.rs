//! `certus-trust-cli policy ...`: lint a policy file; verify bundles and decide by a policy.
//!
//! Exit status: `check` 0 only when the policy allows, 1 when it denies (or a bundle does not
//! verify), 2 on bad input (unreadable file, invalid policy, unknown policy name, bad digest).
//! `lint` 0 when the file loads, 1 when it has problems, 2 when it cannot be read.
//! Errors go to stderr as `error[code]: message`, like `verify-bundle`.

use clap::{Args, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use trust_core::bundle::{Bundle, SignerMaterial};
use trust_core::crypto::{Digest, PublicKey};
use trust_core::policy::PolicyBuilder;
use trust_core::time::UnixTime;
use trust_core::trust_root::{embedded, TrustedRoot};
use trust_core::verifier::{VerifiedBundle, Verifier, VerifierConfig};
use trust_core::{Error, ErrorFamily};
use trust_policy::{Context, Decision, Failure, LoadError, Mode, PolicySet, ServiceIdentity};

/// `policy` subcommands.
#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Load and validate a policy file; print its policies, or every problem with file:line:column.
    Lint(LintArgs),
    /// Verify one or more bundles for an artifact, then decide by a named policy.
    Check(Box<CheckArgs>),
}

/// `policy lint`.
#[derive(Args)]
pub struct LintArgs {
    /// The policy file (YAML).
    file: PathBuf,
}

/// `policy check`.
#[derive(Args)]
pub struct CheckArgs {
    /// The policy file (YAML).
    #[arg(long)]
    policy: PathBuf,
    /// The policy's name in the file.
    #[arg(long)]
    name: String,
    /// A bundle (`*.sigstore.json`); repeat for thresholds (k of n signers).
    #[arg(long, required = true)]
    bundle: Vec<PathBuf>,
    /// For chain policies: the outer bundle(s), signed by certus-trust.
    #[arg(long)]
    outer_bundle: Vec<PathBuf>,
    /// For chain policies: certus-trust's signing key (PEM).
    #[arg(long, conflicts_with_all = ["service_identity", "service_issuer"])]
    service_key: Option<PathBuf>,
    /// For chain policies: certus-trust's certificate identity (SAN).
    #[arg(long, requires = "service_issuer")]
    service_identity: Option<String>,
    /// For chain policies: certus-trust's OIDC issuer.
    #[arg(long, requires = "service_identity")]
    service_issuer: Option<String>,
    /// The artifact type, for rule scopes (for example `container-image`).
    #[arg(long)]
    artifact_type: Option<String>,
    /// The subject (image reference, file name ...), for rule scopes.
    #[arg(long)]
    subject: Option<String>,
    /// Trusted root (`trusted_root.json`); defaults to the embedded Sigstore production root.
    #[arg(long)]
    trusted_root: Option<PathBuf>,
    /// Use the embedded Sigstore staging root instead of production.
    #[arg(long, conflicts_with = "trusted_root")]
    staging: bool,
    /// Print the decision as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// The artifact: a file path, or `sha256:<hex>` to check by digest.
    artifact_or_digest: String,
}

struct CmdError {
    code: &'static str,
    message: String,
    exit: u8,
}

impl CmdError {
    fn input(code: &'static str, message: impl Into<String>) -> Self {
        CmdError {
            code,
            message: message.into(),
            exit: 2,
        }
    }

    fn verification(e: Error, what: &Path) -> Self {
        CmdError {
            code: e.code(),
            message: format!("{}: {e}", what.display()),
            exit: if e.family() == ErrorFamily::Input { 2 } else { 1 },
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, CmdError> {
    std::fs::read(path).map_err(|e| CmdError::input("input.unreadable", format!("{}: {e}", path.display())))
}

fn read_text(path: &Path) -> Result<String, CmdError> {
    String::from_utf8(read(path)?)
        .map_err(|_| CmdError::input("input.not_utf8", format!("{}: not UTF-8", path.display())))
}

/// Runs a `policy` subcommand, printing its output, and returns the exit status.
pub fn run(command: &PolicyCommand) -> ExitCode {
    let result = match command {
        PolicyCommand::Lint(args) => lint(args),
        PolicyCommand::Check(args) => check(args),
    };
    match result {
        Ok((out, code)) => {
            let mut stdout = std::io::stdout().lock();
            match writeln!(stdout, "{}", out.trim_end()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!("error[output.write]: {e}");
                    ExitCode::from(2)
                }
                _ => ExitCode::from(code),
            }
        }
        Err(errors) => {
            let mut exit = 0;
            for e in errors {
                eprintln!("error[{}]: {}", e.code, e.message.replace('\n', " "));
                exit = exit.max(e.exit);
            }
            ExitCode::from(exit)
        }
    }
}

fn load_errors(e: LoadError, exit: u8) -> Vec<CmdError> {
    let io = e.code() == "policy.io";
    e.diagnostics
        .iter()
        .map(|d| CmdError {
            code: d.code,
            message: if io {
                format!("{}: {}", e.source_name, d.message)
            } else {
                format!("{}:{}:{}: {}", e.source_name, d.line, d.column, d.message)
            },
            exit: if io { 2 } else { exit },
        })
        .collect()
}

fn lint(args: &LintArgs) -> Result<(String, u8), Vec<CmdError>> {
    let set = PolicySet::from_file(&args.file).map_err(|e| load_errors(e, 1))?;
    let mut out = format!("OK: {}\n", args.file.display());
    for p in set.policies() {
        let mode = match p.mode() {
            Mode::Enforce => "enforce",
            Mode::Warn => "warn",
        };
        if p.is_chain() {
            out.push_str(&format!("  {} ({mode}): chain policy\n", p.name()));
        } else {
            let rules = p.rule_names();
            out.push_str(&format!(
                "  {} ({mode}): {} rule{}: {}\n",
                p.name(),
                rules.len(),
                if rules.len() == 1 { "" } else { "s" },
                rules.join(", ")
            ));
        }
    }
    Ok((out, 0))
}

fn check(args: &CheckArgs) -> Result<(String, u8), Vec<CmdError>> {
    let set = PolicySet::from_file(&args.policy).map_err(|e| load_errors(e, 2))?;
    let policy = set.get(&args.name).ok_or_else(|| {
        let names: Vec<_> = set.policies().map(|p| p.name().to_string()).collect();
        vec![CmdError::input(
            "policy.unknown_policy",
            format!(
                "no policy named {:?} in {} (it has: {})",
                args.name,
                args.policy.display(),
                names.join(", ")
            ),
        )]
    })?;
    let service = service_identity(args).map_err(|e| vec![e])?;
    if !policy.is_chain() && (!args.outer_bundle.is_empty() || service.is_some()) {
        return Err(vec![CmdError::input(
            "input.conflict",
            format!(
                "policy {:?} is not a chain policy: --outer-bundle and --service-* do not apply",
                args.name
            ),
        )]);
    }

    let root_json = match (&args.trusted_root, args.staging) {
        (Some(p), _) => read(p).map_err(|e| vec![e])?,
        (None, true) => embedded::STAGING.to_vec(),
        (None, false) => embedded::PRODUCTION.to_vec(),
    };
    let root = TrustedRoot::from_json(&root_json).map_err(|e| {
        vec![CmdError::verification(
            e.into(),
            args.trusted_root.as_deref().unwrap_or(Path::new("trusted root")),
        )]
    })?;
    let verifier = Verifier::new(root, VerifierConfig::default())
        .map_err(|e| vec![CmdError::verification(e, Path::new("trusted root"))])?;

    let artifact_bytes;
    let artifact = if args.artifact_or_digest.starts_with("sha256:") {
        let digest = Digest::parse_prefixed(&args.artifact_or_digest).ok_or_else(|| {
            vec![CmdError::input(
                "input.invalid_digest",
                format!("{:?} is not sha256:<64 hex digits>", args.artifact_or_digest),
            )]
        })?;
        Artifact::Digest(digest)
    } else {
        artifact_bytes = read(Path::new(&args.artifact_or_digest)).map_err(|e| vec![e])?;
        Artifact::Bytes(&artifact_bytes)
    };

    let keys = set.authority_keys(&args.name);
    let now = trust_sigstore::embedded::now();
    let verify_all = |paths: &[PathBuf], keys: &[&PublicKey]| -> Result<Vec<VerifiedBundle>, Vec<CmdError>> {
        let mut out = Vec::new();
        let mut errors = Vec::new();
        for p in paths {
            match verify_one(&verifier, p, artifact, keys, now) {
                Ok(v) => out.push(v),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    };
    let inner = verify_all(&args.bundle, &keys)?;
    let inner_refs: Vec<&VerifiedBundle> = inner.iter().collect();
    let mut ctx = Context::new(now);
    ctx.artifact_type = args.artifact_type.as_deref();
    ctx.subject = args.subject.as_deref();
    ctx.service = service.as_ref();

    let decision = if policy.is_chain() {
        let service_key = args
            .service_key
            .as_ref()
            .map(|p| read_key(p))
            .transpose()
            .map_err(|e| vec![e])?;
        let outer_keys: Vec<&PublicKey> = service_key.iter().collect();
        let outer = verify_all(&args.outer_bundle, &outer_keys)?;
        let outer_refs: Vec<&VerifiedBundle> = outer.iter().collect();
        set.evaluate_chain(&args.name, &inner_refs, &outer_refs, &ctx)
    } else {
        set.evaluate(&args.name, &inner_refs, &ctx)
    }
    .map_err(|e| vec![CmdError::input(e.code(), e.to_string())])?;

    let out = if args.json {
        serde_json::to_string_pretty(&decision).unwrap_or_default()
    } else {
        describe(&decision, &args.bundle, &args.outer_bundle)
    };
    Ok((out, if decision.allowed { 0 } else { 1 }))
}

#[derive(Clone, Copy)]
enum Artifact<'a> {
    Bytes(&'a [u8]),
    Digest(Digest),
}

fn read_key(path: &Path) -> Result<PublicKey, CmdError> {
    PublicKey::from_pem(&read_text(path)?).map_err(|e| CmdError::verification(e.into(), path))
}

fn service_identity(args: &CheckArgs) -> Result<Option<ServiceIdentity>, CmdError> {
    Ok(
        match (&args.service_key, &args.service_identity, &args.service_issuer) {
            (Some(p), _, _) => Some(ServiceIdentity::key(&read_key(p)?)),
            (None, Some(id), Some(issuer)) => Some(ServiceIdentity::certificate(id, issuer)),
            _ => None,
        },
    )
}

/// Verifies one bundle: certificate bundles for any identity (the policy decides who), managed-key
/// bundles with each candidate key until one verifies.
fn verify_one(
    verifier: &Verifier,
    path: &Path,
    artifact: Artifact<'_>,
    keys: &[&PublicKey],
    now: UnixTime,
) -> Result<VerifiedBundle, CmdError> {
    let json = read(path)?;
    let bundle = Bundle::from_json(&json).map_err(|e| CmdError::verification(e.into(), path))?;
    let builder = || {
        let b = PolicyBuilder::new().now(now);
        match artifact {
            Artifact::Bytes(bytes) => b.artifact_bytes(bytes),
            Artifact::Digest(d) => b.artifact_digest(d),
        }
    };
    match bundle.signer {
        SignerMaterial::Certificate { .. } => {
            let policy = builder()
                .unsafe_ignore_identity()
                .build()
                .map_err(|e| CmdError::verification(e.into(), path))?;
            verifier
                .verify(&bundle, &policy)
                .map_err(|e| CmdError::verification(e, path))
        }
        _ => {
            let mut last = None;
            for key in keys {
                let policy = builder()
                    .public_key((*key).clone())
                    .build()
                    .map_err(|e| CmdError::verification(e.into(), path))?;
                match verifier.verify(&bundle, &policy) {
                    Ok(v) => return Ok(v),
                    Err(e) => last = Some(e),
                }
            }
            Err(match last {
                Some(e) => CmdError::verification(e, path),
                None => CmdError {
                    code: "policy.key_not_authorized",
                    message: format!(
                        "{}: signed with a public key, and the policy names no key authority to verify it with",
                        path.display()
                    ),
                    exit: 1,
                },
            })
        }
    }
}

fn describe_failure(kind: &str, f: &Failure, bundles: &[PathBuf], outer: &[PathBuf]) -> String {
    // The chain's outer check numbers the outer bundles.
    let bundles = if f.rule.as_deref() == Some("chain.outer") {
        outer
    } else {
        bundles
    };
    let mut at = Vec::new();
    if let Some(r) = &f.rule {
        at.push(format!("rule {r}"));
    }
    if let Some(a) = &f.authority {
        at.push(format!("authority {a}"));
    }
    if let Some(b) = f.bundle {
        let name = bundles
            .get(b)
            .map_or_else(|| b.to_string(), |p| p.display().to_string());
        at.push(format!("bundle {name}"));
    }
    let at = if at.is_empty() {
        String::new()
    } else {
        format!(" ({})", at.join(", "))
    };
    format!(
        "  {kind}[{}]{at}: expected {}, found {}\n",
        f.code, f.expected, f.actual
    )
}

fn describe(d: &Decision, bundles: &[PathBuf], outer: &[PathBuf]) -> String {
    let mode = match d.mode {
        Mode::Enforce => "enforce",
        Mode::Warn => "warn",
    };
    let verdict = if d.allowed { "ALLOWED" } else { "DENIED" };
    let mut out = format!("{verdict} by policy {:?} (mode {mode})\n", d.policy);
    if !d.matched_rules.is_empty() {
        out.push_str(&format!("  matched rules: {}\n", d.matched_rules.join(", ")));
    }
    for f in &d.failures {
        out.push_str(&describe_failure("failure", f, bundles, outer));
    }
    for w in &d.warnings {
        out.push_str(&describe_failure("warning", w, bundles, outer));
    }
    out
}
