//! hawkBit DDI device routes under `/{tenant}/controller/v1/{controllerId}`: the base poll,
//! deployment and cancel actions with their feedback, configData, installedBase, artifacts.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, State};
use axum::http::{header, request::Parts, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use fwrepo_schemas::{
    DdiActionFeedback, DdiActionHistory, DdiArtifact, DdiArtifactHashes, DdiArtifactLinks,
    DdiCancel, DdiCancelActionToStop, DdiChunk, DdiConfig, DdiConfigData, DdiControllerBase,
    DdiControllerLinks, DdiDeployment, DdiDeploymentBase, DdiExecution, DdiFinished, DdiHandling,
    DdiLink, DdiPolling, DdiUpdateMode,
};

use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath};
use super::AppState;
use crate::domain::ddi::{
    format_sleep, ActionImageKind, ActionRecord, ActionState, Channel, Execution, Feedback,
    Finished, LegacyDigests,
};
use crate::service::ddi::{ConfigMode, DdiCredential, DdiCredentialKind, DdiError};
use crate::service::Service;

/// The DDI routes, relative to `/{tenant}/controller/v1/{controllerId}`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(poll))
        .route("/deploymentBase/{actionId}", get(deployment_base))
        .route(
            "/deploymentBase/{actionId}/feedback",
            post(deployment_feedback),
        )
        .route("/cancelAction/{actionId}", get(cancel_action))
        .route("/cancelAction/{actionId}/feedback", post(cancel_feedback))
        .route("/configData", put(config_data))
        .route("/installedBase/{actionId}", get(installed_base))
        .route("/softwaremodules/{moduleId}/artifacts", get(artifacts))
        .route(
            "/softwaremodules/{moduleId}/artifacts/{fileName}",
            get(download).head(download),
        )
}

impl From<DdiError> for ApiError {
    fn from(error: DdiError) -> Self {
        match error {
            DdiError::Unauthorized => ApiError::DdiUnauthenticated,
            DdiError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            DdiError::Gone => ApiError::Gone(error.to_string()),
            DdiError::Service(inner) => inner.into(),
        }
    }
}

/// The `Authorization: TargetToken <t>` or `GatewayToken <t>` of a request (never a bearer
/// token: DDI routes accept only DDI credentials).
pub struct DdiAuth(Option<DdiCredential>);

impl<S: Send + Sync> FromRequestParts<S> for DdiAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let (scheme, token) = value.trim().split_once(' ').unwrap_or(("", ""));
        let token = token.trim().to_string();
        let credential = match scheme.to_ascii_lowercase().as_str() {
            _ if token.is_empty() => None,
            "targettoken" => Some(DdiCredential::Target(token)),
            "gatewaytoken" => Some(DdiCredential::Gateway(token)),
            _ => None,
        };
        Ok(DdiAuth(credential))
    }
}

/// A controller's path, authenticated.
struct Controller {
    tenant: String,
    id: String,
    kind: DdiCredentialKind,
}

fn authenticate(
    service: &Service,
    auth: DdiAuth,
    tenant: String,
    controller: String,
) -> ApiResult<Controller> {
    let kind = service.ddi_authenticate(&tenant, &controller, auth.0)?;
    Ok(Controller {
        tenant,
        id: controller,
        kind,
    })
}

/// Authenticates the controller and loads one of its actions (any state) with its digests.
async fn controller_action(
    service: &Service,
    auth: DdiAuth,
    (tenant, controller, action): (String, String, String),
) -> ApiResult<(Controller, ActionRecord, LegacyDigests)> {
    let c = authenticate(service, auth, tenant, controller)?;
    let (record, digests) = service
        .ddi_action(&c.tenant, &c.id, parse_action_id(&action)?)
        .await?;
    Ok((c, record, digests))
}

fn parse_action_id(text: &str) -> ApiResult<u64> {
    text.parse()
        .map_err(|_| ApiError::NotFound("action not found".into()))
}

/// `{public_url}/{tenant}/controller/v1/{controllerId}`.
fn controller_url(service: &Service, c: &Controller) -> String {
    format!(
        "{}/{}/controller/v1/{}",
        service.config().public_url.trim_end_matches('/'),
        c.tenant,
        c.id
    )
}

fn link(href: String) -> Option<DdiLink> {
    Some(DdiLink { href })
}

