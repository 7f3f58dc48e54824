//! Decoding of the extensions the verifier uses: basicConstraints, keyUsage, extKeyUsage,
//! subjectAltName, authorityKeyIdentifier and the Fulcio `1.3.6.1.4.1.57264.1.x` extensions.

use super::asn1::{self, tag, Asn1Error, Asn1Result, Tlv};
use super::{CertError, EKU_ANY, EKU_CODE_SIGNING, EKU_TIME_STAMPING};
use std::net::IpAddr;
use std::ops::Range;

/// Dotted OID of the Fulcio `username` otherName SAN.
pub(crate) const FULCIO_USERNAME_OID: &str = "1.3.6.1.4.1.57264.1.7";

/// One subjectAltName entry (RFC 5280 GeneralName).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub enum SubjectAltName {
    /// rfc822Name.
    Email(String),
    /// dNSName.
    Dns(String),
    /// uniformResourceIdentifier.
    Uri(String),
    /// iPAddress.
    IpAddress(IpAddr),
    /// otherName whose value is a character string (for example the Fulcio `username`,
    /// OID 1.3.6.1.4.1.57264.1.7, a UTF8String).
    OtherName {
        /// The type-id, dotted.
        oid: String,
        /// The decoded string value.
        value: String,
    },
    /// Any other GeneralName (directoryName, registeredID, non-string otherName, ...), as raw DER.
    Other {
        /// The GeneralName's context tag octet.
        tag: u8,
        /// The whole GeneralName element.
        der: Vec<u8>,
    },
}

/// Every Fulcio certificate extension (OID arc 1.3.6.1.4.1.57264.1), decoded as strings. Names
/// follow Fulcio's `docs/oid-info.md`. Extensions `.1` to `.6` hold raw UTF-8 bytes, `.8` and
/// later a DER UTF8String.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FulcioExtensions {
    /// OIDC issuer: `.8` (Issuer V2) when present, else the deprecated `.1`.
    pub issuer: Option<String>,
    /// `.2` GitHub Workflow Trigger (deprecated).
    pub github_workflow_trigger: Option<String>,
    /// `.3` GitHub Workflow SHA (deprecated).
    pub github_workflow_sha: Option<String>,
    /// `.4` GitHub Workflow Name (deprecated).
    pub github_workflow_name: Option<String>,
    /// `.5` GitHub Workflow Repository (deprecated).
    pub github_workflow_repository: Option<String>,
    /// `.6` GitHub Workflow Ref (deprecated).
    pub github_workflow_ref: Option<String>,
    /// `.9` Build Signer URI.
    pub build_signer_uri: Option<String>,
    /// `.10` Build Signer Digest.
    pub build_signer_digest: Option<String>,
    /// `.11` Runner Environment.
    pub runner_environment: Option<String>,
    /// `.12` Source Repository URI.
    pub source_repository_uri: Option<String>,
    /// `.13` Source Repository Digest.
    pub source_repository_digest: Option<String>,
    /// `.14` Source Repository Ref.
    pub source_repository_ref: Option<String>,
    /// `.15` Source Repository Identifier.
    pub source_repository_identifier: Option<String>,
    /// `.16` Source Repository Owner URI.
    pub source_repository_owner_uri: Option<String>,
    /// `.17` Source Repository Owner Identifier.
    pub source_repository_owner_identifier: Option<String>,
    /// `.18` Build Config URI.
    pub build_config_uri: Option<String>,
    /// `.19` Build Config Digest.
    pub build_config_digest: Option<String>,
    /// `.20` Build Trigger.
    pub build_trigger: Option<String>,
    /// `.21` Run Invocation URI.
    pub run_invocation_uri: Option<String>,
    /// `.22` Source Repository Visibility At Signing.
    pub source_repository_visibility_at_signing: Option<String>,
    /// `.23` Deployment Environment.
    pub deployment_environment: Option<String>,
}

/// Collects Fulcio extensions while the certificate's extensions are walked.
#[derive(Default)]
pub(crate) struct FulcioBuilder {
    issuer_v1: Option<String>,
    issuer_v2: Option<String>,
    out: FulcioExtensions,
}

fn utf8(bytes: &[u8], what: &'static str) -> Result<String, CertError> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| CertError::Malformed(format!("{what}: invalid UTF-8")))
}

