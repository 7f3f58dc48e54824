//! The Sigstore signing config (`application/vnd.dev.sigstore.signingconfig.v0.2+json`), the
//! `ClientTrustConfig` that pairs it with a trusted root, and service selection from it.
//!
//! URLs are never hard-coded: a signer asks [`SigningConfig::select`] for the services valid at a
//! time, of an API version this crate speaks ([`FULCIO_VERSIONS`], [`REKOR_VERSIONS`],
//! [`TSA_VERSIONS`]), honouring the config's selector for Rekor and TSAs:
//! - `ANY`: one service (the first valid one, highest API version first);
//! - `EXACT(n)`: `n` services of distinct operators (an error if fewer are valid);
//! - `ALL`: every valid service, one per operator.
//!
//! Among services of the same operator only the highest supported API version is kept (the
//! sigstore-python rule). Fulcio and OIDC: the first valid service of the highest supported version.

use serde::Deserialize;
use trust_core::time::{TimeRange, UnixTime};
use trust_core::trust_root::TrustedRoot;

/// Media type of signing config v0.2.
pub const SIGNING_CONFIG_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.signingconfig.v0.2+json";
/// Media type of the client trust config v0.1.
pub const CLIENT_TRUST_CONFIG_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";
/// Fulcio API major versions this crate speaks (the v2 REST API is "majorApiVersion 1").
pub const FULCIO_VERSIONS: &[u32] = &[1];
/// Rekor API major versions this crate speaks, preferred first.
pub const REKOR_VERSIONS: &[u32] = &[2, 1];
/// TSA API major versions this crate speaks.
pub const TSA_VERSIONS: &[u32] = &[1];
/// OIDC provider API versions this crate speaks.
pub const OIDC_VERSIONS: &[u32] = &[1];

/// A signing config or client trust config that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Not valid JSON of the expected shape.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// Which document.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A media type this crate does not read.
    #[error("unsupported {what} media type {media_type:?}")]
    UnsupportedMediaType {
        /// Which document.
        what: &'static str,
        /// The media type found.
        media_type: String,
    },
    /// No service of the kind is valid at the time with a supported API version.
    #[error("no {kind} service valid at {at} with a supported API version ({supported:?}); configured: {configured}")]
    NoService {
        /// `ca`, `tlog`, `tsa` or `oidc`.
        kind: &'static str,
        /// The time asked.
        at: UnixTime,
        /// Supported versions.
        supported: Vec<u32>,
        /// A summary of the configured services.
        configured: String,
    },
    /// `EXACT(n)` asked for more distinct operators than are valid.
    #[error("{kind} selector EXACT({count}) needs {count} services of distinct operators, only {found} valid at {at}")]
    NotEnoughServices {
        /// `tlog` or `tsa`.
        kind: &'static str,
        /// The count asked.
        count: usize,
        /// Valid distinct operators found.
        found: usize,
        /// The time asked.
        at: UnixTime,
    },
}

impl ConfigError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            ConfigError::Malformed { .. } => "signing_config.malformed",
            ConfigError::UnsupportedMediaType { .. } => "signing_config.unsupported_media_type",
            ConfigError::NoService { .. } => "signing_config.no_service",
            ConfigError::NotEnoughServices { .. } => "signing_config.not_enough_services",
        }
    }
}

/// One configured service endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceEndpoint {
    /// Base URL (for a TSA: the full timestamp URL).
    pub url: String,
    /// Major API version.
    pub major_api_version: u32,
    /// When it may be used.
    pub valid_for: TimeRange,
    /// Who runs it (distinct operators are what `EXACT` counts).
    pub operator: String,
}

/// How many services of a kind to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selector {
    /// Every valid service (one per operator).
    All,
    /// One service.
    Any,
    /// Exactly this many services of distinct operators.
    Exact(usize),
}

