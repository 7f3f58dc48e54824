//! The compiled policy set and its loader: every regex compiled, every key parsed, every name
//! resolved once, at load. Evaluation ([`crate::eval`]) only compares.

use crate::doc::{self, AuthorityDoc, Document, ExtensionsDoc, MatcherDoc, PolicyDoc, RuleDoc};
use crate::error::{Diagnostic, LoadError};
use crate::extension::{Extension, EXTENSIONS};
use crate::matcher::{build_field_sets, Check, Field, FieldSet, Matcher};
use serde_saphyr::{Location, Spanned};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use trust_core::crypto::PublicKey;
use trust_core::time::UnixTime;

/// The only document version this crate reads.
pub const DOCUMENT_VERSION: u32 = 1;

/// Upper bound on authorities in one rule (thresholds are counted with 64-bit masks).
pub const MAX_AUTHORITIES: usize = 64;

/// What a failing policy (or rule) does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Deny on failure.
    Enforce,
    /// Allow, but record and return the failures.
    Warn,
}

/// What happens when no rule of a policy applies to the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoMatch {
    /// Deny (`policy.no_matching_rule` failure). The default.
    Deny,
    /// Allow silently.
    Allow,
    /// Allow with a `policy.no_matching_rule` warning.
    Warn,
}

/// A set of named policies, loaded from one document. Immutable and `Send + Sync`: a server
/// holds it in an `Arc` and swaps the whole set on reload.
#[derive(Debug)]
pub struct PolicySet {
    pub(crate) policies: BTreeMap<String, Policy>,
    /// Every distinct (field, matcher) check of every keyless authority, shared.
    pub(crate) checks: Vec<Check>,
    /// The regex checks of each field, compiled together.
    pub(crate) field_sets: Vec<FieldSet>,
}

/// One named policy.
#[derive(Debug)]
pub struct Policy {
    pub(crate) name: String,
    pub(crate) mode: Mode,
    pub(crate) no_match: NoMatch,
    pub(crate) body: Body,
}

#[derive(Debug)]
pub(crate) enum Body {
    Rules(Vec<Rule>),
    /// Inner signer by the named (rules) policy, outer signer the service.
    Chain {
        inner: String,
    },
}

#[derive(Debug)]
pub(crate) struct Rule {
    pub name: crate::Name,
    pub mode: Option<Mode>,
    pub artifact_types: Option<Vec<String>>,
    pub subjects: Option<Vec<Matcher>>,
    pub authorities: Vec<Authority>,
    pub threshold: usize,
    pub not_before: Option<UnixTime>,
    pub not_after: Option<UnixTime>,
    pub max_age_secs: Option<i64>,
}

#[derive(Debug)]
pub(crate) struct Authority {
    pub name: String,
    pub kind: AuthorityKind,
}

#[derive(Debug)]
pub(crate) enum AuthorityKind {
    Keyless {
        /// Indices into `PolicySet::checks`.
        identity: usize,
        issuer: usize,
        extensions: Vec<usize>,
    },
    /// Lower-case hex SHA-256 of the DER SPKI, as in `VerifiedSigner::PublicKey::key_id`.
    Key { key_id: String, key: Box<PublicKey> },
}

impl Policy {
    /// The policy's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `enforce` or `warn`.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The no-match behaviour.
    pub fn no_match(&self) -> NoMatch {
        self.no_match
    }

    /// Whether this is a chain policy (evaluate it with [`PolicySet::evaluate_chain`]).
    pub fn is_chain(&self) -> bool {
        matches!(self.body, Body::Chain { .. })
    }

    /// The names of its rules (empty for a chain policy).
    pub fn rule_names(&self) -> Vec<&str> {
        match &self.body {
            Body::Rules(rules) => rules.iter().map(|r| r.name.as_str()).collect(),
            Body::Chain { .. } => Vec::new(),
        }
    }
}

impl PolicySet {
    /// Parses and validates a policy document. `source_name` (a file name) prefixes every
    /// diagnostic.
    pub fn from_yaml_str(yaml: &str, source_name: &str) -> Result<PolicySet, LoadError> {
        let doc: Document = serde_saphyr::from_str(yaml).map_err(|e| LoadError {
            source_name: source_name.to_string(),
            diagnostics: vec![yaml_diagnostic(&e)],
        })?;
        let mut cx = Compiler::default();
        let set = cx.document(doc);
        if cx.diagnostics.is_empty() {
            Ok(set)
        } else {
            cx.diagnostics.sort_by_key(|d| (d.line, d.column));
            Err(LoadError {
                source_name: source_name.to_string(),
                diagnostics: cx.diagnostics,
            })
        }
    }

