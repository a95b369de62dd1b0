//! The signed-in person: the session cookie is resumed once per request (by the `load`
//! middleware, which also checks the CSRF token of state-changing requests), and `UiUser`
//! hands it to handlers — or sends the browser to the login page.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::super::AppState;
use super::error::UiError;
use crate::auth::{UserSession, SESSION_COOKIE};
use crate::domain::Scope;

/// A request's valid session.
#[derive(Clone)]
pub struct UiUser {
    pub session: UserSession,
    /// The cookie value (needed to log out).
    pub cookie: String,
}

impl UiUser {
    /// The user's own partner, once the role is checked to hold `scope` (exactly as the API
    /// authorizes a token).
    pub fn partner(&self, scope: Scope) -> Result<&str, UiError> {
        let principal = &self.session.principal;
        principal.authorize(&principal.partner, scope)?;
        Ok(&principal.partner)
    }
}

/// The value of the session cookie, if the request carries one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

pub fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

/// Resumes the session of the request (if any) and refuses a state-changing request whose
/// CSRF token does not match it. Login is the one POST made without a session.
pub async fn load(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // Static files need no session (and are answered from the browser cache anyway).
    if request.uri().path().starts_with("/ui/assets/") {
        return next.run(request).await;
    }
    let htmx = is_htmx(request.headers());
    let mut response = resume_and_check(&state, request, next).await;
    // htmx swaps only a fragment: an error page's message goes to the message area instead.
    let failed = response.status().is_client_error() || response.status().is_server_error();
    if htmx && failed && !response.headers().contains_key("hx-retarget") {
        let headers = response.headers_mut();
        headers.insert("hx-retarget", HeaderValue::from_static("#messages"));
        headers.insert("hx-reswap", HeaderValue::from_static("innerHTML"));
        headers.insert("hx-reselect", HeaderValue::from_static("#error-message"));
    }
    response
}

async fn resume_and_check(state: &AppState, mut request: Request, next: Next) -> Response {
    let changes_state = !matches!(*request.method(), Method::GET | Method::HEAD);
    // A second defence, which also covers the login form: browsers name the page a POST
    // comes from, and it must be this site.
    let public_url = &state.service.config().public_url;
    if changes_state && !same_origin(request.headers(), public_url) {
        return UiError::Csrf.into_response();
    }
    let user = session_cookie(request.headers()).and_then(|cookie| {
        state
            .auth
            .resume_session(&cookie)
            .ok()
            .map(|session| UiUser { session, cookie })
    });
    if let Some(user) = user {
        if changes_state && super::csrf::token_in_multipart(request.headers()) {
            // A plain multipart form carries its token as its first field, which only the
            // handler streaming the form reads: no handler gets the user before that check.
            request
                .extensions_mut()
                .insert(super::csrf::Unchecked(user));
            return next.run(request).await;
        }
        if changes_state {
            request = match super::csrf::check(request, &user.session.csrf_token).await {
                Ok(request) => request,
                Err(error) => return error.into_response(),
            };
        }
        request.extensions_mut().insert(user);
    }
    next.run(request).await
}

/// True unless the request names (in `Origin`) a site other than this server: its public
/// URL, or the host the request was sent to.
fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let authority = |url: &str| {
        url.split_once("://")
            .map_or(url, |(_, rest)| rest)
            .split('/')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    let origin = authority(origin);
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    origin == authority(public_url) || (!host.is_empty() && origin == host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_must_be_this_site() {
        let mut headers = HeaderMap::new();
        assert!(
            same_origin(&headers, "https://fw.example"),
            "no Origin: not a browser form"
        );
        headers.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        headers.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(same_origin(&headers, "https://fw.example"));
        headers.insert(header::ORIGIN, "https://FW.example".parse().unwrap());
        assert!(same_origin(&headers, "https://fw.example/"));
        headers.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(!same_origin(&headers, "https://fw.example"));
        headers.insert(header::ORIGIN, "null".parse().unwrap());
        assert!(!same_origin(&headers, "https://fw.example"));
    }
}

/// `Option<UiUser>`: the session if there is one (login and logout work without).
impl<S: Send + Sync> axum::extract::OptionalFromRequestParts<S> for UiUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<UiUser>().cloned())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for UiUser {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if parts.extensions.get::<super::csrf::Unchecked>().is_some() {
            // A multipart form sent to a handler that does not read its token.
            return Err(UiError::Csrf);
        }
        if let Some(user) = parts.extensions.get::<UiUser>() {
            let actor = user.session.principal.actor_id();
            tracing::Span::current().record("client_id", actor.as_str());
            return Ok(user.clone());
        }
        // After login, come back to the page asked for (a GET; a POST's page is its referrer).
        let next = if parts.method == Method::GET {
            parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/ui/".into())
        } else {
            "/ui/".into()
        };
        Err(UiError::LoginRequired {
            next,
            htmx: is_htmx(&parts.headers),
        })
    }
}
