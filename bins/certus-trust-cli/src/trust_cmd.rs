//! `certus-trust-cli trust update|show`: the TUF-managed Sigstore trust material
//! (`trusted_root.json`, `signing_config.v0.2.json`), see `trust_sigstore::tuf`.
//!
//! Exit status: 0 on success; 1 when the repository or the cache fails verification or cannot be
//! reached (expired, rollback, hash mismatch, unavailable ...); 2 on bad input (configuration,
//! initial root file, no cache yet, unwritable `--out`).

use crate::{write_file, Failure};
use clap::{Args, Subcommand};
use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;
use trust_core::time::TimeRange;
use trust_sigstore::client::EndpointConfig;
use trust_sigstore::tuf::{self, InitialRoot, TrustMaterial, TufConfig, TufError};

/// `trust` subcommands.
#[derive(Subcommand)]
pub(crate) enum TrustCommand {
    /// Fetch the trust material from the TUF repository, verify it, and refresh the cache.
    Update(TrustArgs),
    /// Show the cached trust material, re-verified offline (no network).
    Show(TrustArgs),
}

/// Which repository, which cache, how to print.
#[derive(Args)]
pub(crate) struct TrustArgs {
    /// Sigstore staging instead of public-good production.
    #[arg(long, conflicts_with_all = ["tuf_url", "root"])]
    staging: bool,
    /// A private TUF repository (metadata base URL: https://, http:// or file://).
    #[arg(long, requires = "root")]
    tuf_url: Option<String>,
    /// The initial trusted `root.json` of the `--tuf-url` repository.
    #[arg(long, requires = "tuf_url")]
    root: Option<PathBuf>,
    /// Targets base URL of the `--tuf-url` repository (default: `<tuf-url>/targets`).
    #[arg(long, requires = "tuf_url")]
    targets_url: Option<String>,
    /// Cache directory (default: `$XDG_CACHE_HOME/certus-trust/tuf/<repository hash>`, or
    /// `~/.cache/...`).
    #[arg(long)]
    cache: Option<PathBuf>,
    /// PEM CA bundle that replaces the web roots for an https:// repository (pinning).
    #[arg(long)]
    ca_bundle: Option<PathBuf>,
    /// Timeout of one HTTP attempt, in seconds.
    #[arg(long, default_value_t = 20)]
    timeout: u64,
    /// Also write the verified `trusted_root.json` (and `signing_config.v0.2.json`) into this
    /// directory (atomically).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print JSON on stdout.
    #[arg(long)]
    json: bool,
}

impl From<TufError> for Failure {
    fn from(e: TufError) -> Self {
        Failure {
            code: Cow::Borrowed(e.code()),
            message: e.to_string(),
            exit: if e.is_input() { 2 } else { 1 },
        }
    }
}

fn config(args: &TrustArgs) -> Result<TufConfig, Failure> {
    let mut cfg = match (&args.tuf_url, &args.root, args.staging) {
        (Some(url), Some(root), _) => TufConfig::new(url, InitialRoot::File(root.clone()), args.cache.clone())?,
        (_, _, true) => TufConfig::staging(args.cache.clone())?,
        _ => TufConfig::production(args.cache.clone())?,
    };
    if let Some(t) = &args.targets_url {
        cfg.targets_url = url_arg(t)?;
        if args.cache.is_none() {
            cfg.cache_dir = tuf::default_cache_dir(&cfg.metadata_url, &cfg.targets_url)?;
        }
    }
    let ca_bundle = match &args.ca_bundle {
        Some(p) => Some(String::from_utf8(crate::read(p)?).map_err(|_| Failure {
            code: Cow::Borrowed("input.not_utf8"),
            message: format!("{}: not UTF-8 PEM", p.display()),
            exit: 2,
        })?),
        None => None,
    };
    cfg.endpoint = EndpointConfig {
        timeout: Duration::from_secs(args.timeout.max(1)),
        total_timeout: Duration::from_secs(args.timeout.max(1).saturating_mul(3)),
        ca_bundle,
        ..EndpointConfig::default()
    };
    Ok(cfg)
}

fn url_arg(s: &str) -> Result<url::Url, Failure> {
    url::Url::parse(s).map_err(|e| Failure {
        code: Cow::Borrowed("tuf.config"),
        message: format!("invalid URL {s:?}: {e}"),
        exit: 2,
    })
}

