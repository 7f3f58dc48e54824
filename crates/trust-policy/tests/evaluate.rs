//! Evaluation over real verification results: conformance fixtures (GitHub Actions certificates
//! with every Fulcio extension, and a managed-key bundle) verified by trust-core.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod support;

use support::{managed_key, managed_key_pem, now, verified, yaml_block, BEACON_IDENTITY, GITHUB_ISSUER};
use trust_core::time::UnixTime;
use trust_core::verifier::{VerifiedBundle, VerifiedSigner};
use trust_policy::{Context, Decision, FailureCode, Mode, PolicySet, ServiceIdentity, EXTENSIONS};

const EXTENSIONS_CASE: &str = "bundle-with-sct-with-extensions";
const KEY_CASE: &str = "managed-key-happy-path";

fn load(yaml: &str) -> PolicySet {
    PolicySet::from_yaml_str(yaml, "test.yaml").unwrap_or_else(|e| panic!("policy must load:\n{e}"))
}

fn codes(d: &Decision) -> Vec<&'static str> {
    d.failures.iter().map(|f| f.code.as_str()).collect()
}

fn beacon_policy(identity: &str, issuer: &str) -> String {
    format!(
        "version: 1\npolicies:\n  p:\n    rules:\n      - name: beacon\n        identity: {identity}\n        issuer: {issuer}\n"
    )
}

fn eval(set: &PolicySet, bundles: &[&VerifiedBundle]) -> Decision {
    set.evaluate("p", bundles, &Context::new(now())).unwrap()
}

#[test]
fn exact_identity_and_issuer_allow() {
    let v = verified("happy-path-v0.3");
    let set = load(&beacon_policy(
        &format!("{{exact: \"{BEACON_IDENTITY}\"}}"),
        &format!("{{exact: \"{GITHUB_ISSUER}\"}}"),
    ));
    let d = eval(&set, &[&v]);
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.matched_rules, ["beacon"]);
    assert!(d.failures.is_empty() && d.warnings.is_empty());
    assert_eq!(d.mode, Mode::Enforce);
    assert_eq!(d.policy, "p");
}

#[test]
fn identity_and_issuer_mismatch_are_both_reported() {
    let v = verified("happy-path-v0.3");
    let set = load(&beacon_policy(
        "{exact: \"https://github.com/other/repo/.github/workflows/x.yml@refs/heads/main\"}",
        "{exact: \"https://accounts.google.com\"}",
    ));
    let d = eval(&set, &[&v]);
    assert!(!d.allowed);
    assert_eq!(codes(&d), ["policy.identity_mismatch", "policy.issuer_mismatch"]);
    assert_eq!(d.failures[0].actual, BEACON_IDENTITY);
    assert_eq!(d.failures[1].actual, GITHUB_ISSUER);
    assert_eq!(d.failures[1].expected, "https://accounts.google.com");
    assert_eq!(d.failures[0].rule.as_deref(), Some("beacon"));
    assert_eq!(d.failures[0].bundle, Some(0));
    assert!(d.matched_rules.is_empty());
}

#[test]
fn identity_regex_is_anchored() {
    let v = verified("happy-path-v0.3");
    let issuer = format!("{{exact: \"{GITHUB_ISSUER}\"}}");
    // Matches the whole SAN.
    let set = load(&beacon_policy(
        "{regex: \"https://github\\\\.com/sigstore-conformance/.*@refs/heads/main\"}",
        &issuer,
    ));
    assert!(eval(&set, &[&v]).allowed);
    // A prefix of the SAN would match unanchored; anchored it must not.
    let set = load(&beacon_policy(
        "{regex: \"https://github\\\\.com/sigstore-conformance/\"}",
        &issuer,
    ));
    let d = eval(&set, &[&v]);
    assert_eq!(codes(&d), ["policy.identity_mismatch"]);
    // A suffix likewise.
    let set = load(&beacon_policy("{regex: \"@refs/heads/main\"}", &issuer));
    assert_eq!(codes(&eval(&set, &[&v])), ["policy.identity_mismatch"]);
    // The issuer regex too.
    let set = load(&beacon_policy(
        "{regex: \".*\"}",
        "{regex: \"https://token\\\\.actions\\\\.githubusercontent\"}",
    ));
    assert_eq!(codes(&eval(&set, &[&v])), ["policy.issuer_mismatch"]);
}