async fn poll(
    State(service): State<Arc<Service>>,
    auth: DdiAuth,
    ApiPath((tenant, controller)): ApiPath<(String, String)>,
) -> ApiResult<Json<DdiControllerBase>> {
    let c = authenticate(&service, auth, tenant, controller)?;
    let outcome = service.ddi_poll(&c.tenant, &c.id, c.kind).await?;
    let base = controller_url(&service, &c);
    let mut links = DdiControllerLinks::default();
    match &outcome.open {
        Some(a) if a.state == ActionState::Canceling => {
            links.cancel_action = link(format!("{base}/cancelAction/{}", a.id));
        }
        Some(a) => links.deployment_base = link(format!("{base}/deploymentBase/{}", a.id)),
        None => {}
    }
    if outcome.config_due {
        links.config_data = link(format!("{base}/configData"));
    }
    if let Some(id) = outcome.installed {
        links.installed_base = link(format!("{base}/installedBase/{id}"));
    }
    Ok(Json(DdiControllerBase {
        config: DdiConfig {
            polling: DdiPolling {
                sleep: format_sleep(outcome.sleep_secs),
            },
        },
        links,
    }))
}

/// Minimal percent-encoding of a path segment (file names may hold spaces and the like).
fn encode_segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC)
        .to_string()
        .replace("%2E", ".")
        .replace("%2D", "-")
        .replace("%5F", "_")
}

fn artifact_wire(
    service: &Service,
    c: &Controller,
    action: &ActionRecord,
    digests: &LegacyDigests,
) -> DdiArtifact {
    let image = &action.image;
    let file = format!(
        "{}/softwaremodules/{}/artifacts/{}",
        controller_url(service, c),
        action.id,
        encode_segment(&image.filename)
    );
    let https = service.config().public_url.starts_with("https://");
    DdiArtifact {
        filename: image.filename.clone(),
        hashes: DdiArtifactHashes {
            sha1: digests.sha1.clone(),
            md5: digests.md5.clone(),
            sha256: image.sha256.to_hex(),
        },
        size: image.length,
        links: DdiArtifactLinks {
            download: https.then(|| DdiLink { href: file.clone() }),
            md5sum: https.then(|| DdiLink {
                href: format!("{file}.MD5SUM"),
            }),
            download_http: DdiLink { href: file.clone() },
            md5sum_http: DdiLink {
                href: format!("{file}.MD5SUM"),
            },
        },
    }
}

fn deployment_wire(
    service: &Service,
    c: &Controller,
    action: &ActionRecord,
    digests: &LegacyDigests,
) -> DdiDeploymentBase {
    let image = &action.image;
    let part = match (image.kind, image.pool) {
        (ActionImageKind::DeviceType, Some(pool)) => format!("fw-{}", pool.fw_type),
        _ => "os".to_string(),
    };
    // Newest first, as hawkBit lists them.
    let messages = action
        .history
        .iter()
        .rev()
        .flat_map(|e| e.messages.iter().cloned())
        .take(50)
        .collect();
    DdiDeploymentBase {
        id: action.id.to_string(),
        deployment: DdiDeployment {
            download: DdiHandling::Forced,
            update: DdiHandling::Forced,
            chunks: vec![DdiChunk {
                part,
                version: image.version.clone(),
                name: image.name.clone(),
                artifacts: vec![artifact_wire(service, c, action, digests)],
            }],
        },
        action_history: DdiActionHistory {
            status: action.state.as_str().to_string(),
            messages,
        },
    }
}

async fn deployment_base(
    State(service): State<Arc<Service>>,
    auth: DdiAuth,
    ApiPath(path): ApiPath<(String, String, String)>,
) -> ApiResult<Json<DdiDeploymentBase>> {
    let (c, record, digests) = controller_action(&service, auth, path).await?;
    Ok(Json(deployment_wire(&service, &c, &record, &digests)))
}

async fn installed_base(
    State(service): State<Arc<Service>>,
    auth: DdiAuth,
    ApiPath(path): ApiPath<(String, String, String)>,
) -> ApiResult<Json<DdiDeploymentBase>> {
    let (c, record, digests) = controller_action(&service, auth, path).await?;
    if record.state != ActionState::Success {
        return Err(ApiError::NotFound("installed action not found".into()));
    }
    Ok(Json(deployment_wire(&service, &c, &record, &digests)))
}

async fn cancel_action(
    State(service): State<Arc<Service>>,
    auth: DdiAuth,
    ApiPath(path): ApiPath<(String, String, String)>,
) -> ApiResult<Json<DdiCancel>> {
    let (_, record, _) = controller_action(&service, auth, path).await?;
    if !matches!(record.state, ActionState::Canceling | ActionState::Canceled) {
        return Err(ApiError::NotFound("cancel action not found".into()));
    }
    Ok(Json(DdiCancel {
        id: record.id.to_string(),
        cancel_action: DdiCancelActionToStop {
            stop_id: record.id.to_string(),
        },
    }))
}

