//! Extractors whose rejections are problem+json: JSON bodies, query strings, path segments,
//! and the authenticated caller.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::auth::{Authenticator, Principal};
use crate::domain::{validate_id, Scope};

/// A JSON body: wrong content type is 415, malformed or mistyped JSON is 400, over the
/// limit is 413.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
            "expected a body of Content-Type application/json".into(),
        ),
        JsonRejection::JsonDataError(e) => ApiError::InvalidBody(format!(
            "the JSON does not fit the schema: {}",
            e.body_text()
        )),
        JsonRejection::JsonSyntaxError(e) => {
            ApiError::InvalidBody(format!("malformed JSON: {}", e.body_text()))
        }
        JsonRejection::BytesRejection(e)
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
        {
            ApiError::TooLarge(super::MAX_JSON_BODY_BYTES as u64)
        }
        other => ApiError::InvalidBody(other.body_text()),
    }
}

#[cfg(test)]
mod tests {
    use super::span_api_token;

    #[test]
    fn api_token_tolerates_the_documents_no_break_space() {
        assert_eq!(span_api_token(b"abc").as_deref(), Some("abc"));
        assert_eq!(span_api_token(b"\xc2\xa0abc").as_deref(), Some("abc"));
        assert_eq!(
            span_api_token(b"\xc3\x82\xc2\xa0 abc").as_deref(),
            Some("abc")
        );
        assert_eq!(
            span_api_token(b"ab\xc2\xa0c"),
            None,
            "only a leading no-break space is stripped"
        );
    }
}

/// The media type of a request body (`Content-Type` without parameters, lowercase; empty
/// when absent).
pub fn media_type(headers: &axum::http::HeaderMap) -> String {
    let value = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Query parameters; unknown parameters are ignored, malformed ones are 400.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| ApiError::InvalidQuery(e.body_text()))
    }
}

/// Path segments, percent-decoded.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e: PathRejection| {
                ApiError::Validation(format!("invalid path: {}", e.body_text()))
            })
    }
}

/// The authenticated caller: `Authorization: Bearer <token>` (or the `X-API-Token` header
/// Span clients send). Missing or bad credentials are 401.
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller
where
    Arc<Authenticator>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::to_string)
            .or_else(|| {
                parts
                    .headers
                    .get("x-api-token")
                    .and_then(|v| span_api_token(v.as_bytes()))
            })
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthenticated)?;
        let authenticator = Arc::<Authenticator>::from_ref(state);
        // Two point reads that the block cache answers in microseconds: cheaper here than a
        // hop to the blocking pool.
        let principal = authenticator.authenticate(&bearer)?;
        tracing::Span::current().record("actor", principal.actor_id().as_str());
        Ok(Caller(principal))
    }
}

/// The token of an `X-API-Token` header. The Span document's own example separates name and
/// value with a no-break space (`-HX-API-Token:\u{a0}[token]`, also seen double-encoded), so
/// copied commands send one: it is stripped like ordinary leading whitespace.
fn span_api_token(value: &[u8]) -> Option<String> {
    let mut rest = value;
    loop {
        rest = match rest {
            [b' ' | b'\t', tail @ ..] => tail,
            [0xC2, 0xA0, tail @ ..] => tail,
            [0xC3, 0x82, 0xC2, 0xA0, tail @ ..] => tail,
            _ => break,
        };
    }
    let token = std::str::from_utf8(rest).ok()?;
    token.is_ascii().then(|| token.to_string())
}

impl Caller {
    /// Checks the caller may act on `partner` with `scope`; answers the validated partner id.
    pub fn partner<'a>(&self, partner: &'a str, scope: Scope) -> Result<&'a str, ApiError> {
        self.0.authorize(partner, scope)?;
        validate_id("partnerId", partner)?;
        Ok(partner)
    }
}