/// A parsed signing config v0.2.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningConfig {
    /// Fulcio instances.
    pub ca_urls: Vec<ServiceEndpoint>,
    /// OIDC providers.
    pub oidc_urls: Vec<ServiceEndpoint>,
    /// Rekor instances.
    pub rekor_tlog_urls: Vec<ServiceEndpoint>,
    /// Timestamp authorities.
    pub tsa_urls: Vec<ServiceEndpoint>,
    /// Selector for Rekor (default `ANY`).
    pub rekor_tlog_selector: Selector,
    /// Selector for TSAs (default `ANY`).
    pub tsa_selector: Selector,
}

/// The services to sign with at one time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectedServices {
    /// The Fulcio instance.
    pub fulcio: ServiceEndpoint,
    /// The Rekor instances to log to (at least one).
    pub rekor: Vec<ServiceEndpoint>,
    /// The TSAs to timestamp with (empty when none is configured).
    pub tsas: Vec<ServiceEndpoint>,
    /// The OIDC provider, if any is configured.
    pub oidc: Option<ServiceEndpoint>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawService {
    url: String,
    major_api_version: u32,
    #[serde(default)]
    valid_for: Option<RawRange>,
    #[serde(default)]
    operator: String,
}

#[derive(Deserialize)]
struct RawRange {
    start: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize)]
struct RawSelector {
    selector: Option<String>,
    #[serde(default)]
    count: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSigningConfig {
    media_type: Option<String>,
    #[serde(default)]
    ca_urls: Vec<RawService>,
    #[serde(default)]
    oidc_urls: Vec<RawService>,
    #[serde(default)]
    rekor_tlog_urls: Vec<RawService>,
    #[serde(default)]
    tsa_urls: Vec<RawService>,
    rekor_tlog_config: Option<RawSelector>,
    tsa_config: Option<RawSelector>,
}

const SC: &str = "signing config";

fn malformed(what: &'static str, detail: impl Into<String>) -> ConfigError {
    ConfigError::Malformed {
        what,
        detail: detail.into(),
    }
}

fn parse_service(field: &str, i: usize, raw: RawService) -> Result<ServiceEndpoint, ConfigError> {
    let at = |d: String| malformed(SC, format!("{field}[{i}]: {d}"));
    let url: http::Uri = raw.url.parse().map_err(|e| at(format!("url {:?}: {e}", raw.url)))?;
    if !matches!(url.scheme_str(), Some("http" | "https")) || url.host().is_none() {
        return Err(at(format!("url {:?} is not an absolute http(s) URL", raw.url)));
    }
    let range = raw.valid_for.ok_or_else(|| at("validFor is missing".into()))?;
    let time = |s: &str| UnixTime::parse_rfc3339(s).map_err(|e| at(format!("validFor: {e}")));
    let start = time(
        range
            .start
            .as_deref()
            .ok_or_else(|| at("validFor.start is missing".into()))?,
    )?;
    let end = range.end.as_deref().map(time).transpose()?;
    if end.is_some_and(|e| e < start) {
        return Err(at("validFor ends before it starts".into()));
    }
    Ok(ServiceEndpoint {
        url: raw.url.trim_end_matches('/').to_string(),
        major_api_version: raw.major_api_version,
        valid_for: TimeRange { start, end },
        operator: raw.operator,
    })
}

fn parse_selector(field: &str, raw: Option<RawSelector>) -> Result<Selector, ConfigError> {
    let Some(raw) = raw else { return Ok(Selector::Any) };
    match raw.selector.as_deref() {
        None | Some("ANY") => Ok(Selector::Any),
        Some("ALL") => Ok(Selector::All),
        Some("EXACT") => match raw.count {
            Some(n) if n > 0 => Ok(Selector::Exact(n as usize)),
            _ => Err(malformed(SC, format!("{field}: EXACT needs a count > 0"))),
        },
        Some(other) => Err(malformed(SC, format!("{field}: unknown selector {other:?}"))),
    }
}

fn parse_list(field: &str, raw: Vec<RawService>) -> Result<Vec<ServiceEndpoint>, ConfigError> {
    raw.into_iter()
        .enumerate()
        .map(|(i, s)| parse_service(field, i, s))
        .collect()
}

impl SigningConfig {
    /// Parses signing config v0.2 JSON.
    pub fn from_json(json: &[u8]) -> Result<SigningConfig, ConfigError> {
        let raw: RawSigningConfig = serde_json::from_slice(json).map_err(|e| malformed(SC, e.to_string()))?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: RawSigningConfig) -> Result<SigningConfig, ConfigError> {
        match raw.media_type.as_deref() {
            Some(SIGNING_CONFIG_MEDIA_TYPE) => {}
            other => {
                return Err(ConfigError::UnsupportedMediaType {
                    what: SC,
                    media_type: other.unwrap_or("(none)").to_string(),
                })
            }
        }
        Ok(SigningConfig {
            ca_urls: parse_list("caUrls", raw.ca_urls)?,
            oidc_urls: parse_list("oidcUrls", raw.oidc_urls)?,
            rekor_tlog_urls: parse_list("rekorTlogUrls", raw.rekor_tlog_urls)?,
            tsa_urls: parse_list("tsaUrls", raw.tsa_urls)?,
            rekor_tlog_selector: parse_selector("rekorTlogConfig", raw.rekor_tlog_config)?,
            tsa_selector: parse_selector("tsaConfig", raw.tsa_config)?,
        })
    }

