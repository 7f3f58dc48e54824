//! `certus-trust-cli server ...`: a client for every endpoint of the certus-trust REST API.
//!
//! Human-readable lines by default, the server's JSON (pretty, in the server's key order) with
//! `--json`. Exit status: 0 on success; 1 on a negative verdict (`valid: false`, not permitted,
//! not ready), a 5xx answer, or an unreachable server; 2 on bad input or a 4xx answer. Server
//! problem documents become `error[<code>]: <detail>`.

use crate::Failure;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use trust_core::crypto::sha256;
use ureq::tls::{RootCerts, TlsConfig, TlsProvider};
use ureq::Agent;

/// Longest a connection attempt may take (the whole request is bounded by `--timeout`).
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response body read (the OpenAPI document and trusted roots are well below).
const MAX_RESPONSE: u64 = 64 * 1024 * 1024;

/// The `server` command group: where the server is, how to talk to it, and what to ask.
#[derive(Args)]
pub(crate) struct ServerArgs {
    /// Base URL of the certus-trust server.
    #[arg(
        long,
        global = true,
        env = "CERTUS_TRUST_SERVER",
        default_value = "http://127.0.0.1:8888"
    )]
    server: String,
    /// Print the server's JSON answer (pretty) instead of human-readable lines.
    #[arg(long, global = true)]
    json: bool,
    /// Seconds a whole request may take (connecting takes at most 10 of them).
    #[arg(long, global = true, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// PEM file of CA certificates to trust for https instead of the built-in Mozilla roots.
    #[arg(long, global = true)]
    ca_cert: Option<PathBuf>,
    #[command(subcommand)]
    command: ServerCommand,
}

#[derive(Subcommand)]
enum ServerCommand {
    /// Sign an artifact digest (or an in-toto statement about it): `POST /v1/sign`.
    Sign(SignArgs),
    /// Verify a bundle, or a detached signature + certificate: `POST /v1/verify`.
    Verify(VerifyArgs),
    /// One transparency-log entry by UUID or log index: `GET /v1/transparency/{id}`.
    Entry(EntryArgs),
    /// Every transparency-log entry for an artifact: `GET /v1/transparency?artifact=`.
    Search(SearchArgs),
    /// The latest signed checkpoint: `GET /v1/transparency/checkpoint`.
    Checkpoint,
    /// A consistency proof between two tree sizes, checked locally when the server has
    /// checkpoints for both: `GET /v1/transparency/proof`.
    Proof(ProofArgs),
    /// The service's public keys and certificate chains: `GET /v1/keys`.
    Keys,
    /// The `trusted_root.json` that verifies the service's signatures: `GET /v1/keys/trusted-root`.
    TrustedRoot(OutArgs),
    /// The sigstore-python ClientTrustConfig: `GET /v1/keys/trust-config`.
    TrustConfig(OutArgs),
    /// Verify a producer's bundle and ask for an upload permission:
    /// `POST /v1/verify-and-permit-upload`.
    Permit(PermitArgs),
    /// Liveness: `GET /v1/health`.
    Health,
    /// Readiness of each dependency (exit 1 when not ready): `GET /v1/ready`.
    Ready,
    /// Prometheus metrics, as served: `GET /metrics`.
    Metrics,
    /// The OpenAPI description (its operations; the document with --json): `GET /v1/openapi.json`.
    Openapi,
}

#[derive(Args)]
struct SignArgs {
    /// Free-text artifact type (recorded by the server).
    #[arg(long)]
    artifact_type: Option<String>,
    /// Subject name (default: the file name when a file is given).
    #[arg(long)]
    subject: Option<String>,
    /// Sign an in-toto statement with this predicate type (DSSE) instead of the digest.
    #[arg(long)]
    predicate_type: Option<String>,
    /// File holding the statement's predicate, a JSON object (default `{}`).
    #[arg(long, requires = "predicate_type")]
    predicate: Option<PathBuf>,
    /// Where to write the returned Sigstore bundle.
    #[arg(long)]
    bundle: Option<PathBuf>,
    /// The artifact: a file path, or `sha256:<hex>`.
    file_or_digest: String,
}

