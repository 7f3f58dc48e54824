//! Evaluation: verification results + request context in, a [`Decision`] with every reason out.
//!
//! Semantics (docs/policy.md has the long form):
//! - The rules whose scope covers the request apply, and **all** of them must be satisfied.
//!   A scope key the context does not give (no artifact type, no subject) does not exclude
//!   the rule: missing context never drops a requirement.
//! - A rule is satisfied when at least `threshold` of its authorities are each satisfied by a
//!   different signer. Signers are the distinct identities among the bundles (certificate
//!   identity + issuer, or key id): two bundles of one signer count once, and one signer
//!   counts for at most one authority.
//! - No applicable rule: the policy's `no_match` decides (deny by default).
//! - `mode: warn` (policy): allowed, with the failures returned. A rule's own `mode: warn`
//!   moves that rule's failures to the warnings.

use crate::error::EvaluateError;
use crate::matcher::{Check, Field, FieldSet};
use crate::name::Name;
use crate::policy::{Authority, AuthorityKind, Body, Mode, NoMatch, Policy, PolicySet, Rule};
use serde::{Deserialize, Serialize};
use trust_core::crypto::PublicKey;
use trust_core::time::UnixTime;
use trust_core::verifier::{VerifiedBundle, VerifiedSigner};

/// The identity of certus-trust itself, the outer signer of the chain rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServiceIdentity {
    /// The service signs with certificates of this identity and issuer (exact).
    Certificate {
        /// Certificate SAN.
        identity: String,
        /// OIDC issuer.
        issuer: String,
    },
    /// The service signs with this key.
    Key {
        /// Lower-case hex SHA-256 of the DER SPKI.
        key_id: String,
    },
}

impl ServiceIdentity {
    /// The service's signing key.
    pub fn key(key: &PublicKey) -> Self {
        ServiceIdentity::Key {
            key_id: crate::policy::hex(&key.key_id()),
        }
    }

    /// The service's certificate identity.
    pub fn certificate(identity: impl Into<String>, issuer: impl Into<String>) -> Self {
        ServiceIdentity::Certificate {
            identity: identity.into(),
            issuer: issuer.into(),
        }
    }

    fn matches(&self, signer: &VerifiedSigner) -> bool {
        match (self, signer) {
            (
                ServiceIdentity::Certificate { identity, issuer },
                VerifiedSigner::Certificate {
                    identity: id,
                    issuer: iss,
                    ..
                },
            ) => identity == id && Some(issuer.as_str()) == iss.as_deref(),
            (ServiceIdentity::Key { key_id }, VerifiedSigner::PublicKey { key_id: k }) => key_id == k,
            _ => false,
        }
    }

    fn describe(&self) -> String {
        match self {
            ServiceIdentity::Certificate { identity, issuer } => format!("{identity} (issuer {issuer})"),
            ServiceIdentity::Key { key_id } => format!("public key {key_id}"),
        }
    }
}

/// The request being decided.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// The artifact type (for example `container-image`, `sbom`), matched by `scope.artifact_types`.
    pub artifact_type: Option<&'a str>,
    /// The subject (for example an image reference or file name), matched by `scope.subjects`.
    pub subject: Option<&'a str>,
    /// The current time (rule validity, `max_age`).
    pub now: UnixTime,
    /// certus-trust's own identity, for chain policies.
    pub service: Option<&'a ServiceIdentity>,
}

impl<'a> Context<'a> {
    /// A context with only the time.
    pub fn new(now: UnixTime) -> Self {
        Context {
            artifact_type: None,
            subject: None,
            now,
            service: None,
        }
    }

    /// Sets the artifact type.
    pub fn artifact_type(mut self, t: &'a str) -> Self {
        self.artifact_type = Some(t);
        self
    }

    /// Sets the subject.
    pub fn subject(mut self, s: &'a str) -> Self {
        self.subject = Some(s);
        self
    }

    /// Sets the service identity.
    pub fn service(mut self, s: &'a ServiceIdentity) -> Self {
        self.service = Some(s);
        self
    }
}

