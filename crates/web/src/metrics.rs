//! Prometheus metrics in the text exposition format: request counts by method and status class,
//! and a latency histogram. Few enough series that hand-written counters are clearer than a crate.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

const METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "OTHER"];
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
const BUCKETS_MS: [u64; 10] = [1, 2, 5, 10, 25, 50, 100, 250, 1000, 5000];

pub struct Metrics {
    started: Instant,
    requests: [[AtomicU64; 5]; 6],
    /// Cumulative counts per bucket, plus the +Inf bucket at the end.
    latency: [AtomicU64; 11],
    latency_sum_us: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            started: Instant::now(),
            requests: Default::default(),
            latency: Default::default(),
            latency_sum_us: AtomicU64::new(0),
        }
    }
}

pub async fn track(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let m = METHODS.iter().position(|m| *m == req.method().as_str()).unwrap_or(5);
    let t = Instant::now();
    let res = next.run(req).await;
    let el = t.elapsed();
    let class = usize::from(res.status().as_u16() / 100).clamp(1, 5) - 1;
    let metrics = &st.metrics;
    metrics.requests[m][class].fetch_add(1, Ordering::Relaxed);
    let ms = el.as_millis() as u64;
    for (i, b) in BUCKETS_MS.iter().enumerate() {
        if ms <= *b {
            metrics.latency[i].fetch_add(1, Ordering::Relaxed);
        }
    }
    metrics.latency[10].fetch_add(1, Ordering::Relaxed);
    metrics.latency_sum_us.fetch_add(el.as_micros() as u64, Ordering::Relaxed);
    res
}

pub async fn render(State(st): State<AppState>) -> impl IntoResponse {
    use std::fmt::Write;
    let m = &st.metrics;
    let mut s = String::new();
    let _ = writeln!(s, "# HELP loopdesk_http_requests_total HTTP requests by method and status class.");
    let _ = writeln!(s, "# TYPE loopdesk_http_requests_total counter");
    for (i, method) in METHODS.iter().enumerate() {
        for (j, class) in CLASSES.iter().enumerate() {
            let v = m.requests[i][j].load(Ordering::Relaxed);
            if v > 0 {
                let _ = writeln!(s, "loopdesk_http_requests_total{{method=\"{method}\",status=\"{class}\"}} {v}");
            }
        }
    }
    let _ = writeln!(s, "# HELP loopdesk_http_request_duration_seconds Time to answer a request.");
    let _ = writeln!(s, "# TYPE loopdesk_http_request_duration_seconds histogram");
    for (i, b) in BUCKETS_MS.iter().enumerate() {
        let v = m.latency[i].load(Ordering::Relaxed);
        let _ = writeln!(s, "loopdesk_http_request_duration_seconds_bucket{{le=\"{}\"}} {v}", *b as f64 / 1000.0);
    }
    let count = m.latency[10].load(Ordering::Relaxed);
    let _ = writeln!(s, "loopdesk_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
    let _ = writeln!(
        s,
        "loopdesk_http_request_duration_seconds_sum {}",
        m.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6
    );
    let _ = writeln!(s, "loopdesk_http_request_duration_seconds_count {count}");
    let _ = writeln!(s, "# HELP loopdesk_uptime_seconds Seconds since the process started.");
    let _ = writeln!(s, "# TYPE loopdesk_uptime_seconds gauge");
    let _ = writeln!(s, "loopdesk_uptime_seconds {}", m.started.elapsed().as_secs());
    let intake = st.svc.intake_stats();
    let _ = writeln!(s, "# HELP loopdesk_intake_batches_total Group-commit transactions of case intake.");
    let _ = writeln!(s, "# TYPE loopdesk_intake_batches_total counter");
    let _ = writeln!(s, "loopdesk_intake_batches_total {}", intake.batches);
    let _ = writeln!(s, "# HELP loopdesk_intake_cases_total Case registrations those transactions carried.");
    let _ = writeln!(s, "# TYPE loopdesk_intake_cases_total counter");
    let _ = writeln!(s, "loopdesk_intake_cases_total {}", intake.jobs);
    let _ = writeln!(
        s,
        "# HELP loopdesk_intake_retries_total Batches the database refused together, written again case by case."
    );
    let _ = writeln!(s, "# TYPE loopdesk_intake_retries_total counter");
    let _ = writeln!(s, "loopdesk_intake_retries_total {}", intake.retries);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], s)
}
