//! Runs `Verifier::verify_json` on one conformance bundle in a loop, or only its signature floor,
//! for profiling (callgrind, perf). Not a benchmark: the numbers live in `benches/verify.rs`.
//!
//! ```text
//! cargo build --release -p trust-core --example verify_loop
//! valgrind --tool=callgrind --toggle-collect='*verify_json*' \
//!     target/release/examples/verify_loop happy-path-v0.3 20 [bytes|digest]
//! valgrind --tool=callgrind --toggle-collect='*run_floor*' \
//!     target/release/examples/verify_loop happy-path-v0.3 20 bytes floor
//! ```
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../benches/support/floor.rs"]
mod floor;

use floor::{floor_checks, Case, SigCheck};

#[inline(never)]
fn run_floor(checks: &[SigCheck]) -> bool {
    checks.iter().all(|c| std::hint::black_box(c).run())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let name: &'static str = args.next().unwrap_or_else(|| "happy-path-v0.3".into()).leak();
    let n: u32 = args.next().map_or(20, |s| s.parse().expect("iterations"));
    let by_digest = args.next().as_deref() == Some("digest");
    let only_floor = args.next().as_deref() == Some("floor");

    let case = Case::load(name);
    if only_floor {
        let checks = floor_checks(&case, by_digest);
        for _ in 0..n {
            assert!(run_floor(&checks));
        }
        println!("{name}: {n} x {} signature checks ok", checks.len());
        return;
    }
    let verifier = case.verifier();
    let policy = case.policy(by_digest);
    for _ in 0..n {
        std::hint::black_box(
            verifier
                .verify_json(std::hint::black_box(&case.bundle), &policy)
                .unwrap(),
        );
    }
    println!("{name}: {n} verifications ok");
}
