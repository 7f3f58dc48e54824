//! Prometheus metrics, rendered in the text exposition format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Latency histogram bucket bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<(String, String), Histogram>,
    signings: BTreeMap<String, u64>,
    verifications: BTreeMap<String, u64>,
    permits: BTreeMap<(bool, String), u64>,
}

/// The server's counters. Cheap to update from every request.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut g = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut g)
    }

    /// One finished request on `route` (the matched route template, not the raw path).
    pub fn request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        self.with(|m| {
            *m.requests
                .entry((method.to_owned(), route.to_owned(), status))
                .or_default() += 1;
            let h = m.latency.entry((method.to_owned(), route.to_owned())).or_default();
            h.count += 1;
            h.sum += secs;
            for (i, bound) in BUCKETS.iter().enumerate() {
                if secs <= *bound {
                    h.counts[i] += 1;
                }
            }
        });
    }

    /// One signing, by outcome (`ok` or an error code).
    pub fn signing(&self, outcome: &str) {
        self.with(|m| *m.signings.entry(outcome.to_owned()).or_default() += 1);
    }

    /// One verification, by result (`valid`, `invalid`).
    pub fn verification(&self, result: &str) {
        self.with(|m| *m.verifications.entry(result.to_owned()).or_default() += 1);
    }

    /// One upload-permission decision, with the denial reason code (or `permitted`).
    pub fn permit(&self, permitted: bool, reason: &str) {
        self.with(|m| *m.permits.entry((permitted, reason.to_owned())).or_default() += 1);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        self.with(|m| {
            let mut out = String::new();
            let _ = writeln!(
                out,
                "# HELP certus_http_requests_total HTTP requests by method, route and status."
            );
            let _ = writeln!(out, "# TYPE certus_http_requests_total counter");
            for ((method, route, status), n) in &m.requests {
                let _ = writeln!(
                    out,
                    "certus_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(method),
                    escape(route)
                );
            }
            let _ = writeln!(
                out,
                "# HELP certus_http_request_duration_seconds HTTP request latency by method and route."
            );
            let _ = writeln!(out, "# TYPE certus_http_request_duration_seconds histogram");
            for ((method, route), h) in &m.latency {
                let labels = format!("method=\"{}\",route=\"{}\"", escape(method), escape(route));
                for (bound, n) in BUCKETS.iter().zip(h.counts) {
                    let _ = writeln!(
                        out,
                        "certus_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
                    );
                }
                let _ = writeln!(
                    out,
                    "certus_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(out, "certus_http_request_duration_seconds_sum{{{labels}}} {}", h.sum);
                let _ = writeln!(
                    out,
                    "certus_http_request_duration_seconds_count{{{labels}}} {}",
                    h.count
                );
            }
            let _ = writeln!(out, "# HELP certus_signings_total Signings by outcome.");
            let _ = writeln!(out, "# TYPE certus_signings_total counter");
            for (outcome, n) in &m.signings {
                let _ = writeln!(out, "certus_signings_total{{outcome=\"{}\"}} {n}", escape(outcome));
            }
            let _ = writeln!(out, "# HELP certus_verifications_total Verifications by result.");
            let _ = writeln!(out, "# TYPE certus_verifications_total counter");
            for (result, n) in &m.verifications {
                let _ = writeln!(out, "certus_verifications_total{{result=\"{}\"}} {n}", escape(result));
            }
            let _ = writeln!(
                out,
                "# HELP certus_upload_permissions_total Upload-permission decisions (denials by reason)."
            );
            let _ = writeln!(out, "# TYPE certus_upload_permissions_total counter");
            for ((permitted, reason), n) in &m.permits {
                let _ = writeln!(
                    out,
                    "certus_upload_permissions_total{{permitted=\"{permitted}\",reason=\"{}\"}} {n}",
                    escape(reason)
                );
            }
            out
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.request("POST", "/v1/verify", 200, Duration::from_millis(3));
        m.request("POST", "/v1/verify", 200, Duration::from_millis(30));
        m.verification("valid");
        m.permit(false, "policy.identity_mismatch");
        let text = m.render();
        assert!(text.contains("certus_http_requests_total{method=\"POST\",route=\"/v1/verify\",status=\"200\"} 2"));
        assert!(text.contains("le=\"0.005\"} 1"), "{text}");
        assert!(text.contains("le=\"0.05\"} 2"), "{text}");
        assert!(text.contains("certus_verifications_total{result=\"valid\"} 1"));
        assert!(
            text.contains("certus_upload_permissions_total{permitted=\"false\",reason=\"policy.identity_mismatch\"} 1")
        );
    }
}
