//! Helpers shared by the server's integration tests: starting the binary on a free loopback
//! port, a minimal HTTP/1.1 client, and the sigstore-python path.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn server_cmd(dir: &Path, port: u16) -> Command {
    // CERTUS_TEST_SERVER_BIN: a copy of the binary, when several checkouts share a target dir.
    let bin = std::env::var_os("CERTUS_TEST_SERVER_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_certus-trust-server")),
        PathBuf::from,
    );
    let mut c = Command::new(bin);
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CERTUS_TRUST_LISTEN", format!("127.0.0.1:{port}"))
        .env("CERTUS_TRUST_DATA_DIR", dir)
        .env("CERTUS_TRUST_URL", format!("http://127.0.0.1:{port}"));
    c
}

pub fn start_with(dir: &Path, extra: &[(&str, String)]) -> Server {
    let port = free_port();
    let mut c = server_cmd(dir, port);
    for (k, v) in extra {
        c.env(k, v);
    }
    let child = c.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let server = Server {
        child,
        port,
        dir: dir.to_owned(),
    };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok(r) = std::panic::catch_unwind(|| request(port, "GET", "/v1/health", None, &[])) {
            if r.status == 200 {
                return server;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server did not become healthy on port {port}");
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.1 client (one request per connection).
pub fn request(port: u16, method: &str, path: &str, body: Option<&[u8]>, headers: &[(&str, &str)]) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = body.unwrap_or_default();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() && !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
        head.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    // A server may answer (413) before reading everything; ignore write errors after that.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("no header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Resp { status, headers, body }
}

pub fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 2 + n + 2..];
    }
}

pub fn post(port: u16, path: &str, v: &Value) -> Resp {
    request(port, "POST", path, Some(&serde_json::to_vec(v).unwrap()), &[])
}

pub fn digest_of(data: &[u8]) -> String {
    format!("sha256:{}", hex(&trust_core::crypto::sha256(data)))
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn sigstore_python() -> PathBuf {
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

/// An `oidc-provider-mock` process on a free loopback port.
pub struct Provider {
    pub child: Child,
    pub port: u16,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn venv_bin(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin").join(name);
    assert!(
        p.is_file(),
        "{} not found: run `cargo xtask ci` (creates the venv from xtask/interop-requirements.txt)",
        p.display()
    );
    p
}

impl Provider {
    pub fn start() -> Provider {
        let port = free_port();
        let child = Command::new(venv_bin("oidc-provider-mock"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let p = Provider { child, port };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            let ok = std::panic::catch_unwind(|| request(port, "GET", "/.well-known/openid-configuration", None, &[]));
            if ok.is_ok_and(|r| r.status == 200) {
                return p;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("oidc-provider-mock did not start on port {port}");
    }

    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A real ID token for `sub` with `claims`, audience `sigstore`, by the authorization-code
    /// flow without a browser: the user's claims set through the mock's `PUT /users/{sub}`, the
    /// authorization form posted with the subject, the code exchanged at the token endpoint.
    pub fn token(&self, sub: &str, claims: &Value) -> String {
        let put = request(
            self.port,
            "PUT",
            &format!("/users/{sub}"),
            Some(claims.to_string().as_bytes()),
            &[],
        );
        assert_eq!(put.status, 204, "{}", String::from_utf8_lossy(&put.body));
        let form = ("Content-Type", "application/x-www-form-urlencoded");
        let redirect = "http%3A%2F%2F127.0.0.1%2Fcallback";
        let auth = request(
            self.port,
            "POST",
            &format!(
                "/oauth2/authorize?client_id=sigstore&redirect_uri={redirect}&response_type=code&scope=openid%20email&state=s"
            ),
            Some(format!("sub={}", sub.replace('@', "%40")).as_bytes()),
            &[form],
        );
        let location = auth
            .header("location")
            .unwrap_or_else(|| panic!("no redirect: {}", auth.status));
        let code = location
            .split(['?', '&'])
            .find_map(|kv| kv.strip_prefix("code="))
            .unwrap();
        let token = request(
            self.port,
            "POST",
            "/oauth2/token",
            Some(
                format!(
                    "grant_type=authorization_code&code={code}&redirect_uri={redirect}&client_id=sigstore&client_secret=s"
                )
                .as_bytes(),
            ),
            &[form],
        );
        assert_eq!(token.status, 200, "{}", String::from_utf8_lossy(&token.body));
        token.json()["id_token"].as_str().unwrap().to_owned()
    }
}

/// A loopback HTTP endpoint that fails on purpose, for fault tests: every request is read, then
/// answered after `delay` with `status` (and `Retry-After: 0`), or never answered when `status`
/// is 0 (a black hole that accepts and stalls). Counts the requests it received.
pub struct FaultServer {
    pub port: u16,
    pub hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl FaultServer {
    pub fn start(status: u16, delay: Duration) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let counter = counter.clone();
                std::thread::spawn(move || {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    // Read the head and the announced body.
                    loop {
                        let Ok(n) = s.read(&mut chunk) else { return };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                            let len = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|v| v.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            if buf.len() >= end + 4 + len {
                                break;
                            }
                        }
                    }
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if status == 0 {
                        std::thread::sleep(Duration::from_secs(600));
                        return;
                    }
                    std::thread::sleep(delay);
                    let body = format!("{{\"code\":{status},\"message\":\"injected fault\"}}");
                    let _ = s.write_all(
                        format!(
                            "HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\nRetry-After: 0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    );
                });
            }
        });
        FaultServer { port, hits }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}
