//! Pool records: validation of create/update bodies (with the protected-tag signing policy),
//! the exists check, listing, tags.

use super::{Service, ServiceError, ServiceResult};
use crate::domain::{
    normalize_tags, validate_description, validate_name, validate_version, FirmwareTypeNumber,
    ImageRecord, PoolQuery, PoolRecordData, PoolRecordFields, Sha256Digest,
};
use crate::meta::now_ms;
use crate::meta::pool::PoolPage;

/// An unvalidated create or update body. `url` is kept as given; the API layer has checked
/// that it names the repository blob `sha256`.
pub struct PoolRecordInput {
    pub fw_type: i64,
    pub name: String,
    pub description: Option<String>,
    pub version: String,
    pub url: String,
    pub sha256: Sha256Digest,
    pub tags: Vec<String>,
}

impl Service {
    /// Checks a body against the model's rules; the type must be registered for the partner.
    async fn validate_pool_input(
        &self,
        partner: &str,
        input: PoolRecordInput,
    ) -> ServiceResult<PoolRecordFields> {
        let fw_type = FirmwareTypeNumber::new(input.fw_type)?.ensure_poolable()?;
        validate_name(&input.name)?;
        validate_version(&input.version)?;
        validate_description(input.description.as_deref())?;
        let tags = normalize_tags(&input.tags)?;
        self.require_type(partner, fw_type).await?;
        let fields = PoolRecordFields {
            fw_type: fw_type.get(),
            name: input.name,
            description: input.description,
            version: input.version,
            url: input.url,
            tags,
            sha256: input.sha256,
        };
        self.require_trusted_signature(partner, &fields).await?;
        Ok(fields)
    }

    async fn require_type(&self, partner: &str, fw_type: FirmwareTypeNumber) -> ServiceResult<()> {
        let owner = partner.to_string();
        match self.meta_read(move |m| m.get_type(&owner, fw_type.get())).await? {
            Some(_) => Ok(()),
            None => Err(crate::domain::DomainError::field(
                "type",
                format!("firmware type {} is not registered for this partner: create it with POST types first", fw_type.get()),
            )
            .into()),
        }
    }

    /// Creates a pool record and, when asked, its device-type associations.
    pub async fn create_pool_record(
        &self,
        partner: &str,
        input: PoolRecordInput,
        mut device_types: Vec<String>,
    ) -> ServiceResult<(PoolRecordData, Vec<ImageRecord>)> {
        device_types.sort();
        device_types.dedup();
        for device_type in &device_types {
            crate::domain::validate_id("associations", device_type)?;
        }
        let fields = self.validate_pool_input(partner, input).await?;
        let owner = partner.to_string();
        self.meta_write(move |m| {
            m.create_pool_record_with_images(&owner, fields, &device_types, now_ms())
        })
        .await
    }

    pub async fn update_pool_record(
        &self,
        partner: &str,
        fw_type: FirmwareTypeNumber,
        version_number: u64,
        input: PoolRecordInput,
    ) -> ServiceResult<PoolRecordData> {
        let input = PoolRecordInput {
            fw_type: i64::from(fw_type.get()),
            ..input
        };
        let fields = self.validate_pool_input(partner, input).await?;
        let owner = partner.to_string();
        self.meta_write(move |m| {
            m.update_pool_record(&owner, fw_type.get(), version_number, fields, now_ms())
        })
        .await
    }

    pub async fn pool_record(
        &self,
        partner: &str,
        fw_type: FirmwareTypeNumber,
        version_number: u64,
    ) -> ServiceResult<PoolRecordData> {
        let owner = partner.to_string();
        self.meta_read(move |m| m.pool_by_version_number(&owner, fw_type.get(), version_number))
            .await?
            .ok_or(ServiceError::NotFound("pool record"))
    }

    pub async fn pool_name_exists(
        &self,
        partner: &str,
        fw_type: FirmwareTypeNumber,
        name: String,
        version: String,
        exclude: Option<u64>,
    ) -> ServiceResult<bool> {
        let owner = partner.to_string();
        self.meta_read(move |m| m.pool_name_exists(&owner, fw_type.get(), &name, &version, exclude))
            .await
    }

    pub async fn list_pool(&self, partner: &str, query: PoolQuery) -> ServiceResult<PoolPage> {
        // (type, name, version) is one point read of the name index: no scan to offload.
        if query.fw_type.is_some() && query.name.is_some() && query.version.is_some() {
            return self.meta_read(|m| m.list_pool(partner, &query)).await;
        }
        let owner = partner.to_string();
        self.meta_call(move |m| m.list_pool(&owner, &query)).await
    }

    /// Device-type associations of the pool record (type, versionNumber).
    pub async fn associations(
        &self,
        partner: &str,
        fw_type: FirmwareTypeNumber,
        version_number: u64,
    ) -> ServiceResult<(PoolRecordData, Vec<ImageRecord>)> {
        let record = self.pool_record(partner, fw_type, version_number).await?;
        let pool_id = record.id;
        let images = self
            .meta_call(move |m| m.images_of_pool_record(pool_id))
            .await?;
        Ok((record, images))
    }

    pub async fn list_tags(&self, partner: &str) -> ServiceResult<Vec<String>> {
        let owner = partner.to_string();
        self.meta_call(move |m| m.list_tags(&owner)).await
    }
}
