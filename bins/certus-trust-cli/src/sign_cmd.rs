//! `sign-bundle`: the sigstore-conformance client protocol's signing command, against the Fulcio,
//! Rekor and TSAs of a signing config (from a file, or from the Sigstore TUF repository).

use crate::{read, write_file, Failure};
use clap::Args;
use std::borrow::Cow;
use std::path::PathBuf;
use trust_core::crypto::{sha256, Digest, HashAlgorithm};
use trust_sigstore::client::token::TokenSource;
use trust_sigstore::client::EndpointConfig;
use trust_sigstore::content::{statement_subject, SignContent};
use trust_sigstore::remote::{SignError, SigstoreSigner, TrustMaterial};
use trust_sigstore::tuf::TufConfig;

/// `sign-bundle` arguments (exact conformance flags).
#[derive(Args)]
pub(crate) struct SignBundleArgs {
    /// Use Sigstore staging (TUF) instead of production, for what the files below do not give.
    #[arg(long)]
    staging: bool,
    /// FILE is an in-toto statement: sign it verbatim in a DSSE envelope.
    #[arg(long)]
    in_toto: bool,
    /// The OIDC identity token (a compact JWT) Fulcio certifies.
    #[arg(long)]
    identity_token: String,
    /// Where to write the bundle.
    #[arg(long)]
    bundle: PathBuf,
    /// `trusted_root.json` (default: from the TUF repository).
    #[arg(long)]
    trusted_root: Option<PathBuf>,
    /// `signing_config.v0.2.json` (default: from the TUF repository).
    #[arg(long)]
    signing_config: Option<PathBuf>,
    /// The artifact (or, with --in-toto, the statement).
    file: PathBuf,
}

fn fail(e: SignError) -> Failure {
    let exit = if matches!(e, SignError::Content(_)) { 2 } else { 1 };
    Failure {
        code: Cow::Borrowed(e.code()),
        message: e.to_string(),
        exit,
    }
}

async fn material(args: &SignBundleArgs) -> Result<TrustMaterial, Failure> {
    let (root, config) = match (&args.trusted_root, &args.signing_config) {
        (Some(r), Some(c)) => (read(r)?, read(c)?),
        _ => {
            let cfg = if args.staging {
                TufConfig::staging(None)
            } else {
                TufConfig::production(None)
            };
            let cfg = cfg.map_err(|e| fail(e.into()))?;
            let tuf = TrustMaterial::from_tuf_repository(&cfg).await.map_err(fail)?;
            let root = match &args.trusted_root {
                Some(r) => read(r)?,
                None => tuf.trusted_root_json.to_string().into_bytes(),
            };
            let config = match &args.signing_config {
                Some(c) => read(c)?,
                None => tuf.signing_config_json.to_string().into_bytes(),
            };
            (root, config)
        }
    };
    let source = match (&args.trusted_root, &args.signing_config) {
        (Some(r), Some(c)) => format!("files {} and {}", r.display(), c.display()),
        _ => "the Sigstore TUF repository and the given files".into(),
    };
    TrustMaterial::from_json(&root, &config, source, None).map_err(fail)
}

pub(crate) fn run(args: &SignBundleArgs) -> Result<String, Failure> {
    let input = read(&args.file)?;
    let (artifact, content) = if args.in_toto {
        let subject = statement_subject(&input).map_err(|e| fail(e.into()))?;
        (subject, SignContent::Statement(input))
    } else {
        let digest = Digest::new(HashAlgorithm::Sha256, &sha256(&input)).ok_or_else(|| Failure {
            code: Cow::Borrowed("internal"),
            message: "sha256 digest".into(),
            exit: 1,
        })?;
        (digest, SignContent::Digest)
    };
    let runtime = crate::local_cmd::runtime()?;
    let signed = runtime.block_on(async {
        let material = material(args).await?;
        let signer = SigstoreSigner::new(
            material,
            TokenSource::Static(args.identity_token.clone()),
            EndpointConfig::default(),
        )
        .map_err(fail)?;
        signer.sign(&artifact, &content).await.map_err(fail)
    })?;
    write_file(&args.bundle, signed.bundle.as_bytes())?;
    Ok(format!(
        "signed {} as {} ({}); logged at index {}; bundle {}",
        args.file.display(),
        signed.identity,
        signed.issuer,
        signed.entries.first().map_or(0, |e| e.log_index),
        args.bundle.display()
    ))
}