#[derive(Args)]
struct VerifyArgs {
    /// The Sigstore bundle.
    #[arg(long, required_unless_present = "signature", conflicts_with_all = ["signature", "certificate"])]
    bundle: Option<PathBuf>,
    /// Detached signature file (base64 text or raw bytes); needs --certificate.
    #[arg(long, requires = "certificate")]
    signature: Option<PathBuf>,
    /// Detached signing certificate (PEM file); needs --signature.
    #[arg(long, requires = "signature")]
    certificate: Option<PathBuf>,
    /// Expected certificate identity (SAN), exact.
    #[arg(long, requires = "issuer", conflicts_with = "key")]
    identity: Option<String>,
    /// Expected OIDC issuer, exact.
    #[arg(long, requires = "identity", conflicts_with = "key")]
    issuer: Option<String>,
    /// Expected public key (PEM file), for key-signed bundles.
    #[arg(long)]
    key: Option<PathBuf>,
    /// A named policy of the server's policy file.
    #[arg(long)]
    policy: Option<String>,
    /// The artifact: a file path, or `sha256:<hex>`.
    file_or_digest: String,
}

#[derive(Args)]
struct EntryArgs {
    /// Include an inclusion proof against the latest checkpoint.
    #[arg(long)]
    proof: bool,
    /// Entry UUID (64 hex digits) or log index.
    id: String,
}

#[derive(Args)]
struct SearchArgs {
    /// The artifact: a file path, or `sha256:<hex>`.
    file_or_digest: String,
}

#[derive(Args)]
struct ProofArgs {
    /// The older tree size.
    #[arg(long)]
    from: u64,
    /// The newer tree size.
    #[arg(long)]
    to: u64,
}

#[derive(Args)]
struct OutArgs {
    /// Write the document to this file instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct PermitArgs {
    /// The producer's scan id.
    #[arg(long)]
    scan_id: String,
    /// An artifact to upload, `NAME=sha256:<hex>` (repeatable).
    #[arg(long = "artifact", required = true, value_name = "NAME=DIGEST")]
    artifacts: Vec<String>,
    /// The producer's Sigstore bundle over the artifacts.
    #[arg(long)]
    inner_bundle: PathBuf,
    /// Where the artifacts go: `s3://bucket[/prefix]` or `oci://reference`.
    #[arg(long)]
    destination: String,
    /// Digest of a manifest listing the artifacts, when the inner bundle signs that manifest.
    #[arg(long)]
    manifest_digest: Option<String>,
    /// Git repository the scan ran on.
    #[arg(long, requires = "git_commit")]
    git_repository: Option<String>,
    /// Git commit the scan ran on.
    #[arg(long, requires = "git_repository")]
    git_commit: Option<String>,
    /// Git branch the scan ran on.
    #[arg(long, requires = "git_repository")]
    git_branch: Option<String>,
    /// Expected inner signer identity (SAN), exact (default: the server's configured one).
    #[arg(long, requires = "expected_issuer")]
    expected_identity: Option<String>,
    /// Expected inner signer OIDC issuer, exact.
    #[arg(long, requires = "expected_identity")]
    expected_issuer: Option<String>,
    /// Where to write certus-trust's outer bundle over the permission (when permitted).
    #[arg(long)]
    outer_bundle: Option<PathBuf>,
}

fn input(code: &'static str, message: String) -> Failure {
    Failure {
        code: Cow::Borrowed(code),
        message,
        exit: 2,
    }
}

/// A connection to one server.
struct Client {
    base: String,
    agent: Agent,
}