    /// Reads and loads a policy file (the only I/O in this crate).
    pub fn from_file(path: impl AsRef<Path>) -> Result<PolicySet, LoadError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| LoadError {
            source_name: name.clone(),
            diagnostics: vec![Diagnostic {
                line: 0,
                column: 0,
                code: "policy.io",
                message: e.to_string(),
            }],
        })?;
        PolicySet::from_yaml_str(&text, &name)
    }

    /// A policy by name.
    pub fn get(&self, name: &str) -> Option<&Policy> {
        self.policies.get(name)
    }

    /// The public keys of the named policy's key authorities (for a chain policy: its inner
    /// policy's), deduplicated. A caller verifying a managed-key bundle for this policy tries
    /// these: trust-core needs the key to verify, the policy then decides.
    pub fn authority_keys(&self, name: &str) -> Vec<&PublicKey> {
        let policy = match self.policies.get(name).map(|p| &p.body) {
            Some(Body::Chain { inner }) => self.policies.get(inner),
            _ => self.policies.get(name),
        };
        let mut out: Vec<&PublicKey> = Vec::new();
        if let Some(Body::Rules(rules)) = policy.map(|p| &p.body) {
            for a in rules.iter().flat_map(|r| &r.authorities) {
                if let AuthorityKind::Key { key, .. } = &a.kind {
                    if !out.iter().any(|k| k.spki_der() == key.spki_der()) {
                        out.push(key);
                    }
                }
            }
        }
        out
    }

    /// Every policy, by name.
    pub fn policies(&self) -> impl Iterator<Item = &Policy> {
        self.policies.values()
    }
}

fn yaml_diagnostic(e: &serde_saphyr::Error) -> Diagnostic {
    let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
    let mut message = e.without_snippet().to_string();
    // The parser appends the position to its message; the diagnostic carries it already.
    let suffix = format!(" at line {line}, column {column}");
    if let Some(stripped) = message.strip_suffix(&suffix) {
        message = stripped.to_string();
    }
    Diagnostic {
        line,
        column,
        code: "policy.invalid_document",
        message,
    }
}

#[derive(Default)]
struct Compiler {
    diagnostics: Vec<Diagnostic>,
    checks: Vec<Check>,
    /// (field, is_regex, source) to check index.
    interned: HashMap<(Field, bool, String), usize>,
}

