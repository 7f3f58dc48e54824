//! RFC 3161 timestamp client: `POST application/timestamp-query` to a TSA URL.
//!
//! The request carries a SHA-256 imprint of the signature bytes, a random 64-bit nonce and
//! `certReq = true`. The response must be granted, echo the nonce and the imprint, and its token
//! must verify against the trusted root's timestamp authorities (trust-core's
//! [`verify_timestamp`]) before the token is returned.

use super::error::ClientError;
use super::http::{HttpClient, Idempotency, Service};
use der::asn1::{Any, ObjectIdentifier, OctetString};
use der::{Decode, Encode, Reader, Sequence, SliceReader, Tag, Tagged};
use std::sync::Arc;
use trust_core::crypto::sha256;
use trust_core::time::UnixTime;
use trust_core::timestamp::{verify_timestamp, TimestampAuthorities};
use trust_core::trust_root::TrustedRoot;
use x509_cert::spki::AlgorithmIdentifierOwned;

const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
struct MessageImprint {
    hash_algorithm: AlgorithmIdentifierOwned,
    hashed_message: OctetString,
}

#[derive(Clone, Debug, Sequence)]
struct TimeStampReq {
    version: u8,
    message_imprint: MessageImprint,
    nonce: der::asn1::Uint,
    cert_req: bool,
}

/// A verified timestamp token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTimestamp {
    /// The DER `TimeStampToken` (CMS ContentInfo).
    pub token_der: Vec<u8>,
    /// The whole DER `TimeStampResp` as received: what a bundle's
    /// `rfc3161Timestamps[].signedTimestamp` holds (protobuf-specs; sigstore-python parses it so).
    pub response_der: Vec<u8>,
    /// Its genTime.
    pub time: UnixTime,
}

/// A DER `TimeStampReq` for the SHA-256 of `data` with `nonce` (big-endian, unsigned) and
/// `certReq = true`.
pub fn build_request(data: &[u8], nonce: &[u8]) -> Result<Vec<u8>, der::Error> {
    TimeStampReq {
        version: 1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: OID_SHA256,
                parameters: None,
            },
            hashed_message: OctetString::new(sha256(data).to_vec())?,
        },
        nonce: der::asn1::Uint::new(nonce)?,
        cert_req: true,
    }
    .to_der()
}

/// The parts of a `TSTInfo` checked against the request.
struct TstSummary {
    imprint: MessageImprint,
    nonce: Option<Vec<u8>>,
}

/// `TimeStampResp` -> (status, token DER).
fn parse_response(der: &[u8]) -> Result<(u64, Option<Vec<u8>>, String), der::Error> {
    let mut reader = SliceReader::new(der)?;
    let (status_info, token) = reader.sequence(|r| {
        let status_info: Any = r.decode()?;
        let token: Option<Any> = r.decode()?;
        Ok((status_info, token))
    })?;
    reader.finish(())?;
    let (status, text) = SliceReader::new(&status_info.to_der()?)?.sequence(|r| {
        let status: u64 = r.decode()?;
        let mut text = String::new();
        if !r.is_finished() && r.peek_tag()? == Tag::Sequence {
            let strings: Vec<der::asn1::Utf8StringRef<'_>> = r.decode()?;
            text = strings.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("; ");
        }
        while !r.is_finished() {
            let _: Any = r.decode()?;
        }
        Ok((status, text))
    })?;
    Ok((status, token.map(|t| t.to_der()).transpose()?, text))
}

/// The TSTInfo inside a token: imprint and nonce.
fn parse_tst_info(token_der: &[u8]) -> Result<TstSummary, der::Error> {
    let ci = cms::content_info::ContentInfo::from_der(token_der)?;
    let sd = cms::signed_data::SignedData::from_der(&ci.content.to_der()?)?;
    let econtent = sd
        .encap_content_info
        .econtent
        .ok_or_else(|| der::Error::from(der::ErrorKind::Failed))?;
    let tst = OctetString::from_der(&econtent.to_der()?)?;
    let mut reader = SliceReader::new(tst.as_bytes())?;
    reader.sequence(|r| {
        let _version: u64 = r.decode()?;
        let _policy: ObjectIdentifier = r.decode()?;
        let imprint: MessageImprint = r.decode()?;
        let _serial: Any = r.decode()?;
        let _gen_time: Any = r.decode()?;
        let mut nonce = None;
        while !r.is_finished() {
            let any: Any = r.decode()?;
            // accuracy (SEQUENCE), ordering (BOOLEAN), nonce (INTEGER), tsa [0], extensions [1].
            if any.tag() == Tag::Integer && nonce.is_none() {
                nonce = Some(any.value().to_vec());
            }
        }
        Ok(TstSummary { imprint, nonce })
    })
}

