//! Errors of the web UI, rendered as readable pages (or, for htmx requests, as a message
//! fragment): never JSON, never a stack trace. 5xx details are logged, not shown.

use std::time::Duration;

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::AuthError;
use crate::domain::DomainError;
use crate::service::ServiceError;

use super::super::error::ApiError;

#[derive(Debug)]
pub enum UiError {
    /// No valid session: the browser goes to the login page (and comes back after).
    LoginRequired {
        next: String,
        htmx: bool,
    },
    NotFound(String),
    Forbidden(String),
    /// The CSRF token is missing or wrong.
    Csrf,
    Invalid(String),
    Conflict(String),
    TooLarge(u64),
    TooManyAttempts {
        retry_after: Duration,
    },
    Unavailable(String),
    Internal(String),
}

pub type UiResult<T> = Result<T, UiError>;

impl UiError {
    fn status(&self) -> StatusCode {
        match self {
            UiError::LoginRequired { .. } => StatusCode::SEE_OTHER,
            UiError::NotFound(_) => StatusCode::NOT_FOUND,
            UiError::Forbidden(_) | UiError::Csrf => StatusCode::FORBIDDEN,
            UiError::Invalid(_) => StatusCode::BAD_REQUEST,
            UiError::Conflict(_) => StatusCode::CONFLICT,
            UiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            UiError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            UiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            UiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn message(&self) -> String {
        match self {
            UiError::LoginRequired { .. } => "Please sign in.".into(),
            UiError::NotFound(what) => what.clone(),
            UiError::Forbidden(why) => why.clone(),
            UiError::Csrf => "This form has expired or did not come from this site (missing or wrong CSRF token). Reload the page and try again.".into(),
            UiError::Invalid(why) | UiError::Conflict(why) | UiError::Unavailable(why) => why.clone(),
            UiError::TooLarge(limit) => format!("The file exceeds the upload limit of {limit} bytes."),
            UiError::TooManyAttempts { retry_after } => format!(
                "Too many failed sign-in attempts. Try again in {} seconds.",
                retry_after.as_secs().max(1)
            ),
            UiError::Internal(_) => "Something went wrong on the server. The problem has been logged; try again later.".into(),
        }
    }

    fn title(&self) -> &'static str {
        match self {
            UiError::NotFound(_) => "Page not found",
            UiError::Forbidden(_) | UiError::Csrf => "Not allowed",
            UiError::TooManyAttempts { .. } => "Too many attempts",
            UiError::Internal(_) | UiError::Unavailable(_) => "Server problem",
            _ => "That did not work",
        }
    }
}

/// The full error page (no session data: it may be answered before a session is known).
#[derive(Template)]
#[template(path = "ui/error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
    assets: super::assets::AssetUrls,
}

/// The message fragment an htmx request swaps into the page's message area.
#[derive(Template)]
#[template(
    source = r#"<p class="error" role="alert">{{ message }}</p>"#,
    ext = "html"
)]
struct ErrorFragment<'a> {
    message: &'a str,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        if let UiError::LoginRequired { next, htmx } = &self {
            let target = format!("/ui/login?next={}", encode_component(next));
            if *htmx {
                let mut response = StatusCode::NO_CONTENT.into_response();
                if let Ok(value) = HeaderValue::from_str(&target) {
                    response.headers_mut().insert("hx-redirect", value);
                }
                return response;
            }
            return Redirect::to(&target).into_response();
        }
        if let UiError::Internal(detail) = &self {
            tracing::error!(error.detail = %detail, "internal error");
        }
        let status = self.status();
        let message = self.message();
        let mut response = super::view::html(
            status,
            ErrorPage {
                status: status.as_u16(),
                title: self.title(),
                message: &message,
                assets: super::assets::AssetUrls,
            }
            .render(),
        );
        if let UiError::TooManyAttempts { retry_after } = &self {
            if let Ok(value) = HeaderValue::from_str(&retry_after.as_secs().max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

impl UiError {
    /// For an htmx request: the message alone, swapped into the page's message area.
    pub fn into_fragment(self) -> Response {
        if matches!(self, UiError::LoginRequired { .. }) {
            return self.into_response();
        }
        if let UiError::Internal(detail) = &self {
            tracing::error!(error.detail = %detail, "internal error");
        }
        let message = self.message();
        let mut response =
            super::view::html(self.status(), ErrorFragment { message: &message }.render());
        let headers = response.headers_mut();
        headers.insert("hx-retarget", HeaderValue::from_static("#messages"));
        headers.insert("hx-reswap", HeaderValue::from_static("innerHTML"));
        response
    }
}

/// Percent-encodes a query component (the login page's `next`).
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

impl From<ServiceError> for UiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Invalid(domain) => domain.into(),
            ServiceError::NotFound(what) => {
                UiError::NotFound(capitalize(&format!("{what} not found.")))
            }
            ServiceError::Conflict(detail) | ServiceError::StateConflict(_, detail) => {
                UiError::Conflict(detail)
            }
            error @ ServiceError::InUse(_) => UiError::Conflict(error.to_string()),
            ServiceError::DigestMismatch(detail) => UiError::Invalid(detail),
            ServiceError::Trust(error) => UiError::Invalid(error.to_string()),
            ServiceError::SignatureMismatch(detail) => UiError::Invalid(detail),
            ServiceError::TooLarge { limit } => UiError::TooLarge(limit),
            ServiceError::Unavailable(detail) => UiError::Unavailable(detail),
            error @ ServiceError::StoreUnavailable { .. } => UiError::Unavailable(format!(
                "{}; try again shortly.",
                capitalize(&error.to_string())
            )),
            ServiceError::Internal(detail) => UiError::Internal(detail.to_string()),
        }
    }
}