/// Stable failure codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FailureCode {
    /// The certificate identity (SAN) does not match, or the signer is a key where an identity is expected.
    #[serde(rename = "policy.identity_mismatch")]
    IdentityMismatch,
    /// The OIDC issuer does not match or is absent.
    #[serde(rename = "policy.issuer_mismatch")]
    IssuerMismatch,
    /// A Fulcio extension does not match or is absent.
    #[serde(rename = "policy.extension_mismatch")]
    ExtensionMismatch,
    /// The signing key is not the authority's key, or the signer is a certificate where a key is expected.
    #[serde(rename = "policy.key_not_authorized")]
    KeyNotAuthorized,
    /// Fewer distinct authorities signed than the threshold.
    #[serde(rename = "policy.threshold_not_met")]
    ThresholdNotMet,
    /// No rule of the policy applies to the request.
    #[serde(rename = "policy.no_matching_rule")]
    NoMatchingRule,
    /// The signing time is older than the rule's `max_age` (or unknown).
    #[serde(rename = "policy.too_old")]
    TooOld,
    /// The rule's `not_before` is after now.
    #[serde(rename = "policy.not_yet_valid")]
    NotYetValid,
    /// The rule's `not_after` is before now.
    #[serde(rename = "policy.expired_rule")]
    ExpiredRule,
    /// No verification result was given.
    #[serde(rename = "policy.no_signature")]
    NoSignature,
    /// Chain: no outer signature was given.
    #[serde(rename = "policy.outer_signature_missing")]
    OuterSignatureMissing,
    /// Chain: no outer signature is by the service.
    #[serde(rename = "policy.outer_signer_mismatch")]
    OuterSignerMismatch,
    /// Chain: the context has no service identity.
    #[serde(rename = "policy.service_identity_missing")]
    ServiceIdentityMissing,
    /// Chain: the outer signature covers another artifact than the inner one.
    #[serde(rename = "policy.chain_digest_mismatch")]
    ChainDigestMismatch,
}

impl FailureCode {
    /// The code as a string, for example `policy.identity_mismatch`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::IdentityMismatch => "policy.identity_mismatch",
            FailureCode::IssuerMismatch => "policy.issuer_mismatch",
            FailureCode::ExtensionMismatch => "policy.extension_mismatch",
            FailureCode::KeyNotAuthorized => "policy.key_not_authorized",
            FailureCode::ThresholdNotMet => "policy.threshold_not_met",
            FailureCode::NoMatchingRule => "policy.no_matching_rule",
            FailureCode::TooOld => "policy.too_old",
            FailureCode::NotYetValid => "policy.not_yet_valid",
            FailureCode::ExpiredRule => "policy.expired_rule",
            FailureCode::NoSignature => "policy.no_signature",
            FailureCode::OuterSignatureMissing => "policy.outer_signature_missing",
            FailureCode::OuterSignerMismatch => "policy.outer_signer_mismatch",
            FailureCode::ServiceIdentityMissing => "policy.service_identity_missing",
            FailureCode::ChainDigestMismatch => "policy.chain_digest_mismatch",
        }
    }
}

impl std::fmt::Display for FailureCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reason a rule failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The rule (`None` for policy-level reasons: no signature, no matching rule). Chain
    /// policies name the inner policy's rules `inner-policy/rule`, the outer check `chain.outer`.
    pub rule: Option<String>,
    /// Stable code.
    pub code: FailureCode,
    /// What the policy asks for.
    pub expected: String,
    /// What was found.
    pub actual: String,
    /// The authority of the rule this reason is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// Index of the verification result (in the order given) this reason is about, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<usize>,
}

/// The outcome of an evaluation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Whether the request is allowed (always true in `warn` mode).
    pub allowed: bool,
    /// The policy's mode.
    pub mode: Mode,
    /// The policy's name.
    pub policy: String,
    /// The rules that applied and were satisfied.
    pub matched_rules: Vec<Name>,
    /// Every reason to deny (in `warn` mode: every reason that would have denied).
    pub failures: Vec<Failure>,
    /// Reasons that do not deny: `no_match: warn`, and failures of rules in `mode: warn`.
    pub warnings: Vec<Failure>,
}