#[test]
fn anchored_regex_rejects_lookalike_domains() {
    // `.*@certus.cloud` must not match `x@certus.cloud.evil.com`: the certificate is real, the
    // identity is swapped in the verification result (trust-core decoded it; the policy only sees it).
    let mut v = verified("happy-path-v0.3");
    let set = load(&beacon_policy(
        "{regex: \".*@certus.cloud\"}",
        &format!("{{exact: \"{GITHUB_ISSUER}\"}}"),
    ));
    let set_identity = |v: &mut VerifiedBundle, id: &str| {
        if let VerifiedSigner::Certificate { identity, .. } = &mut v.signer {
            *identity = id.to_string();
        }
    };
    set_identity(&mut v, "x@certus.cloud");
    assert!(eval(&set, &[&v]).allowed);
    set_identity(&mut v, "x@certus.cloud.evil.com");
    let d = eval(&set, &[&v]);
    assert!(!d.allowed);
    assert_eq!(codes(&d), ["policy.identity_mismatch"]);
    assert_eq!(d.failures[0].actual, "x@certus.cloud.evil.com");
    set_identity(&mut v, "evil.com\nx@certus.cloud");
    assert!(!eval(&set, &[&v]).allowed, "no multi-line escape");
}

/// Every Fulcio extension of a real GitHub Actions certificate, matched by name.
fn extension_rule(v: &VerifiedBundle, flip: Option<&str>) -> String {
    let VerifiedSigner::Certificate { extensions, .. } = &v.signer else {
        panic!("certificate signer expected")
    };
    let mut yaml = beacon_policy(
        &format!("{{exact: \"{BEACON_IDENTITY}\"}}"),
        &format!("{{exact: \"{GITHUB_ISSUER}\"}}"),
    );
    yaml.push_str("        extensions:\n");
    for ext in EXTENSIONS {
        let Some(value) = ext.value(extensions) else { continue };
        let value = if flip == Some(ext.name()) {
            format!("{value}-other")
        } else {
            value.to_string()
        };
        yaml.push_str(&format!("          {}: {{exact: \"{value}\"}}\n", ext.name()));
    }
    yaml
}

#[test]
fn every_extension_of_a_github_certificate_is_matchable() {
    let v = verified(EXTENSIONS_CASE);
    let VerifiedSigner::Certificate { extensions, .. } = &v.signer else {
        panic!()
    };
    let present: Vec<_> = EXTENSIONS.iter().filter(|e| e.value(extensions).is_some()).collect();
    // Everything Fulcio sets for a GitHub Actions token (deployment_environment only for jobs
    // with an environment).
    assert_eq!(present.len(), 19, "{present:?}");
    let d = eval(&load(&extension_rule(&v, None)), &[&v]);
    assert!(d.allowed, "{d:#?}");
    for ext in present {
        let d = eval(&load(&extension_rule(&v, Some(ext.name()))), &[&v]);
        assert!(!d.allowed, "{} flipped must deny", ext.name());
        assert_eq!(codes(&d), ["policy.extension_mismatch"], "{}", ext.name());
        let f = &d.failures[0];
        assert!(f.expected.starts_with(&format!("{}: ", ext.name())), "{f:?}");
        assert_eq!(f.actual, format!("{}: {}", ext.name(), ext.value(extensions).unwrap()));
    }
}