impl FulcioBuilder {
    /// Records extension `1.3.6.1.4.1.57264.1.<arc>` (its last OID octet); ignores unknown arcs.
    pub fn add(&mut self, arc: u8, value: &[u8]) -> Result<(), CertError> {
        if (1..=6).contains(&arc) {
            let v = utf8(value, "Fulcio extension")?;
            let out = &mut self.out;
            match arc {
                1 => self.issuer_v1 = Some(v),
                2 => out.github_workflow_trigger = Some(v),
                3 => out.github_workflow_sha = Some(v),
                4 => out.github_workflow_name = Some(v),
                5 => out.github_workflow_repository = Some(v),
                _ => out.github_workflow_ref = Some(v),
            }
            return Ok(());
        }
        if !(8..=23).contains(&arc) {
            return Ok(());
        }
        let v = der_string(value).map_err(|e| CertError::Malformed(format!("Fulcio extension .{arc}: {}", e.0)))?;
        let out = &mut self.out;
        let slot = match arc {
            8 => &mut self.issuer_v2,
            9 => &mut out.build_signer_uri,
            10 => &mut out.build_signer_digest,
            11 => &mut out.runner_environment,
            12 => &mut out.source_repository_uri,
            13 => &mut out.source_repository_digest,
            14 => &mut out.source_repository_ref,
            15 => &mut out.source_repository_identifier,
            16 => &mut out.source_repository_owner_uri,
            17 => &mut out.source_repository_owner_identifier,
            18 => &mut out.build_config_uri,
            19 => &mut out.build_config_digest,
            20 => &mut out.build_trigger,
            21 => &mut out.run_invocation_uri,
            22 => &mut out.source_repository_visibility_at_signing,
            _ => &mut out.deployment_environment,
        };
        *slot = Some(v);
        Ok(())
    }

    /// The decoded extensions.
    pub fn finish(self) -> FulcioExtensions {
        let mut out = self.out;
        out.issuer = self.issuer_v2.or(self.issuer_v1);
        out
    }
}

/// A complete DER character string (UTF8String, PrintableString or IA5String).
fn der_string(der: &[u8]) -> Asn1Result<String> {
    let mut r = asn1::Reader::new(der);
    let s = r.read()?;
    r.finish("trailing data after string")?;
    string_value(&s)
}

fn string_value(s: &Tlv<'_>) -> Asn1Result<String> {
    match s.tag {
        tag::UTF8_STRING => std::str::from_utf8(s.value)
            .map(str::to_owned)
            .map_err(|_| Asn1Error("invalid UTF8String")),
        tag::PRINTABLE_STRING | tag::IA5_STRING => ascii(s.value),
        _ => Err(Asn1Error("expected a character string")),
    }
}

fn ascii(b: &[u8]) -> Asn1Result<String> {
    if b.is_ascii() {
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| Asn1Error("invalid IA5String"))
    } else {
        Err(Asn1Error("non-ASCII IA5String"))
    }
}

/// basicConstraints: (cA, pathLenConstraint).
pub(crate) fn basic_constraints(ext: &Tlv<'_>) -> Asn1Result<(bool, Option<u32>)> {
    let seq = asn1::single_in(ext, tag::SEQUENCE, "invalid basicConstraints")?;
    let mut r = seq.reader();
    let ca = match r.optional(tag::BOOLEAN)? {
        Some(b) => asn1::boolean(&b)?,
        None => false,
    };
    let path_len = match r.optional(tag::INTEGER)? {
        Some(i) => Some(asn1::small_uint(&i)?),
        None => None,
    };
    r.finish("trailing data in basicConstraints")?;
    Ok((ca, path_len))
}

/// keyUsage as a `u16` whose most significant bit is digitalSignature (bit 0).
pub(crate) fn key_usage(ext: &Tlv<'_>) -> Asn1Result<u16> {
    let bits = asn1::single_in(ext, tag::BIT_STRING, "invalid keyUsage")?;
    match bits.value {
        [unused, rest @ ..] if *unused < 8 && !(rest.is_empty() && *unused != 0) => {
            let b0 = rest.first().copied().unwrap_or(0);
            let b1 = rest.get(1).copied().unwrap_or(0);
            Ok(u16::from(b0) << 8 | u16::from(b1))
        }
        _ => Err(Asn1Error("invalid keyUsage BIT STRING")),
    }
}

