//! Firmware types: `/v1/ota/partners/{partnerId}/types`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use fwrepo_schemas::{FirmwareType, FirmwareTypeCreate, FirmwareTypeUpdate};

use super::error::ApiResult;
use super::extract::{ApiJson, ApiPath, Caller};
use super::wire;
use crate::domain::{FirmwareTypeNumber, Scope};
use crate::service::Service;

pub async fn create(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
    ApiJson(body): ApiJson<FirmwareTypeCreate>,
) -> ApiResult<(StatusCode, Json<FirmwareType>)> {
    let partner = caller.partner(&partner, Scope::Admin)?;
    let fw_type = FirmwareTypeNumber::new(body.fw_type)?;
    let record = service
        .create_type(partner, fw_type, body.name, body.description)
        .await?;
    Ok((StatusCode::CREATED, Json(wire::firmware_type(&record))))
}

pub async fn list(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath(partner): ApiPath<String>,
) -> ApiResult<Json<Vec<FirmwareType>>> {
    let partner = caller.partner(&partner, Scope::Read)?;
    let records = service.list_types(partner).await?;
    Ok(Json(records.iter().map(wire::firmware_type).collect()))
}

pub async fn get(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath((partner, fw_type)): ApiPath<(String, String)>,
) -> ApiResult<Json<FirmwareType>> {
    let partner = caller.partner(&partner, Scope::Read)?;
    let record = service
        .get_type(partner, FirmwareTypeNumber::parse(&fw_type)?)
        .await?;
    Ok(Json(wire::firmware_type(&record)))
}

pub async fn update(
    State(service): State<Arc<Service>>,
    caller: Caller,
    ApiPath((partner, fw_type)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<FirmwareTypeUpdate>,
) -> ApiResult<StatusCode> {
    let partner = caller.partner(&partner, Scope::Admin)?;
    service
        .update_type(
            partner,
            FirmwareTypeNumber::parse(&fw_type)?,
            body.name,
            body.description,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
