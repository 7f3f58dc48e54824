//! Malformed policy files: each error with its line (and column), every semantic error at once.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use trust_policy::{LoadError, PolicySet};

fn err(yaml: &str) -> LoadError {
    match PolicySet::from_yaml_str(yaml, "bad.yaml") {
        Ok(set) => panic!("must not load: {set:?}"),
        Err(e) => e,
    }
}

/// The 1-based line of the first line containing `needle`.
fn line_of(yaml: &str, needle: &str) -> u64 {
    yaml.lines().position(|l| l.contains(needle)).expect("needle in yaml") as u64 + 1
}

fn assert_one(yaml: &str, code: &str, needle: &str) -> LoadError {
    let e = err(yaml);
    assert_eq!(e.diagnostics.len(), 1, "{e}");
    assert_eq!(e.diagnostics[0].code, code, "{e}");
    assert_eq!(e.diagnostics[0].line, line_of(yaml, needle), "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("bad.yaml:{}:", line_of(yaml, needle))),
        "{e}"
    );
    e
}

const GOOD_RULE: &str =
    "        identity: {exact: a@certus.cloud}\n        issuer: {exact: https://accounts.certus.cloud}\n";

fn policy(rule_body: &str) -> String {
    format!("version: 1\npolicies:\n  p:\n    rules:\n      - name: r\n{rule_body}")
}

#[test]
fn a_good_file_loads() {
    let set = PolicySet::from_yaml_str(&policy(GOOD_RULE), "ok.yaml").unwrap();
    assert_eq!(set.get("p").unwrap().rule_names(), ["r"]);
}

#[test]
fn unknown_keys_are_errors_with_their_position() {
    let y = policy("        identiti: {exact: a@certus.cloud}\n        issuer: {exact: x}\n");
    let e = assert_one(&y, "policy.invalid_document", "identiti");
    assert_eq!(e.diagnostics[0].column, 9);
    assert!(e.diagnostics[0].message.contains("unknown field `identiti`"), "{e}");
    let y = format!(
        "{}        extensions:\n          github_workflow_ref: {{exact: x, regexp: y}}\n",
        policy(GOOD_RULE)
    );
    let e = assert_one(&y, "policy.invalid_document", "regexp");
    assert!(e.diagnostics[0].message.contains("regexp"), "{e}");
    let y = "version: 1\npolices:\n  p: {}\n";
    assert_one(y, "policy.invalid_document", "polices");
    let y = format!("version: 1\npolicies:\n  p:\n    mode: enforcing\n    rules:\n      - name: r\n{GOOD_RULE}");
    assert_one(&y, "policy.invalid_document", "enforcing");
}

#[test]
fn yaml_syntax_errors_have_a_position() {
    let y = "version: 1\npolicies:\n  p:\n    rules: [\n";
    let e = err(y);
    assert_eq!(e.diagnostics.len(), 1);
    assert!(e.diagnostics[0].line >= 4, "{e}");
    let y = format!("{}        identity: {{exact: b@certus.cloud}}\n", policy(GOOD_RULE));
    let e = err(&y);
    assert!(e.diagnostics[0].message.contains("duplicate"), "{e}");
    assert_eq!(e.diagnostics[0].line, 8, "{e}");
}

#[test]
fn bad_regexes_are_errors() {
    let y = policy("        identity: {regex: \"(unclosed\"}\n        issuer: {exact: x}\n");
    let e = assert_one(&y, "policy.invalid_regex", "unclosed");
    assert_eq!(e.diagnostics[0].column, 27);
    assert_eq!(
        e.diagnostics[0].message,
        "identity: invalid regex \"(unclosed\": unclosed group"
    );
    let y = format!(
        "{}        extensions:\n          source_repository_ref: {{regex: \"refs/[\"}}\n",
        policy(GOOD_RULE)
    );
    assert_one(&y, "policy.invalid_regex", "refs/[");
    let y = format!(
        "version: 1\npolicies:\n  p:\n    rules:\n      - name: r\n        scope:\n          subjects:\n            - regex: \"a{{2\"\n{GOOD_RULE}"
    );
    assert_one(&y, "policy.invalid_regex", "a{2");
}