/// extKeyUsage as `EKU_*` flags.
pub(crate) fn ext_key_usage(ext: &Tlv<'_>) -> Asn1Result<u8> {
    let seq = asn1::single_in(ext, tag::SEQUENCE, "invalid extKeyUsage")?;
    let mut r = seq.reader();
    if r.is_empty() {
        return Err(Asn1Error("empty extKeyUsage"));
    }
    let mut flags = 0;
    while !r.is_empty() {
        let oid = r.expect(tag::OID, "invalid extKeyUsage entry")?;
        flags |= match oid.value {
            // 1.3.6.1.5.5.7.3.3 id-kp-codeSigning
            [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03] => EKU_CODE_SIGNING,
            // 1.3.6.1.5.5.7.3.8 id-kp-timeStamping
            [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08] => EKU_TIME_STAMPING,
            // 2.5.29.37.0 anyExtendedKeyUsage
            [0x55, 0x1d, 0x25, 0x00] => EKU_ANY,
            _ => 0,
        };
    }
    Ok(flags)
}

/// authorityKeyIdentifier's keyIdentifier range, if present.
pub(crate) fn authority_key_id(ext: &Tlv<'_>) -> Asn1Result<Option<Range<usize>>> {
    let seq = asn1::single_in(ext, tag::SEQUENCE, "invalid authorityKeyIdentifier")?;
    let mut r = seq.reader();
    let key_id = r.optional(tag::ctx_prim(0))?.map(|k| k.value_range());
    r.optional(tag::ctx_cons(1))?;
    r.optional(tag::ctx_prim(2))?;
    r.finish("trailing data in authorityKeyIdentifier")?;
    Ok(key_id)
}

/// subjectAltName: a non-empty SEQUENCE OF GeneralName.
pub(crate) fn general_names(ext: &Tlv<'_>) -> Asn1Result<Vec<SubjectAltName>> {
    let seq = asn1::single_in(ext, tag::SEQUENCE, "invalid subjectAltName")?;
    let mut r = seq.reader();
    if r.is_empty() {
        return Err(Asn1Error("empty subjectAltName"));
    }
    let mut out = Vec::with_capacity(1);
    while !r.is_empty() {
        out.push(general_name(&r.read()?)?);
    }
    Ok(out)
}

fn general_name(gn: &Tlv<'_>) -> Asn1Result<SubjectAltName> {
    Ok(match gn.tag {
        0x81 => SubjectAltName::Email(ascii(gn.value)?),
        0x82 => SubjectAltName::Dns(ascii(gn.value)?),
        0x86 => SubjectAltName::Uri(ascii(gn.value)?),
        0x87 => match gn.value.len() {
            4 => {
                let mut a = [0u8; 4];
                a.copy_from_slice(gn.value);
                SubjectAltName::IpAddress(IpAddr::from(a))
            }
            16 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(gn.value);
                SubjectAltName::IpAddress(IpAddr::from(a))
            }
            _ => return Err(Asn1Error("invalid iPAddress SAN")),
        },
        0xa0 => {
            let mut r = gn.reader();
            let oid = r.expect(tag::OID, "otherName without type-id")?;
            let value = r.expect(tag::ctx_cons(0), "otherName without value")?;
            r.finish("trailing data in otherName")?;
            let mut v = value.reader();
            let inner = v.read()?;
            v.finish("trailing data in otherName value")?;
            match string_value(&inner) {
                Ok(s) => SubjectAltName::OtherName {
                    oid: asn1::oid_string(oid.value),
                    value: s,
                },
                Err(_) if !matches!(inner.tag, tag::UTF8_STRING | tag::PRINTABLE_STRING | tag::IA5_STRING) => {
                    SubjectAltName::Other {
                        tag: gn.tag,
                        der: gn.raw.to_vec(),
                    }
                }
                Err(e) => return Err(e),
            }
        }
        0xa3 | 0xa4 | 0xa5 | 0x88 => SubjectAltName::Other {
            tag: gn.tag,
            der: gn.raw.to_vec(),
        },
        _ => return Err(Asn1Error("invalid GeneralName")),
    })
}