fn feedback_domain(body: DdiActionFeedback) -> Feedback {
    let execution = match body.status.execution {
        DdiExecution::Closed => Execution::Closed,
        DdiExecution::Proceeding => Execution::Proceeding,
        DdiExecution::Canceled => Execution::Canceled,
        DdiExecution::Scheduled => Execution::Scheduled,
        DdiExecution::Rejected => Execution::Rejected,
        DdiExecution::Resumed => Execution::Resumed,
        DdiExecution::Downloaded => Execution::Downloaded,
        DdiExecution::Download => Execution::Download,
    };
    let finished = match body.status.result.finished {
        DdiFinished::Success => Finished::Success,
        DdiFinished::Failure => Finished::Failure,
        DdiFinished::None => Finished::None,
    };
    let mut details = body.status.details.unwrap_or_default();
    if let Some(progress) = body.status.result.progress {
        let of = progress
            .of
            .map(|of| format!(" of {of}"))
            .unwrap_or_default();
        details.push(format!("progress {}{of}", progress.cnt));
    }
    Feedback {
        execution,
        finished,
        code: body.status.code,
        details,
        device_time_ms: body.timestamp,
    }
}

async fn feedback(
    service: &Service,
    auth: DdiAuth,
    (tenant, controller, action): (String, String, String),
    channel: Channel,
    body: DdiActionFeedback,
) -> ApiResult<StatusCode> {
    let c = authenticate(service, auth, tenant, controller)?;
    let action = parse_action_id(&action)?;
    service
        .ddi_feedback(&c.tenant, &c.id, action, channel, feedback_domain(body))
        .await?;
    Ok(StatusCode::OK)
}

async fn deployment_feedback(
    State(service): State<Arc<Service>>,
    auth: DdiAuth,
    ApiPath(path): ApiPath<(String, String, String)>,
    ApiJson(body): ApiJson<DdiActionFeedback>,
) -> ApiResult<StatusCode> {
    feedback(&service, auth, path, Channel::Deployment, body).await
}

async fn cancel_feedback(
    State(service): State<Arc<Service>>,
    auth: DdiAuth,
    ApiPath(path): ApiPath<(String, String, String)>,
    ApiJson(body): ApiJson<DdiActionFeedback>,
) -> ApiResult<StatusCode> {
    feedback(&service, auth, path, Channel::Cancel, body).await
}

async fn config_data(
    State(service): State<Arc<Service>>,
    auth: DdiAuth,
    ApiPath((tenant, controller)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<DdiConfigData>,
) -> ApiResult<StatusCode> {
    let c = authenticate(&service, auth, tenant, controller)?;
    let mode = match body.mode.unwrap_or_default() {
        DdiUpdateMode::Merge => ConfigMode::Merge,
        DdiUpdateMode::Replace => ConfigMode::Replace,
        DdiUpdateMode::Remove => ConfigMode::Remove,
    };
    service
        .ddi_config_data(&c.tenant, &c.id, body.data, mode)
        .await?;
    Ok(StatusCode::OK)
}

async fn artifacts(
    State(service): State<Arc<Service>>,
    auth: DdiAuth,
    ApiPath(path): ApiPath<(String, String, String)>,
) -> ApiResult<Json<Vec<DdiArtifact>>> {
    let (c, record, digests) = controller_action(&service, auth, path).await?;
    Ok(Json(vec![artifact_wire(&service, &c, &record, &digests)]))
}

/// The artifact (Range, HEAD) or its `.MD5SUM` file (`<md5>  <filename>`, as md5sum -c reads).
async fn download(
    State(service): State<Arc<Service>>,
    auth: DdiAuth,
    ApiPath((tenant, controller, module, file)): ApiPath<(String, String, String, String)>,
    request: axum::extract::Request,
) -> ApiResult<Response> {
    let (_, record, digests) =
        controller_action(&service, auth, (tenant, controller, module)).await?;
    let image = record.image;
    if file == format!("{}.MD5SUM", image.filename) {
        let body = format!("{}  {}\n", digests.md5, image.filename);
        let length = body.len().to_string();
        let body = if request.method() == Method::HEAD {
            Body::empty()
        } else {
            Body::from(body)
        };
        return Ok((
            [
                (header::CONTENT_TYPE, "text/plain".to_string()),
                (header::CONTENT_LENGTH, length),
            ],
            body,
        )
            .into_response());
    }
    if file != image.filename {
        return Err(ApiError::NotFound("artifact not found".into()));
    }
    let request = super::repository::BlobRequest::of(&request, true);
    super::repository::serve_blob(&service, request, image.sha256, image.length, &image.blake3)
        .await
}