/// Strips the sign-padding zero of a DER INTEGER's content.
fn unsigned(n: &[u8]) -> &[u8] {
    match n {
        [0, rest @ ..] if !rest.is_empty() => rest,
        _ => n,
    }
}

/// A client of one RFC 3161 TSA.
#[derive(Clone, Debug)]
pub struct TsaClient {
    http: HttpClient,
    url: String,
    authorities: Arc<TimestampAuthorities>,
}

impl TsaClient {
    /// A client for the TSA at `url` (the full timestamp URL, e.g. `.../api/v1/timestamp`),
    /// verifying tokens against `trusted_root`'s timestamp authorities.
    pub fn new(url: &str, http: HttpClient, trusted_root: &TrustedRoot) -> Result<TsaClient, ClientError> {
        let authorities =
            TimestampAuthorities::new(&trusted_root.timestamp_authorities).map_err(|e| ClientError::Config {
                service: Service::Tsa,
                detail: format!("trusted root timestamp authorities: {e}"),
            })?;
        Ok(TsaClient {
            http,
            url: url.to_string(),
            authorities: Arc::new(authorities),
        })
    }

    /// The TSA URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn verify_err(&self, reason: &'static str, detail: impl Into<String>) -> ClientError {
        ClientError::Verify {
            service: Service::Tsa,
            url: self.url.clone(),
            reason,
            detail: detail.into(),
        }
    }

    /// Timestamps `signature` (the bytes of the signature to be timestamped): returns the
    /// verified token.
    pub async fn timestamp(&self, signature: &[u8]) -> Result<SignedTimestamp, ClientError> {
        let mut nonce = [0u8; 8];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| ClientError::Config {
            service: Service::Tsa,
            detail: "no randomness for the nonce".into(),
        })?;
        nonce[0] &= 0x7f;
        nonce[0] |= 0x01; // a full 8-byte positive value
        let req = build_request(signature, &nonce).map_err(|e| ClientError::Config {
            service: Service::Tsa,
            detail: format!("TimeStampReq: {e}"),
        })?;
        let resp = self
            .http
            .post(
                &self.url,
                "application/timestamp-query",
                "application/timestamp-reply",
                req,
                Idempotency::Safe,
            )
            .await?;
        let (status, token, text) =
            parse_response(&resp.body).map_err(|e| self.http.decode(&self.url, format!("TimeStampResp: {e}")))?;
        if status > 1 {
            return Err(ClientError::Status {
                service: Service::Tsa,
                url: self.url.clone(),
                code: resp.status.as_u16(),
                message: format!("timestamp refused (PKIStatus {status}): {text}"),
            });
        }
        let token_der = token.ok_or_else(|| self.http.decode(&self.url, "granted TimeStampResp without a token"))?;
        let tst = parse_tst_info(&token_der).map_err(|e| self.http.decode(&self.url, format!("TSTInfo: {e}")))?;
        if tst.nonce.as_deref().map(unsigned) != Some(unsigned(&nonce)) {
            return Err(self.verify_err("tsa.nonce_mismatch", "the token does not echo the request nonce"));
        }
        let expected_imprint = sha256(signature);
        if tst.imprint.hash_algorithm.oid != OID_SHA256 || tst.imprint.hashed_message.as_bytes() != expected_imprint {
            return Err(self.verify_err(
                "timestamp.message_imprint_mismatch",
                "the token timestamps another message",
            ));
        }
        let verified = verify_timestamp(&token_der, signature, &self.authorities)
            .map_err(|e| self.verify_err(e.code(), e.to_string()))?;
        Ok(SignedTimestamp {
            token_der,
            response_der: resp.body.to_vec(),
            time: verified.time,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
pub(crate) mod tests;