    /// The Fulcio instance to use at `at`.
    pub fn fulcio(&self, at: UnixTime) -> Result<ServiceEndpoint, ConfigError> {
        first_valid("ca", &self.ca_urls, FULCIO_VERSIONS, at)
    }

    /// The OIDC provider to use at `at`, if any is configured (an error only when some are
    /// configured but none is usable).
    pub fn oidc(&self, at: UnixTime) -> Result<Option<ServiceEndpoint>, ConfigError> {
        if self.oidc_urls.is_empty() {
            return Ok(None);
        }
        first_valid("oidc", &self.oidc_urls, OIDC_VERSIONS, at).map(Some)
    }

    /// The Rekor instances to log to at `at`, per the Rekor selector (at least one).
    pub fn rekor(&self, at: UnixTime) -> Result<Vec<ServiceEndpoint>, ConfigError> {
        select(
            "tlog",
            &self.rekor_tlog_urls,
            REKOR_VERSIONS,
            self.rekor_tlog_selector,
            at,
        )
    }

    /// The Rekor instances of exactly one API version (e.g. `&[1]` for a v1-only signer).
    pub fn rekor_with_versions(&self, versions: &[u32], at: UnixTime) -> Result<Vec<ServiceEndpoint>, ConfigError> {
        select("tlog", &self.rekor_tlog_urls, versions, self.rekor_tlog_selector, at)
    }

    /// The TSAs to use at `at`, per the TSA selector; empty when no TSA is configured.
    pub fn tsas(&self, at: UnixTime) -> Result<Vec<ServiceEndpoint>, ConfigError> {
        if self.tsa_urls.is_empty() {
            return Ok(Vec::new());
        }
        select("tsa", &self.tsa_urls, TSA_VERSIONS, self.tsa_selector, at)
    }

    /// Every service needed to sign at `at`.
    pub fn select(&self, at: UnixTime) -> Result<SelectedServices, ConfigError> {
        Ok(SelectedServices {
            fulcio: self.fulcio(at)?,
            rekor: self.rekor(at)?,
            tsas: self.tsas(at)?,
            oidc: self.oidc(at)?,
        })
    }
}

/// Valid at `at` with a supported version, highest version first (stable: config order within a
/// version), one per operator.
fn candidates<'a>(services: &'a [ServiceEndpoint], versions: &[u32], at: UnixTime) -> Vec<&'a ServiceEndpoint> {
    let mut valid: Vec<&ServiceEndpoint> = services
        .iter()
        .filter(|s| versions.contains(&s.major_api_version) && s.valid_for.contains(at))
        .collect();
    valid.sort_by_key(|s| std::cmp::Reverse(s.major_api_version));
    let mut seen = std::collections::HashSet::new();
    valid.retain(|s| seen.insert(s.operator.as_str()));
    valid
}

