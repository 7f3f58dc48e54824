//! Test helpers (feature `testing`): fresh PostgreSQL databases on a throwaway cluster, and temp
//! SQLite files. For tests only: they panic on failure.
//!
//! [`postgres_url`] uses the server at `CERTUS_TEST_POSTGRES_URL` if that is set; otherwise it
//! starts, once per test process, a private cluster from the newest
//! `/usr/lib/postgresql/*/bin` (initdb into a temp dir, `postgres` on a free 127.0.0.1 port and a
//! unix socket in that dir). The cluster is launched through `sh`, which stops it and deletes the
//! temp dir as soon as the test process exits (even on panic, abort or SIGKILL): `sh` waits for
//! EOF on a pipe only the test process holds. When running as root, the cluster runs as the
//! `postgres` user (or `nobody`), since PostgreSQL refuses root.
//!
//! Without PostgreSQL binaries (and no `CERTUS_TEST_POSTGRES_URL`), [`postgres_url`] panics:
//! the PostgreSQL tests fail, they never skip silently.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Environment variable naming an existing PostgreSQL server (a URL with rights to
/// `CREATE DATABASE`) to use instead of a private cluster.
pub const POSTGRES_URL_ENV: &str = "CERTUS_TEST_POSTGRES_URL";

static SEQ: AtomicU64 = AtomicU64::new(0);

fn unique_suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}_{}_{}",
        nanos % 1_000_000_000_000,
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// A `sqlite://` URL (mode `rwc`) for a new database file in `dir`.
pub fn sqlite_url(dir: &Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        dir.join(format!("store_{}.db", unique_suffix())).display()
    )
}

/// A fresh temp directory (under the system temp dir), removed when the value is dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates it.
    pub fn new() -> TempDir {
        let path = std::env::temp_dir().join(format!("certus-store-test-{}", unique_suffix()));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The running server: an admin URL, and the cluster's guard process if we started one.
struct Server {
    admin_url: String,
    /// Holds the write end of the guard's stdin: when this process exits, the guard sees EOF,
    /// stops the cluster and deletes its directory. Never waited on or dropped.
    _guard: Option<Mutex<Child>>,
}

static SERVER: OnceLock<Server> = OnceLock::new();

/// A URL to a new, empty PostgreSQL database (a unique `CREATE DATABASE` per call), on the
/// server of `CERTUS_TEST_POSTGRES_URL` or on this process's throwaway cluster.
///
/// Panics if no server can be had. Callable from inside a tokio runtime.
pub fn postgres_url() -> String {
    let server = SERVER.get_or_init(|| match std::env::var(POSTGRES_URL_ENV) {
        Ok(url) if !url.is_empty() => Server {
            admin_url: url,
            _guard: None,
        },
        _ => start_cluster(),
    });
    let name = format!("certus_test_{}", unique_suffix());
    let admin = server.admin_url.clone();
    let sql = format!("CREATE DATABASE \"{name}\"");
    // Own thread and runtime: the caller may be inside a runtime, where blocking on one panics.
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        rt.block_on(async {
            use sea_orm::ConnectionTrait;
            let db = sea_orm::Database::connect(admin.as_str())
                .await
                .unwrap_or_else(|e| panic!("test PostgreSQL {}: {e}", crate::store::redact_url(&admin)));
            db.execute_unprepared(&sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            let _ = db.close().await;
        });
    })
    .join()
    .expect("CREATE DATABASE thread panicked");
    with_database(&server.admin_url, &name)
}

