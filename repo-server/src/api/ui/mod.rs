//! The web UI ("OTA Manager") under `/ui/`: server-rendered pages over the same service layer
//! as the JSON API. Routes only; each page is its own module. Handlers render, service decides.

mod access;
mod assets;
mod audit;
mod collections;
mod csrf;
mod device_types;
mod error;
mod login;
mod overview;
mod pool;
mod record;
mod retention;
mod session;
mod types;
mod upload;
mod view;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::middleware;
use axum::response::Redirect;
use axum::routing::{any, get, post};
use axum::Router;

use super::AppState;

/// Sent with every UI answer: only this origin's scripts, styles and forms; never framed.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

pub fn routes(state: AppState) -> Router<AppState> {
    let record = "/ui/pool/{type}/{versionNumber}";
    let collection = "/ui/collections/{collectionId}";
    Router::new()
        .route("/ui/", get(overview::page))
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route("/ui/login", get(login::form).post(login::submit))
        .route("/ui/logout", post(login::logout))
        .route("/ui/assets/{name}", get(assets::serve))
        .route("/ui/types", get(types::list).post(types::create))
        .route("/ui/types/{type}", get(types::edit).post(types::update))
        .route("/ui/pool", get(pool::search))
        .route(record, get(record::page))
        .route(&format!("{record}/download"), get(record::download))
        .route(&format!("{record}/tags"), post(record::add_tag))
        .route(&format!("{record}/tags/remove"), post(record::remove_tag))
        .route(&format!("{record}/associations"), post(record::associate))
        .route(
            &format!("{record}/associations/remove"),
            post(record::dissociate),
        )
        .route(&format!("{record}/push"), post(record::push))
        .route(&format!("{record}/delete"), post(record::delete))
        .route("/ui/upload", get(upload::page))
        .route(
            "/ui/upload/binary",
            post(upload::binary).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/ui/upload/form",
            post(upload::form).layer(DefaultBodyLimit::disable()),
        )
        .route("/ui/upload/record", post(upload::create_record))
        .route("/ui/audit", get(audit::page))
        .route("/ui/retention", get(retention::page))
        .route("/ui/retention/run", post(retention::run))
        .route("/ui/device-types", get(device_types::list))
        .route(
            "/ui/device-types/{deviceTypeId}/dissociate",
            post(device_types::dissociate),
        )
        .route(
            "/ui/collections",
            get(collections::list).post(collections::create),
        )
        .route(collection, get(collections::page))
        .route(
            &format!("{collection}/settings"),
            post(collections::settings),
        )
        .route(
            &format!("{collection}/images"),
            post(collections::add_image),
        )
        .route(
            &format!("{collection}/images/upload"),
            post(collections::upload_image).layer(DefaultBodyLimit::disable()),
        )
        .route(
            &format!("{collection}/images/{{imageId}}"),
            post(collections::edit_image),
        )
        .route(
            &format!("{collection}/images/{{imageId}}/delete"),
            post(collections::delete_image),
        )
        .route(
            &format!("{collection}/devices"),
            post(collections::add_device),
        )
        .route(
            &format!("{collection}/devices/{{deviceId}}/target"),
            post(collections::device_target),
        )
        .route("/ui/access", get(access::page))
        .route("/ui/access/clients", post(access::create_client))
        .route(
            "/ui/access/clients/{clientId}/revoke",
            post(access::revoke_client),
        )
        .route("/ui/access/users", post(access::create_user))
        .route(
            "/ui/access/users/{username}/disabled",
            post(access::set_user_disabled),
        )
        .route("/ui/{*rest}", any(error::not_found))
        // Set before the API's own (JSON) one, which then leaves these routes alone.
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(middleware::from_fn_with_state(state, session::load))
        .layer(middleware::map_response(security_headers))
        .route("/", get(|| async { Redirect::to("/ui/") }))
}

async fn security_headers(mut response: axum::response::Response) -> axum::response::Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}