impl Decision {
    fn new(policy: &Policy) -> Self {
        Decision {
            allowed: false,
            mode: policy.mode,
            policy: policy.name.clone(),
            matched_rules: Vec::new(),
            failures: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn finish(mut self) -> Self {
        self.allowed = self.failures.is_empty() || self.mode == Mode::Warn;
        self
    }
}

impl PolicySet {
    /// Evaluates the named (rules) policy over one or more verification results of one artifact.
    /// A chain policy evaluated here fails with `policy.outer_signature_missing` (use
    /// [`PolicySet::evaluate_chain`]).
    pub fn evaluate(
        &self,
        policy: &str,
        bundles: &[&VerifiedBundle],
        ctx: &Context<'_>,
    ) -> Result<Decision, EvaluateError> {
        let p = self
            .get(policy)
            .ok_or_else(|| EvaluateError::UnknownPolicy(policy.to_string()))?;
        match &p.body {
            Body::Rules(rules) => Ok(evaluate_rules(&self.checks, &self.field_sets, p, rules, bundles, ctx)),
            Body::Chain { .. } => self.evaluate_chain(policy, bundles, &[], ctx),
        }
    }

    /// Evaluates a chain policy: the `inner` results must satisfy the chain's inner policy, and
    /// one of the `outer` results must be signed by `ctx.service` over the same artifact.
    pub fn evaluate_chain(
        &self,
        policy: &str,
        inner: &[&VerifiedBundle],
        outer: &[&VerifiedBundle],
        ctx: &Context<'_>,
    ) -> Result<Decision, EvaluateError> {
        let p = self
            .get(policy)
            .ok_or_else(|| EvaluateError::UnknownPolicy(policy.to_string()))?;
        let Body::Chain { inner: inner_name } = &p.body else {
            return Err(EvaluateError::NotAChainPolicy(policy.to_string()));
        };
        // Resolved at load: the inner policy exists and has rules.
        let inner_decision = self.evaluate(inner_name, inner, ctx)?;
        let mut d = Decision::new(p);
        let prefix = |f: Failure| Failure {
            rule: Some(match &f.rule {
                Some(r) => format!("{inner_name}/{r}"),
                None => inner_name.clone(),
            }),
            ..f
        };
        d.matched_rules.extend(
            inner_decision
                .matched_rules
                .iter()
                .map(|r| Name::from(format!("{inner_name}/{r}"))),
        );
        d.warnings.extend(inner_decision.warnings.into_iter().map(prefix));
        if inner_decision.allowed {
            d.warnings.extend(inner_decision.failures.into_iter().map(prefix));
        } else {
            d.failures.extend(inner_decision.failures.into_iter().map(prefix));
        }

        let outer_rule = || Some("chain.outer".to_string());
        match ctx.service {
            None => d.failures.push(Failure {
                rule: outer_rule(),
                code: FailureCode::ServiceIdentityMissing,
                expected: "the service identity in the evaluation context".into(),
                actual: "none configured".into(),
                authority: None,
                bundle: None,
            }),
            Some(_) if outer.is_empty() => d.failures.push(Failure {
                rule: outer_rule(),
                code: FailureCode::OuterSignatureMissing,
                expected: "an outer signature by certus-trust".into(),
                actual: "no outer signature".into(),
                authority: None,
                bundle: None,
            }),
            Some(service) => {
                let by_service: Vec<(usize, &&VerifiedBundle)> = outer
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| service.matches(&b.signer))
                    .collect();
                if by_service.is_empty() {
                    d.failures.push(Failure {
                        rule: outer_rule(),
                        code: FailureCode::OuterSignerMismatch,
                        expected: service.describe(),
                        actual: outer
                            .iter()
                            .map(|b| describe_signer(&b.signer))
                            .collect::<Vec<_>>()
                            .join(", "),
                        authority: None,
                        bundle: None,
                    });
                } else if let Some((i, b)) = by_service
                    .iter()
                    .find(|(_, b)| inner.iter().any(|x| x.artifact_digest != b.artifact_digest))
                {
                    d.failures.push(Failure {
                        rule: outer_rule(),
                        code: FailureCode::ChainDigestMismatch,
                        expected: inner
                            .iter()
                            .map(|x| x.artifact_digest.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        actual: b.artifact_digest.clone(),
                        authority: None,
                        bundle: Some(*i),
                    });
                } else {
                    d.matched_rules.push(Name::from("chain.outer"));
                }
            }
        }
        Ok(d.finish())
    }
}

/// Who signed: bundles of the same signer count once toward thresholds.
#[derive(PartialEq, Eq)]
enum SignerKey<'a> {
    Certificate(&'a str, Option<&'a str>),
    Key(&'a str),
    Other,
}

fn signer_key(signer: &VerifiedSigner) -> SignerKey<'_> {
    match signer {
        VerifiedSigner::Certificate { identity, issuer, .. } => SignerKey::Certificate(identity, issuer.as_deref()),
        VerifiedSigner::PublicKey { key_id } => SignerKey::Key(key_id),
        _ => SignerKey::Other,
    }
}

fn describe_signer(signer: &VerifiedSigner) -> String {
    match signer {
        VerifiedSigner::Certificate { identity, issuer, .. } => {
            format!("{identity} (issuer {})", issuer.as_deref().unwrap_or("absent"))
        }
        VerifiedSigner::PublicKey { key_id } => format!("public key {key_id}"),
        _ => "unknown signer".into(),
    }
}

/// The earliest verified signing time: `max_age` is judged on the oldest evidence.
fn signing_time(b: &VerifiedBundle) -> Option<UnixTime> {
    b.verified_times.iter().map(|t| t.time).min()
}

fn in_scope(rule: &Rule, ctx: &Context<'_>) -> bool {
    if let (Some(types), Some(t)) = (&rule.artifact_types, ctx.artifact_type) {
        if !types.iter().any(|x| x == t) {
            return false;
        }
    }
    if let (Some(subjects), Some(s)) = (&rule.subjects, ctx.subject) {
        if !subjects.iter().any(|m| m.is_match(s)) {
            return false;
        }
    }
    true
}

/// Results of the interned checks per verification result: each distinct check runs at most
/// once per bundle and evaluation, however many rules state it.
struct Memo {
    words: usize,
    /// Per bundle: `words` words of "known" bits, then `words` words of "matched" bits.
    bits: Vec<u64>,
}

impl Memo {
    fn new(checks: usize, bundles: usize) -> Self {
        let words = checks.div_ceil(64);
        Memo {
            words,
            bits: vec![0; 2 * words * bundles],
        }
    }