impl From<DomainError> for UiError {
    fn from(error: DomainError) -> Self {
        UiError::Invalid(capitalize(&error.to_string()))
    }
}

/// The JSON API's errors (from the parsers the UI shares with it), as readable messages.
impl From<ApiError> for UiError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::NotFound(what) => UiError::NotFound(what),
            ApiError::Conflict(what) => UiError::Conflict(what),
            ApiError::Forbidden(what) => UiError::Forbidden(what),
            ApiError::TooLarge(limit) => UiError::TooLarge(limit),
            ApiError::Unavailable(what) => UiError::Unavailable(what),
            error @ ApiError::StorageUnavailable(_) => {
                UiError::Unavailable(capitalize(&error.to_string()))
            }
            ApiError::Internal(detail) => UiError::Internal(detail),
            other => UiError::Invalid(capitalize(&other.to_string())),
        }
    }
}

impl From<AuthError> for UiError {
    fn from(error: AuthError) -> Self {
        match error {
            // Another partner's resources look exactly like missing ones.
            AuthError::OtherPartner => UiError::NotFound("Not found.".into()),
            AuthError::MissingScope(scope) => UiError::Forbidden(format!(
                "Your role does not allow this (it needs the '{scope}' scope)."
            )),
            AuthError::TooManyAttempts { retry_after } => UiError::TooManyAttempts { retry_after },
            AuthError::Unauthenticated => {
                UiError::Forbidden("Your session has ended; sign in again.".into())
            }
            AuthError::InvalidCredentials => {
                UiError::Forbidden("Wrong username or password.".into())
            }
            AuthError::NotFound(what) => {
                UiError::NotFound(capitalize(&format!("{what} not found.")))
            }
            AuthError::Invalid(why) => UiError::Invalid(capitalize(&why)),
            AuthError::Conflict(why) => UiError::Conflict(capitalize(&why)),
            other => UiError::Internal(other.to_string()),
        }
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A UI address asked with the wrong method (e.g. a GET of a form's POST target).
pub async fn method_not_allowed() -> Response {
    let message = "This address only accepts a form submission; use the page's buttons.";
    let mut response = super::view::html(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorPage {
            status: 405,
            title: "That did not work",
            message,
            assets: super::assets::AssetUrls,
        }
        .render(),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

/// Unknown `/ui/...` paths: a real 404 page.
pub async fn not_found(uri: Uri) -> UiError {
    UiError::NotFound(format!("There is no page at {}.", uri.path()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unavailable blob store is a 503 page in the UI too, whether the error reaches it
    /// from the service or through the API's upload helpers.
    #[test]
    fn an_unavailable_blob_store_is_503() {
        let store = || crate::store::StoreError::Unavailable {
            retry_after: std::time::Duration::from_secs(2),
            source: "connection refused".into(),
        };
        let from_service = UiError::from(ServiceError::from(store()));
        let from_api = UiError::from(ApiError::from(ServiceError::from(store())));
        for error in [from_service, from_api] {
            assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE, "{error:?}");
        }
    }
}
