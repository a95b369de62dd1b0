//! Device-type firmware images: pool records made available to a device type, and pushes.

use super::{Service, ServiceError, ServiceResult};
use crate::domain::{
    normalize_tags, validate_id, ConflictKind, DomainError, FirmwareTypeNumber, ImageRecord,
    PageRequest, PoolRecordData, PushRecord,
};
use crate::meta::now_ms;

/// The pool fields a client echoed back when associating; each must match the pool record.
pub struct ImageInput {
    pub fw_type: i64,
    pub version_number: String,
    pub name: String,
    pub url: String,
    pub version: Option<String>,
}

/// An image together with the pool record it is made from.
pub type ImageView = (ImageRecord, PoolRecordData);

impl Service {
    pub async fn create_image(
        &self,
        partner: &str,
        device_type: &str,
        input: ImageInput,
    ) -> ServiceResult<ImageView> {
        validate_id("deviceTypeId", device_type)?;
        let fw_type = FirmwareTypeNumber::new(input.fw_type)?;
        let version_number = parse_version_number(&input.version_number)?;
        let pool = self.pool_record(partner, fw_type, version_number).await?;
        let mismatch = |field: &'static str| {
            ServiceError::StateConflict(
                ConflictKind::PoolRecordMismatch,
                format!(
                    "{field} differs from pool record type {} versionNumber {version_number}",
                    fw_type.get()
                ),
            )
        };
        if input.name != pool.name {
            return Err(mismatch("name"));
        }
        if input.url != pool.url {
            return Err(mismatch("url"));
        }
        if input.version.as_ref().is_some_and(|v| v != &pool.version) {
            return Err(mismatch("version"));
        }
        let (owner, dt, record) = (partner.to_string(), device_type.to_string(), pool.clone());
        let image = self
            .meta_write(move |m| m.create_image(&owner, &dt, &record, now_ms()))
            .await?;
        Ok((image, pool))
    }

    /// A device type's images (optionally of one type) with tag filter, sort and paging: one
    /// page, read in one metadata call.
    pub async fn list_images(
        &self,
        partner: &str,
        device_type: &str,
        fw_type: Option<FirmwareTypeNumber>,
        tags: Vec<String>,
        page: &PageRequest,
    ) -> ServiceResult<(Vec<ImageView>, u64)> {
        validate_id("deviceTypeId", device_type)?;
        let (owner, dt, page) = (partner.to_string(), device_type.to_string(), page.clone());
        let found = self
            .meta_call(move |m| {
                m.page_device_type_images(&owner, &dt, fw_type.map(|t| t.get()), &tags, &page)
            })
            .await?;
        Ok((found.items, found.total))
    }

    pub async fn image(
        &self,
        partner: &str,
        device_type: &str,
        fw_type: FirmwareTypeNumber,
        version_number: u64,
    ) -> ServiceResult<ImageView> {
        validate_id("deviceTypeId", device_type)?;
        let (owner, dt) = (partner.to_string(), device_type.to_string());
        let image = self
            .meta_call(move |m| {
                m.image_by_version_number(&owner, &dt, fw_type.get(), version_number)
            })
            .await?
            .ok_or(ServiceError::NotFound("firmware image"))?;
        self.with_pool(image).await
    }

    async fn with_pool(&self, image: ImageRecord) -> ServiceResult<ImageView> {
        let pool_id = image.pool_id;
        let pool = self
            .meta_call(move |m| m.pool_record(pool_id))
            .await?
            .ok_or(ServiceError::NotFound("pool record"))?;
        Ok((image, pool))
    }

    pub async fn delete_image(
        &self,
        partner: &str,
        device_type: &str,
        fw_type: FirmwareTypeNumber,
        version_number: u64,
    ) -> ServiceResult<()> {
        validate_id("deviceTypeId", device_type)?;
        let (owner, dt) = (partner.to_string(), device_type.to_string());
        self.meta_write(move |m| m.delete_image(&owner, &dt, fw_type.get(), version_number))
            .await?;
        Ok(())
    }

    /// Sets `device`'s next image to `image_id` (which must belong to `device_type`).
    pub async fn push_image(
        &self,
        partner: &str,
        device_type: &str,
        image_id: &str,
        device: &str,
    ) -> ServiceResult<PushRecord> {
        validate_id("deviceTypeId", device_type)?;
        validate_id("value (device id)", device)?;
        let id = parse_id("firmwareImageId", image_id)?;
        let image = self.meta_read(move |m| m.image(id)).await?;
        let image = match image {
            Some(image) if image.partner == partner && image.device_type == device_type => image,
            _ => return Err(ServiceError::NotFound("firmware image")),
        };
        let (owner, device) = (partner.to_string(), device.to_string());
        self.meta_write(move |m| m.push_image(&owner, &device, &image, now_ms()))
            .await
    }
}

/// Version numbers and ids travel as strings of integers.
pub fn parse_version_number(text: &str) -> Result<u64, DomainError> {
    parse_id("versionNumber", text)
}

pub fn parse_id(field: &'static str, text: &str) -> Result<u64, DomainError> {
    text.parse::<u64>().map_err(|_| {
        DomainError::field(
            field,
            "must be a string of a non-negative integer below 2^64",
        )
    })
}

/// Tags of an image list filter.
pub fn image_tags(raw: Option<&str>) -> Result<Vec<String>, DomainError> {
    let tags = crate::domain::query::parse_tag_filter(raw)?;
    normalize_tags(&tags)
}
