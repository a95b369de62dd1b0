//! The HTTP edge (axum): routes, per-request tracing and metrics, body limits, and the
//! mapping of every error to problem+json. Handlers parse, authorize, call `service`, map.
//! Architecture invariant: nothing below this folder imports axum.

mod access_log;
pub mod actions;
pub mod admin;
pub mod audit;
pub mod binaries;
pub mod checkin;
pub mod collections;
pub mod ddi;
pub mod devices;
pub mod error;
pub mod event_loops;
pub mod extract;
pub mod images;
pub mod oauth;
pub mod ops;
pub mod pool;
pub mod repository;
mod request_id;
mod request_metrics;
pub mod retention;
pub mod signatures;
pub mod trust;
pub mod types;
pub mod ui;
pub mod urls;
pub mod wire;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRef};
use axum::middleware;
use axum::response::Response;
use axum::routing::{get, post, put};

use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};

use crate::auth::Authenticator;
use crate::service::Service;
use error::ApiError;

/// Largest JSON body accepted (413 beyond). Binary uploads have their own limit.
pub const MAX_JSON_BODY_BYTES: usize = 1024 * 1024;

/// What handlers can extract; each takes only the part it needs (`FromRef`). Cloned for
/// every request by each layer that holds it: one reference count, whatever it holds.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

pub struct AppParts {
    pub service: Arc<Service>,
    pub auth: Arc<Authenticator>,
    pub metrics: PrometheusHandle,
}

impl AppState {
    pub fn new(service: Arc<Service>, auth: Arc<Authenticator>, metrics: PrometheusHandle) -> Self {
        AppState(Arc::new(AppParts {
            service,
            auth,
            metrics,
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

impl FromRef<AppState> for Arc<Service> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.service)
    }
}

impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.auth)
    }
}

impl FromRef<AppState> for PrometheusHandle {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}

/// Where the Afero OTA routes live.
const OTA_PREFIX: &str = "/v1/ota/partners/{partnerId}";

/// `path` under [`OTA_PREFIX`].
fn ota(path: &str) -> String {
    format!("{OTA_PREFIX}{path}")
}

/// The Afero OTA routes. Registered at their full paths rather than nested: a nested router
/// rewrites every request's URI and routes it a second time.
fn ota_routes() -> Router<AppState> {
    let image = "/deviceTypes/{deviceTypeId}/firmwareImages";
    Router::new()
        .route(&ota("/types"), post(types::create).get(types::list))
        .route(&ota("/types/{type}"), get(types::get).put(types::update))
        .route(&ota("/pool"), post(pool::create).get(pool::list))
        .route(&ota("/pool/types/{type}"), get(pool::list_by_type))
        .route(
            &ota("/pool/types/{type}/names/{name}/versions/{version}/exists"),
            get(pool::exists),
        )
        .route(
            &ota("/pool/types/{type}/versionNumbers/{versionNumber}"),
            get(pool::get).put(pool::update).delete(pool::delete),
        )
        .route(
            &ota("/pool/types/{type}/versionNumbers/{versionNumber}/associations"),
            get(pool::associations),
        )
        .route(
            &ota("/binaries"),
            post(binaries::upload).layer(DefaultBodyLimit::disable()),
        )
        .route(&ota("/binaries/sha256/{sha256}"), get(binaries::lookup))
        .route(
            &ota("/binaries/moveToRepository"),
            post(binaries::move_to_repository),
        )
        .route(
            &ota("/repository/sha256/{sha256}"),
            get(repository::download).head(repository::download),
        )
        .route(&ota(image), post(images::create).get(images::list))
        .route(
            &ota(&format!("{image}/types/{{type}}")),
            get(images::list_by_type),
        )
        .route(
            &ota(&format!(
                "{image}/types/{{type}}/versionNumbers/{{versionNumber}}"
            )),
            get(images::get).delete(images::delete),
        )
        .route(
            &ota(&format!("{image}/{{firmwareImageId}}/push")),
            put(images::push),
        )
        .route(&ota("/tags"), get(pool::tags))
        .nest(&ota("/ddi"), actions::partner_routes())
        .route(
            &ota("/admin/clients"),
            post(admin::create_client).get(admin::list_clients),
        )
        .route(
            &ota("/admin/clients/{clientId}"),
            axum::routing::delete(admin::revoke_client),
        )
        .route(
            &ota("/admin/users"),
            post(admin::create_user).get(admin::list_users),
        )
        .route(
            &ota("/admin/users/{username}"),
            axum::routing::patch(admin::update_user),
        )
        // The audit log.
        .route(&ota("/audit"), get(audit::list))
        // Retention (admin scope).
        .route(
            &ota("/retention/policy"),
            get(retention::get_policy)
                .put(retention::put_policy)
                .delete(retention::delete_policy),
        )
        .route(&ota("/retention/plan"), post(retention::plan))
        .route(
            &ota("/retention/runs"),
            post(retention::run).get(retention::list_runs),
        )
        // Signatures and provenance of a repository binary; trusted keys and policy (admin).
        .route(
            &ota("/repository/sha256/{sha256}/signatures"),
            post(signatures::add).get(signatures::list),
        )
        .route(
            &ota("/repository/sha256/{sha256}/signatures/{keyId}"),
            get(signatures::get),
        )
        .route(
            &ota("/repository/sha256/{sha256}/provenance"),
            post(signatures::add_provenance).get(signatures::provenance),
        )
        .route(
            &ota("/admin/trustedKeys"),
            post(trust::add_key).get(trust::list_keys),
        )
        .route(
            &ota("/admin/trustedKeys/{keyId}"),
            axum::routing::delete(trust::remove_key),
        )
        .route(
            &ota("/admin/signingPolicy"),
            get(trust::policy).put(trust::set_policy),
        )
}

