//! Device check-in: `POST /collections/{c}/devices/{d}/checkin`. The device reports what it
//! runs and gets `{"action":"none"}` or `{"action":"update","image":{...}}`.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use fwrepo_schemas::{
    CheckinAction, CheckinImage, CheckinImageSource, CheckinRequest, CheckinResponse,
};

use super::collections::{own_partner, SpanJson};
use super::error::ApiResult;
use super::extract::{ApiPath, Caller};
use crate::domain::{FirmwareTypeNumber, Scope};
use crate::service::checkin::{CheckinReport, OfferedImage};
use crate::service::Service;

fn offered_wire(service: &Service, offered: &OfferedImage) -> CheckinImage {
    match offered {
        OfferedImage::Collection(image) => CheckinImage {
            id: image.id.to_string(),
            source: CheckinImageSource::Collection,
            version: image.version.clone(),
            url: super::urls::collection_image_url(service, image),
            sha256: image.sha256.to_hex(),
            length: image.length,
            filename: Some(image.filename.clone()),
            fw_type: image.pool.map(|p| i64::from(p.fw_type)),
            version_number: image.pool.map(|p| p.version_number.to_string()),
            version_attribute_id: image.pool.map(|p| 2000 + i64::from(p.fw_type)),
        },
        OfferedImage::DeviceType(image, pool) => CheckinImage {
            id: image.id.to_string(),
            source: CheckinImageSource::DeviceType,
            version: pool.version.clone(),
            url: pool.url.clone(),
            sha256: pool.sha256.to_hex(),
            length: pool.length,
            filename: Some(pool.name.clone()),
            fw_type: Some(i64::from(image.fw_type)),
            version_number: Some(image.version_number.to_string()),
            version_attribute_id: Some(
                FirmwareTypeNumber::new(i64::from(image.fw_type))
                    .map(|t| t.version_attribute_id())
                    .unwrap_or(2000 + i64::from(image.fw_type)),
            ),
        },
    }
}

/// Needs only `ota:read`: a device reports its own state, it changes no catalogue record.
pub async fn checkin(
    State(service): State<Arc<Service>>,
    Caller(principal): Caller,
    ApiPath((collection, device)): ApiPath<(String, String)>,
    SpanJson(body): SpanJson<CheckinRequest>,
) -> ApiResult<Json<CheckinResponse>> {
    let partner = own_partner(&principal, Scope::Read)?;
    let report = CheckinReport {
        versions: body.versions,
        current_firmware_id: body.current_firmware_id,
        firmware_version: body.firmware_version,
    };
    let outcome = service
        .checkin(partner, &collection, &device, report)
        .await?;
    Ok(Json(CheckinResponse {
        action: if outcome.image.is_some() {
            CheckinAction::Update
        } else {
            CheckinAction::None
        },
        image: outcome.image.as_ref().map(|i| offered_wire(&service, i)),
        reason: outcome.reason,
    }))
}