    /// The memoised result, if known.
    #[inline]
    fn get(&self, bundle: usize, check: usize) -> Option<bool> {
        let base = 2 * self.words * bundle;
        let (word, bit) = (check / 64, 1u64 << (check % 64));
        (self.bits[base + word] & bit != 0).then(|| self.bits[base + self.words + word] & bit != 0)
    }

    #[inline]
    fn put(&mut self, bundle: usize, check: usize, matched: bool) {
        let base = 2 * self.words * bundle;
        let (word, bit) = (check / 64, 1u64 << (check % 64));
        self.bits[base + word] |= bit;
        if matched {
            self.bits[base + self.words + word] |= bit;
        }
    }
}

struct Evaluation<'a> {
    checks: &'a [Check],
    sets: &'a [FieldSet],
    bundles: &'a [&'a VerifiedBundle],
    memo: Memo,
}

impl Evaluation<'_> {
    /// Runs check `c` on `value` (bundle `bi`) and memoises it; a check in a field set runs the
    /// whole set once and memoises every check of that field.
    fn run_check(&mut self, bi: usize, c: usize, value: Option<&str>) -> bool {
        let check = &self.checks[c];
        match (check.set, value) {
            (Some(si), Some(v)) => {
                let fs = &self.sets[si];
                let hits = fs.set.matches(v);
                for (k, &id) in fs.checks.iter().enumerate() {
                    self.memo.put(bi, id, hits.matched(k));
                }
                hits.matched(fs.checks.iter().position(|&id| id == c).unwrap_or(usize::MAX))
            }
            _ => {
                let matched = value.is_some_and(|v| check.matcher.is_match(v));
                self.memo.put(bi, c, matched);
                matched
            }
        }
    }
}