/// An HTTP answer: status, content type, body.
struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Client {
    fn new(args: &ServerArgs) -> Result<Client, Failure> {
        let base = args.server.trim_end_matches('/').to_owned();
        let host = base.strip_prefix("https://").or_else(|| base.strip_prefix("http://"));
        if host.is_none_or(str::is_empty) {
            return Err(input(
                "client.invalid_url",
                format!(
                    "--server {:?}: expected http://host[:port] or https://host[:port]",
                    args.server
                ),
            ));
        }
        let roots = match &args.ca_cert {
            None => RootCerts::WebPki,
            Some(p) => {
                let pem = crate::read(p)?;
                let certs: Vec<_> = ureq::tls::parse_pem(&pem)
                    .filter_map(|item| match item {
                        Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                        Ok(_) => None,
                        Err(e) => Some(Err(e)),
                    })
                    .collect::<Result<_, _>>()
                    .map_err(|e| input("input.invalid_pem", format!("{}: {e}", p.display())))?;
                if certs.is_empty() {
                    return Err(input(
                        "input.invalid_pem",
                        format!("{}: no CERTIFICATE in the file", p.display()),
                    ));
                }
                RootCerts::new_with_certs(&certs)
            }
        };
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .root_certs(roots)
            .build();
        let timeout = Duration::from_secs(args.timeout);
        let agent = Agent::config_builder()
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout.min(MAX_CONNECT_TIMEOUT)))
            .http_status_as_error(false)
            .user_agent(concat!("certus-trust-cli/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls)
            .build()
            .new_agent();
        Ok(Client { base, agent })
    }

    fn transport_failure(&self, url: &str, e: ureq::Error) -> Failure {
        let (code, exit, what) = match &e {
            ureq::Error::Timeout(_) => ("client.timeout", 1, "no answer in time".to_owned()),
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                ("client.timeout", 1, "no answer in time".to_owned())
            }
            // ureq hands rustls' handshake errors over inside an io::Error.
            ureq::Error::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => {
                ("client.tls", 1, format!("TLS: {e}"))
            }
            ureq::Error::Io(_) | ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => {
                ("client.unreachable", 1, format!("cannot connect: {e}"))
            }
            ureq::Error::BadUri(_) | ureq::Error::Http(_) => ("client.invalid_url", 2, e.to_string()),
            ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) => {
                ("client.tls", 1, format!("TLS: {e}"))
            }
            ureq::Error::BodyExceedsLimit(_) => ("client.response_too_large", 1, e.to_string()),
            _ => ("client.http", 1, e.to_string()),
        };
        Failure {
            code: Cow::Borrowed(code),
            message: format!("{url}: {what}"),
            exit,
        }
    }

    fn finish(
        &self,
        url: &str,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Answer, Failure> {
        let mut response = result.map_err(|e| self.transport_failure(url, e))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE)
            .read_to_vec()
            .map_err(|e| self.transport_failure(url, e))?;
        Ok(Answer {
            status,
            content_type,
            body,
        })
    }

    fn get(&self, path: &str) -> Result<Answer, Failure> {
        let url = format!("{}{path}", self.base);
        let result = self.agent.get(&url).call();
        self.finish(&url, result)
    }

    fn post(&self, path: &str, body: &Value) -> Result<Answer, Failure> {
        let url = format!("{}{path}", self.base);
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let result = self
            .agent
            .post(&url)
            .header("content-type", "application/json")
            .send(&bytes[..]);
        self.finish(&url, result)
    }
}

impl Answer {
    /// A non-2xx answer as a failure: the problem document's code and detail when there is one.
    fn failure(&self, url_path: &str) -> Failure {
        let exit = if (400..500).contains(&self.status) { 2 } else { 1 };
        let problem = serde_json::from_slice::<Value>(&self.body).ok().and_then(|v| {
            let code = v["code"].as_str()?.to_owned();
            let detail = v["detail"].as_str().unwrap_or("").to_owned();
            Some((code, detail))
        });
        match problem {
            Some((code, detail)) => Failure {
                code: Cow::Owned(code),
                message: detail,
                exit,
            },
            None => {
                let text = String::from_utf8_lossy(&self.body);
                let text: String = text.trim().chars().take(200).collect();
                Failure {
                    code: Cow::Borrowed("client.http_status"),
                    message: format!("{url_path}: HTTP {} {text}", self.status),
                    exit,
                }
            }
        }
    }

    /// The JSON body of a successful answer (`ok` lists the statuses that carry one).
    fn json(&self, path: &str, ok: &[u16]) -> Result<Value, Failure> {
        if !ok.contains(&self.status) {
            return Err(self.failure(path));
        }
        serde_json::from_slice(&self.body).map_err(|e| Failure {
            code: Cow::Borrowed("client.bad_response"),
            message: format!(
                "{path}: HTTP {} with a body that is not JSON ({}): {e}",
                self.status, self.content_type
            ),
            exit: 1,
        })
    }

    /// The body re-indented (key order as the server sent it).
    fn pretty(&self) -> String {
        pretty_json(&self.body)
    }
}

/// Re-indents valid JSON text with two spaces, keeping the server's key order (a `Value` would
/// sort the keys).
fn pretty_json(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let (mut in_string, mut escaped) = (false, false);
    let mut chars = text.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('}' | ']')) {
                    if let Some(close) = chars.next() {
                        out.push(close);
                    }
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// Prints a negative verdict's output on stdout before its failure goes to stderr.
fn print_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{}", text.trim_end());
}

