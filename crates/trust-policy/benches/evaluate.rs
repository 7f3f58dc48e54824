//! Policy evaluation benches: a 50-rule policy against a real verification result (the
//! conformance case `bundle-with-sct-with-extensions`, a GitHub Actions certificate verified by
//! trust-core once, outside the measured loop).
//!
//! `cargo bench -p trust-policy --bench evaluate` (docs/performance.md has the numbers).
//!
//! - `evaluate/50_rules_all_apply_allow`: 50 unscoped rules, all applying (all must hold): each an
//!   anchored identity regex, an exact issuer and two extensions (one regex). Allowed.
//!   Identical checks are shared at load, so each runs once per evaluation.
//! - `evaluate/50_rules_all_apply_distinct_allow`: as the first, but every rule's regexes differ
//!   (nothing shared): 100 regex runs over the certificate values. Allowed.
//! - `evaluate/50_rules_scoped_allow`: 50 rules scoped by subject glob; the request's subject
//!   selects one. Allowed.
//! - `evaluate/50_rules_all_apply_deny`: as the first, but every rule fails on one extension:
//!   50 failures with their strings built. Denied.
//! - `evaluate/threshold_2_of_3`: one rule, 2 of 3 authorities, two bundles (a certificate and a
//!   managed key). Allowed.
//! - `load/50_rules`: parsing and compiling the 50-rule document (the cost of a reload).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use support::{managed_key_pem, now, verified, yaml_block, BEACON_IDENTITY, GITHUB_ISSUER};
use trust_policy::{Context, PolicySet};

fn fifty_rules(scoped: bool, failing: bool) -> String {
    fifty_rules_with(scoped, failing, false)
}

/// `distinct`: every rule's identity and ref regexes differ (no check is shared, so none is
/// memoised): the worst case for 50 applying rules.
fn fifty_rules_with(scoped: bool, failing: bool, distinct: bool) -> String {
    let mut y = String::from("version: 1\npolicies:\n  p:\n    rules:\n");
    for i in 0..50 {
        y.push_str(&format!("      - name: rule-{i}\n"));
        if scoped {
            y.push_str(&format!(
                "        scope:\n          subjects: [{{glob: \"ghcr.io/certus/team-{i}/*\"}}]\n"
            ));
        }
        let trigger = if failing { "push" } else { "workflow_dispatch" };
        let alt = if distinct { format!("|rule-{i}") } else { String::new() };
        y.push_str(&format!(
            "        identity: {{regex: \"https://github\\\\.com/sigstore-conformance/.*/\\\\.github/workflows/.*@refs/heads/(main{alt})\"}}
        issuer: {{exact: \"{GITHUB_ISSUER}\"}}
        extensions:
          github_workflow_repository: {{exact: sigstore-conformance/extremely-dangerous-public-oidc-beacon}}
          github_workflow_trigger: {{exact: {trigger}}}
          source_repository_ref: {{regex: \"refs/(heads/main|tags/v[0-9.]+{alt})\"}}
"
        ));
    }
    y
}

fn bench(c: &mut Criterion) {
    let v = verified("bundle-with-sct-with-extensions");
    let k = verified("managed-key-happy-path");
    let ctx = Context::new(now());

    let mut g = c.benchmark_group("evaluate");
    let all = PolicySet::from_yaml_str(&fifty_rules(false, false), "bench.yaml").unwrap();
    let d = all.evaluate("p", &[&v], &ctx).unwrap();
    assert!(d.allowed && d.matched_rules.len() == 50, "{d:?}");
    g.bench_function("50_rules_all_apply_allow", |b| {
        b.iter(|| all.evaluate(black_box("p"), black_box(&[&v]), black_box(&ctx)).unwrap())
    });

    let distinct = PolicySet::from_yaml_str(&fifty_rules_with(false, false, true), "bench.yaml").unwrap();
    let d = distinct.evaluate("p", &[&v], &ctx).unwrap();
    assert!(d.allowed && d.matched_rules.len() == 50, "{d:?}");
    g.bench_function("50_rules_all_apply_distinct_allow", |b| {
        b.iter(|| {
            distinct
                .evaluate(black_box("p"), black_box(&[&v]), black_box(&ctx))
                .unwrap()
        })
    });

    let scoped = PolicySet::from_yaml_str(&fifty_rules(true, false), "bench.yaml").unwrap();
    let sctx = Context::new(now()).subject("ghcr.io/certus/team-37/app");
    let d = scoped.evaluate("p", &[&v], &sctx).unwrap();
    assert!(d.allowed && d.matched_rules == ["rule-37"], "{d:?}");
    g.bench_function("50_rules_scoped_allow", |b| {
        b.iter(|| {
            scoped
                .evaluate(black_box("p"), black_box(&[&v]), black_box(&sctx))
                .unwrap()
        })
    });

    let failing = PolicySet::from_yaml_str(&fifty_rules(false, true), "bench.yaml").unwrap();
    let d = failing.evaluate("p", &[&v], &ctx).unwrap();
    assert!(!d.allowed && d.failures.len() == 50, "{d:?}");
    g.bench_function("50_rules_all_apply_deny", |b| {
        b.iter(|| {
            failing
                .evaluate(black_box("p"), black_box(&[&v]), black_box(&ctx))
                .unwrap()
        })
    });

    let threshold = PolicySet::from_yaml_str(
        &format!(
            "version: 1
policies:
  p:
    rules:
      - name: two-of-three
        threshold: 2
        authorities:
          - name: ci
            identity: {{exact: \"{BEACON_IDENTITY}\"}}
            issuer: {{exact: \"{GITHUB_ISSUER}\"}}
          - name: other
            identity: {{exact: release@certus.cloud}}
            issuer: {{exact: https://accounts.certus.cloud}}
          - name: key
            key: |
{}",
            yaml_block(&managed_key_pem("managed-key-happy-path"), 14)
        ),
        "bench.yaml",
    )
    .unwrap();
    assert!(threshold.evaluate("p", &[&v, &k], &ctx).unwrap().allowed);
    g.bench_function("threshold_2_of_3", |b| {
        b.iter(|| {
            threshold
                .evaluate(black_box("p"), black_box(&[&v, &k]), black_box(&ctx))
                .unwrap()
        })
    });
    g.finish();

    let doc = fifty_rules(true, false);
    c.bench_function("load/50_rules", |b| {
        b.iter(|| PolicySet::from_yaml_str(black_box(&doc), "bench.yaml").unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
