//! Loopback HTTP helpers shared by the server's and the CLI's integration tests: a minimal
//! HTTP/1.1 client, free ports, and an `oidc-provider-mock` process issuing real RS256 ID tokens.
//! Needs only std, serde_json and the repository's `.venv` (no binary of this package).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
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
