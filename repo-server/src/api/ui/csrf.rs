//! The CSRF check of every state-changing UI request: the session's token must come back in
//! the `X-CSRF-Token` header (htmx, the upload script), the `_csrf` field of a form body, or
//! the first field of a multipart form (checked by the one handler that takes such forms).

use axum::body::Body;
use axum::extract::Request;

use super::error::UiError;

/// Largest form body read to find its `_csrf` field (UI forms are small; files never come
/// as url-encoded forms).
const MAX_FORM_BYTES: usize = 64 * 1024;

/// Form field carrying the token.
pub const FIELD: &str = "_csrf";

/// Passes the request on (its body intact) when it carries the session's token.
pub async fn check(request: Request, expected: &str) -> Result<Request, UiError> {
    if let Some(sent) = request.headers().get("x-csrf-token") {
        return match sent.to_str() {
            Ok(sent) if same(sent, expected) => Ok(request),
            _ => Err(UiError::Csrf),
        };
    }
    if super::super::extract::media_type(request.headers()) != "application/x-www-form-urlencoded" {
        return Err(UiError::Csrf);
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| UiError::TooLarge(MAX_FORM_BYTES as u64))?;
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
        .map_err(|_| UiError::Invalid("The form could not be read.".into()))?;
    let sent = fields.iter().find(|(name, _)| name == FIELD);
    match sent {
        Some((_, sent)) if same(sent, expected) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(UiError::Csrf),
    }
}

/// The session of a multipart form whose token has not been checked yet: handlers see no
/// [`super::session::UiUser`] until [`Unchecked::verify`] has read the form's first field.
#[derive(Clone)]
pub struct Unchecked(pub super::session::UiUser);

impl Unchecked {
    /// The user, when `sent` (the form's `_csrf` field) is the session's token.
    pub fn verify(self, sent: &str) -> Result<super::session::UiUser, UiError> {
        if same(sent, &self.0.session.csrf_token) {
            Ok(self.0)
        } else {
            Err(UiError::Csrf)
        }
    }
}

/// A multipart body without the token in a header: its token is inside the body.
pub fn token_in_multipart(headers: &axum::http::HeaderMap) -> bool {
    !headers.contains_key("x-csrf-token")
        && super::super::extract::media_type(headers) == "multipart/form-data"
}

/// Compares without an early exit, so timing does not reveal how much of a guess was right.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
