//! The access log: one span per request (method, path, request id, and the actor once
//! authenticated), and one line when the answer's head is ready, with its status and
//! latency. 5xx answers log at `error`, the rest at `info`.
//!
//! A plain service wrapper: the answer's body passes through untouched, where a general
//! tracing layer would wrap it (and so box it again) to watch its frames.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::http::Request;
use axum::response::Response;
use tower::{Layer, Service};
use tracing::instrument::Instrumented;
use tracing::{Instrument, Span};

#[derive(Clone, Copy, Default)]
pub struct AccessLogLayer;

impl<S> Layer<S> for AccessLogLayer {
    type Service = AccessLog<S>;
    fn layer(&self, inner: S) -> AccessLog<S> {
        AccessLog { inner }
    }
}

#[derive(Clone)]
pub struct AccessLog<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for AccessLog<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Logged<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let span = request_span(&request);
        let answer = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        Logged {
            answer: answer.instrument(span),
            started: Instant::now(),
        }
    }
}

pin_project_lite::pin_project! {
    /// A request's answer, logged when its head is ready.
    pub struct Logged<F> {
        #[pin]
        answer: Instrumented<F>,
        started: Instant,
    }
}

impl<F, E> Future for Logged<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let answer = std::task::ready!(this.answer.as_mut().poll(cx));
        if let Ok(response) = &answer {
            let status = response.status().as_u16();
            let latency_us = this.started.elapsed().as_micros() as u64;
            let span: &Span = this.answer.span();
            let _entered = span.enter();
            if response.status().is_server_error() {
                tracing::error!(status, latency_us, "request failed");
            } else {
                tracing::info!(status, latency_us, "finished processing request");
            }
        }
        Poll::Ready(answer)
    }
}

/// The request's span; the authenticated actor is recorded into it later.
fn request_span<B>(request: &Request<B>) -> Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", method = %request.method(), uri = %request.uri().path(), request_id, actor = tracing::field::Empty)
}
