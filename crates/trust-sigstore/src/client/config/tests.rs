use super::*;
use crate::embedded::local::{init, InitOptions, LocalSigstore};
use crate::embedded::testutil::{temp_dir, Mem};
use serde_json::json;
use std::sync::Arc;

fn t(s: &str) -> UnixTime {
    UnixTime::parse_rfc3339(s).unwrap()
}

fn svc(url: &str, v: u32, start: &str, end: Option<&str>, op: &str) -> serde_json::Value {
    let mut valid = json!({"start": start});
    if let Some(e) = end {
        valid["end"] = json!(e);
    }
    json!({"url": url, "majorApiVersion": v, "validFor": valid, "operator": op})
}

fn config(rekor: serde_json::Value, tsa: serde_json::Value) -> serde_json::Value {
    json!({
        "mediaType": SIGNING_CONFIG_MEDIA_TYPE,
        "caUrls": [
            svc("https://fulcio.old", 1, "2020-01-01T00:00:00Z", Some("2024-01-01T00:00:00Z"), "a"),
            svc("https://fulcio.new", 1, "2023-06-01T00:00:00Z", None, "a"),
        ],
        "oidcUrls": [svc("https://oauth2.example", 1, "2020-01-01T00:00:00Z", None, "a")],
        "rekorTlogUrls": [
            svc("https://rekor-v1.a", 1, "2020-01-01T00:00:00Z", None, "a"),
            svc("https://rekor-v2.a", 2, "2025-01-01T00:00:00Z", None, "a"),
            svc("https://rekor.b/", 1, "2020-01-01T00:00:00Z", None, "b"),
            svc("https://rekor-v3.c", 3, "2020-01-01T00:00:00Z", None, "c"),
        ],
        "tsaUrls": [
            svc("https://tsa.a/api/v1/timestamp", 1, "2020-01-01T00:00:00Z", None, "a"),
            svc("https://tsa.b/api/v1/timestamp", 1, "2020-01-01T00:00:00Z", Some("2022-01-01T00:00:00Z"), "b"),
        ],
        "rekorTlogConfig": rekor,
        "tsaConfig": tsa,
    })
}

fn parse(v: &serde_json::Value) -> SigningConfig {
    SigningConfig::from_json(v.to_string().as_bytes()).unwrap()
}

fn urls(s: &[ServiceEndpoint]) -> Vec<&str> {
    s.iter().map(|s| s.url.as_str()).collect()
}

#[test]
fn selects_by_time_version_and_selector() {
    let sc = parse(&config(json!({"selector": "ANY"}), json!({"selector": "ANY"})));
    // 2023-01: only the old Fulcio, Rekor v1 (v2 not yet valid; v3 unsupported).
    let s = sc.select(t("2023-01-01T00:00:00Z")).unwrap();
    assert_eq!(s.fulcio.url, "https://fulcio.old");
    assert_eq!(urls(&s.rekor), ["https://rekor-v1.a"]);
    assert_eq!(urls(&s.tsas), ["https://tsa.a/api/v1/timestamp"]);
    assert_eq!(s.oidc.unwrap().url, "https://oauth2.example");
    // 2025-06: the new Fulcio, Rekor v2 preferred over v1 of the same operator.
    let s = sc.select(t("2025-06-01T00:00:00Z")).unwrap();
    assert_eq!(s.fulcio.url, "https://fulcio.new");
    assert_eq!(urls(&s.rekor), ["https://rekor-v2.a"]);
    // A v1-only signer.
    assert_eq!(
        urls(&sc.rekor_with_versions(&[1], t("2025-06-01T00:00:00Z")).unwrap()),
        ["https://rekor-v1.a"]
    );
}

#[test]
fn all_and_exact_count_distinct_operators() {
    let at = t("2025-06-01T00:00:00Z");
    let sc = parse(&config(json!({"selector": "ALL"}), json!({"selector": "ALL"})));
    // One per operator; trailing slash trimmed; the expired TSA b is left out.
    assert_eq!(urls(&sc.rekor(at).unwrap()), ["https://rekor-v2.a", "https://rekor.b"]);
    assert_eq!(urls(&sc.tsas(at).unwrap()), ["https://tsa.a/api/v1/timestamp"]);

    let sc = parse(&config(
        json!({"selector": "EXACT", "count": 2}),
        json!({"selector": "EXACT", "count": 2}),
    ));
    assert_eq!(sc.rekor_tlog_selector, Selector::Exact(2));
    assert_eq!(urls(&sc.rekor(at).unwrap()), ["https://rekor-v2.a", "https://rekor.b"]);
    let err = sc.tsas(at).unwrap_err();
    assert_eq!(err.code(), "signing_config.not_enough_services");
    assert!(err.to_string().contains("EXACT(2)"), "{err}");
    // In 2021 TSA b was valid too.
    assert_eq!(sc.tsas(t("2021-01-01T00:00:00Z")).unwrap().len(), 2);
}

