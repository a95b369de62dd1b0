//! Firmware types.

use super::{Service, ServiceResult};
use crate::domain::{validate_description, validate_name, FirmwareTypeNumber, FirmwareTypeRecord};
use crate::meta::now_ms;

impl Service {
    pub async fn create_type(
        &self,
        partner: &str,
        fw_type: FirmwareTypeNumber,
        name: String,
        description: Option<String>,
    ) -> ServiceResult<FirmwareTypeRecord> {
        validate_name(&name)?;
        validate_description(description.as_deref())?;
        let partner = partner.to_string();
        self.meta_write(move |m| {
            m.create_type(&partner, fw_type.get(), &name, description, now_ms())
        })
        .await
    }

    pub async fn list_types(&self, partner: &str) -> ServiceResult<Vec<FirmwareTypeRecord>> {
        let partner = partner.to_string();
        self.meta_call(move |m| m.list_types(&partner)).await
    }

    pub async fn get_type(
        &self,
        partner: &str,
        fw_type: FirmwareTypeNumber,
    ) -> ServiceResult<FirmwareTypeRecord> {
        let partner = partner.to_string();
        self.meta_read(move |m| m.get_type(&partner, fw_type.get()))
            .await?
            .ok_or(super::ServiceError::NotFound("firmware type"))
    }

    pub async fn update_type(
        &self,
        partner: &str,
        fw_type: FirmwareTypeNumber,
        name: String,
        description: Option<String>,
    ) -> ServiceResult<FirmwareTypeRecord> {
        validate_name(&name)?;
        validate_description(description.as_deref())?;
        let partner = partner.to_string();
        self.meta_write(move |m| {
            m.update_type(&partner, fw_type.get(), &name, description, now_ms())
        })
        .await
    }
}