impl Compiler {
    fn error(&mut self, at: &Location, code: &'static str, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic {
            line: at.line(),
            column: at.column(),
            code,
            // One line per diagnostic.
            message: message.into().replace('\n', " "),
        });
    }

    fn document(&mut self, doc: Document) -> PolicySet {
        if doc.version.value != DOCUMENT_VERSION {
            self.error(
                &doc.version.referenced,
                "policy.unsupported_version",
                format!(
                    "unsupported version {}: this build reads version {DOCUMENT_VERSION}",
                    doc.version.value
                ),
            );
        }
        if doc.policies.value.is_empty() {
            self.error(&doc.policies.referenced, "policy.empty", "no policy defined");
        }
        let mut chains = Vec::new();
        let mut policies = BTreeMap::new();
        for (name, p) in doc.policies.value {
            let at = p.referenced;
            if name.trim().is_empty() {
                self.error(&at, "policy.empty_value", "a policy name must not be empty");
            }
            if let Some(compiled) = self.policy(&name, p.value, &at) {
                if let Body::Chain { inner } = &compiled.body {
                    chains.push((name.clone(), inner.clone(), at));
                }
                policies.insert(name, compiled);
            }
        }
        for (name, inner, at) in chains {
            match policies.get(&inner) {
                None => self.error(
                    &at,
                    "policy.unknown_policy",
                    format!("chain policy {name:?}: inner policy {inner:?} is not defined"),
                ),
                Some(p) if p.is_chain() => self.error(
                    &at,
                    "policy.invalid_chain",
                    format!("chain policy {name:?}: inner policy {inner:?} is itself a chain; it must have rules"),
                ),
                Some(_) => {}
            }
        }
        let mut checks = std::mem::take(&mut self.checks);
        let field_sets = build_field_sets(&mut checks);
        PolicySet {
            policies,
            checks,
            field_sets,
        }
    }

    fn policy(&mut self, name: &str, p: PolicyDoc, at: &Location) -> Option<Policy> {
        let mode = match p.mode {
            Some(doc::ModeDoc::Warn) => Mode::Warn,
            Some(doc::ModeDoc::Enforce) | None => Mode::Enforce,
        };
        let no_match = match p.no_match {
            Some(doc::NoMatchDoc::Allow) => NoMatch::Allow,
            Some(doc::NoMatchDoc::Warn) => NoMatch::Warn,
            Some(doc::NoMatchDoc::Deny) | None => NoMatch::Deny,
        };
        let body = match (p.rules, p.chain) {
            (Some(_), Some(chain)) => {
                self.error(
                    &chain.referenced,
                    "policy.conflict",
                    format!("policy {name:?}: give either rules or chain, not both"),
                );
                return None;
            }
            (None, None) => {
                self.error(
                    at,
                    "policy.unconstrained",
                    format!("policy {name:?} has neither rules nor chain: it would match everything"),
                );
                return None;
            }
            (None, Some(chain)) => {
                let inner = chain.value.inner;
                if inner.value.trim().is_empty() {
                    self.error(
                        &inner.referenced,
                        "policy.empty_value",
                        "chain.inner must name a policy",
                    );
                }
                Body::Chain { inner: inner.value }
            }
            (Some(rules), None) => {
                if rules.value.is_empty() {
                    self.error(
                        &rules.referenced,
                        "policy.unconstrained",
                        format!("policy {name:?} has no rules: it would match everything"),
                    );
                }
                let mut names = HashSet::new();
                let mut out = Vec::with_capacity(rules.value.len());
                for r in rules.value {
                    if !names.insert(r.value.name.value.clone()) {
                        self.error(
                            &r.value.name.referenced,
                            "policy.duplicate_name",
                            format!("duplicate rule name {:?}", r.value.name.value),
                        );
                    }
                    if let Some(rule) = self.rule(r.value, &r.referenced) {
                        out.push(rule);
                    }
                }
                Body::Rules(out)
            }
        };
        Some(Policy {
            name: name.to_string(),
            mode,
            no_match,
            body,
        })
    }

    fn rule(&mut self, r: RuleDoc, at: &Location) -> Option<Rule> {
        let name = r.name.value.clone();
        if name.trim().is_empty() {
            self.error(
                &r.name.referenced,
                "policy.empty_value",
                "a rule name must not be empty",
            );
        }
        let shorthand = r.identity.is_some() || r.issuer.is_some() || r.extensions.is_some();
        let mut authorities = Vec::new();
        // Authorities as written (some may fail to compile): the threshold is checked against these.
        let declared = match (&r.authorities, shorthand) {
            (Some(list), _) => list.value.len(),
            (None, true) => 1,
            (None, false) => 0,
        };
        match (shorthand, r.authorities) {
            (true, Some(list)) => self.error(
                &list.referenced,
                "policy.conflict",
                format!("rule {name:?}: give identity/issuer/extensions or authorities, not both"),
            ),
            (true, None) => {
                let a = AuthorityDoc {
                    name: Spanned {
                        value: name.clone(),
                        referenced: r.name.referenced,
                        defined: r.name.defined,
                    },
                    identity: r.identity,
                    issuer: r.issuer,
                    extensions: r.extensions,
                    key: None,
                    key_id: None,
                };
                authorities.extend(self.authority(a, &name, at));
            }
            (false, Some(list)) => {
                if list.value.is_empty() {
                    self.error(
                        &list.referenced,
                        "policy.unconstrained",
                        format!("rule {name:?}: empty authorities list"),
                    );
                }
                if list.value.len() > MAX_AUTHORITIES {
                    self.error(
                        &list.referenced,
                        "policy.too_many_authorities",
                        format!("rule {name:?}: at most {MAX_AUTHORITIES} authorities"),
                    );
                }
                let mut names = HashSet::new();
                for a in list.value {
                    if !names.insert(a.value.name.value.clone()) {
                        self.error(
                            &a.value.name.referenced,
                            "policy.duplicate_name",
                            format!("rule {name:?}: duplicate authority name {:?}", a.value.name.value),
                        );
                    }
                    authorities.extend(self.authority(a.value, &name, &a.referenced));
                }
            }
            (false, None) => self.error(
                at,
                "policy.unconstrained",
                format!(
                    "rule {name:?} constrains no signer (no identity, issuer, extensions or authorities): \
                     it would match everything"
                ),
            ),
        }

        let threshold = match &r.threshold {
            None => 1,
            Some(t) => {
                let k = usize::try_from(t.value).unwrap_or(usize::MAX);
                if k == 0 {
                    self.error(
                        &t.referenced,
                        "policy.invalid_threshold",
                        "threshold must be at least 1",
                    );
                }
                k
            }
        };

        let (mut artifact_types, mut subjects) = (None, None);
        if let Some(scope) = r.scope {
            let s = scope.value;
            if s.artifact_types.is_none() && s.subjects.is_none() {
                self.error(
                    &scope.referenced,
                    "policy.empty_value",
                    "scope needs artifact_types or subjects (leave scope out to apply the rule to every request)",
                );
            }
            if let Some(types) = s.artifact_types {
                if types.is_empty() {
                    self.error(&scope.referenced, "policy.empty_value", "scope.artifact_types is empty");
                }
                for t in &types {
                    if t.value.trim().is_empty() {
                        self.error(&t.referenced, "policy.empty_value", "empty artifact type");
                    }
                }
                artifact_types = Some(types.into_iter().map(|t| t.value).collect());
            }
            if let Some(list) = s.subjects {
                if list.is_empty() {
                    self.error(&scope.referenced, "policy.empty_value", "scope.subjects is empty");
                }
                let compiled: Vec<_> = list
                    .into_iter()
                    .filter_map(|m| self.matcher(m, "scope subject", true))
                    .collect();
                subjects = Some(compiled);
            }
        }

        let not_before = r.not_before.and_then(|t| self.time(t));
        let not_after = r.not_after.and_then(|t| self.time(t));
        if let (Some(b), Some(a)) = (not_before, not_after) {
            if b > a {
                self.error(
                    at,
                    "policy.invalid_time",
                    format!("rule {name:?}: not_before is after not_after"),
                );
            }
        }
        let max_age_secs = r.max_age.and_then(|d| match parse_duration(&d.value) {
            Some(s) => Some(s),
            None => {
                self.error(
                    &d.referenced,
                    "policy.invalid_duration",
                    format!(
                        "max_age {:?}: expected a positive integer with a unit s, m, h, d or w (e.g. 30d)",
                        d.value
                    ),
                );
                None
            }
        });

        let written = declared;
        if threshold > written && written > 0 {
            let t = r.threshold.as_ref().map_or(*at, |t| t.referenced);
            self.error(
                &t,
                "policy.invalid_threshold",
                format!("rule {name:?}: threshold {threshold} exceeds its {written} authorities"),
            );
        }
        let mode = r.mode.map(|m| match m {
            doc::ModeDoc::Enforce => Mode::Enforce,
            doc::ModeDoc::Warn => Mode::Warn,
        });
        Some(Rule {
            name: name.into(),
            mode,
            artifact_types,
            subjects,
            authorities,
            threshold,
            not_before,
            not_after,
            max_age_secs,
        })
    }

    fn authority(&mut self, a: AuthorityDoc, rule: &str, at: &Location) -> Option<Authority> {
        let name = a.name.value;
        if name.trim().is_empty() {
            self.error(
                &a.name.referenced,
                "policy.empty_value",
                "an authority name must not be empty",
            );
        }
        let keyless = a.identity.is_some() || a.issuer.is_some() || a.extensions.is_some();
        match (keyless, a.key) {
            (true, Some(key)) => {
                self.error(
                    &key.referenced,
                    "policy.conflict",
                    format!("rule {rule:?}, authority {name:?}: give a key or identity/issuer/extensions, not both"),
                );
                None
            }
            (false, None) => {
                let code = if a.key_id.is_some() {
                    "policy.missing_key"
                } else {
                    "policy.unconstrained"
                };
                self.error(
                    at,
                    code,
                    format!("rule {rule:?}, authority {name:?}: needs a key, or an identity and an issuer"),
                );
                None
            }
            (false, Some(pem)) => {
                let key = match PublicKey::from_pem(pem.value.trim()) {
                    Ok(k) => k,
                    Err(e) => {
                        self.error(
                            &pem.referenced,
                            "policy.invalid_key",
                            format!("authority {name:?}: {e}"),
                        );
                        return None;
                    }
                };
                let key_id = hex(&key.key_id());
                if let Some(asserted) = a.key_id {
                    let want = asserted.value.trim().to_ascii_lowercase();
                    let want = want.strip_prefix("sha256:").unwrap_or(&want);
                    if want != key_id {
                        self.error(
                            &asserted.referenced,
                            "policy.key_id_mismatch",
                            format!("authority {name:?}: key_id {want} does not match the key (its id is {key_id})"),
                        );
                    }
                }
                Some(Authority {
                    name,
                    kind: AuthorityKind::Key {
                        key_id,
                        key: Box::new(key),
                    },
                })
            }
            (true, None) => {
                if let Some(id) = &a.key_id {
                    self.error(
                        &id.referenced,
                        "policy.conflict",
                        format!("authority {name:?}: key_id without a key"),
                    );
                }
                let identity = match a.identity {
                    Some(m) => self.check(Field::Identity, m, "identity"),
                    None => {
                        self.error(
                            at,
                            "policy.missing_identity",
                            format!(
                                "rule {rule:?}, authority {name:?}: keyless signers need an identity \
                                 (use regex: \".*\" to accept any, explicitly)"
                            ),
                        );
                        None
                    }
                };
                let issuer = match a.issuer {
                    Some(m) => self.check(Field::Issuer, m, "issuer"),
                    None => {
                        self.error(
                            at,
                            "policy.missing_issuer",
                            format!("rule {rule:?}, authority {name:?}: keyless signers need an OIDC issuer"),
                        );
                        None
                    }
                };
                let extensions = match a.extensions {
                    Some(e) => self.extensions(e.value),
                    None => Some(Vec::new()),
                };
                Some(Authority {
                    name,
                    kind: AuthorityKind::Keyless {
                        identity: identity?,
                        issuer: issuer?,
                        extensions: extensions?,
                    },
                })
            }
        }
    }

    fn extensions(&mut self, e: ExtensionsDoc) -> Option<Vec<usize>> {
        let mut ok = true;
        let mut out = Vec::with_capacity(e.0.len());
        for (key, m) in e.0 {
            let ext = Extension::by_name(&key.value);
            if ext.is_none() {
                let hint = if key.value == "issuer" {
                    "the OIDC issuer is matched with `issuer`, not as an extension".to_string()
                } else {
                    let names: Vec<_> = EXTENSIONS.iter().map(Extension::name).collect();
                    format!("known: {}", names.join(", "))
                };
                self.error(
                    &key.referenced,
                    "policy.unknown_extension",
                    format!("unknown Fulcio extension {:?} ({hint})", key.value),
                );
                ok = false;
            }
            let what = format!("extension {}", key.value);
            match ext {
                Some(ext) => match self.check(Field::Extension(ext), m, &what) {
                    Some(id) => out.push(id),
                    None => ok = false,
                },
                None => {
                    // Still validate the matcher, to report its problems too.
                    let _ = self.matcher(m, &what, false);
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// Compiles a matcher for `field`, or reuses the identical one compiled before.
    fn check(&mut self, field: Field, m: Spanned<MatcherDoc>, what: &str) -> Option<usize> {
        let key = match (&m.value.exact, &m.value.regex) {
            (Some(e), None) if m.value.glob.is_none() => Some((field, false, e.value.clone())),
            (None, Some(r)) if m.value.glob.is_none() => Some((field, true, r.value.clone())),
            _ => None,
        };
        if let Some(id) = key.as_ref().and_then(|k| self.interned.get(k)) {
            return Some(*id);
        }
        let matcher = self.matcher(m, what, false)?;
        let id = self.checks.len();
        self.checks.push(Check {
            field,
            matcher,
            set: None,
        });
        if let Some(k) = key {
            self.interned.insert(k, id);
        }
        Some(id)
    }

    fn matcher(&mut self, m: Spanned<MatcherDoc>, what: &str, glob_allowed: bool) -> Option<Matcher> {
        let d = m.value;
        let given = usize::from(d.exact.is_some()) + usize::from(d.regex.is_some()) + usize::from(d.glob.is_some());
        if given != 1 {
            let kinds = if glob_allowed {
                "exact, regex or glob"
            } else {
                "exact or regex"
            };
            self.error(
                &m.referenced,
                "policy.invalid_matcher",
                format!("{what}: give exactly one of {kinds}"),
            );
            return None;
        }
        if let Some(g) = &d.glob {
            if !glob_allowed {
                self.error(
                    &g.referenced,
                    "policy.invalid_matcher",
                    format!("{what}: glob is only for scope subjects; use regex"),
                );
                return None;
            }
        }
        let (value, pattern) = match (d.exact, d.regex, d.glob) {
            (Some(e), _, _) => (e, None),
            (_, Some(r), _) => {
                let p = r.value.clone();
                (r, Some(p))
            }
            (_, _, Some(g)) => {
                let p = glob_to_regex(&g.value);
                (g, Some(p))
            }
            (None, None, None) => return None,
        };
        if value.value.is_empty() {
            self.error(&value.referenced, "policy.empty_value", format!("{what}: empty value"));
            return None;
        }
        let compiled = match &pattern {
            None => Matcher::exact(value.value.clone()),
            Some(p) => Matcher::regex(p),
        };
        match compiled {
            Ok(m) => Some(m),
            Err(e) => {
                let (code, message) = match &pattern {
                    // The regex crate's message spans lines (pattern, caret, error): keep the error.
                    Some(p) => {
                        let detail = e.to_string();
                        let last = detail.lines().last().unwrap_or_default().trim();
                        let last = last.strip_prefix("error: ").unwrap_or(last);
                        ("policy.invalid_regex", format!("{what}: invalid regex {p:?}: {last}"))
                    }
                    None => ("policy.empty_value", format!("{what}: {e}")),
                };
                self.error(&value.referenced, code, message);
                None
            }
        }
    }

    fn time(&mut self, t: Spanned<String>) -> Option<UnixTime> {
        match UnixTime::parse_rfc3339(t.value.trim()) {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(&t.referenced, "policy.invalid_time", e.to_string());
                None
            }
        }
    }
}

/// `30s`, `15m`, `12h`, `90d`, `2w` to seconds; `None` for anything else (including zero).
pub(crate) fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n: i64 = s[..s.len() - unit.len_utf8()].parse().ok()?;
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return None,
    };
    if n <= 0 {
        return None;
    }
    n.checked_mul(mult)
}

