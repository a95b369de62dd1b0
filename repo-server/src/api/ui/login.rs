//! Sign-in and sign-out: the login form, the session cookie (HttpOnly, SameSite=Lax,
//! Secure behind https), and logout, which ends the session and clears the cookie.

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::assets::AssetUrls;
use super::error::{UiError, UiResult};
use super::session::{session_cookie, UiUser};
use super::view::{self, UiForm};
use crate::auth::{AuthError, Authenticator, SESSION_COOKIE};

#[derive(Template)]
#[template(path = "ui/login.html")]
struct LoginPage {
    next: String,
    username: String,
    error: Option<&'static str>,
    assets: AssetUrls,
}

#[derive(Deserialize)]
pub struct NextParam {
    next: Option<String>,
}

/// Only a path of this UI may be the place to return to (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with("/ui/") && !path.starts_with("//") && !path.contains('\\') =>
        {
            path.to_string()
        }
        _ => "/ui/".into(),
    }
}

pub async fn form(user: Option<UiUser>, Query(params): Query<NextParam>) -> Response {
    let next = safe_next(params.next.as_deref());
    if user.is_some() {
        return Redirect::to(&next).into_response();
    }
    view::page(LoginPage {
        next,
        username: String::new(),
        error: None,
        assets: AssetUrls,
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

pub async fn submit(
    State(auth): State<Arc<Authenticator>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    UiForm(form): UiForm<LoginForm>,
) -> UiResult<Response> {
    let next = safe_next(form.next.as_deref());
    let username = form.username.trim().to_string();
    let attempt = {
        let (auth, username) = (Arc::clone(&auth), username.clone());
        // argon2 is deliberately slow: off the async threads.
        crate::service::spawn_blocking(move || auth.login(&username, &form.password, peer.ip()))
            .await
            .map_err(|e| UiError::Internal(format!("login task failed: {e}")))?
    };
    match attempt {
        Ok(new) => {
            let mut response = Redirect::to(&next).into_response();
            let cookie = session_cookie_header(&auth, &new.cookie_value, None);
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            Ok(response)
        }
        Err(AuthError::InvalidCredentials) => {
            let page = LoginPage {
                next,
                username,
                error: Some("Wrong username or password."),
                assets: AssetUrls,
            };
            Ok(view::html(StatusCode::UNAUTHORIZED, page.render()))
        }
        Err(other) => Err(other.into()),
    }
}

/// `Set-Cookie` for the session; `Max-Age=0` (with an empty value) deletes it.
fn session_cookie_header(auth: &Authenticator, value: &str, max_age: Option<u64>) -> HeaderValue {
    let config = auth.session_config();
    let max_age = max_age.unwrap_or(config.absolute.as_secs());
    let secure = if config.secure_cookie { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    );
    HeaderValue::from_str(&cookie).expect("cookie values are URL-safe base64")
}

/// Logout (a POST, CSRF-checked by the session middleware): ends the session, drops the cookie.
pub async fn logout(
    State(auth): State<Arc<Authenticator>>,
    headers: axum::http::HeaderMap,
    user: Option<UiUser>,
) -> UiResult<Response> {
    if let Some(user) = &user {
        auth.logout(&user.cookie)?;
    } else if session_cookie(&headers).is_some() {
        // An expired session's cookie: nothing to end, only the cookie to drop.
    }
    let mut response = Redirect::to("/ui/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie_header(&auth, "", Some(0)),
    );
    Ok(response)
}