/// The Span FOTA routes (the partner is the token's) and the device check-in.
fn span_routes() -> Router<AppState> {
    let image = "/collections/{collectionId}/firmware/{imageId}";
    let device = "/collections/{collectionId}/devices/{deviceId}";
    Router::new()
        .route(
            "/collections",
            post(collections::create).get(collections::list),
        )
        .route(
            "/collections/{collectionId}",
            get(collections::get)
                .patch(collections::update)
                .delete(collections::delete),
        )
        .route(
            "/collections/{collectionId}/firmware",
            post(collections::create_image)
                .layer(DefaultBodyLimit::disable())
                .get(collections::list_images),
        )
        .route(
            image,
            get(collections::get_image)
                .patch(collections::update_image)
                .delete(collections::delete_image),
        )
        .route(&format!("{image}/usage"), get(collections::usage))
        .route(
            &format!("{image}/download"),
            get(collections::download).head(collections::download),
        )
        .route(
            "/collections/{collectionId}/devices",
            post(devices::create).get(devices::list),
        )
        .route(
            device,
            get(devices::get)
                .patch(devices::update)
                .delete(devices::delete),
        )
        .route(&format!("{device}/checkin"), post(checkin::checkin))
        .nest(device, actions::device_routes())
}

/// The routes, each wrapped in the layers that need its matched route (audit, metrics),
/// inside the layers that do not (panics, request ids, tracing, the body limit). Those wrap
/// the router once, so a request passes them without cloning a boxed service per layer; the
/// returned router is only their shell.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(ota_routes())
        .merge(span_routes())
        .nest("/{tenant}/controller/v1/{controllerId}", ddi::routes())
        .merge(ui::routes(state.clone()))
        .route("/oauth/token", post(oauth::token))
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.yaml", get(ops::openapi))
        .fallback(|| async { ApiError::NotFound("no such resource".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(state.clone(), audit::record))
        .layer(request_metrics::RecordLayer::default())
        .with_state(state);
    let layered = ServiceBuilder::new()
        // A bug must cost one request a 500, never the connection or the process.
        .layer(CatchPanicLayer::custom(panic_answer))
        .layer(SetRequestIdLayer::x_request_id(
            request_id::SequentialRequestId::default(),
        ))
        .layer(access_log::AccessLogLayer)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY_BYTES))
        .service(routes);
    Router::new().fallback_service(layered)
}

fn panic_answer(_: Box<dyn std::any::Any + Send>) -> Response {
    axum::response::IntoResponse::into_response(ApiError::Internal("a handler panicked".into()))
}