fn evaluate_rules<'a>(
    checks: &'a [Check],
    sets: &'a [FieldSet],
    policy: &Policy,
    rules: &'a [Rule],
    bundles: &'a [&'a VerifiedBundle],
    ctx: &Context<'_>,
) -> Decision {
    let mut d = Decision::new(policy);
    d.matched_rules.reserve(rules.len());
    if bundles.is_empty() {
        d.failures.push(Failure {
            rule: None,
            code: FailureCode::NoSignature,
            expected: "at least one verified signature".into(),
            actual: "none".into(),
            authority: None,
            bundle: None,
        });
        return d.finish();
    }
    // group[i]: the signer index of bundle i.
    let mut signers: Vec<SignerKey<'_>> = Vec::with_capacity(bundles.len());
    let mut group = Vec::with_capacity(bundles.len());
    for b in bundles {
        let key = signer_key(&b.signer);
        let g = match signers.iter().position(|k| *k == key) {
            Some(g) => g,
            None => {
                signers.push(key);
                signers.len() - 1
            }
        };
        group.push(g);
    }

    let mut ev = Evaluation {
        checks,
        sets,
        bundles,
        memo: Memo::new(checks.len(), bundles.len()),
    };
    let mut applied = 0usize;
    let mut masks = vec![0u64; signers.len()];
    for rule in rules.iter().filter(|r| in_scope(r, ctx)) {
        applied += 1;
        masks.iter_mut().for_each(|m| *m = 0);
        if rule_satisfied(&mut ev, rule, &group, &mut masks, ctx.now) {
            d.matched_rules.push(rule.name.clone());
        } else {
            let sink = if rule.mode == Some(Mode::Warn) {
                &mut d.warnings
            } else {
                &mut d.failures
            };
            let before = sink.len();
            explain_rule(&mut ev, rule, &masks, ctx.now, sink);
            if sink.len() == before {
                // Fail closed: an unsatisfied rule always gives at least one reason.
                sink.push(Failure {
                    rule: Some(rule.name.to_string()),
                    code: FailureCode::ThresholdNotMet,
                    expected: format!("{} of {} authorities", rule.threshold, rule.authorities.len()),
                    actual: format!("{}", count_distinct(&masks, usize::MAX)),
                    authority: None,
                    bundle: None,
                });
            }
        }
    }
    if applied == 0 {
        let failure = Failure {
            rule: None,
            code: FailureCode::NoMatchingRule,
            expected: "a rule whose scope covers the request".into(),
            actual: format!(
                "artifact type {}, subject {}",
                ctx.artifact_type.unwrap_or("(none)"),
                ctx.subject.unwrap_or("(none)")
            ),
            authority: None,
            bundle: None,
        };
        match policy.no_match {
            NoMatch::Deny => d.failures.push(failure),
            NoMatch::Warn => d.warnings.push(failure),
            NoMatch::Allow => {}
        }
    }
    d.finish()
}

fn window_ok(rule: &Rule, now: UnixTime) -> bool {
    rule.not_before.is_none_or(|t| now >= t) && rule.not_after.is_none_or(|t| now <= t)
}

fn fresh(rule: &Rule, b: &VerifiedBundle, now: UnixTime) -> bool {
    match rule.max_age_secs {
        None => true,
        Some(max) => signing_time(b).is_some_and(|t| now.secs().saturating_sub(t.secs()) <= max),
    }
}

/// Fills `masks[signer]` with the authorities each signer satisfies; true when the rule holds.
fn rule_satisfied<'a>(
    ev: &mut Evaluation<'a>,
    rule: &'a Rule,
    group: &[usize],
    masks: &mut [u64],
    now: UnixTime,
) -> bool {
    for (bi, &g) in group.iter().enumerate() {
        if !fresh(rule, ev.bundles[bi], now) {
            continue;
        }
        for (i, a) in rule.authorities.iter().enumerate() {
            if masks[g] & (1 << i) == 0 && check_authority(ev, a, bi, |_| {}) {
                masks[g] |= 1 << i;
            }
        }
    }
    window_ok(rule, now) && count_distinct(masks, rule.threshold) >= rule.threshold
}

/// Maximum matching of signers to authorities (each signer counts for one authority), stopping
/// at `enough`. Kuhn's augmenting paths over 64-bit masks.
fn count_distinct(masks: &[u64], enough: usize) -> usize {
    if enough == 1 {
        return usize::from(masks.iter().any(|m| *m != 0));
    }
    const FREE: usize = usize::MAX;
    let mut owner = [FREE; 64];
    let mut count = 0;
    for s in 0..masks.len() {
        let mut seen = 0u64;
        if augment(s, masks, &mut owner, &mut seen) {
            count += 1;
            if count >= enough {
                break;
            }
        }
    }
    count
}

