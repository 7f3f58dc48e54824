//! String matchers with a literal-prefix prefilter, and the interned checks evaluation memoises.

use crate::extension::Extension;
use trust_core::policy::StringMatcher;
use trust_core::x509::FulcioExtensions;

/// An exact or anchored-regex matcher (trust-core's [`StringMatcher`]: regexes compile as
/// `^(?:...)$`), plus the literal prefix every match must start with. The prefix is a cheap
/// `starts_with` that rejects most non-matching values (other organisations, other registries)
/// before the regex runs; it can only reject, never accept.
#[derive(Debug)]
pub(crate) struct Matcher {
    inner: StringMatcher,
    prefix: Box<str>,
    /// The pattern as written, for regexes.
    source: Option<Box<str>>,
    /// What failures print as "expected", computed once.
    description: Box<str>,
}

impl Matcher {
    pub fn exact(value: String) -> Result<Matcher, trust_core::policy::PolicyError> {
        let inner = StringMatcher::exact(value)?;
        Ok(Matcher {
            description: inner.describe().into(),
            inner,
            prefix: "".into(),
            source: None,
        })
    }

    pub fn regex(pattern: &str) -> Result<Matcher, trust_core::policy::PolicyError> {
        let inner = StringMatcher::regex(pattern)?;
        Ok(Matcher {
            description: inner.describe().into(),
            inner,
            prefix: literal_prefix(pattern).into(),
            source: Some(pattern.into()),
        })
    }

    #[inline]
    pub fn is_match(&self, value: &str) -> bool {
        value.starts_with(&*self.prefix) && self.inner.is_match(value)
    }

    pub fn describe(&self) -> &str {
        &self.description
    }

    /// The regex as written (unanchored), `None` for exact matchers.
    pub fn regex_source(&self) -> Option<&str> {
        self.source.as_deref()
    }
}

/// The literal text every match of `pattern` starts with (possibly empty). Conservative: it
/// stops at the first construct it does not read as a plain literal, drops a literal made
/// optional by a following `?`, `*` or `{`, and gives up on any alternation.
pub(crate) fn literal_prefix(pattern: &str) -> String {
    if pattern.contains('|') {
        return String::new();
    }
    let mut out = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        let literal = match c {
            '\\' => match chars.peek() {
                // An escaped punctuation character is itself; `\d`, `\w`, `\b`, `\p`... are classes.
                Some(&n) if n.is_ascii_punctuation() => {
                    chars.next();
                    n
                }
                _ => break,
            },
            '.' | '^' | '$' | '(' | ')' | '[' | ']' | '{' | '}' | '*' | '+' | '?' => break,
            // Whitespace is literal unless the `x` flag is on, which needs `(?x)`: stopped above.
            c => c,
        };
        match chars.peek() {
            // The literal is optional or repeated from zero: not part of every match.
            Some('?' | '*' | '{') => break,
            // At least once: keep it, but what follows is a repetition.
            Some('+') => {
                out.push(literal);
                break;
            }
            _ => out.push(literal),
        }
    }
    out
}

/// What a check looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Field {
    Identity,
    Issuer,
    Extension(Extension),
}

impl std::hash::Hash for Extension {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

/// One (field, matcher) pair, shared by every authority that states it: evaluation runs each
/// distinct check at most once per verification result.
#[derive(Debug)]
pub(crate) struct Check {
    pub field: Field,
    pub matcher: Matcher,
    /// The [`FieldSet`] this regex check belongs to, if any.
    pub set: Option<usize>,
}

/// Every regex check on one field, compiled together: one pass over the field's value answers
/// all of them (a policy whose 50 rules each carry their own identity regex reads the identity
/// once, not 50 times).
#[derive(Debug)]
pub(crate) struct FieldSet {
    pub set: regex::RegexSet,
    /// Check index of each pattern, in set order.
    pub checks: Vec<usize>,
}

/// Groups the regex checks of each field with at least two of them into [`FieldSet`]s.
pub(crate) fn build_field_sets(checks: &mut [Check]) -> Vec<FieldSet> {
    let mut by_field: Vec<(Field, Vec<usize>)> = Vec::new();
    for (i, c) in checks.iter().enumerate() {
        if c.matcher.regex_source().is_none() {
            continue;
        }
        match by_field.iter_mut().find(|(f, _)| *f == c.field) {
            Some((_, ids)) => ids.push(i),
            None => by_field.push((c.field, vec![i])),
        }
    }
    let mut sets = Vec::new();
    for (_, ids) in by_field.into_iter().filter(|(_, ids)| ids.len() >= 2) {
        // Each pattern anchored exactly as trust-core anchors a single regex.
        let patterns = ids
            .iter()
            .filter_map(|&i| checks[i].matcher.regex_source().map(|p| format!("^(?:{p})$")));
        // A set that does not build (size limits) leaves its checks to run one by one.
        if let Ok(set) = regex::RegexSet::new(patterns) {
            for &i in &ids {
                checks[i].set = Some(sets.len());
            }
            sets.push(FieldSet { set, checks: ids });
        }
    }
    sets
}

impl Check {
    /// The value the check reads from a certificate signer.
    #[inline]
    pub fn value<'a>(&self, identity: &'a str, issuer: Option<&'a str>, ext: &'a FulcioExtensions) -> Option<&'a str> {
        match self.field {
            Field::Identity => Some(identity),
            Field::Issuer => issuer,
            Field::Extension(e) => e.value(ext),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_conservative() {
        assert_eq!(literal_prefix(r"https://github\.com/org/.*"), "https://github.com/org/");
        assert_eq!(literal_prefix(".*@certus.cloud"), "");
        assert_eq!(literal_prefix("abc?"), "ab");
        assert_eq!(literal_prefix("abc*"), "ab");
        assert_eq!(literal_prefix("abc{0,2}"), "ab");
        assert_eq!(literal_prefix("abc+d"), "abc");
        assert_eq!(literal_prefix("a|b"), "");
        assert_eq!(literal_prefix("(?i)abc"), "");
        assert_eq!(literal_prefix(r"a\d"), "a");
        assert_eq!(literal_prefix(r"ref/\w+"), "ref/");
        assert_eq!(literal_prefix("refs/(heads|tags)/x"), "");
        assert_eq!(literal_prefix(r"ghcr\.io/certus/[^/]*"), "ghcr.io/certus/");
        assert_eq!(literal_prefix("héllo.*"), "héllo");
    }

    #[test]
    fn the_prefilter_never_changes_the_answer() {
        let cases = [
            (r"https://github\.com/org/.*", "https://github.com/org/x", true),
            (r"https://github\.com/org/.*", "https://github.com/other/x", false),
            ("abc?d", "abd", true),
            ("abc*d", "abd", true),
            ("abc{0,2}d", "abd", true),
            ("abc+d", "abccd", true),
            (r"a\d+", "a12", true),
            (".*@certus.cloud", "x@certus.cloud", true),
            (".*@certus.cloud", "x@certus.cloud.evil.com", false),
        ];
        for (pattern, value, expected) in cases {
            let m = Matcher::regex(pattern).unwrap();
            let plain = StringMatcher::regex(pattern).unwrap();
            assert_eq!(m.is_match(value), expected, "{pattern} {value}");
            assert_eq!(plain.is_match(value), expected, "{pattern} {value}");
        }
    }
}
