//! Requests and their latency, by method, route template and status.
//!
//! The metric handles of one (method, route, status) are looked up once and kept, instead of
//! building the labels and finding the series on every request. Labels are bounded: the route is its template (never the raw path) and a method outside
//! the standard ones counts as `other`, so no client can grow the set of series.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::MatchedPath;
use axum::http::{Method, Request};
use axum::response::Response;
use metrics::{Counter, Histogram};
use quick_cache::sync::Cache;
use quick_cache::Equivalent;
use tower::{Layer, Service};

/// Handle pairs kept at most; an evicted pair is looked up again, the series stays.
const CAPACITY: usize = 4096;

/// The handles of every (method, route, status) seen.
struct RequestMetrics {
    handles: Cache<SeriesKey, Handles>,
}

#[derive(Clone)]
struct Handles {
    requests: Counter,
    duration: Histogram,
}

/// One series' labels. [`SeriesRef`] hashes the same fields in the same order, so a lookup
/// borrows the route instead of copying it.
#[derive(Hash, PartialEq, Eq)]
struct SeriesKey {
    method: &'static str,
    route: Box<str>,
    status: u16,
}

#[derive(Hash)]
struct SeriesRef<'a> {
    method: &'static str,
    route: &'a str,
    status: u16,
}

impl Equivalent<SeriesKey> for SeriesRef<'_> {
    fn equivalent(&self, key: &SeriesKey) -> bool {
        self.method == key.method && self.route == &*key.route && self.status == key.status
    }
}

impl Default for RequestMetrics {
    fn default() -> Self {
        RequestMetrics {
            handles: Cache::new(CAPACITY),
        }
    }
}

impl RequestMetrics {
    fn handles(&self, series: SeriesRef<'_>) -> Handles {
        if let Some(handles) = self.handles.get(&series) {
            return handles;
        }
        let (method, route, status) = (series.method, series.route.to_string(), series.status);
        let handles = Handles {
            requests: metrics::counter!("fwrepo_http_requests_total", "method" => method, "route" => route.clone(), "status" => status.to_string()),
            duration: metrics::histogram!("fwrepo_http_request_duration_seconds", "method" => method, "route" => route.clone()),
        };
        let key = SeriesKey {
            method,
            route: route.into_boxed_str(),
            status,
        };
        self.handles.insert(key, handles.clone());
        handles
    }
}

/// The layer that counts every request of the routes it wraps. A plain service wrapper:
/// unlike a `from_fn` middleware it neither clones the inner service nor boxes the future.
#[derive(Clone, Default)]
pub struct RecordLayer {
    metrics: Arc<RequestMetrics>,
}

impl<S> Layer<S> for RecordLayer {
    type Service = Record<S>;
    fn layer(&self, inner: S) -> Record<S> {
        Record {
            inner,
            metrics: Arc::clone(&self.metrics),
        }
    }
}

#[derive(Clone)]
pub struct Record<S> {
    inner: S,
    metrics: Arc<RequestMetrics>,
}

impl<S, B> Service<Request<B>> for Record<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Recorded<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let method = method_label(request.method());
        let route = request.extensions().get::<MatchedPath>().cloned();
        Recorded {
            answer: self.inner.call(request),
            metrics: Arc::clone(&self.metrics),
            method,
            route,
            started: Instant::now(),
        }
    }
}

pin_project_lite::pin_project! {
    /// A request's answer, counted when it is ready.
    pub struct Recorded<F> {
        #[pin]
        answer: F,
        metrics: Arc<RequestMetrics>,
        method: &'static str,
        route: Option<MatchedPath>,
        started: Instant,
    }
}

impl<F, E> Future for Recorded<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answer = std::task::ready!(this.answer.poll(cx));
        if let Ok(response) = &answer {
            let handles = this.metrics.handles(SeriesRef {
                method: this.method,
                route: this.route.as_ref().map_or("unmatched", MatchedPath::as_str),
                status: response.status().as_u16(),
            });
            handles.requests.increment(1);
            handles
                .duration
                .record(this.started.elapsed().as_secs_f64());
        }
        Poll::Ready(answer)
    }
}

/// The method as a label: one of the standard methods, or `other`.
fn method_label(method: &Method) -> &'static str {
    const STANDARD: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    const LABELS: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
    ];
    STANDARD
        .iter()
        .position(|m| m == method)
        .map_or("other", |i| LABELS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_methods_keep_their_name_and_others_are_other() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let brew = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&brew), "other");
    }

    #[test]
    fn a_borrowed_lookup_finds_the_stored_series() {
        let metrics = RequestMetrics::default();
        let series = || SeriesRef {
            method: "GET",
            route: "/healthz",
            status: 200,
        };
        metrics.handles(series());
        assert_eq!(metrics.handles.len(), 1);
        metrics.handles(series());
        assert_eq!(
            metrics.handles.len(),
            1,
            "the second lookup stored a second entry"
        );
        metrics.handles(SeriesRef {
            status: 404,
            ..series()
        });
        assert_eq!(metrics.handles.len(), 2);
    }
}