/// A subject glob as an (anchored at compile) regex: `**` any characters, `*` any except `/`,
/// `?` one character except `/`; everything else literal.
pub(crate) fn glob_to_regex(glob: &str) -> String {
    let mut out = String::with_capacity(glob.len() * 2);
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                out.push_str(".*");
            }
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            c => out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    out
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use trust_core::policy::StringMatcher;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30d"), Some(30 * 86_400));
        assert_eq!(parse_duration("45s"), Some(45));
        assert_eq!(parse_duration("2w"), Some(1_209_600));
        assert_eq!(parse_duration("0d"), None);
        assert_eq!(parse_duration("-1d"), None);
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("d"), None);
        assert_eq!(parse_duration("5y"), None);
    }

    #[test]
    fn globs_are_literal_except_wildcards() {
        let m = StringMatcher::regex(&glob_to_regex("ghcr.io/certus/*")).unwrap();
        assert!(m.is_match("ghcr.io/certus/app"));
        assert!(!m.is_match("ghcr.io/certus/app/sub"));
        assert!(!m.is_match("ghcrxio/certus/app"), "the dot is literal");
        assert!(!m.is_match("evil/ghcr.io/certus/app"), "anchored at the start");
        let m = StringMatcher::regex(&glob_to_regex("ghcr.io/**")).unwrap();
        assert!(m.is_match("ghcr.io/certus/app/sub"));
        let m = StringMatcher::regex(&glob_to_regex("v?.tar")).unwrap();
        assert!(m.is_match("v1.tar"));
        assert!(!m.is_match("v12.tar"));
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex(&[0x00, 0xab, 0x9f]), "00ab9f");
    }
}

#[cfg(test)]
mod interning_tests {
    use super::*;

    #[test]
    fn identical_checks_are_compiled_once_per_field() {
        let yaml = "version: 1
policies:
  a:
    rules:
      - {name: r1, identity: {regex: \"x.*\"}, issuer: {exact: i}}
      - {name: r2, identity: {regex: \"x.*\"}, issuer: {exact: i}, extensions: {build_trigger: {regex: \"x.*\"}}}
  b:
    rules:
      - {name: r3, identity: {regex: \"y.*\"}, issuer: {exact: i}}
      - {name: r4, identity: {exact: \"x.*\"}, issuer: {exact: i}}
";
        let set = PolicySet::from_yaml_str(yaml, "t").unwrap();
        // identity regex x.*, issuer exact i, build_trigger regex x.*, identity regex y.*, identity exact x.*
        assert_eq!(set.checks.len(), 5);
        // The two identity regexes form one set; build_trigger has a single regex: no set.
        assert_eq!(set.field_sets.len(), 1);
        assert_eq!(set.field_sets[0].checks.len(), 2);
    }
}