/// Runs a `trust` subcommand and returns what to print.
pub(crate) fn run(cmd: &TrustCommand) -> Result<String, Failure> {
    let (args, update) = match cmd {
        TrustCommand::Update(a) => (a, true),
        TrustCommand::Show(a) => (a, false),
    };
    let cfg = config(args)?;
    let rt = crate::local_cmd::runtime()?;
    let m = rt.block_on(async {
        if update {
            tuf::update(&cfg).await
        } else {
            tuf::load_cached(&cfg).await
        }
    })?;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).map_err(|e| Failure {
            code: Cow::Borrowed("output.write"),
            message: format!("{}: {e}", dir.display()),
            exit: 2,
        })?;
        write_file(&dir.join(tuf::TRUSTED_ROOT_TARGET), &m.trusted_root_json)?;
        if let Some(sc) = &m.signing_config_json {
            write_file(&dir.join(tuf::SIGNING_CONFIG_TARGET), sc)?;
        }
    }
    let now = trust_sigstore::embedded::now();
    Ok(if args.json {
        serde_json::to_string_pretty(&to_json(&cfg, &m, now)).unwrap_or_default()
    } else {
        describe(&cfg, &m, now)
    })
}

fn validity(v: &TimeRange) -> String {
    match v.end {
        Some(end) => format!("{} .. {end}", v.start),
        None => format!("{} .. (open)", v.start),
    }
}

/// (kind, name, validity) of every authority and log in the trusted root.
fn entries(m: &TrustMaterial) -> Vec<(&'static str, String, TimeRange)> {
    let r = &m.trusted_root;
    let mut out = Vec::new();
    out.extend(
        r.certificate_authorities
            .iter()
            .map(|c| ("ca", c.uri.clone(), c.valid_for)),
    );
    out.extend(r.tlogs.iter().map(|l| ("tlog", l.base_url.clone(), l.valid_for)));
    out.extend(r.ctlogs.iter().map(|l| ("ctlog", l.base_url.clone(), l.valid_for)));
    out.extend(r.timestamp_authorities.iter().map(|t| {
        let name = if t.uri.is_empty() {
            t.subject.1.clone()
        } else {
            t.uri.clone()
        };
        ("tsa", name, t.valid_for)
    }));
    out
}

fn describe(cfg: &TufConfig, m: &TrustMaterial, now: trust_core::time::UnixTime) -> String {
    let mut s = format!(
        "TUF repository: {}\n  targets: {}\n  cache: {}\n  source: {}\n",
        cfg.metadata_url,
        cfg.targets_url,
        cfg.cache_dir.display(),
        match m.source {
            tuf::MaterialSource::Repository => "repository (fetched and verified now)",
            _ => "cache (re-verified offline)",
        }
    );
    for (name, r) in [
        ("root", m.root),
        ("timestamp", m.timestamp),
        ("snapshot", m.snapshot),
        ("targets", m.targets),
    ] {
        s.push_str(&format!("  {name:<9} version {:<5} expires {}\n", r.version, r.expires));
    }
    let left = m.expires.secs() - now.secs();
    s.push_str(&format!(
        "  valid until {} ({}h{:02}m left); refresh with `trust update` before then\n",
        m.expires,
        left / 3600,
        (left % 3600) / 60
    ));
    let r = &m.trusted_root;
    s.push_str(&format!(
        "trusted root: {} CA, {} tlog, {} ctlog, {} TSA ({} bytes)\n",
        r.certificate_authorities.len(),
        r.tlogs.len(),
        r.ctlogs.len(),
        r.timestamp_authorities.len(),
        m.trusted_root_json.len()
    ));
    for (kind, name, v) in entries(m) {
        s.push_str(&format!("  {kind:<5} {name}  valid {}\n", validity(&v)));
    }
    match &m.signing_config_json {
        Some(sc) => s.push_str(&format!(
            "signing config: {} ({} bytes)\n",
            tuf::SIGNING_CONFIG_TARGET,
            sc.len()
        )),
        None => s.push_str("signing config: not in the repository\n"),
    }
    s
}

fn to_json(cfg: &TufConfig, m: &TrustMaterial, now: trust_core::time::UnixTime) -> serde_json::Value {
    let r = &m.trusted_root;
    serde_json::json!({
        "metadata_url": cfg.metadata_url.as_str(),
        "targets_url": cfg.targets_url.as_str(),
        "cache_dir": cfg.cache_dir,
        "source": m.source,
        "roles": {
            "root": m.root,
            "timestamp": m.timestamp,
            "snapshot": m.snapshot,
            "targets": m.targets,
        },
        "expires": m.expires,
        "seconds_left": m.expires.secs() - now.secs(),
        "trusted_root": {
            "bytes": m.trusted_root_json.len(),
            "certificate_authorities": r.certificate_authorities.len(),
            "tlogs": r.tlogs.len(),
            "ctlogs": r.ctlogs.len(),
            "timestamp_authorities": r.timestamp_authorities.len(),
            "entries": entries(m).into_iter().map(|(kind, name, v)| serde_json::json!({
                "kind": kind,
                "name": name,
                "valid_from": v.start,
                "valid_until": v.end,
            })).collect::<Vec<_>>(),
        },
        "signing_config": m.signing_config_json.as_ref().map(|b| serde_json::json!({ "bytes": b.len() })),
    })
}