/// `sha256:<hex>` as given, or the SHA-256 of a file; with the file name when a file was read.
fn digest_of(file_or_digest: &str) -> Result<(String, Option<String>), Failure> {
    if file_or_digest.starts_with("sha256:") {
        // The server validates the format and answers with a specific 400 problem.
        return Ok((file_or_digest.to_owned(), None));
    }
    let path = Path::new(file_or_digest);
    let bytes = crate::read(path)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    Ok((format!("sha256:{}", hex::encode(sha256(&bytes))), name))
}

fn hex32(field: &str, s: &str) -> Result<[u8; 32], Failure> {
    let bad = || Failure {
        code: Cow::Borrowed("client.bad_response"),
        message: format!("{field}: {s:?} is not 32 bytes of hex"),
        exit: 1,
    };
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| bad())?;
    Ok(out)
}

/// Percent-encodes a path segment (RFC 3986 unreserved characters stay).
fn encode_segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn read_json(path: &Path, code: &'static str) -> Result<Value, Failure> {
    serde_json::from_slice(&crate::read(path)?).map_err(|e| input(code, format!("{}: {e}", path.display())))
}

fn read_text(path: &Path, code: &'static str) -> Result<String, Failure> {
    String::from_utf8(crate::read(path)?).map_err(|_| input(code, format!("{}: not UTF-8 text", path.display())))
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("?")
}

fn num(v: &Value, key: &str) -> String {
    v[key].as_u64().map_or_else(|| "?".to_owned(), |n| n.to_string())
}

/// Runs one `server` command; the text to print on success.
pub(crate) fn run(args: &ServerArgs) -> Result<String, Failure> {
    let client = Client::new(args)?;
    let json = args.json;
    match &args.command {
        ServerCommand::Sign(a) => sign(&client, json, a),
        ServerCommand::Verify(a) => verify(&client, json, a),
        ServerCommand::Entry(a) => {
            let path = format!(
                "/v1/transparency/{}{}",
                encode_segment(&a.id),
                if a.proof { "?include_proof=true" } else { "" }
            );
            let answer = client.get(&path)?;
            let v = answer.json(&path, &[200])?;
            Ok(if json {
                answer.pretty()
            } else {
                describe_entry(&v, true)
            })
        }
        ServerCommand::Search(a) => {
            let (digest, _) = digest_of(&a.file_or_digest)?;
            let path = format!("/v1/transparency?artifact={}", encode_segment(&digest));
            let answer = client.get(&path)?;
            let v = answer.json("/v1/transparency", &[200])?;
            if json {
                return Ok(answer.pretty());
            }
            let entries = v["entries"].as_array().cloned().unwrap_or_default();
            let mut out = match entries.len() {
                0 => format!("no entries for {}", s(&v, "artifact")),
                1 => format!("1 entry for {}", s(&v, "artifact")),
                n => format!("{n} entries for {}", s(&v, "artifact")),
            };
            for e in &entries {
                out.push_str(&format!(
                    "\n  index {} uuid {} integrated {} ({})",
                    num(e, "index"),
                    s(e, "uuid"),
                    s(e, "integrated_time"),
                    kind_of(e)
                ));
            }
            Ok(out)
        }
        ServerCommand::Checkpoint => {
            let path = "/v1/transparency/checkpoint";
            let answer = client.get(path)?;
            let v = answer.json(path, &[200])?;
            Ok(if json {
                answer.pretty()
            } else {
                format!(
                    "tree size {}, root {}, signed {}\n{}",
                    num(&v, "tree_size"),
                    s(&v, "root_hash"),
                    s(&v, "created"),
                    indent(s(&v, "checkpoint"))
                )
            })
        }
        ServerCommand::Proof(a) => proof(&client, json, a),
        ServerCommand::Keys => {
            let path = "/v1/keys";
            let answer = client.get(path)?;
            let v = answer.json(path, &[200])?;
            if json {
                return Ok(answer.pretty());
            }
            let mut lines = Vec::new();
            for k in v["keys"].as_array().into_iter().flatten() {
                let validity = match (k["valid_from"].as_str(), k["valid_until"].as_str()) {
                    (Some(f), Some(u)) => format!("valid {f} to {u} (retired)"),
                    (Some(f), None) => format!("valid from {f}"),
                    (None, Some(u)) => format!("valid until {u}"),
                    (None, None) => "no validity period".to_owned(),
                };
                let what = match k["certificate_chain"].as_array().map(Vec::len) {
                    Some(n) if n > 0 => format!("chain of {n} certificate(s)"),
                    _ => "public key".to_owned(),
                };
                lines.push(format!(
                    "{}: key id {}, {what}, {validity}{}",
                    s(k, "role"),
                    k["key_id"].as_str().unwrap_or("none"),
                    k["url"].as_str().map(|u| format!(", {u}")).unwrap_or_default()
                ));
            }
            Ok(lines.join("\n"))
        }
        ServerCommand::TrustedRoot(a) => document(&client, json, "/v1/keys/trusted-root", a),
        ServerCommand::TrustConfig(a) => document(&client, json, "/v1/keys/trust-config", a),
        ServerCommand::Permit(a) => permit(&client, json, a),
        ServerCommand::Health => {
            let path = "/v1/health";
            let answer = client.get(path)?;
            let v = answer.json(path, &[200])?;
            Ok(if json {
                answer.pretty()
            } else {
                format!("{}: {}", client.base, s(&v, "status"))
            })
        }
        ServerCommand::Ready => ready(&client, json),
        ServerCommand::Metrics => {
            let answer = client.get("/metrics")?;
            if answer.status != 200 {
                return Err(answer.failure("/metrics"));
            }
            Ok(String::from_utf8_lossy(&answer.body).into_owned())
        }
        ServerCommand::Openapi => {
            let path = "/v1/openapi.json";
            let answer = client.get(path)?;
            let v = answer.json(path, &[200])?;
            if json {
                return Ok(answer.pretty());
            }
            let mut out = format!(
                "{} {} (OpenAPI {})",
                s(&v["info"], "title"),
                s(&v["info"], "version"),
                s(&v, "openapi")
            );
            for (p, ops) in v["paths"].as_object().into_iter().flatten() {
                for (method, op) in ops.as_object().into_iter().flatten() {
                    let summary = op["summary"].as_str().or(op["description"].as_str()).unwrap_or("");
                    let summary = summary.lines().next().unwrap_or("");
                    out.push_str(&format!("\n  {:<6} {p}  {summary}", method.to_uppercase()));
                }
            }
            Ok(out)
        }
    }
}