#[test]
fn empty_identities_are_errors() {
    let y = policy("        identity: {exact: \"\"}\n        issuer: {exact: x}\n");
    assert_one(&y, "policy.empty_value", "identity");
    let y = policy("        identity: {regex: \"\"}\n        issuer: {exact: x}\n");
    assert_one(&y, "policy.empty_value", "identity");
    let y = policy("        identity: {exact: a@b.c}\n        issuer: {exact: \"\"}\n");
    assert_one(&y, "policy.empty_value", "issuer");
    let y = policy("        identity: {}\n        issuer: {exact: x}\n");
    assert_one(&y, "policy.invalid_matcher", "identity");
    let y = policy("        identity: {exact: a, regex: b}\n        issuer: {exact: x}\n");
    assert_one(&y, "policy.invalid_matcher", "identity");
    let y = policy("        identity: {glob: \"*@certus.cloud\"}\n        issuer: {exact: x}\n");
    assert_one(&y, "policy.invalid_matcher", "glob");
}

#[test]
fn unknown_extension_names_are_errors() {
    let y = format!(
        "{}        extensions:\n          github_workflow_reff: {{exact: refs/heads/main}}\n",
        policy(GOOD_RULE)
    );
    let e = assert_one(&y, "policy.unknown_extension", "reff");
    assert_eq!(e.diagnostics[0].column, 11);
    assert!(
        e.diagnostics[0].message.contains("source_repository_ref"),
        "lists the known names: {e}"
    );
    let y = format!(
        "{}        extensions:\n          issuer: {{exact: x}}\n",
        policy(GOOD_RULE)
    );
    let e = assert_one(&y, "policy.unknown_extension", "          issuer");
    assert!(e.diagnostics[0].message.contains("`issuer`"), "{e}");
}

#[test]
fn a_rule_without_constraint_is_an_error() {
    let y = policy("        scope: {artifact_types: [sbom]}\n");
    assert_one(&y, "policy.unconstrained", "- name: r");
    let y = policy("        authorities: []\n");
    assert_one(&y, "policy.unconstrained", "authorities");
    let y = "version: 1\npolicies:\n  p:\n    rules: []\n";
    assert_one(y, "policy.unconstrained", "rules");
    let y = "version: 1\npolicies:\n  p:\n    no_match: allow\n";
    assert_one(y, "policy.unconstrained", "no_match");
    let y = "version: 1\npolicies: {}\n";
    assert_one(y, "policy.empty", "policies");
    // Identity without issuer (and the reverse) is not enough for a keyless signer.
    let y = policy("        identity: {regex: \".*\"}\n");
    assert_one(&y, "policy.missing_issuer", "- name: r");
    let y = policy("        issuer: {exact: https://token.actions.githubusercontent.com}\n");
    assert_one(&y, "policy.missing_identity", "- name: r");
    let y = policy("        extensions: {github_workflow_ref: {exact: refs/heads/main}}\n");
    let e = err(&y);
    let codes: Vec<_> = e.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["policy.missing_identity", "policy.missing_issuer"]);
}

#[test]
fn thresholds_must_be_between_one_and_n() {
    let authorities = "        authorities:\n          - {name: a, identity: {exact: a@c.d}, issuer: {exact: x}}\n          - {name: b, identity: {exact: b@c.d}, issuer: {exact: x}}\n";
    let y = policy(&format!("        threshold: 3\n{authorities}"));
    let e = assert_one(&y, "policy.invalid_threshold", "threshold");
    assert!(
        e.diagnostics[0]
            .message
            .contains("threshold 3 exceeds its 2 authorities"),
        "{e}"
    );
    let y = policy(&format!("        threshold: 0\n{authorities}"));
    assert_one(&y, "policy.invalid_threshold", "threshold");
    let y = policy(&format!("        threshold: 2\n{authorities}"));
    assert!(PolicySet::from_yaml_str(&y, "ok.yaml").is_ok());
    // The shorthand is one authority.
    let y = policy(&format!("        threshold: 2\n{GOOD_RULE}"));
    assert_one(&y, "policy.invalid_threshold", "threshold");
}

#[test]
fn keys_must_parse() {
    let y = policy("        authorities:\n          - name: k\n            key: not a pem\n");
    assert_one(&y, "policy.invalid_key", "not a pem");
    let y = policy("        authorities:\n          - name: k\n            key_id: abcd\n");
    assert_one(&y, "policy.missing_key", "- name: k");
}

