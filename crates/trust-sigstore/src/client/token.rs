//! The service's own OIDC identity token: where it comes from ([`TokenSource`]) and what it
//! claims ([`TokenClaims`], read *unverified*: Fulcio verifies the token, this side only reports
//! the issuer and identity, and refuses a token that has already expired).
//!
//! A file source is re-read whenever its modification time or length changes (a Kubernetes
//! projected service-account token is rotated in place), so a long-running server always sends
//! the current token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;
use trust_core::time::UnixTime;

/// A token that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token source could not be read.
    #[error("identity token {source_name}: {detail}")]
    Unavailable {
        /// The file or variable.
        source_name: String,
        /// What went wrong.
        detail: String,
    },
    /// Not a JWT with the claims Sigstore needs.
    #[error("identity token is malformed: {0}")]
    Malformed(String),
    /// The token's `exp` has passed.
    #[error("identity token expired at {expired_at} (now {now})")]
    Expired {
        /// Its `exp`.
        expired_at: UnixTime,
        /// The time it was checked.
        now: UnixTime,
    },
}

impl TokenError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Unavailable { .. } => "token.unavailable",
            TokenError::Malformed(_) => "token.malformed",
            TokenError::Expired { .. } => "token.expired",
        }
    }
}

/// The claims of an identity token, read without verifying its signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenClaims {
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// `email`, if present.
    pub email: Option<String>,
    /// `aud` (one or several).
    pub audience: Vec<String>,
    /// `exp`.
    pub expires_at: Option<UnixTime>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct RawClaims {
    iss: Option<String>,
    sub: Option<String>,
    email: Option<String>,
    aud: Option<Audience>,
    exp: Option<f64>,
}

impl TokenClaims {
    /// Parses the payload of a compact JWT (`header.payload.signature`) without verifying it.
    pub fn parse_unverified(jwt: &str) -> Result<TokenClaims, TokenError> {
        let mut parts = jwt.trim().split('.');
        let (Some(_), Some(payload), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(TokenError::Malformed(
                "not a compact JWT (three dot-separated parts)".into(),
            ));
        };
        let json = URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .map_err(|e| TokenError::Malformed(format!("payload is not base64url: {e}")))?;
        let raw: RawClaims =
            serde_json::from_slice(&json).map_err(|e| TokenError::Malformed(format!("payload: {e}")))?;
        let issuer = raw
            .iss
            .filter(|s| !s.is_empty())
            .ok_or_else(|| TokenError::Malformed("no iss claim".into()))?;
        let subject = raw
            .sub
            .filter(|s| !s.is_empty())
            .ok_or_else(|| TokenError::Malformed("no sub claim".into()))?;
        let expires_at = match raw.exp {
            Some(e) if e.is_finite() && e >= 0.0 => Some(UnixTime::from_secs(e as i64)),
            Some(_) => return Err(TokenError::Malformed("exp is not a valid time".into())),
            None => None,
        };
        Ok(TokenClaims {
            issuer,
            subject,
            email: raw.email.filter(|s| !s.is_empty()),
            audience: match raw.aud {
                None => Vec::new(),
                Some(Audience::One(a)) => vec![a],
                Some(Audience::Many(a)) => a,
            },
            expires_at,
        })
    }

    /// The identity Fulcio certifies and the proof of possession signs: the email when there is
    /// one, else the subject.
    pub fn identity(&self) -> &str {
        self.email.as_deref().unwrap_or(&self.subject)
    }

    /// Fails with [`TokenError::Expired`] if `exp` is at or before `now`.
    pub fn check_not_expired(&self, now: UnixTime) -> Result<(), TokenError> {
        match self.expires_at {
            Some(exp) if exp <= now => Err(TokenError::Expired { expired_at: exp, now }),
            _ => Ok(()),
        }
    }
}

/// An identity token with its parsed claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityToken {
    /// The compact JWT.
    pub jwt: String,
    /// Its claims (unverified).
    pub claims: TokenClaims,
}

impl IdentityToken {
    /// Parses `jwt` and checks it has not expired at `now`.
    pub fn parse(jwt: &str, now: UnixTime) -> Result<IdentityToken, TokenError> {
        let claims = TokenClaims::parse_unverified(jwt)?;
        claims.check_not_expired(now)?;
        Ok(IdentityToken {
            jwt: jwt.trim().to_string(),
            claims,
        })
    }
}

/// Where the identity token comes from.
#[derive(Debug)]
pub enum TokenSource {
    /// A fixed token.
    Static(String),
    /// An environment variable, read on each use.
    Env(String),
    /// A file, re-read whenever its modification time or length changes.
    File {
        /// The path.
        path: PathBuf,
        /// The last read: (mtime, len, contents).
        cache: Mutex<Option<(SystemTime, u64, String)>>,
    },
}

impl TokenSource {
    /// A file source (Kubernetes projected token style).
    pub fn file(path: impl Into<PathBuf>) -> TokenSource {
        TokenSource::File {
            path: path.into(),
            cache: Mutex::new(None),
        }
    }

