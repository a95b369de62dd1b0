//! Our side of DDI: a device's actions and attributes, its target token
//! (`/collections/{c}/devices/{d}/...`), and a partner's gateway tokens and DDI settings
//! (`/v1/ota/partners/{p}/ddi/...`, admin scope to change).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use fwrepo_schemas::{
    CheckinImageSource, DdiAction, DdiActionEvent, DdiActionImage, DdiActionStatus, DdiAttributes,
    DdiGatewayToken, DdiGatewayTokenList, DdiPartnerSettings, DdiPartnerSettingsInput, DdiToken,
    Page,
};
use serde::Deserialize;

use super::collections::own_partner;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use super::AppState;
use crate::domain::ddi::{
    format_sleep, ActionImageKind, ActionRecord, ActionState, DdiSettings, DEFAULT_POLLING_SECS,
};
use crate::domain::{PageRequest, Scope};
use crate::service::Service;

/// Routes relative to `/collections/{collectionId}/devices/{deviceId}`.
pub fn device_routes() -> Router<AppState> {
    Router::new()
        .route("/actions", get(list))
        .route("/actions/{actionId}", get(get_one))
        .route("/attributes", get(attributes))
        .route("/targetToken", post(target_token))
}

/// Routes relative to `/v1/ota/partners/{partnerId}/ddi`.
pub fn partner_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/gatewayTokens",
            post(create_gateway_token).get(list_gateway_tokens),
        )
        .route("/gatewayTokens/{tokenId}", delete(delete_gateway_token))
        .route("/settings", get(settings).put(update_settings))
}

fn status_wire(state: ActionState) -> DdiActionStatus {
    match state {
        ActionState::Scheduled => DdiActionStatus::Scheduled,
        ActionState::Proceeding => DdiActionStatus::Proceeding,
        ActionState::Canceling => DdiActionStatus::Canceling,
        ActionState::Success => DdiActionStatus::Success,
        ActionState::Failure => DdiActionStatus::Failure,
        ActionState::Canceled => DdiActionStatus::Canceled,
    }
}

fn action_wire(action: &ActionRecord) -> DdiAction {
    let image = &action.image;
    DdiAction {
        action_id: action.id.to_string(),
        device_id: action.device.clone(),
        collection_id: action.collection.clone(),
        image: DdiActionImage {
            source: match image.kind {
                ActionImageKind::Collection => CheckinImageSource::Collection,
                ActionImageKind::DeviceType => CheckinImageSource::DeviceType,
            },
            image_id: image.id.to_string(),
            name: image.name.clone(),
            version: image.version.clone(),
            filename: image.filename.clone(),
            sha256: image.sha256.to_hex(),
            length: image.length,
        },
        status: status_wire(action.state),
        cancel_refused: action.cancel_refused,
        history: action
            .history
            .iter()
            .map(|e| DdiActionEvent {
                time: e.at_ms,
                status: status_wire(e.state),
                source: e.source.clone(),
                execution: e.execution.clone(),
                finished: e.finished.clone(),
                code: e.code,
                messages: e.messages.clone(),
            })
            .collect(),
        dropped_history_entries: action.dropped_events,
        created: action.created_ms,
        updated: action.updated_ms,
    }
}

#[derive(Deserialize, Default)]
pub struct ListParams {
    page: Option<String>,
    size: Option<String>,
}

async fn list(
    State(service): State<Arc<Service>>,
    Caller(principal): Caller,
    ApiPath((collection, device)): ApiPath<(String, String)>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<DdiAction>>> {
    let partner = own_partner(&principal, Scope::Read)?;
    let request = PageRequest::parse(params.page.as_deref(), params.size.as_deref(), None)?;
    let page = service
        .list_device_actions(partner, &collection, &device, request.page, request.size)
        .await?;
    let content = page.actions.iter().map(action_wire).collect();
    Ok(Json(super::wire::page(content, page.total, &request)))
}

async fn get_one(
    State(service): State<Arc<Service>>,
    Caller(principal): Caller,
    ApiPath((collection, device, action)): ApiPath<(String, String, String)>,
) -> ApiResult<Json<DdiAction>> {
    let partner = own_partner(&principal, Scope::Read)?;
    let action: u64 = action
        .parse()
        .map_err(|_| ApiError::NotFound("action not found".into()))?;
    let record = service
        .device_action(partner, &collection, &device, action)
        .await?;
    Ok(Json(action_wire(&record)))
}

async fn attributes(
    State(service): State<Arc<Service>>,
    Caller(principal): Caller,
    ApiPath((collection, device)): ApiPath<(String, String)>,
) -> ApiResult<Json<DdiAttributes>> {
    let partner = own_partner(&principal, Scope::Read)?;
    service.device(partner, &collection, &device).await?;
    let state = service.device_attributes(partner, &device).await?;
    Ok(Json(DdiAttributes {
        attributes: state.attributes,
        updated: state.attributes_ms,
    }))
}

/// Issues a new target token for the device; the previous one stops working.
async fn target_token(
    State(service): State<Arc<Service>>,
    Caller(principal): Caller,
    ApiPath((collection, device)): ApiPath<(String, String)>,
) -> ApiResult<(StatusCode, Json<DdiToken>)> {
    let partner = own_partner(&principal, Scope::Write)?;
    let issued = service
        .issue_target_token(partner, &collection, &device)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(DdiToken {
            id: None,
            device_id: Some(device),
            token: issued.token,
        }),
    ))
}

async fn create_gateway_token(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<DdiToken>)> {
    let partner = caller.partner(&partner, Scope::Admin)?;
    let issued = service.create_gateway_token(partner).await?;
    Ok((
        StatusCode::CREATED,
        Json(DdiToken {
            id: issued.gateway.map(|g| g.id.to_string()),
            device_id: None,
            token: issued.token,
        }),
    ))
}

async fn list_gateway_tokens(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
) -> ApiResult<Json<DdiGatewayTokenList>> {
    let partner = caller.partner(&partner, Scope::Admin)?;
    let tokens = service.list_gateway_tokens(partner).await?;
    Ok(Json(DdiGatewayTokenList {
        tokens: tokens
            .into_iter()
            .map(|t| DdiGatewayToken {
                id: t.id.to_string(),
                created: t.created_ms,
            })
            .collect(),
    }))
}

async fn delete_gateway_token(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath((partner, id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let partner = caller.partner(&partner, Scope::Admin)?;
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::NotFound("gateway token not found".into()))?;
    service.delete_gateway_token(partner, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn settings_wire(settings: DdiSettings) -> DdiPartnerSettings {
    DdiPartnerSettings {
        polling_sleep: format_sleep(settings.polling_secs.unwrap_or(DEFAULT_POLLING_SECS)),
        default_collection_id: settings.default_collection,
    }
}

async fn settings(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
) -> ApiResult<Json<DdiPartnerSettings>> {
    let partner = caller.partner(&partner, Scope::Read)?;
    Ok(Json(settings_wire(service.ddi_settings(partner).await?)))
}

async fn update_settings(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
    ApiJson(body): ApiJson<DdiPartnerSettingsInput>,
) -> ApiResult<Json<DdiPartnerSettings>> {
    let partner = caller.partner(&partner, Scope::Admin)?;
    let settings = service.set_ddi_polling(partner, body.polling_sleep).await?;
    Ok(Json(settings_wire(settings)))
}