#[test]
fn nothing_valid_is_a_clear_error() {
    let sc = parse(&config(json!({"selector": "ANY"}), json!({"selector": "ANY"})));
    let err = sc.select(t("2019-01-01T00:00:00Z")).unwrap_err();
    assert_eq!(err.code(), "signing_config.no_service");
    let msg = err.to_string();
    assert!(msg.starts_with("no ca service valid at 2019-01-01T00:00:00Z"), "{msg}");
    assert!(
        msg.contains("https://fulcio.old (v1, 2020-01-01T00:00:00Z..2024-01-01T00:00:00Z)"),
        "{msg}"
    );
    // Only unsupported versions.
    let mut v = config(json!({}), json!({}));
    v["rekorTlogUrls"] = json!([svc("https://rekor-v3.c", 3, "2020-01-01T00:00:00Z", None, "c")]);
    let err = parse(&v).rekor(t("2025-01-01T00:00:00Z")).unwrap_err();
    assert!(err.to_string().contains("supported API version ([2, 1])"), "{err}");
    // No TSA configured is fine (no timestamps); none valid is not.
    let mut v = config(json!({}), json!({}));
    v["tsaUrls"] = json!([]);
    assert!(parse(&v).tsas(t("2025-01-01T00:00:00Z")).unwrap().is_empty());
}

#[test]
fn malformed_configs_are_refused() {
    let bad = |v: serde_json::Value| SigningConfig::from_json(v.to_string().as_bytes()).unwrap_err();
    let base = config(json!({"selector": "ANY"}), json!({"selector": "ANY"}));
    let mut v = base.clone();
    v["mediaType"] = json!("application/vnd.dev.sigstore.signingconfig.v0.1+json");
    assert_eq!(bad(v).code(), "signing_config.unsupported_media_type");
    let mut v = base.clone();
    v["rekorTlogConfig"] = json!({"selector": "EXACT"});
    assert!(bad(v).to_string().contains("EXACT needs a count"));
    let mut v = base.clone();
    v["tsaConfig"] = json!({"selector": "SOME"});
    assert_eq!(bad(v).code(), "signing_config.malformed");
    let mut v = base.clone();
    v["caUrls"][0]["url"] = json!("fulcio.example");
    assert!(bad(v).to_string().contains("caUrls[0]"));
    let mut v = base.clone();
    v["caUrls"][1]["validFor"] = json!({"start": "yesterday"});
    assert!(bad(v).to_string().contains("caUrls[1]: validFor"));
    let mut v = base;
    v["tsaUrls"][0]["validFor"] = json!({"start": "2024-01-01T00:00:00Z", "end": "2023-01-01T00:00:00Z"});
    assert!(bad(v).to_string().contains("ends before it starts"));
}

#[tokio::test]
async fn reads_the_embedded_services_client_trust_config() {
    let dir = temp_dir("client-config");
    init(&dir, &InitOptions::default(), None).unwrap();
    let local = LocalSigstore::open(&dir, Arc::new(Mem::default()), None, 4).unwrap();
    let ctc = ClientTrustConfig::from_json(local.client_trust_config().to_string().as_bytes()).unwrap();
    assert_eq!(ctc.trusted_root.tlogs.len(), 1);
    let s = ctc.signing_config.select(crate::embedded::now()).unwrap();
    assert_eq!(s.fulcio.url, "http://127.0.0.1:8888");
    assert_eq!(urls(&s.rekor), ["http://127.0.0.1:8888"]);
    assert_eq!(urls(&s.tsas), ["http://127.0.0.1:8888/api/v1/timestamp"]);
    assert_eq!(s.oidc, None);
    let mut v = local.client_trust_config();
    v["mediaType"] = json!("application/json");
    let err = ClientTrustConfig::from_json(v.to_string().as_bytes()).unwrap_err();
    assert_eq!(err.code(), "signing_config.unsupported_media_type");
}