fn indent(text: &str) -> String {
    text.trim_end()
        .lines()
        .map(|l| {
            if l.trim().is_empty() {
                String::new()
            } else {
                format!("    {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `hashedrekord 0.0.1`, `dsse 0.0.1` ... from an entry's decoded body.
fn kind_of(entry: &Value) -> String {
    let body = &entry["body_json"];
    match (body["kind"].as_str(), body["apiVersion"].as_str()) {
        (Some(k), Some(v)) => format!("{k} {v}"),
        (Some(k), None) => k.to_owned(),
        _ => "unknown kind".to_owned(),
    }
}

fn describe_entry(e: &Value, with_header: bool) -> String {
    let mut out = String::new();
    if with_header {
        out.push_str(&format!("entry {}\n", s(e, "uuid")));
    }
    out.push_str(&format!(
        "  index: {}\n  artifact: {}\n  kind: {}\n  integrated: {}",
        num(e, "index"),
        s(e, "artifact"),
        kind_of(e),
        s(e, "integrated_time")
    ));
    let p = &e["inclusion_proof"];
    if p.is_object() {
        out.push_str(&format!(
            "\n  inclusion proof: leaf {} in tree size {}, root {}, {} hash(es)\n  checkpoint:\n{}",
            num(p, "log_index"),
            num(p, "tree_size"),
            s(p, "root_hash"),
            p["hashes"].as_array().map_or(0, Vec::len),
            indent(s(p, "checkpoint"))
        ));
    }
    out
}

fn sign(client: &Client, json: bool, a: &SignArgs) -> Result<String, Failure> {
    let (digest, file_name) = digest_of(&a.file_or_digest)?;
    let mut body = Map::new();
    body.insert("artifact".into(), json!(digest));
    if let Some(t) = &a.artifact_type {
        body.insert("artifact_type".into(), json!(t));
    }
    if let Some(subject) = a.subject.clone().or(file_name) {
        body.insert("subject".into(), json!(subject));
    }
    if let Some(t) = &a.predicate_type {
        body.insert("predicate_type".into(), json!(t));
    }
    if let Some(p) = &a.predicate {
        body.insert("predicate".into(), read_json(p, "input.bad_predicate")?);
    }
    let path = "/v1/sign";
    let answer = client.post(path, &Value::Object(body))?;
    let v = answer.json(path, &[200, 201])?;
    if let Some(out) = &a.bundle {
        let bundle = serde_json::to_vec_pretty(&v["bundle"]).unwrap_or_default();
        crate::write_file(out, &bundle)?;
    }
    if json {
        return Ok(answer.pretty());
    }
    let entry = &v["transparency_entry"];
    let mut out = format!(
        "signed {digest} as {} (issuer {})\n  entry: {} (log index {}, integrated {})",
        s(&v["signer"], "identity"),
        s(&v["signer"], "issuer"),
        s(&v, "entry_id"),
        num(entry, "index"),
        s(entry, "timestamp")
    );
    if let Some(b) = &a.bundle {
        out.push_str(&format!("\n  bundle: {}", b.display()));
    }
    Ok(out)
}

fn verify(client: &Client, json: bool, a: &VerifyArgs) -> Result<String, Failure> {
    let (digest, _) = digest_of(&a.file_or_digest)?;
    let mut body = Map::new();
    body.insert("artifact".into(), json!(digest));
    if let Some(b) = &a.bundle {
        body.insert("bundle".into(), read_json(b, "input.invalid_bundle")?);
    }
    if let (Some(sig), Some(cert)) = (&a.signature, &a.certificate) {
        let raw = crate::read(sig)?;
        let text = String::from_utf8_lossy(&raw);
        let trimmed = text.trim();
        // Base64 text as cosign writes it, or the raw signature bytes.
        let sig_b64 = if !trimmed.is_empty() && B64.decode(trimmed).is_ok() {
            trimmed.to_owned()
        } else {
            B64.encode(&raw)
        };
        body.insert("signature".into(), json!(sig_b64));
        body.insert("certificate".into(), json!(read_text(cert, "input.invalid_pem")?));
    }
    if let (Some(i), Some(s)) = (&a.identity, &a.issuer) {
        body.insert("identity".into(), json!(i));
        body.insert("issuer".into(), json!(s));
    }
    if let Some(k) = &a.key {
        body.insert("key".into(), json!(read_text(k, "input.invalid_key")?));
    }
    if let Some(p) = &a.policy {
        body.insert("policy".into(), json!(p));
    }
    let path = "/v1/verify";
    let answer = client.post(path, &Value::Object(body))?;
    let v = answer.json(path, &[200])?;
    let valid = v["valid"].as_bool() == Some(true);
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if valid {
        if json {
            return Ok(answer.pretty());
        }
        let mut out = format!(
            "OK: {digest} signed by {} (issuer {})",
            v["signer"].as_str().unwrap_or("unknown signer"),
            v["issuer"].as_str().unwrap_or("unknown")
        );
        if let Some(i) = v["transparency_index"].as_u64() {
            out.push_str(&format!(
                "\n  logged: index {i}, integrated {}",
                v["integrated_time"].as_str().unwrap_or("unknown")
            ));
        }
        for w in warnings {
            out.push_str(&format!("\n  warning: {w}"));
        }
        return Ok(out);
    }
    if json {
        print_stdout(&answer.pretty());
    } else {
        for w in warnings {
            eprintln!("warning: {w}");
        }
    }
    let errors: Vec<(String, String)> = v["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| (s(e, "code").to_owned(), s(e, "message").to_owned()))
        .collect();
    // Every reason on stderr; the last one is the failure main reports.
    let Some(((last_code, last_message), rest)) = errors.split_last() else {
        return Err(Failure {
            code: Cow::Borrowed("verify.invalid"),
            message: format!("{digest} did not verify (the server gave no reason)"),
            exit: 1,
        });
    };
    for (code, message) in rest {
        eprintln!("error[{code}]: {}", message.replace('\n', " "));
    }
    Err(Failure {
        code: Cow::Owned(last_code.clone()),
        message: last_message.clone(),
        exit: 1,
    })
}

fn proof(client: &Client, json: bool, a: &ProofArgs) -> Result<String, Failure> {
    let path = format!("/v1/transparency/proof?from={}&to={}", a.from, a.to);
    let answer = client.get(&path)?;
    let v = answer.json("/v1/transparency/proof", &[200])?;
    let hashes: Vec<&str> = v["hashes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    // Check the proof here when the server has handed out checkpoints for both sizes.
    // Every tree is consistent with the empty one: size 0 needs no root.
    let empty_root = "0".repeat(64);
    let from_root = v["from_root"].as_str().or((a.from == 0).then_some(empty_root.as_str()));
    let checked = match (from_root, v["to_root"].as_str()) {
        (Some(r1), Some(r2)) => {
            let proof = hashes
                .iter()
                .map(|h| hex32("hashes", h))
                .collect::<Result<Vec<_>, _>>()?;
            trust_core::tlog::verify_consistency(
                a.from,
                a.to,
                &hex32("from_root", r1)?,
                &hex32("to_root", r2)?,
                &proof,
            )
            .map_err(|e| {
                let e = trust_core::Error::from(e);
                Failure {
                    code: Cow::Borrowed(e.code()),
                    message: format!("the server's consistency proof from {} to {}: {e}", a.from, a.to),
                    exit: 1,
                }
            })?;
            true
        }
        _ => false,
    };
    if json {
        return Ok(answer.pretty());
    }
    let mut out = format!(
        "consistency proof from tree size {} to {}: {} hash(es), {}",
        a.from,
        a.to,
        hashes.len(),
        if checked {
            "verified against the roots of both checkpoints"
        } else {
            "not checked (no checkpoint for one of the sizes)"
        }
    );
    for (label, key) in [("from root", "from_root"), ("to root", "to_root")] {
        if let Some(r) = v[key].as_str() {
            out.push_str(&format!("\n  {label}: {r}"));
        }
    }
    for h in hashes {
        out.push_str(&format!("\n  {h}"));
    }
    Ok(out)
}

fn document(client: &Client, json: bool, path: &str, a: &OutArgs) -> Result<String, Failure> {
    let answer = client.get(path)?;
    let v = answer.json(path, &[200])?;
    let pretty = answer.pretty();
    let Some(out) = &a.out else {
        return Ok(pretty);
    };
    crate::write_file(out, format!("{pretty}\n").as_bytes())?;
    if json {
        return Ok(pretty);
    }
    // A ClientTrustConfig holds the trusted root under `trustedRoot`.
    let root = if v["trustedRoot"].is_object() {
        &v["trustedRoot"]
    } else {
        &v
    };
    let count = |k: &str| root[k].as_array().map_or(0, Vec::len);
    Ok(format!(
        "wrote {}: {} transparency log(s), {} CT log(s), {} certificate authorit(ies), {} timestamp authorit(ies)",
        out.display(),
        count("tlogs"),
        count("ctlogs"),
        count("certificateAuthorities"),
        count("timestampAuthorities")
    ))
}

/// `s3://bucket[/prefix]` or `oci://reference` as the API's destination object.
fn destination(d: &str) -> Result<Value, Failure> {
    if let Some(rest) = d.strip_prefix("s3://") {
        let (bucket, prefix) = match rest.split_once('/') {
            Some((b, p)) => (b, Some(p).filter(|p| !p.is_empty())),
            None => (rest, None),
        };
        if bucket.is_empty() {
            return Err(input(
                "input.invalid_destination",
                format!("--destination {d:?}: the bucket is empty"),
            ));
        }
        let mut v = json!({"kind": "s3", "bucket": bucket});
        if let Some(p) = prefix {
            v["prefix"] = json!(p);
        }
        return Ok(v);
    }
    if let Some(reference) = d.strip_prefix("oci://") {
        if reference.is_empty() {
            return Err(input(
                "input.invalid_destination",
                format!("--destination {d:?}: the reference is empty"),
            ));
        }
        return Ok(json!({"kind": "oci", "reference": reference}));
    }
    Err(input(
        "input.invalid_destination",
        format!("--destination {d:?}: expected s3://bucket[/prefix] or oci://reference"),
    ))
}

fn permit(client: &Client, json: bool, a: &PermitArgs) -> Result<String, Failure> {
    let artifacts = a
        .artifacts
        .iter()
        .map(|spec| match spec.rsplit_once('=') {
            Some((name, digest)) if !name.is_empty() && !digest.is_empty() => {
                Ok(json!({"name": name, "digest": digest}))
            }
            _ => Err(input(
                "input.invalid_artifact",
                format!("--artifact {spec:?}: expected NAME=sha256:<hex>"),
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut body = Map::new();
    body.insert("scan_id".into(), json!(a.scan_id));
    body.insert("artifacts".into(), Value::Array(artifacts));
    body.insert(
        "inner_bundle".into(),
        read_json(&a.inner_bundle, "input.invalid_bundle")?,
    );
    body.insert("destination".into(), destination(&a.destination)?);
    if let Some(m) = &a.manifest_digest {
        body.insert("manifest_digest".into(), json!(m));
    }
    if let (Some(repository), Some(commit)) = (&a.git_repository, &a.git_commit) {
        let mut git = json!({"repository": repository, "commit": commit});
        if let Some(b) = &a.git_branch {
            git["branch"] = json!(b);
        }
        body.insert("git".into(), git);
    }
    if let (Some(identity), Some(issuer)) = (&a.expected_identity, &a.expected_issuer) {
        body.insert(
            "expected_inner_signer".into(),
            json!({"identity": identity, "issuer": issuer}),
        );
    }
    let path = "/v1/verify-and-permit-upload";
    let answer = client.post(path, &Value::Object(body))?;
    let v = answer.json(path, &[200])?;
    if v["permitted"].as_bool() != Some(true) {
        if json {
            print_stdout(&answer.pretty());
        }
        let reason = s(&v, "reason");
        let (code, message) = match reason.split_once(": ") {
            Some((code, message)) if !code.contains(' ') => (code.to_owned(), message.to_owned()),
            _ => ("permit.denied".to_owned(), reason.to_owned()),
        };
        return Err(Failure {
            code: Cow::Owned(code),
            message: format!(
                "upload not permitted (scan {}, permission {}): {message}",
                a.scan_id,
                s(&v, "permission_id")
            ),
            exit: 1,
        });
    }
    let proof = &v["verification_proof"];
    if let Some(out) = &a.outer_bundle {
        let bundle = serde_json::to_vec_pretty(&proof["outer_bundle"]).unwrap_or_default();
        crate::write_file(out, &bundle)?;
    }
    if json {
        return Ok(answer.pretty());
    }
    let signer = &v["inner_signer"];
    let mut out = format!(
        "PERMITTED: scan {} to {}: permission {}, expires {}\n  inner signer: {} (issuer {})",
        a.scan_id,
        a.destination,
        s(&v, "permission_id"),
        s(&v, "expires_at"),
        s(signer, "identity"),
        s(signer, "issuer")
    );
    for art in v["artifacts"].as_array().into_iter().flatten() {
        out.push_str(&format!("\n  artifact: {} {}", s(art, "name"), s(art, "digest")));
    }
    if let Some(e) = proof["inner_entry"].as_object() {
        out.push_str(&format!(
            "\n  inner entry: {} (log index {})",
            e.get("uuid").and_then(Value::as_str).unwrap_or("?"),
            e.get("index")
                .and_then(Value::as_u64)
                .map_or("?".into(), |i| i.to_string())
        ));
    }
    out.push_str(&format!("\n  outer entry: {}", s(proof, "outer_entry_id")));
    if let Some(b) = &a.outer_bundle {
        out.push_str(&format!("\n  outer bundle: {}", b.display()));
    }
    Ok(out)
}

fn ready(client: &Client, json: bool) -> Result<String, Failure> {
    let path = "/v1/ready";
    let answer = client.get(path)?;
    // 503 carries the readiness document too (with the failing checks).
    let v = match answer.json(path, &[200, 503]) {
        Ok(v) if v["ready"].is_boolean() => v,
        Ok(_) => return Err(answer.failure(path)),
        Err(f) => return Err(f),
    };
    let checks: Vec<(String, bool, String)> = v["checks"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, c)| (name.clone(), c["ok"].as_bool() == Some(true), s(c, "detail").to_owned()))
        .collect();
    let lines: Vec<String> = checks
        .iter()
        .map(|(name, ok, detail)| format!("  {name}: {} - {detail}", if *ok { "ok" } else { "FAILED" }))
        .collect();
    if v["ready"].as_bool() == Some(true) {
        return Ok(if json {
            answer.pretty()
        } else {
            format!("ready\n{}", lines.join("\n"))
        });
    }
    print_stdout(&if json {
        answer.pretty()
    } else {
        format!("not ready\n{}", lines.join("\n"))
    });
    let failing: Vec<String> = checks
        .iter()
        .filter(|(_, ok, _)| !ok)
        .map(|(name, _, detail)| format!("{name} ({detail})"))
        .collect();
    Err(Failure {
        code: Cow::Borrowed("server.not_ready"),
        message: format!("{} is not ready: {}", client.base, failing.join(", ")),
        exit: 1,
    })
}