fn no_service(kind: &'static str, services: &[ServiceEndpoint], versions: &[u32], at: UnixTime) -> ConfigError {
    let configured = if services.is_empty() {
        "none".to_string()
    } else {
        services
            .iter()
            .map(|s| {
                let end = s.valid_for.end.map(|e| e.to_string()).unwrap_or_else(|| "open".into());
                format!("{} (v{}, {}..{end})", s.url, s.major_api_version, s.valid_for.start)
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    ConfigError::NoService {
        kind,
        at,
        supported: versions.to_vec(),
        configured,
    }
}

fn first_valid(
    kind: &'static str,
    services: &[ServiceEndpoint],
    versions: &[u32],
    at: UnixTime,
) -> Result<ServiceEndpoint, ConfigError> {
    candidates(services, versions, at)
        .first()
        .map(|s| (*s).clone())
        .ok_or_else(|| no_service(kind, services, versions, at))
}

fn select(
    kind: &'static str,
    services: &[ServiceEndpoint],
    versions: &[u32],
    selector: Selector,
    at: UnixTime,
) -> Result<Vec<ServiceEndpoint>, ConfigError> {
    let found = candidates(services, versions, at);
    if found.is_empty() {
        return Err(no_service(kind, services, versions, at));
    }
    let n = match selector {
        Selector::Any => 1,
        Selector::All => found.len(),
        Selector::Exact(count) if count > found.len() => {
            return Err(ConfigError::NotEnoughServices {
                kind,
                count,
                found: found.len(),
                at,
            })
        }
        Selector::Exact(count) => count,
    };
    Ok(found.into_iter().take(n).cloned().collect())
}

/// A parsed `ClientTrustConfig`: the trusted root and the signing config.
#[derive(Clone, Debug)]
pub struct ClientTrustConfig {
    /// The trusted root.
    pub trusted_root: TrustedRoot,
    /// The trusted root as received (JSON), for passing on.
    pub trusted_root_json: serde_json::Value,
    /// The signing config.
    pub signing_config: SigningConfig,
}

impl ClientTrustConfig {
    /// Parses `application/vnd.dev.sigstore.clienttrustconfig.v0.1+json`.
    pub fn from_json(json: &[u8]) -> Result<ClientTrustConfig, ConfigError> {
        const CTC: &str = "client trust config";
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            media_type: Option<String>,
            trusted_root: Option<serde_json::Value>,
            signing_config: Option<serde_json::Value>,
        }
        let raw: Raw = serde_json::from_slice(json).map_err(|e| malformed(CTC, e.to_string()))?;
        if raw.media_type.as_deref() != Some(CLIENT_TRUST_CONFIG_MEDIA_TYPE) {
            return Err(ConfigError::UnsupportedMediaType {
                what: CTC,
                media_type: raw.media_type.unwrap_or_else(|| "(none)".into()),
            });
        }
        let root = raw
            .trusted_root
            .ok_or_else(|| malformed(CTC, "trustedRoot is missing"))?;
        let sc = raw
            .signing_config
            .ok_or_else(|| malformed(CTC, "signingConfig is missing"))?;
        let trusted_root = TrustedRoot::from_json(root.to_string().as_bytes())
            .map_err(|e| malformed(CTC, format!("trustedRoot: {e}")))?;
        let signing_config =
            SigningConfig::from_raw(serde_json::from_value(sc).map_err(|e| malformed(SC, e.to_string()))?)?;
        Ok(ClientTrustConfig {
            trusted_root,
            trusted_root_json: root,
            signing_config,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