#[test]
fn conflicts_are_errors() {
    let y = policy(&format!(
        "{GOOD_RULE}        authorities:\n          - {{name: a, identity: {{exact: a@c.d}}, issuer: {{exact: x}}}}\n"
    ));
    // A block sequence is located at its first item.
    assert_one(&y, "policy.conflict", "- {name: a");
    let y = format!("version: 1\npolicies:\n  p:\n    chain: {{inner: q}}\n    rules:\n      - name: r\n{GOOD_RULE}  q:\n    rules:\n      - name: r\n{GOOD_RULE}");
    assert_one(&y, "policy.conflict", "chain");
}

#[test]
fn chain_must_name_a_rules_policy() {
    let y = "version: 1\npolicies:\n  up:\n    chain: {inner: missing}\n";
    // A policy is located at its first key.
    let e = assert_one(y, "policy.unknown_policy", "chain:");
    assert!(e.diagnostics[0].message.contains("missing"));
    let y = "version: 1\npolicies:\n  a:\n    chain: {inner: b}\n  b:\n    chain: {inner: a}\n";
    let e = err(y);
    assert_eq!(e.diagnostics.len(), 2, "{e}");
    assert!(e.diagnostics.iter().all(|d| d.code == "policy.invalid_chain"));
}

#[test]
fn times_and_durations_must_parse() {
    let y = policy(&format!("        not_before: yesterday\n{GOOD_RULE}"));
    assert_one(&y, "policy.invalid_time", "yesterday");
    let y = policy(&format!("        max_age: 30 days\n{GOOD_RULE}"));
    assert_one(&y, "policy.invalid_duration", "30 days");
    let y = policy(&format!(
        "        not_before: 2027-01-01T00:00:00Z\n        not_after: 2026-01-01T00:00:00Z\n{GOOD_RULE}"
    ));
    assert_one(&y, "policy.invalid_time", "- name: r");
}

#[test]
fn version_must_be_known() {
    let y = format!("version: 2\npolicies:\n  p:\n    rules:\n      - name: r\n{GOOD_RULE}");
    assert_one(&y, "policy.unsupported_version", "version");
    let y = format!("policies:\n  p:\n    rules:\n      - name: r\n{GOOD_RULE}");
    assert_eq!(err(&y).code(), "policy.invalid_document");
}

#[test]
fn duplicate_rule_names_are_errors() {
    let y = format!("{}      - name: r\n{GOOD_RULE}", policy(GOOD_RULE));
    let e = err(&y);
    assert_eq!(e.diagnostics.len(), 1, "{e}");
    assert_eq!(e.diagnostics[0].code, "policy.duplicate_name");
    assert_eq!(e.diagnostics[0].line, 8);
}

#[test]
fn every_semantic_error_is_reported_in_file_order() {
    let y = "version: 1
policies:
  p:
    rules:
      - name: a
        identity: {regex: \"(\"}
        issuer: {exact: \"\"}
        extensions:
          nope: {exact: x}
      - name: b
        threshold: 0
        authorities:
          - {name: k, key: garbage}
";
    let e = err(y);
    let got: Vec<_> = e.diagnostics.iter().map(|d| (d.line, d.code)).collect();
    assert_eq!(
        got,
        [
            (6, "policy.invalid_regex"),
            (7, "policy.empty_value"),
            (9, "policy.unknown_extension"),
            (11, "policy.invalid_threshold"),
            (13, "policy.invalid_key"),
        ],
        "{e}"
    );
    assert_eq!(e.to_string().lines().count(), 5);
}

#[test]
fn from_file_names_the_file() {
    let dir = std::env::temp_dir().join(format!("trust-policy-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("policy.yaml");
    std::fs::write(
        &path,
        policy("        identity: {regex: \"(\"}\n        issuer: {exact: x}\n"),
    )
    .unwrap();
    let e = PolicySet::from_file(&path).unwrap_err();
    assert!(e.to_string().starts_with(&format!("{}:6:", path.display())), "{e}");
    let e = PolicySet::from_file(dir.join("missing.yaml")).unwrap_err();
    assert_eq!(e.code(), "policy.io");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_complete_example_in_docs_policy_md_loads() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/policy.md")).unwrap();
    let mut loaded = 0;
    for block in doc.split("```yaml\n").skip(1) {
        let yaml = block.split("```").next().unwrap();
        if yaml.starts_with("version: 1") {
            PolicySet::from_yaml_str(yaml, "docs/policy.md").unwrap_or_else(|e| panic!("{e}\n{yaml}"));
            loaded += 1;
        }
    }
    assert_eq!(loaded, 4, "the four complete examples");
}
