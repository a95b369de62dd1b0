//! Devices of Span collections: `/collections/{c}/devices...`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use fwrepo_schemas::{Device, DeviceFirmware, DeviceFirmwareState, DeviceInput, DeviceList};

use super::collections::{own_partner, SpanJson};
use super::error::{ApiError, ApiResult};
use super::extract::{ApiPath, ApiQuery, Caller};
use crate::domain::{FirmwareState, Scope};
use crate::service::devices::{DeviceChanges, DeviceView};
use crate::service::Service;

pub(super) fn state_wire(state: FirmwareState) -> DeviceFirmwareState {
    match state {
        FirmwareState::Current => DeviceFirmwareState::Current,
        FirmwareState::Pending => DeviceFirmwareState::Pending,
        FirmwareState::Unmanaged => DeviceFirmwareState::Unmanaged,
    }
}

fn device_wire(view: &DeviceView) -> Device {
    let record = &view.record;
    Device {
        device_id: record.id.clone(),
        collection_id: record.collection.clone(),
        device_type_id: record.device_type.clone(),
        firmware: DeviceFirmware {
            current_firmware_id: record.current.map(|id| id.to_string()),
            target_firmware_id: view.own_target.map(|t| t.id().to_string()),
            state: record.state.map(state_wire),
        },
        versions: record
            .versions
            .iter()
            .map(|(t, n)| ((2000 + u32::from(*t)).to_string(), n.to_string()))
            .collect(),
        tags: record.tags.clone(),
        last_checkin: record.last_checkin_ms,
    }
}

fn changes(body: DeviceInput, collection: &str, device: Option<&str>) -> ApiResult<DeviceChanges> {
    if let Some(named) = body.collection_id.as_deref().filter(|c| *c != collection) {
        return Err(ApiError::Validation(format!(
            "collectionId '{named}' is not this collection ({collection}); devices do not move between collections"
        )));
    }
    if let (Some(named), Some(device)) = (body.device_id.as_deref(), device) {
        if named != device {
            return Err(ApiError::Validation(format!(
                "deviceId '{named}' does not name this device ({device})"
            )));
        }
    }
    let firmware = body.firmware.unwrap_or_default();
    Ok(DeviceChanges {
        device_type: body.device_type_id,
        target: firmware.target_firmware_id,
        current: firmware.current_firmware_id,
        versions: body.versions,
        tags: body.tags,
    })
}

pub async fn create(
    State(service): State<Arc<Service>>,
    Caller(principal): Caller,
    ApiPath(collection): ApiPath<String>,
    SpanJson(body): SpanJson<DeviceInput>,
) -> ApiResult<(StatusCode, Json<Device>)> {
    let partner = own_partner(&principal, Scope::Write)?;
    let id = body.device_id.clone();
    let changes = changes(body, &collection, None)?;
    let view = service
        .create_device(partner, &collection, id, changes)
        .await?;
    Ok((StatusCode::CREATED, Json(device_wire(&view))))
}

pub async fn list(
    State(service): State<Arc<Service>>,
    Caller(principal): Caller,
    ApiPath(collection): ApiPath<String>,
    ApiQuery(paging): ApiQuery<super::collections::SpanPaging>,
) -> ApiResult<Json<DeviceList>> {
    let partner = own_partner(&principal, Scope::Read)?;
    let page = paging.request()?;
    let (views, total) = service.list_devices(partner, &collection, &page).await?;
    Ok(Json(DeviceList {
        page: super::wire::page_info(views.len(), total, &page),
        devices: views.iter().map(device_wire).collect(),
    }))
}

pub async fn get(
    State(service): State<Arc<Service>>,
    Caller(principal): Caller,
    ApiPath((collection, device)): ApiPath<(String, String)>,
) -> ApiResult<Json<Device>> {
    let partner = own_partner(&principal, Scope::Read)?;
    let view = service.device(partner, &collection, &device).await?;
    Ok(Json(device_wire(&view)))
}

pub async fn update(
    State(service): State<Arc<Service>>,
    Caller(principal): Caller,
    ApiPath((collection, device)): ApiPath<(String, String)>,
    SpanJson(body): SpanJson<DeviceInput>,
) -> ApiResult<Json<Device>> {
    let partner = own_partner(&principal, Scope::Write)?;
    let changes = changes(body, &collection, Some(&device))?;
    let view = service
        .update_device(partner, &collection, &device, changes)
        .await?;
    Ok(Json(device_wire(&view)))
}

pub async fn delete(
    State(service): State<Arc<Service>>,
    Caller(principal): Caller,
    ApiPath((collection, device)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let partner = own_partner(&principal, Scope::Write)?;
    service.delete_device(partner, &collection, &device).await?;
    Ok(StatusCode::NO_CONTENT)
}