/// `url` with its database name replaced by `name` (query parameters kept).
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("PostgreSQL URL has a scheme");
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let query = tail.find('?').map(|i| &tail[i..]).unwrap_or("");
    format!("{scheme}://{authority}/{name}{query}")
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding `initdb` and `postgres`.
fn find_bin_dir() -> PathBuf {
    let mut found: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version: Vec<u32> = e
                .file_name()
                .to_str()?
                .split('.')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("postgres").is_file()).then_some((version, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL tests need PostgreSQL server binaries: none found under /usr/lib/postgresql/*/bin \
             (install the `postgresql` package) and {POSTGRES_URL_ENV} is not set"
        ),
    }
}

fn command_output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn effective_uid() -> u32 {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("Uid:")) {
            if let Some(euid) = line.split_whitespace().nth(2).and_then(|s| s.parse().ok()) {
                return euid;
            }
        }
    }
    command_output("id", &["-u"])
        .and_then(|s| s.parse().ok())
        .expect("cannot tell the effective uid")
}

/// The prefix that runs a command as an unprivileged user, and that user's uid and gid, when we
/// are root (PostgreSQL refuses to run as root).
fn drop_privileges() -> Option<(Vec<String>, u32, u32)> {
    if effective_uid() != 0 {
        return None;
    }
    let user = ["postgres", "nobody"]
        .into_iter()
        .find(|u| command_output("id", &["-u", u]).is_some())
        .expect("running as root and neither a `postgres` nor a `nobody` user exists to run PostgreSQL");
    let uid: u32 = command_output("id", &["-u", user])
        .and_then(|s| s.parse().ok())
        .expect("uid");
    let gid: u32 = command_output("id", &["-g", user])
        .and_then(|s| s.parse().ok())
        .expect("gid");
    let prefix = if command_output("setpriv", &["--version"]).is_some() {
        vec![
            "setpriv".to_owned(),
            format!("--reuid={uid}"),
            format!("--regid={gid}"),
            "--init-groups".to_owned(),
        ]
    } else {
        vec!["runuser".to_owned(), "-u".to_owned(), user.to_owned(), "--".to_owned()]
    };
    Some((prefix, uid, gid))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free TCP port")
}

/// Runs initdb and postgres (each through the privilege-dropping prefix in `"$@"`), then waits
/// for EOF on stdin (the test process exited, however it exited), stops the cluster and removes
/// its directory. initdb runs here, not in the test process, so a test process killed during
/// initdb still leaves nothing behind.
const GUARD_SCRIPT: &str = r#"dir="$1"; bin="$2"; port="$3"; shift 3
if "$@" "$bin/initdb" -A trust -U postgres -E UTF8 --locale=C --no-sync --no-instructions \
    -D "$dir/data" >"$dir/initdb.log" 2>&1 </dev/null; then
  "$@" "$bin/postgres" -D "$dir/data" -p "$port" -c listen_addresses=127.0.0.1 \
    -c "unix_socket_directories=$dir" -c max_connections=200 >"$dir/postgres.log" 2>&1 </dev/null &
  pid=$!
  cat >/dev/null
  # A background job starts with SIGINT ignored until postgres installs its handler: repeat the
  # fast-shutdown request, and kill it if it is still there after 10 s.
  kill -INT "$pid" 2>/dev/null
  ( sleep 1; kill -INT "$pid"; sleep 1; kill -INT "$pid"; sleep 8; kill -KILL "$pid" ) 2>/dev/null &
  timer=$!
  wait "$pid"
  kill "$timer" 2>/dev/null
else
  : >"$dir/initdb.failed"
  cat >/dev/null
fi
rm -rf "$dir""#;

fn start_cluster() -> Server {
    let started = Instant::now();
    let bin = find_bin_dir();
    let privileges = drop_privileges();
    // As root, under /tmp: the unprivileged user must reach it.
    let base = if privileges.is_some() {
        PathBuf::from("/tmp")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("certus-pg-{}", unique_suffix()));
    std::fs::create_dir_all(&dir).expect("create cluster dir");
    let prefix = match &privileges {
        Some((prefix, uid, gid)) => {
            std::os::unix::fs::chown(&dir, Some(*uid), Some(*gid)).expect("chown cluster dir");
            prefix.clone()
        }
        None => Vec::new(),
    };
    let port = free_port();
    let mut guard = Command::new("sh")
        .arg("-c")
        .arg(GUARD_SCRIPT)
        .arg("certus-pg-guard")
        .arg(&dir)
        .arg(&bin)
        .arg(port.to_string())
        .args(&prefix)
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sh to run initdb and postgres");

    let deadline = Instant::now() + Duration::from_secs(60);
    let port_arg = port.to_string();
    loop {
        let ready = Command::new(bin.join("pg_isready"))
            .args([
                "-q",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-p",
                &port_arg,
            ])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ready {
            break;
        }
        let initdb_failed = dir.join("initdb.failed").exists();
        let exited = guard.try_wait().ok().flatten().is_some();
        if initdb_failed || exited || Instant::now() > deadline {
            let mut text = String::new();
            for log in ["initdb.log", "postgres.log"] {
                let _ = std::fs::File::open(dir.join(log)).and_then(|mut f| f.read_to_string(&mut text));
            }
            // Closing stdin makes the guard stop what it started and remove the directory.
            drop(guard.stdin.take());
            let _ = guard.wait();
            panic!(
                "test PostgreSQL ({}) did not start on 127.0.0.1:{port} (initdb failed: {initdb_failed}, \
                 guard exited: {exited}); logs:\n{text}",
                bin.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "trust-store testing: PostgreSQL ({}) ready on 127.0.0.1:{port} in {:?}",
        bin.display(),
        started.elapsed()
    );
    Server {
        admin_url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        _guard: Some(Mutex::new(guard)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_the_database_name() {
        use super::with_database;
        assert_eq!(
            with_database("postgres://u:p@h:5/postgres", "t1"),
            "postgres://u:p@h:5/t1"
        );
        assert_eq!(with_database("postgres://u@h:5", "t1"), "postgres://u@h:5/t1");
        assert_eq!(
            with_database("postgres://h/db?sslmode=disable", "t1"),
            "postgres://h/t1?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h?host=/tmp", "t1"),
            "postgres://h/t1?host=/tmp"
        );
    }
}