fn augment(s: usize, masks: &[u64], owner: &mut [usize; 64], seen: &mut u64) -> bool {
    let mut m = masks[s] & !*seen;
    while m != 0 {
        let a = m.trailing_zeros() as usize;
        m &= m - 1;
        *seen |= 1 << a;
        if owner[a] == usize::MAX || augment(owner[a], masks, owner, seen) {
            owner[a] = s;
            return true;
        }
    }
    false
}

/// One reason a bundle does not satisfy an authority (borrowed; strings are built only when
/// a rule fails).
enum Mismatch<'a> {
    /// A check failed on this value (absent: `None`).
    Check(&'a Check, Option<&'a str>),
    /// A keyless authority, and the signer is not a certificate.
    NotCertificate(&'a Check, String),
    /// A key authority, and the signer is another key or not a key.
    Key(&'a str, String),
}

/// Checks every constraint of `a` against bundle `bi`, reporting each mismatch to `on_mismatch`.
fn check_authority<'a>(
    ev: &mut Evaluation<'a>,
    a: &'a Authority,
    bi: usize,
    mut on_mismatch: impl FnMut(Mismatch<'a>),
) -> bool {
    let checks = ev.checks;
    let b: &'a VerifiedBundle = ev.bundles[bi];
    let mut ok = true;
    match (&a.kind, &b.signer) {
        (
            AuthorityKind::Keyless {
                identity,
                issuer,
                extensions,
            },
            VerifiedSigner::Certificate {
                identity: id,
                issuer: iss,
                extensions: exts,
                ..
            },
        ) => {
            for &c in [identity, issuer].into_iter().chain(extensions) {
                let check = &checks[c];
                let value = check.value(id, iss.as_deref(), exts);
                let matched = match ev.memo.get(bi, c) {
                    Some(m) => m,
                    None => ev.run_check(bi, c, value),
                };
                if !matched {
                    ok = false;
                    on_mismatch(Mismatch::Check(check, value));
                }
            }
        }
        (AuthorityKind::Keyless { identity, .. }, other) => {
            ok = false;
            on_mismatch(Mismatch::NotCertificate(&checks[*identity], describe_signer(other)));
        }
        (AuthorityKind::Key { key_id, .. }, VerifiedSigner::PublicKey { key_id: k }) => {
            if key_id != k {
                ok = false;
                on_mismatch(Mismatch::Key(key_id, format!("public key {k}")));
            }
        }
        (AuthorityKind::Key { key_id, .. }, other) => {
            ok = false;
            on_mismatch(Mismatch::Key(key_id, describe_signer(other)));
        }
    }
    ok
}

/// Every reason `rule` failed.
fn explain_rule<'a>(ev: &mut Evaluation<'a>, rule: &'a Rule, masks: &[u64], now: UnixTime, out: &mut Vec<Failure>) {
    let failure = |code, expected: String, actual: String, authority: Option<&str>, bundle: Option<usize>| Failure {
        rule: Some(rule.name.to_string()),
        code,
        expected,
        actual,
        authority: authority.map(str::to_string),
        bundle,
    };
    if let Some(t) = rule.not_before.filter(|t| now < *t) {
        out.push(failure(
            FailureCode::NotYetValid,
            format!("now at or after {t}"),
            now.to_string(),
            None,
            None,
        ));
    }
    if let Some(t) = rule.not_after.filter(|t| now > *t) {
        out.push(failure(
            FailureCode::ExpiredRule,
            format!("now at or before {t}"),
            now.to_string(),
            None,
            None,
        ));
    }
    let mut any_matched = false;
    for i in 0..ev.bundles.len() {
        let b = ev.bundles[i];
        if !fresh(rule, b, now) {
            let max = rule.max_age_secs.unwrap_or_default();
            out.push(failure(
                FailureCode::TooOld,
                format!(
                    "signed at or after {}",
                    UnixTime::from_secs(now.secs().saturating_sub(max))
                ),
                signing_time(b).map_or_else(|| "no verified signing time".to_string(), |t| format!("signed at {t}")),
                None,
                Some(i),
            ));
            continue;
        }
        let mut mismatches = Vec::new();
        let mut matched = false;
        for a in &rule.authorities {
            let mut these = Vec::new();
            if check_authority(ev, a, i, |m| these.push(m)) {
                matched = true;
            } else {
                mismatches.push((a, these));
            }
        }
        if matched {
            any_matched = true;
            continue;
        }
        for (a, these) in mismatches {
            for m in these {
                let (code, expected, actual) = match m {
                    Mismatch::Check(check, actual) => {
                        let actual = actual.unwrap_or("(absent)");
                        match check.field {
                            Field::Identity => (
                                FailureCode::IdentityMismatch,
                                check.matcher.describe().to_string(),
                                actual.to_string(),
                            ),
                            Field::Issuer => (
                                FailureCode::IssuerMismatch,
                                check.matcher.describe().to_string(),
                                actual.to_string(),
                            ),
                            Field::Extension(ext) => (
                                FailureCode::ExtensionMismatch,
                                format!("{}: {}", ext.name(), check.matcher.describe()),
                                format!("{}: {actual}", ext.name()),
                            ),
                        }
                    }
                    Mismatch::NotCertificate(check, actual) => (
                        FailureCode::IdentityMismatch,
                        check.matcher.describe().to_string(),
                        actual,
                    ),
                    Mismatch::Key(e, actual) => (FailureCode::KeyNotAuthorized, format!("public key {e}"), actual),
                };
                out.push(failure(code, expected, actual, Some(&a.name), Some(i)));
            }
        }
    }
    if rule.threshold > 1 || (any_matched && window_ok(rule, now)) {
        let names: Vec<&str> = rule.authorities.iter().map(|a| a.name.as_str()).collect();
        let signed: Vec<&str> = rule
            .authorities
            .iter()
            .enumerate()
            .filter(|(i, _)| masks.iter().any(|m| m & (1 << i) != 0))
            .map(|(_, a)| a.name.as_str())
            .collect();
        let distinct = count_distinct(masks, usize::MAX);
        if distinct < rule.threshold {
            out.push(failure(
                FailureCode::ThresholdNotMet,
                format!("{} of [{}] by distinct signers", rule.threshold, names.join(", ")),
                format!("{distinct}: [{}]", signed.join(", ")),
                None,
                None,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trust_core::bundle::BundleVersion;

    fn key_bundle(key_id: &str) -> VerifiedBundle {
        VerifiedBundle {
            bundle_version: BundleVersion::V0_3,
            media_type: BundleVersion::V0_3.media_type(),
            signer: VerifiedSigner::PublicKey { key_id: key_id.into() },
            artifact_digest: String::new(),
            statement: None,
            tlog_entries: Vec::new(),
            verified_times: Vec::new(),
        }
    }

    #[test]
    fn matching_counts_each_signer_once() {
        // Signer 0 can take a or b, signer 1 only a: the matching gives 2.
        assert_eq!(count_distinct(&[0b11, 0b01], usize::MAX), 2);
        // Both only a: 1.
        assert_eq!(count_distinct(&[0b01, 0b01], usize::MAX), 1);
        assert_eq!(count_distinct(&[0, 0], usize::MAX), 0);
        assert_eq!(count_distinct(&[0b100, 0b001, 0b011], usize::MAX), 3);
        assert_eq!(count_distinct(&[0b1, 0b0], 1), 1);
    }

    #[test]
    fn an_unsatisfiable_rule_without_reasons_still_denies() {
        // Load never builds a rule without authorities; if one existed, it must fail closed.
        let policy = Policy {
            name: "p".into(),
            mode: Mode::Enforce,
            no_match: NoMatch::Deny,
            body: Body::Rules(Vec::new()),
        };
        let rule = Rule {
            name: "empty".into(),
            mode: None,
            artifact_types: None,
            subjects: None,
            authorities: Vec::new(),
            threshold: 1,
            not_before: None,
            not_after: None,
            max_age_secs: None,
        };
        let b = key_bundle("00");
        let d = evaluate_rules(
            &[],
            &[],
            &policy,
            std::slice::from_ref(&rule),
            &[&b],
            &Context::new(UnixTime::EPOCH),
        );
        assert!(!d.allowed);
        assert_eq!(d.failures.len(), 1);
        assert_eq!(d.failures[0].code, FailureCode::ThresholdNotMet);
    }
}
