//! The policy document as written (YAML), before validation. Every value that validation may
//! reject is [`Spanned`], so its error can name the line and column.

use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Document {
    pub version: Spanned<u32>,
    pub policies: Spanned<BTreeMap<String, Spanned<PolicyDoc>>>,
}

/// `enforce` or `warn`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ModeDoc {
    Enforce,
    Warn,
}

/// `deny`, `allow` or `warn`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum NoMatchDoc {
    Deny,
    Allow,
    Warn,
}

/// One named policy: rules, or a chain.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyDoc {
    #[serde(default)]
    #[allow(dead_code, reason = "documentation only, kept for lint and future display")]
    pub description: Option<String>,
    pub mode: Option<ModeDoc>,
    pub no_match: Option<NoMatchDoc>,
    pub rules: Option<Spanned<Vec<Spanned<RuleDoc>>>>,
    pub chain: Option<Spanned<ChainDoc>>,
}

/// The chain rule: inner signer by policy `inner`, outer signer the service itself.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChainDoc {
    pub inner: Spanned<String>,
}

/// A rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleDoc {
    pub name: Spanned<String>,
    #[serde(default)]
    #[allow(dead_code, reason = "documentation only")]
    pub description: Option<String>,
    pub mode: Option<ModeDoc>,
    pub scope: Option<Spanned<ScopeDoc>>,
    // Shorthand for a single keyless authority named after the rule.
    pub identity: Option<Spanned<MatcherDoc>>,
    pub issuer: Option<Spanned<MatcherDoc>>,
    pub extensions: Option<Spanned<ExtensionsDoc>>,
    pub authorities: Option<Spanned<Vec<Spanned<AuthorityDoc>>>>,
    pub threshold: Option<Spanned<u32>>,
    pub not_before: Option<Spanned<String>>,
    pub not_after: Option<Spanned<String>>,
    pub max_age: Option<Spanned<String>>,
}

/// Which requests a rule applies to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScopeDoc {
    pub artifact_types: Option<Vec<Spanned<String>>>,
    pub subjects: Option<Vec<Spanned<MatcherDoc>>>,
}

/// A signer the rule accepts: keyless (identity, issuer, extensions) or a public key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthorityDoc {
    pub name: Spanned<String>,
    pub identity: Option<Spanned<MatcherDoc>>,
    pub issuer: Option<Spanned<MatcherDoc>>,
    pub extensions: Option<Spanned<ExtensionsDoc>>,
    pub key: Option<Spanned<String>>,
    pub key_id: Option<Spanned<String>>,
}

/// `{exact: ...}`, `{regex: ...}` or (scope subjects only) `{glob: ...}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MatcherDoc {
    pub exact: Option<Spanned<String>>,
    pub regex: Option<Spanned<String>>,
    pub glob: Option<Spanned<String>>,
}

/// Fulcio extension name to matcher, in file order, keys with their location.
#[derive(Debug)]
pub(crate) struct ExtensionsDoc(pub Vec<(Spanned<String>, Spanned<MatcherDoc>)>);

impl<'de> Deserialize<'de> for ExtensionsDoc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ExtensionsDoc;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a mapping of Fulcio extension names to matchers")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<ExtensionsDoc, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    out.push((key, map.next_value()?));
                }
                Ok(ExtensionsDoc(out))
            }
        }
        d.deserialize_map(Visitor)
    }
}