    /// The current token, parsed and checked against `now`.
    pub fn token(&self, now: UnixTime) -> Result<IdentityToken, TokenError> {
        let jwt = match self {
            TokenSource::Static(t) => t.clone(),
            TokenSource::Env(var) => std::env::var(var).map_err(|e| TokenError::Unavailable {
                source_name: format!("environment variable {var}"),
                detail: e.to_string(),
            })?,
            TokenSource::File { path, cache } => {
                let unavailable = |detail: String| TokenError::Unavailable {
                    source_name: path.display().to_string(),
                    detail,
                };
                let meta = std::fs::metadata(path).map_err(|e| unavailable(e.to_string()))?;
                let stamp = (meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), meta.len());
                let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
                match &*cache {
                    Some((mtime, len, text)) if (*mtime, *len) == stamp => text.clone(),
                    _ => {
                        let text = std::fs::read_to_string(path).map_err(|e| unavailable(e.to_string()))?;
                        *cache = Some((stamp.0, stamp.1, text.clone()));
                        text
                    }
                }
            }
        };
        if jwt.trim().is_empty() {
            return Err(TokenError::Malformed("empty token".into()));
        }
        IdentityToken::parse(&jwt, now)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An (unsigned-for-this-purpose) compact JWT with `claims`; the signature part is opaque here.
    pub(crate) fn jwt(claims: &serde_json::Value) -> String {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let p = URL_SAFE_NO_PAD.encode(claims.to_string());
        format!("{h}.{p}.c2ln")
    }

    fn now() -> UnixTime {
        UnixTime::from_secs(1_800_000_000)
    }

    #[test]
    fn claims_identity_and_expiry() {
        let t = jwt(
            &json!({"iss": "https://issuer", "sub": "123", "email": "a@b.c", "aud": "sigstore", "exp": 1_800_000_100}),
        );
        let tok = IdentityToken::parse(&t, now()).unwrap();
        assert_eq!(tok.claims.issuer, "https://issuer");
        assert_eq!(tok.claims.identity(), "a@b.c");
        assert_eq!(tok.claims.audience, ["sigstore"]);
        let t = jwt(&json!({"iss": "https://k8s", "sub": "system:serviceaccount:ns:sa", "aud": ["a", "b"]}));
        let tok = IdentityToken::parse(&t, now()).unwrap();
        assert_eq!(tok.claims.identity(), "system:serviceaccount:ns:sa");
        assert_eq!(tok.claims.audience, ["a", "b"]);

        let t = jwt(&json!({"iss": "https://issuer", "sub": "x", "exp": 1_799_999_999}));
        let err = IdentityToken::parse(&t, now()).unwrap_err();
        assert_eq!(err.code(), "token.expired");
        assert_eq!(
            err.to_string(),
            "identity token expired at 2027-01-15T07:59:59Z (now 2027-01-15T08:00:00Z)"
        );
    }

    #[test]
    fn malformed_tokens() {
        for (t, why) in [
            ("abc".to_string(), "three"),
            ("a.!!!.c".to_string(), "base64url"),
            (jwt(&json!({"sub": "x"})), "no iss"),
            (jwt(&json!({"iss": "i"})), "no sub"),
            (jwt(&json!({"iss": "i", "sub": "s", "exp": "soon"})), "payload"),
        ] {
            let err = IdentityToken::parse(&t, now()).unwrap_err();
            assert_eq!(err.code(), "token.malformed");
            assert!(err.to_string().contains(why), "{err}");
        }
    }

    #[test]
    fn file_source_rereads_on_change() {
        let dir = crate::embedded::testutil::temp_dir("token");
        let path = dir.join("token");
        let src = TokenSource::file(&path);
        assert_eq!(src.token(now()).unwrap_err().code(), "token.unavailable");
        std::fs::write(&path, jwt(&json!({"iss": "https://k8s", "sub": "first"}))).unwrap();
        assert_eq!(src.token(now()).unwrap().claims.subject, "first");
        // Rotated in place (different length, so detected even within one mtime tick).
        std::fs::write(&path, jwt(&json!({"iss": "https://k8s", "sub": "second-token"}))).unwrap();
        assert_eq!(src.token(now()).unwrap().claims.subject, "second-token");
        // Unchanged: served from the cache.
        assert_eq!(src.token(now()).unwrap().claims.subject, "second-token");
        std::fs::write(&path, "").unwrap();
        assert_eq!(src.token(now()).unwrap_err().code(), "token.malformed");
    }

    #[test]
    fn env_and_static_sources() {
        let var = "CERTUS_TEST_IDENTITY_TOKEN_ENV";
        let src = TokenSource::Env(var.into());
        assert_eq!(src.token(now()).unwrap_err().code(), "token.unavailable");
        let t = jwt(&json!({"iss": "https://ci", "sub": "job"}));
        // Safe: this variable is used by this test only.
        std::env::set_var(var, &t);
        assert_eq!(src.token(now()).unwrap().claims.issuer, "https://ci");
        std::env::remove_var(var);
        assert_eq!(TokenSource::Static(t).token(now()).unwrap().claims.subject, "job");
    }
}
