//! Helpers shared by the server's integration tests: starting the binary on a free loopback
//! port, a minimal HTTP/1.1 client, and the sigstore-python path.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

mod net;
pub use net::*;

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpListener;
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

/// A loopback proxy in front of a real service that rewrites every JSON response body with
/// `tamper` (a forged SET, a wrong inclusion proof): what a compromised log or network would
/// answer. Requests are forwarded unchanged.
pub struct TamperProxy {
    pub port: u16,
}

impl TamperProxy {
    pub fn start(upstream: u16, tamper: fn(&mut Value)) -> TamperProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                std::thread::spawn(move || {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 8192];
                    let (head, body) = loop {
                        let Ok(n) = s.read(&mut chunk) else { return };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                            let len = head
                                .to_ascii_lowercase()
                                .lines()
                                .find_map(|l| {
                                    l.strip_prefix("content-length:")
                                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                                })
                                .unwrap_or(0);
                            if buf.len() >= end + 4 + len {
                                break (head, buf[end + 4..end + 4 + len].to_vec());
                            }
                        }
                    };
                    let mut first = head.lines().next().unwrap_or_default().split(' ');
                    let (method, path) = (
                        first.next().unwrap_or("GET").to_owned(),
                        first.next().unwrap_or("/").to_owned(),
                    );
                    let content_type = head.lines().find_map(|l| {
                        l.split_once(':')
                            .filter(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                            .map(|(_, v)| v.trim().to_owned())
                    });
                    let headers: Vec<(&str, &str)> =
                        content_type.iter().map(|v| ("Content-Type", v.as_str())).collect();
                    let r = request(
                        upstream,
                        &method,
                        &path,
                        (!body.is_empty()).then_some(body.as_slice()),
                        &headers,
                    );
                    let mut out = r.body.clone();
                    if let Ok(mut v) = serde_json::from_slice::<Value>(&r.body) {
                        tamper(&mut v);
                        out = v.to_string().into_bytes();
                    }
                    let ct = r.header("content-type").unwrap_or("application/json").to_owned();
                    let mut resp = format!(
                        "HTTP/1.1 {} Proxied\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n",
                        r.status,
                        out.len()
                    );
                    if let Some(l) = r.header("location") {
                        resp.push_str(&format!("Location: {l}\r\n"));
                    }
                    resp.push_str("\r\n");
                    let _ = s.write_all(resp.as_bytes());
                    let _ = s.write_all(&out);
                });
            }
        });
        TamperProxy { port }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}
