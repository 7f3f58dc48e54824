//! DSSE (Dead Simple Signing Envelope) pre-authentication encoding and in-toto statements.

use crate::crypto::{Digest, HashAlgorithm};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The in-toto payload type.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// DSSE v1 pre-authentication encoding: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// A statement that does not parse, or that does not name the artifact.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatementError {
    /// The envelope payload type is not in-toto.
    #[error("unsupported DSSE payload type {0:?} (expected {IN_TOTO_PAYLOAD_TYPE})")]
    UnsupportedPayloadType(String),
    /// The payload is not an in-toto statement.
    #[error("malformed in-toto statement: {0}")]
    Malformed(String),
}

/// One subject of an in-toto statement.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Subject {
    /// Subject name.
    #[serde(default)]
    pub name: String,
    /// Digests by algorithm name (`sha256` -> hex).
    #[serde(default)]
    pub digest: BTreeMap<String, String>,
}

/// The parts of an in-toto statement (v0.1 or v1) that verification needs.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Statement {
    /// `_type`, for example `https://in-toto.io/Statement/v1`.
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// Subjects.
    pub subject: Vec<Subject>,
    /// `predicateType`.
    #[serde(rename = "predicateType", default)]
    pub predicate_type: String,
}

impl Statement {
    /// Parses an in-toto statement from a DSSE payload of the in-toto payload type.
    pub fn from_envelope(payload_type: &str, payload: &[u8]) -> Result<Statement, StatementError> {
        if payload_type != IN_TOTO_PAYLOAD_TYPE {
            return Err(StatementError::UnsupportedPayloadType(
                payload_type.chars().take(100).collect(),
            ));
        }
        let st: Statement = serde_json::from_slice(payload).map_err(|e| StatementError::Malformed(e.to_string()))?;
        if !st.statement_type.starts_with("https://in-toto.io/Statement/") {
            return Err(StatementError::Malformed(format!(
                "unknown _type {:?}",
                st.statement_type
            )));
        }
        if st.subject.is_empty() {
            return Err(StatementError::Malformed("no subject".into()));
        }
        Ok(st)
    }

    /// The first subject whose digest for `digest`'s algorithm equals it (hex compared case-insensitively).
    pub fn subject_matching(&self, digest: &Digest) -> Option<&Subject> {
        let name = digest.algorithm().name();
        self.subject.iter().find(|s| {
            s.digest
                .get(name)
                .and_then(|h| hex::decode(h).ok())
                .is_some_and(|raw| raw == digest.as_bytes())
        })
    }

    /// The digests the statement names for its subjects with a given algorithm.
    pub fn subject_digests(&self, algorithm: HashAlgorithm) -> impl Iterator<Item = Digest> + '_ {
        self.subject.iter().filter_map(move |s| {
            let raw = hex::decode(s.digest.get(algorithm.name())?).ok()?;
            Digest::new(algorithm, &raw)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_spec_example() {
        // From the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn statement_subject_matching() {
        let payload = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"A0CFC71271D6E278E57CD332FF957C3F7043FDDA354C4CBB190A30D56EFA01BF"}}],"predicateType":"x","predicate":{}}"#;
        let st = Statement::from_envelope(IN_TOTO_PAYLOAD_TYPE, payload).unwrap();
        let d =
            Digest::parse_prefixed("sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf").unwrap();
        assert_eq!(st.subject_matching(&d).map(|s| s.name.as_str()), Some("a"));
        let other = HashAlgorithm::Sha256.hash(b"other");
        assert!(st.subject_matching(&other).is_none());
        assert!(matches!(
            Statement::from_envelope("text/plain", payload),
            Err(StatementError::UnsupportedPayloadType(_))
        ));
        assert!(matches!(
            Statement::from_envelope(IN_TOTO_PAYLOAD_TYPE, b"{}"),
            Err(StatementError::Malformed(_))
        ));
    }
}
