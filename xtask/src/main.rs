//! Project automation for certus-trust.
//!
//! - `cargo xtask ci`: every check CI runs, in order, stopping at the first failure.
//! - `cargo xtask fuzz [SECONDS]`: only the fuzz smoke run (every target under `fuzz/`).
//!
//! CI steps are a plain list ([`ci_steps`]); add a step by adding one entry there.

#![forbid(unsafe_code)]

use std::env;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

/// Default fuzz budget per target, in seconds.
const DEFAULT_FUZZ_SECONDS: u64 = 60;
/// Environment variable overriding the fuzz budget per target (0 skips fuzzing).
const FUZZ_SECONDS_ENV: &str = "CERTUS_FUZZ_SECONDS";

/// Why a step (or the whole run) failed.
#[derive(Debug)]
struct Failure(String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

type StepResult = Result<(), Failure>;

/// Shared state for every step.
struct Ctx {
    /// Repository root (the workspace holding `xtask/`).
    root: PathBuf,
    /// Seconds each fuzz target runs; 0 skips fuzzing.
    fuzz_seconds: u64,
}

/// One CI step: a name for banners and error messages, and what it does.
struct Step {
    name: &'static str,
    run: fn(&Ctx) -> StepResult,
}

/// The CI pipeline, in order. PostgreSQL needs no step: the tests start their own throwaway
/// cluster (`trust_store::testing`).
fn ci_steps() -> Vec<Step> {
    vec![
        Step {
            name: "rustfmt",
            run: |ctx| cargo(ctx, &["fmt", "--all", "--", "--check"]),
        },
        Step {
            name: "clippy",
            run: |ctx| cargo(ctx, &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]),
        },
        Step {
            name: "interop peers",
            run: interop_venv,
        },
        Step {
            name: "test",
            run: |ctx| cargo(ctx, &["test", "--workspace"]),
        },
        Step {
            name: "fuzz smoke",
            run: fuzz_all,
        },
        Step {
            name: "bench compile",
            run: |ctx| cargo(ctx, &["bench", "--workspace", "--no-run"]),
        },
    ]
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") if args.len() == 1 => context(None).and_then(|ctx| run_steps(&ctx, &ci_steps())),
        Some("fuzz") if args.len() <= 2 => context(args.get(1).map(String::as_str)).and_then(|ctx| {
            run_steps(
                &ctx,
                &[Step {
                    name: "fuzz",
                    run: fuzz_all,
                }],
            )
        }),
        Some("help" | "-h" | "--help") => {
            print_usage();
            return ExitCode::SUCCESS;
        }
        _ => {
            print_usage();
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_usage() {
    eprintln!(
        "usage:\n  cargo xtask ci              run every CI step (fmt, clippy, interop venv, test, fuzz smoke, bench build)\n  \
         cargo xtask fuzz [SECONDS]  run every fuzz target for SECONDS each (default ${FUZZ_SECONDS_ENV} or \
         {DEFAULT_FUZZ_SECONDS}; 0 skips)"
    );
}

/// Builds the context; `fuzz_arg` (from the command line) wins over the environment.
fn context(fuzz_arg: Option<&str>) -> Result<Ctx, Failure> {
    let fuzz_seconds = match fuzz_arg {
        Some(s) => parse_seconds(s, "the SECONDS argument")?,
        None => match env::var(FUZZ_SECONDS_ENV) {
            Ok(s) => parse_seconds(&s, FUZZ_SECONDS_ENV)?,
            Err(env::VarError::NotPresent) => DEFAULT_FUZZ_SECONDS,
            Err(env::VarError::NotUnicode(_)) => return Err(Failure(format!("{FUZZ_SECONDS_ENV} is not UTF-8"))),
        },
    };
    Ok(Ctx {
        root: repo_root()?,
        fuzz_seconds,
    })
}

fn parse_seconds(s: &str, what: &str) -> Result<u64, Failure> {
    s.trim()
        .parse()
        .map_err(|_| Failure(format!("{what} must be a whole number of seconds, got {s:?}")))
}

/// The workspace root: the parent of this crate's manifest directory.
fn repo_root() -> Result<PathBuf, Failure> {
    let manifest_dir = env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir.parent().map(Path::to_path_buf).ok_or_else(|| {
        Failure(format!(
            "cannot find the repository root above {}",
            manifest_dir.display()
        ))
    })
}

fn run_steps(ctx: &Ctx, steps: &[Step]) -> StepResult {
    let start = Instant::now();
    let total = steps.len();
    let mut timings = Vec::with_capacity(total);
    for (i, step) in steps.iter().enumerate() {
        println!("\n==> [{}/{total}] {}", i + 1, step.name);
        let step_start = Instant::now();
        let outcome = (step.run)(ctx);
        let took = step_start.elapsed();
        if let Err(e) = outcome {
            return Err(Failure(format!(
                "step {:?} failed after {}: {e} (total {})",
                step.name,
                human(took),
                human(start.elapsed())
            )));
        }
        println!("<== {} ok in {}", step.name, human(took));
        timings.push((step.name, took));
    }
    println!("\nall {total} step(s) passed:");
    for (name, took) in &timings {
        println!("  {name:<16} {}", human(*took));
    }
    println!("total time: {}", human(start.elapsed()));
    Ok(())
}

fn human(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 60.0 {
        format!("{}m{:04.1}s", (secs / 60.0).floor(), secs % 60.0)
    } else {
        format!("{secs:.1}s")
    }
}

/// Path of the cargo that runs us (so `+toolchain` overrides and rustup proxies keep working).
fn cargo_bin() -> String {
    env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// Runs `cargo <args>` at the repository root.
fn cargo(ctx: &Ctx, args: &[&str]) -> StepResult {
    run(Command::new(cargo_bin()).args(args).current_dir(&ctx.root))
}

fn run(cmd: &mut Command) -> StepResult {
    let shown = show(cmd);
    println!("$ {shown}");
    let status = cmd
        .status()
        .map_err(|e| Failure(format!("could not start `{shown}`: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure(format!("`{shown}` exited with {status}")))
    }
}

fn show(cmd: &Command) -> String {
    let prog = cmd.get_program().to_string_lossy().into_owned();
    let prog = Path::new(&prog)
        .file_name()
        .map_or(prog.clone(), |n| n.to_string_lossy().into_owned());
    std::iter::once(prog)
        .chain(cmd.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A command for the plain `cargo` on PATH (the rustup proxy), so `+nightly` works: the
/// `CARGO` variable points at the pinned toolchain's cargo, which does not understand `+nightly`.
/// `RUSTUP_TOOLCHAIN` is cleared so the `+nightly` override is not shadowed by the pinned toolchain.
fn rustup_cargo() -> Command {
    let mut cmd = Command::new("cargo");
    cmd.env_remove("RUSTUP_TOOLCHAIN").env_remove("CARGO");
    cmd
}

/// Creates `.venv` at the repository root with the pinned sigstore-python (and its pinned
/// dependencies) from `xtask/interop-requirements.txt`; the interop tests run `.venv/bin/sigstore`.
fn interop_venv(ctx: &Ctx) -> StepResult {
    let venv = ctx.root.join(".venv");
    let python = venv.join("bin/python");
    if !python.is_file() {
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    }
    run(Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(ctx.root.join("xtask/interop-requirements.txt")))?;
    run(Command::new(venv.join("bin/sigstore")).arg("--version"))
}

/// Runs every fuzz target under `fuzz/` for `ctx.fuzz_seconds` each.
fn fuzz_all(ctx: &Ctx) -> StepResult {
    let fuzz_dir = ctx.root.join("fuzz");
    if !fuzz_dir.join("Cargo.toml").is_file() {
        println!("no fuzz/ crate; skipping");
        return Ok(());
    }
    if ctx.fuzz_seconds == 0 {
        println!("{FUZZ_SECONDS_ENV}=0; skipping fuzzing");
        return Ok(());
    }
    ensure_cargo_fuzz(ctx)?;
    let targets = fuzz_targets(ctx)?;
    if targets.is_empty() {
        return Err(Failure(format!(
            "no fuzz targets in {}",
            fuzz_dir.join("Cargo.toml").display()
        )));
    }
    for target in &targets {
        println!("--- fuzz target {target} for {}s", ctx.fuzz_seconds);
        let corpus = fuzz_dir.join("corpus").join(target);
        std::fs::create_dir_all(&corpus).map_err(|e| Failure(format!("cannot create {}: {e}", corpus.display())))?;
        let mut cmd = rustup_cargo();
        cmd.current_dir(&ctx.root)
            .args(["+nightly", "fuzz", "run", target])
            // New inputs go to the (gitignored) corpus dir; the committed seeds are read-only.
            .arg(&corpus);
        let seeds = fuzz_dir.join("seeds").join(target);
        if seeds.is_dir() {
            cmd.arg(&seeds);
        }
        cmd.args(["--", &format!("-max_total_time={}", ctx.fuzz_seconds)]);
        run(&mut cmd).map_err(|e| Failure(format!("fuzz target {target}: {e}")))?;
    }
    Ok(())
}

/// Installs cargo-fuzz when `cargo fuzz --version` does not work.
fn ensure_cargo_fuzz(ctx: &Ctx) -> StepResult {
    let present = rustup_cargo()
        .args(["fuzz", "--version"])
        .current_dir(&ctx.root)
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return Ok(());
    }
    println!("cargo-fuzz not found; installing it");
    run(rustup_cargo().args(["install", "cargo-fuzz", "--locked"]))
}

/// Fuzz target names, as `cargo fuzz list` reports them (the `[[bin]]`s of `fuzz/Cargo.toml`).
fn fuzz_targets(ctx: &Ctx) -> Result<Vec<String>, Failure> {
    let out = rustup_cargo()
        .args(["+nightly", "fuzz", "list"])
        .current_dir(&ctx.root)
        .output()
        .map_err(|e| Failure(format!("could not start `cargo +nightly fuzz list`: {e}")))?;
    if !out.status.success() {
        return Err(Failure(format!(
            "`cargo +nightly fuzz list` exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}
