//! Fulcio certificate extensions by name: the names a policy may use, mapped to the fields of
//! [`trust_core::x509::FulcioExtensions`]. The names are the field names (Fulcio's
//! `docs/oid-info.md` names in snake_case); the OIDC issuer is matched with a rule's `issuer`.

use trust_core::x509::FulcioExtensions;

type Getter = fn(&FulcioExtensions) -> Option<&String>;

/// A Fulcio extension a policy can match.
#[derive(Clone, Copy)]
pub struct Extension {
    name: &'static str,
    oid: &'static str,
    get: Getter,
}

impl std::fmt::Debug for Extension {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for Extension {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Extension {}

macro_rules! extensions {
    ($($field:ident = $oid:literal),* $(,)?) => {
        /// Every matchable extension, in OID order.
        pub const EXTENSIONS: &[Extension] = &[
            $(Extension { name: stringify!($field), oid: $oid, get: |e| e.$field.as_ref() },)*
        ];
        // Compile-time guard: naming every field of FulcioExtensions (except the issuer, matched
        // separately) here fails to build when trust-core adds one, so the list cannot fall behind.
        #[allow(dead_code, reason = "exhaustiveness check only")]
        fn exhaustive(e: FulcioExtensions) {
            let FulcioExtensions { issuer: _, $($field: _),* } = e;
        }
    };
}

extensions! {
    github_workflow_trigger = "1.3.6.1.4.1.57264.1.2",
    github_workflow_sha = "1.3.6.1.4.1.57264.1.3",
    github_workflow_name = "1.3.6.1.4.1.57264.1.4",
    github_workflow_repository = "1.3.6.1.4.1.57264.1.5",
    github_workflow_ref = "1.3.6.1.4.1.57264.1.6",
    build_signer_uri = "1.3.6.1.4.1.57264.1.9",
    build_signer_digest = "1.3.6.1.4.1.57264.1.10",
    runner_environment = "1.3.6.1.4.1.57264.1.11",
    source_repository_uri = "1.3.6.1.4.1.57264.1.12",
    source_repository_digest = "1.3.6.1.4.1.57264.1.13",
    source_repository_ref = "1.3.6.1.4.1.57264.1.14",
    source_repository_identifier = "1.3.6.1.4.1.57264.1.15",
    source_repository_owner_uri = "1.3.6.1.4.1.57264.1.16",
    source_repository_owner_identifier = "1.3.6.1.4.1.57264.1.17",
    build_config_uri = "1.3.6.1.4.1.57264.1.18",
    build_config_digest = "1.3.6.1.4.1.57264.1.19",
    build_trigger = "1.3.6.1.4.1.57264.1.20",
    run_invocation_uri = "1.3.6.1.4.1.57264.1.21",
    source_repository_visibility_at_signing = "1.3.6.1.4.1.57264.1.22",
    deployment_environment = "1.3.6.1.4.1.57264.1.23",
}

impl Extension {
    /// Looks an extension up by its policy name.
    pub fn by_name(name: &str) -> Option<Extension> {
        EXTENSIONS.iter().find(|e| e.name == name).copied()
    }

    /// The policy name (the `FulcioExtensions` field name).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The dotted OID.
    pub fn oid(&self) -> &'static str {
        self.oid
    }

    /// The extension's value in a decoded certificate, if present.
    pub fn value<'a>(&self, extensions: &'a FulcioExtensions) -> Option<&'a str> {
        (self.get)(extensions).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_map_to_their_own_field() {
        let e = FulcioExtensions {
            source_repository_ref: Some("refs/heads/main".into()),
            github_workflow_ref: Some("other".into()),
            ..FulcioExtensions::default()
        };
        let ext = Extension::by_name("source_repository_ref").unwrap();
        assert_eq!(ext.value(&e), Some("refs/heads/main"));
        assert_eq!(ext.oid(), "1.3.6.1.4.1.57264.1.14");
        assert!(Extension::by_name("issuer").is_none());
        assert!(Extension::by_name("nope").is_none());
        let mut names: Vec<_> = EXTENSIONS.iter().map(Extension::name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 20);
    }
}