#[test]
fn github_workflow_flags_with_regex_and_absent_extension() {
    let v = verified("happy-path-v0.3");
    let set = load(&format!(
        "version: 1
policies:
  p:
    rules:
      - name: release
        identity: {{regex: \"https://github\\\\.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.*\"}}
        issuer: {{exact: \"{GITHUB_ISSUER}\"}}
        extensions:
          github_workflow_repository: {{exact: sigstore-conformance/extremely-dangerous-public-oidc-beacon}}
          github_workflow_ref: {{regex: \"refs/tags/v.*\"}}
          github_workflow_trigger: {{exact: push}}
          runner_environment: {{exact: github-hosted}}
          deployment_environment: {{exact: production}}
"
    ));
    let d = eval(&set, &[&v]);
    assert!(!d.allowed);
    // Every reason, in rule order: the ref, the trigger, the absent environment.
    assert_eq!(codes(&d), ["policy.extension_mismatch"; 3]);
    assert_eq!(d.failures[0].actual, "github_workflow_ref: refs/heads/main");
    assert_eq!(d.failures[1].actual, "github_workflow_trigger: workflow_dispatch");
    assert_eq!(d.failures[2].actual, "deployment_environment: (absent)");
}

fn key_authority(case: &str, name: &str) -> String {
    format!(
        "          - name: {name}\n            key: |\n{}",
        yaml_block(&managed_key_pem(case), 14)
    )
}

#[test]
fn key_authority_allows_its_key_and_rejects_certificates() {
    let k = verified(KEY_CASE);
    let c = verified("happy-path-v0.3");
    let set = load(&format!(
        "version: 1\npolicies:\n  p:\n    rules:\n      - name: managed\n        authorities:\n{}",
        key_authority(KEY_CASE, "release-key")
    ));
    let d = eval(&set, &[&k]);
    assert!(d.allowed, "{d:?}");
    let d = eval(&set, &[&c]);
    assert_eq!(codes(&d), ["policy.key_not_authorized"]);
    assert_eq!(d.failures[0].authority.as_deref(), Some("release-key"));
    assert!(d.failures[0].actual.contains(BEACON_IDENTITY), "{:?}", d.failures[0]);
}

#[test]
fn key_id_is_computed_and_asserted() {
    let key = managed_key(KEY_CASE);
    let id: String = key.key_id().iter().map(|b| format!("{b:02x}")).collect();
    let k = verified(KEY_CASE);
    assert_eq!(k.signer, VerifiedSigner::PublicKey { key_id: id.clone() });
    let yaml = |asserted: &str| {
        format!(
            "version: 1\npolicies:\n  p:\n    rules:\n      - name: managed\n        authorities:\n{}            key_id: \"{asserted}\"\n",
            key_authority(KEY_CASE, "k")
        )
    };
    assert!(eval(&load(&yaml(&id)), &[&k]).allowed);
    let set = load(&yaml(&id));
    let keys = set.authority_keys("p");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].spki_der(), key.spki_der());
    assert!(eval(&load(&yaml(&format!("sha256:{}", id.to_uppercase()))), &[&k]).allowed);
    let wrong = format!("{}0", &id[..63]);
    let doc = yaml(&wrong);
    let err = PolicySet::from_yaml_str(&doc, "t.yaml").unwrap_err();
    assert_eq!(err.code(), "policy.key_id_mismatch");
    let line = doc.lines().position(|l| l.contains("key_id")).unwrap() + 1;
    assert_eq!(err.diagnostics[0].line, line as u64, "{err}");
    assert_eq!(err.diagnostics.len(), 1);
}

#[test]
fn keyless_authority_rejects_a_key_signer() {
    let k = verified(KEY_CASE);
    let set = load(&beacon_policy(
        &format!("{{exact: \"{BEACON_IDENTITY}\"}}"),
        &format!("{{exact: \"{GITHUB_ISSUER}\"}}"),
    ));
    let d = eval(&set, &[&k]);
    assert_eq!(codes(&d), ["policy.identity_mismatch"]);
    assert!(d.failures[0].actual.starts_with("public key "));
}

fn threshold_policy(k: u32) -> PolicySet {
    load(&format!(
        "version: 1
policies:
  p:
    rules:
      - name: two-parties
        threshold: {k}
        authorities:
          - name: ci
            identity: {{exact: \"{BEACON_IDENTITY}\"}}
            issuer: {{exact: \"{GITHUB_ISSUER}\"}}
          - name: ci-any-ref
            identity: {{regex: \"https://github\\\\.com/sigstore-conformance/.*\"}}
            issuer: {{exact: \"{GITHUB_ISSUER}\"}}
{}",
        key_authority(KEY_CASE, "release-key")
    ))
}

#[test]
fn threshold_counts_distinct_signers() {
    let c1 = verified("happy-path-v0.3");
    let c2 = verified("rekor2-happy-path");
    let k = verified(KEY_CASE);
    let set = threshold_policy(2);
    // A certificate and a key: two distinct signers.
    let d = eval(&set, &[&c1, &k]);
    assert!(d.allowed, "{d:#?}");
    assert_eq!(d.matched_rules, ["two-parties"]);
    // Two bundles by the same workflow identity count once, although that identity satisfies
    // two authorities.
    let d = eval(&set, &[&c1, &c2]);
    assert!(!d.allowed);
    assert_eq!(codes(&d), ["policy.threshold_not_met"]);
    assert_eq!(
        d.failures[0].expected,
        "2 of [ci, ci-any-ref, release-key] by distinct signers"
    );
    assert_eq!(d.failures[0].actual, "1: [ci, ci-any-ref]");
    // One signer alone.
    let d = eval(&set, &[&k]);
    assert_eq!(codes(&d), ["policy.threshold_not_met"]);
    assert_eq!(d.failures[0].actual, "1: [release-key]");
    // 3 of 3 with two signers.
    let d = eval(&threshold_policy(3), &[&c1, &k, &c2]);
    assert_eq!(codes(&d), ["policy.threshold_not_met"]);
    assert!(eval(&threshold_policy(1), &[&k]).allowed);
}

#[test]
fn threshold_with_three_distinct_signers() {
    // A third distinct signer: the same real certificate result under another identity.
    let c1 = verified("happy-path-v0.3");
    let k = verified(KEY_CASE);
    let mut c3 = verified("rekor2-happy-path");
    if let VerifiedSigner::Certificate { identity, .. } = &mut c3.signer {
        *identity = "https://github.com/sigstore-conformance/other/.github/workflows/x.yml@refs/heads/main".into();
    }
    let d = eval(&threshold_policy(3), &[&c1, &k, &c3]);
    assert!(d.allowed, "{d:#?}");
    // c3 satisfies only ci-any-ref, c1 both ci and ci-any-ref: the matching must give c1 `ci`.
    let d = eval(&threshold_policy(3), &[&c3, &c1, &k]);
    assert!(d.allowed, "order must not matter: {d:#?}");
}

#[test]
fn warn_mode_allows_but_returns_failures() {
    let v = verified("happy-path-v0.3");
    let yaml = |mode: &str| {
        format!(
            "version: 1\npolicies:\n  p:\n    mode: {mode}\n    rules:\n      - name: other\n        identity: {{exact: someone@example.com}}\n        issuer: {{exact: \"{GITHUB_ISSUER}\"}}\n"
        )
    };
    let d = eval(&load(&yaml("warn")), &[&v]);
    assert!(d.allowed);
    assert_eq!(d.mode, Mode::Warn);
    assert_eq!(codes(&d), ["policy.identity_mismatch"]);
    let d = eval(&load(&yaml("enforce")), &[&v]);
    assert!(!d.allowed);
    assert_eq!(d.mode, Mode::Enforce);
    assert_eq!(codes(&d), ["policy.identity_mismatch"]);
}

#[test]
fn rule_in_warn_mode_reports_a_warning_only() {
    let v = verified("happy-path-v0.3");
    let set = load(&format!(
        "version: 1
policies:
  p:
    rules:
      - name: ci
        identity: {{exact: \"{BEACON_IDENTITY}\"}}
        issuer: {{exact: \"{GITHUB_ISSUER}\"}}
      - name: tagged-soon
        mode: warn
        identity: {{exact: \"{BEACON_IDENTITY}\"}}
        issuer: {{exact: \"{GITHUB_ISSUER}\"}}
        extensions:
          source_repository_ref: {{regex: \"refs/tags/.*\"}}
"
    ));
    let d = eval(&set, &[&v]);
    assert!(d.allowed, "{d:#?}");
    assert_eq!(d.matched_rules, ["ci"]);
    assert!(d.failures.is_empty());
    assert_eq!(d.warnings.len(), 1);
    assert_eq!(d.warnings[0].code, FailureCode::ExtensionMismatch);
    assert_eq!(d.warnings[0].rule.as_deref(), Some("tagged-soon"));
}

fn scoped_policy(no_match: &str) -> PolicySet {
    load(&format!(
        "version: 1
policies:
  p:
    no_match: {no_match}
    rules:
      - name: images
        scope:
          artifact_types: [container-image]
          subjects:
            - glob: \"ghcr.io/certus/*\"
            - regex: \"registry\\\\.certus\\\\.cloud/.*\"
        identity: {{exact: \"{BEACON_IDENTITY}\"}}
        issuer: {{exact: \"{GITHUB_ISSUER}\"}}
      - name: sboms
        scope:
          artifact_types: [sbom]
        identity: {{exact: sbom-bot@certus.cloud}}
        issuer: {{exact: https://accounts.certus.cloud}}
"
    ))
}

#[test]
fn scope_selects_rules_by_artifact_type_and_subject() {
    let v = verified("happy-path-v0.3");
    let set = scoped_policy("deny");
    let run = |t: Option<&str>, s: Option<&str>| {
        let mut ctx = Context::new(now());
        ctx.artifact_type = t;
        ctx.subject = s;
        set.evaluate("p", &[&v], &ctx).unwrap()
    };
    let d = run(Some("container-image"), Some("ghcr.io/certus/app"));
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.matched_rules, ["images"]);
    let d = run(Some("container-image"), Some("registry.certus.cloud/x/y"));
    assert_eq!(d.matched_rules, ["images"]);
    // The glob's `*` stays inside one path segment; the regex is anchored.
    let d = run(Some("container-image"), Some("ghcr.io/certus/app/extra"));
    assert_eq!(codes(&d), ["policy.no_matching_rule"]);
    let d = run(Some("container-image"), Some("evil.io/registry.certus.cloud/x"));
    assert_eq!(codes(&d), ["policy.no_matching_rule"]);
    assert!(!d.allowed);
    // The sbom rule applies and fails with every reason.
    let d = run(Some("sbom"), None);
    assert_eq!(codes(&d), ["policy.identity_mismatch", "policy.issuer_mismatch"]);
    // No artifact type in the context: no rule is dropped, both apply.
    let d = run(None, None);
    assert_eq!(d.matched_rules, ["images"]);
    assert_eq!(codes(&d), ["policy.identity_mismatch", "policy.issuer_mismatch"]);
}

#[test]
fn no_match_behaviour_deny_allow_warn() {
    let v = verified("happy-path-v0.3");
    let ctx = Context::new(now()).artifact_type("helm-chart");
    let d = scoped_policy("deny").evaluate("p", &[&v], &ctx).unwrap();
    assert!(!d.allowed);
    assert_eq!(codes(&d), ["policy.no_matching_rule"]);
    assert!(d.failures[0].actual.contains("helm-chart"));
    let d = scoped_policy("allow").evaluate("p", &[&v], &ctx).unwrap();
    assert!(d.allowed && d.failures.is_empty() && d.warnings.is_empty());
    let d = scoped_policy("warn").evaluate("p", &[&v], &ctx).unwrap();
    assert!(d.allowed && d.failures.is_empty());
    assert_eq!(d.warnings[0].code, FailureCode::NoMatchingRule);
}

#[test]
fn default_no_match_is_deny() {
    let yaml = format!(
        "version: 1\npolicies:\n  p:\n    rules:\n      - name: r\n        scope: {{artifact_types: [sbom]}}\n        identity: {{exact: a@b.c}}\n        issuer: {{exact: \"{GITHUB_ISSUER}\"}}\n"
    );
    let v = verified("happy-path-v0.3");
    let d = load(&yaml)
        .evaluate("p", &[&v], &Context::new(now()).artifact_type("x"))
        .unwrap();
    assert!(!d.allowed);
    assert_eq!(codes(&d), ["policy.no_matching_rule"]);
}

fn timed_policy(extra: &str) -> PolicySet {
    load(&format!(
        "version: 1\npolicies:\n  p:\n    rules:\n      - name: timed\n        identity: {{exact: \"{BEACON_IDENTITY}\"}}\n        issuer: {{exact: \"{GITHUB_ISSUER}\"}}\n{extra}"
    ))
}

#[test]
fn max_age_uses_the_verified_signing_time() {
    // happy-path-v0.3 was integrated at 2024-03-19T17:26:26Z.
    let v = verified("happy-path-v0.3");
    let signed = UnixTime::parse_rfc3339("2024-03-19T17:26:26Z").unwrap();
    let set = timed_policy("        max_age: 30d\n");
    let at = |secs: i64| Context::new(UnixTime::from_secs(signed.secs() + secs));
    assert!(set.evaluate("p", &[&v], &at(30 * 86_400)).unwrap().allowed);
    let d = set.evaluate("p", &[&v], &at(30 * 86_400 + 1)).unwrap();
    assert!(!d.allowed);
    assert_eq!(codes(&d), ["policy.too_old"]);
    assert_eq!(d.failures[0].actual, "signed at 2024-03-19T17:26:26Z");
    // With today's time it is long too old.
    assert_eq!(codes(&eval(&set, &[&v])), ["policy.too_old"]);
}

#[test]
fn max_age_without_a_verified_time_fails() {
    let mut v = verified("happy-path-v0.3");
    v.verified_times.clear();
    let d = eval(&timed_policy("        max_age: 3650d\n"), &[&v]);
    assert_eq!(codes(&d), ["policy.too_old"]);
    assert_eq!(d.failures[0].actual, "no verified signing time");
}

#[test]
fn rule_validity_window() {
    let v = verified("happy-path-v0.3");
    let set = timed_policy("        not_before: 2027-01-01T00:00:00Z\n");
    let d = eval(&set, &[&v]);
    assert_eq!(codes(&d), ["policy.not_yet_valid"]);
    let set = timed_policy("        not_after: 2026-01-01T00:00:00Z\n");
    let d = eval(&set, &[&v]);
    assert_eq!(codes(&d), ["policy.expired_rule"]);
    assert!(!d.allowed);
    let set = timed_policy("        not_before: 2026-01-01T00:00:00Z\n        not_after: 2027-01-01T00:00:00Z\n");
    assert!(eval(&set, &[&v]).allowed);
}

#[test]
fn every_reason_not_only_the_first() {
    let v = verified("happy-path-v0.3");
    let set = load(&format!(
        "version: 1
policies:
  p:
    rules:
      - name: a
        not_after: 2025-01-01T00:00:00Z
        max_age: 1d
        identity: {{exact: x@certus.cloud}}
        issuer: {{exact: https://accounts.certus.cloud}}
      - name: b
        identity: {{exact: \"{BEACON_IDENTITY}\"}}
        issuer: {{exact: \"{GITHUB_ISSUER}\"}}
        extensions:
          github_workflow_ref: {{exact: refs/tags/v1}}
          runner_environment: {{exact: self-hosted}}
"
    ));
    let d = eval(&set, &[&v]);
    assert_eq!(
        codes(&d),
        [
            "policy.expired_rule",
            "policy.too_old",
            "policy.extension_mismatch",
            "policy.extension_mismatch"
        ]
    );
    // Serialisable, with the stable code strings.
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["allowed"], false);
    assert_eq!(json["mode"], "enforce");
    assert_eq!(json["failures"][0]["code"], "policy.expired_rule");
    assert_eq!(json["failures"][2]["rule"], "b");
    let back: Decision = serde_json::from_value(json).unwrap();
    assert_eq!(back, d);
}

#[test]
fn no_signature_denies() {
    let set = timed_policy("");
    let d = set.evaluate("p", &[], &Context::new(now())).unwrap();
    assert!(!d.allowed);
    assert_eq!(codes(&d), ["policy.no_signature"]);
}

#[test]
fn unknown_policy_is_an_error() {
    let set = timed_policy("");
    let err = set.evaluate("nope", &[], &Context::new(now())).unwrap_err();
    assert_eq!(err.code(), "policy.unknown_policy");
}

fn chain_policy() -> PolicySet {
    load(&format!(
        "version: 1
policies:
  inner-ci:
    rules:
      - name: ci
        identity: {{exact: \"{BEACON_IDENTITY}\"}}
        issuer: {{exact: \"{GITHUB_ISSUER}\"}}
  upload:
    chain:
      inner: inner-ci
"
    ))
}

#[test]
fn chain_inner_by_policy_outer_by_the_service() {
    let inner = verified("happy-path-v0.3");
    let outer = verified(KEY_CASE);
    let set = chain_policy();
    let service = ServiceIdentity::key(&managed_key(KEY_CASE));
    let ctx = Context::new(now()).service(&service);
    let d = set.evaluate_chain("upload", &[&inner], &[&outer], &ctx).unwrap();
    assert!(d.allowed, "{d:#?}");
    assert_eq!(d.matched_rules, ["inner-ci/ci", "chain.outer"]);

    // The outer signer is not the service.
    let other = ServiceIdentity::certificate("certus-trust@certus.cloud", "https://accounts.certus.cloud");
    let ctx2 = Context::new(now()).service(&other);
    let d = set.evaluate_chain("upload", &[&inner], &[&outer], &ctx2).unwrap();
    assert_eq!(codes(&d), ["policy.outer_signer_mismatch"]);
    assert_eq!(d.failures[0].rule.as_deref(), Some("chain.outer"));

    // The inner signer fails its policy (the key bundle is not the CI identity) and the outer
    // signature is missing: both reasons.
    let d = set.evaluate_chain("upload", &[&outer], &[], &ctx).unwrap();
    assert_eq!(
        codes(&d),
        ["policy.identity_mismatch", "policy.outer_signature_missing"]
    );
    assert_eq!(d.failures[0].rule.as_deref(), Some("inner-ci/ci"));

    // No service identity configured.
    let d = set
        .evaluate_chain("upload", &[&inner], &[&outer], &Context::new(now()))
        .unwrap();
    assert_eq!(codes(&d), ["policy.service_identity_missing"]);

    // evaluate() on a chain policy: no outer signature.
    let d = set.evaluate("upload", &[&inner], &ctx).unwrap();
    assert_eq!(codes(&d), ["policy.outer_signature_missing"]);
    // evaluate_chain() on a rules policy is a caller error.
    assert_eq!(
        set.evaluate_chain("inner-ci", &[&inner], &[&outer], &ctx)
            .unwrap_err()
            .code(),
        "policy.not_a_chain_policy"
    );
}

#[test]
fn chain_with_certificate_service_identity_and_digest_binding() {
    let inner = verified(KEY_CASE);
    let outer = verified("happy-path-v0.3");
    let set = load(&format!(
        "version: 1
policies:
  inner-key:
    rules:
      - name: managed
        authorities:
{}  upload:
    chain: {{inner: inner-key}}
",
        key_authority(KEY_CASE, "k")
    ));
    let service = ServiceIdentity::certificate(BEACON_IDENTITY, GITHUB_ISSUER);
    let ctx = Context::new(now()).service(&service);
    assert!(
        set.evaluate_chain("upload", &[&inner], &[&outer], &ctx)
            .unwrap()
            .allowed
    );
    let mut other_artifact = outer.clone();
    other_artifact.artifact_digest = format!("sha256:{}", "0".repeat(64));
    let d = set
        .evaluate_chain("upload", &[&inner], &[&other_artifact], &ctx)
        .unwrap();
    assert_eq!(codes(&d), ["policy.chain_digest_mismatch"]);
}

#[test]
fn policy_set_is_swappable_behind_an_arc() {
    // The server holds Arc<PolicySet> and swaps it on reload; a decision in flight keeps its set.
    let v = verified("happy-path-v0.3");
    let current = std::sync::Arc::new(timed_policy(""));
    let in_flight = std::sync::Arc::clone(&current);
    let replaced = std::sync::Arc::new(timed_policy("        not_after: 2000-01-01T00:00:00Z\n"));
    let current = replaced;
    assert!(eval(&in_flight, &[&v]).allowed);
    assert!(!eval(&current, &[&v]).allowed);
}

#[test]
fn regexes_compiled_together_stay_anchored_and_independent() {
    // Several regexes on one field are answered by one RegexSet pass: each must still be
    // anchored, and each rule must get its own pattern's answer.
    let mut v = verified("happy-path-v0.3");
    if let VerifiedSigner::Certificate { identity, .. } = &mut v.signer {
        *identity = "x@certus.cloud.evil.com".into();
    }
    let set = load(&format!(
        "version: 1
policies:
  p:
    rules:
      - name: certus
        identity: {{regex: \".*@certus.cloud\"}}
        issuer: {{regex: \"https://token\\\\.actions\\\\..*\"}}
      - name: x-anything
        identity: {{regex: \"x@.*\"}}
        issuer: {{regex: \".*githubusercontent\\\\.com\"}}
      - name: evil-prefix
        identity: {{regex: \"x@certus\"}}
        issuer: {{exact: \"{GITHUB_ISSUER}\"}}
"
    ));
    let d = eval(&set, &[&v]);
    assert_eq!(d.matched_rules, ["x-anything"]);
    let failed: Vec<_> = d
        .failures
        .iter()
        .map(|f| (f.rule.as_deref().unwrap(), f.code.as_str()))
        .collect();
    assert_eq!(
        failed,
        [
            ("certus", "policy.identity_mismatch"),
            ("evil-prefix", "policy.identity_mismatch")
        ]
    );
}
