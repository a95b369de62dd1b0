//! Span collections and their firmware images: create/read/update/delete, images from an
//! upload or from a pool record (same blob, one more hold), downloads and usage.

use super::binaries::HeldUpload;
use super::images::parse_id;
use super::{Service, ServiceError, ServiceResult};
use crate::domain::{
    merge_tags, validate_filename, validate_tag_map, validate_version, CollectionImageRecord,
    CollectionRecord, DomainError, FirmwareTypeNumber, Management, PageRequest, PoolLink, Tags,
};
use crate::meta::collections::NewCollectionImage;
use crate::meta::{now_ms, MetaStore};
use crate::store::BlobWritten;

/// A collection with its derived current image.
#[derive(Debug, Clone)]
pub struct CollectionView {
    pub record: CollectionRecord,
    /// The image every device reports as installed (none without devices or when they differ).
    pub current: Option<u64>,
}

/// Fields of a collection create or PATCH; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct CollectionChanges {
    pub management: Option<Management>,
    /// `Some("")` clears the target.
    pub target: Option<String>,
    pub tags: Option<Tags>,
}

/// Which devices use an image.
#[derive(Debug)]
pub struct Usage {
    pub image: u64,
    pub targeted: Vec<String>,
    pub current: Vec<String>,
}

/// Parses an image id of a path or body; a malformed id names no image.
pub fn parse_image_id(text: &str) -> ServiceResult<u64> {
    parse_id("imageId", text).map_err(|_| ServiceError::NotFound("firmware image"))
}

/// A target or current image id of a body: `""` is none; otherwise it must be an image of
/// the collection (checked by the caller under the writer lock).
pub(super) fn parse_image_ref(field: &'static str, text: &str) -> Result<Option<u64>, DomainError> {
    if text.is_empty() {
        return Ok(None);
    }
    parse_id(field, text).map(Some)
}

/// Checks, under the writer lock, that `image` is an image of the collection.
pub(super) fn require_image(
    meta: &MetaStore,
    partner: &str,
    collection: &str,
    field: &'static str,
    image: Option<u64>,
) -> ServiceResult<()> {
    match image {
        Some(id) if meta.collection_image(partner, collection, id)?.is_none() => {
            Err(DomainError::field(
                field,
                format!("{id} is not an image of collection {collection}"),
            )
            .into())
        }
        _ => Ok(()),
    }
}

impl Service {
    async fn collection_view(&self, record: CollectionRecord) -> ServiceResult<CollectionView> {
        let (owner, id) = (record.partner.clone(), record.id.clone());
        let current = self
            .meta_call(move |m| m.collection_current(&owner, &id))
            .await?;
        Ok(CollectionView { current, record })
    }

    pub(super) async fn collection_record(
        &self,
        partner: &str,
        collection: &str,
    ) -> ServiceResult<CollectionRecord> {
        let (owner, id) = (partner.to_string(), collection.to_string());
        self.meta_call(move |m| m.collection(&owner, &id))
            .await?
            .ok_or(ServiceError::NotFound("collection"))
    }

    pub async fn create_collection(
        &self,
        partner: &str,
        changes: CollectionChanges,
    ) -> ServiceResult<CollectionView> {
        if changes.target.as_deref().is_some_and(|t| !t.is_empty()) {
            return Err(DomainError::field(
                "firmware.targetFirmwareId",
                "a new collection has no images to target yet",
            )
            .into());
        }
        let tags = changes.tags.unwrap_or_default();
        validate_tag_map(&tags, false)?;
        let management = changes.management.unwrap_or(Management::Device);
        let owner = partner.to_string();
        let record = self
            .meta_write(move |m| m.create_collection(&owner, management, tags, now_ms()))
            .await?;
        Ok(CollectionView {
            record,
            current: None,
        })
    }

    pub async fn collection(
        &self,
        partner: &str,
        collection: &str,
    ) -> ServiceResult<CollectionView> {
        let record = self.collection_record(partner, collection).await?;
        self.collection_view(record).await
    }

    /// One page of the partner's collections and how many it has.
    pub async fn list_collections(
        &self,
        partner: &str,
        page: &PageRequest,
    ) -> ServiceResult<(Vec<CollectionView>, u64)> {
        let (owner, page) = (partner.to_string(), page.clone());
        let found = self
            .meta_call(move |m| m.page_collections(&owner, &page))
            .await?;
        let mut views = Vec::with_capacity(found.items.len());
        for record in found.items {
            views.push(self.collection_view(record).await?);
        }
        Ok((views, found.total))
    }

    pub async fn update_collection(
        &self,
        partner: &str,
        collection: &str,
        changes: CollectionChanges,
    ) -> ServiceResult<CollectionView> {
        let target = match changes.target.as_deref() {
            Some(text) => Some(parse_image_ref("firmware.targetFirmwareId", text)?),
            None => None,
        };
        let (owner, id) = (partner.to_string(), collection.to_string());
        let record = self
            .meta_write(move |meta| {
                meta.update_collection(&owner, &id, now_ms(), |m, record| {
                    if let Some(management) = changes.management {
                        record.management = management;
                    }
                    if let Some(target) = target {
                        require_image(m, &owner, &id, "firmware.targetFirmwareId", target)?;
                        record.target = target;
                    }
                    if let Some(tags) = &changes.tags {
                        merge_tags(&mut record.tags, tags)?;
                    }
                    Ok::<_, ServiceError>(())
                })
            })
            .await?;
        self.collection_view(record).await
    }

    pub async fn delete_collection(&self, partner: &str, collection: &str) -> ServiceResult<()> {
        let (owner, id) = (partner.to_string(), collection.to_string());
        self.meta_write(move |m| m.delete_collection(&owner, &id))
            .await
    }

    /// Adds an uploaded blob (held by the upload's pending hold) to a collection.
    pub async fn add_uploaded_image(
        &self,
        partner: &str,
        collection: &str,
        written: BlobWritten,
        filename: String,
    ) -> ServiceResult<CollectionImageRecord> {
        validate_filename(&filename)?;
        let new = NewCollectionImage {
            version: random_version(),
            filename,
            sha256: written.sha256,
            length: written.length,
            blake3: written.blake3,
            tags: Tags::new(),
            pool: None,
        };
        let (owner, id) = (partner.to_string(), collection.to_string());
        self.meta_write(move |m| m.create_collection_image(&owner, &id, new, now_ms()))
            .await
    }

    /// Makes a collection image of a finished upload. The image (if made) holds the blob then;
    /// the upload's own pending hold would only keep a refused duplicate alive until its TTL.
    pub async fn add_image_from_upload(
        &self,
        partner: &str,
        collection: &str,
        held: HeldUpload,
        filename: String,
    ) -> ServiceResult<CollectionImageRecord> {
        let sha256 = held.written.sha256;
        let image = self
            .add_uploaded_image(partner, collection, held.written, filename)
            .await;
        if held.new_hold {
            self.release_pending(partner, sha256).await?;
        }
        image
    }

    /// Makes an image of a pool record's binary: no bytes move, the blob gets one more hold.
    pub async fn add_pool_image(
        &self,
        partner: &str,
        collection: &str,
        fw_type: i64,
        version_number: &str,
        version: Option<String>,
        filename: Option<String>,
        tags: Option<Tags>,
    ) -> ServiceResult<CollectionImageRecord> {
        self.collection_record(partner, collection).await?;
        let fw_type = FirmwareTypeNumber::new(fw_type)?;
        let version_number = super::images::parse_version_number(version_number)?;
        let pool = self.pool_record(partner, fw_type, version_number).await?;
        let version = version.unwrap_or_else(|| pool.version.clone());
        validate_version(&version)?;
        let filename = filename.unwrap_or_else(|| pool.name.clone());
        validate_filename(&filename)?;
        let tags = tags.unwrap_or_default();
        validate_tag_map(&tags, false)?;
        let new = NewCollectionImage {
            version,
            filename,
            sha256: pool.sha256,
            length: pool.length,
            blake3: pool.blake3.clone(),
            tags,
            pool: Some(PoolLink {
                pool_id: pool.id,
                fw_type: pool.fw_type,
                version_number: pool.version_number,
            }),
        };
        let (owner, id) = (partner.to_string(), collection.to_string());
        self.meta_write(move |m| m.create_collection_image(&owner, &id, new, now_ms()))
            .await
    }

    pub async fn collection_image(
        &self,
        partner: &str,
        collection: &str,
        image: u64,
    ) -> ServiceResult<CollectionImageRecord> {
        let (owner, id) = (partner.to_string(), collection.to_string());
        self.meta_call(move |m| m.collection_image(&owner, &id, image))
            .await?
            .ok_or(ServiceError::NotFound("firmware image"))
    }

    /// One page of a collection's images and how many it has.
    pub async fn page_collection_images(
        &self,
        partner: &str,
        collection: &str,
        page: &PageRequest,
    ) -> ServiceResult<(Vec<CollectionImageRecord>, u64)> {
        self.collection_record(partner, collection).await?;
        let (owner, id, page) = (partner.to_string(), collection.to_string(), page.clone());
        let found = self
            .meta_call(move |m| m.page_collection_images(&owner, &id, &page))
            .await?;
        Ok((found.items, found.total))
    }

    pub async fn update_collection_image(
        &self,
        partner: &str,
        collection: &str,
        image: u64,
        version: Option<String>,
        tag_changes: Option<Tags>,
    ) -> ServiceResult<CollectionImageRecord> {
        if let Some(version) = &version {
            validate_version(version)?;
        }
        let (owner, id) = (partner.to_string(), collection.to_string());
        // Tags merge under the writer lock: concurrent PATCHes never lose each other's tags.
        self.meta_write(move |m| {
            m.update_collection_image(&owner, &id, image, version, now_ms(), |tags| {
                match &tag_changes {
                    Some(changes) => merge_tags(tags, changes).map_err(ServiceError::from),
                    None => Ok(()),
                }
            })
        })
        .await
    }

    pub async fn delete_collection_image(
        &self,
        partner: &str,
        collection: &str,
        image: u64,
    ) -> ServiceResult<()> {
        let (owner, id) = (partner.to_string(), collection.to_string());
        let (record, refcount) = self
            .meta_write(move |m| m.delete_collection_image(&owner, &id, image))
            .await?;
        tracing::info!(image.id = image, blob.sha256 = %record.sha256, blob.refcount = refcount, "collection image deleted");
        Ok(())
    }

    /// Among one page of the collection's devices: those that will install the image
    /// (target in effect, not yet running it) and those that run it. Answers with the number
    /// of devices in the collection, so a client pages through them all.
    pub async fn image_usage(
        &self,
        partner: &str,
        collection: &str,
        image: u64,
        page: &PageRequest,
    ) -> ServiceResult<(Usage, u64)> {
        let record = self.collection_image(partner, collection, image).await?;
        let collection = self.collection_record(partner, collection).await?;
        let (owner, id, page) = (partner.to_string(), collection.id.clone(), page.clone());
        let devices = self
            .meta_call(move |m| m.page_devices(&owner, &id, &page))
            .await?;
        let mut usage = Usage {
            image,
            targeted: Vec::new(),
            current: Vec::new(),
        };
        for device in devices.items {
            let offer = crate::domain::Offer::CollectionImage {
                id: image,
                pool: record.pool,
            };
            let runs = crate::domain::runs(device.current, &device.versions, &offer);
            if runs {
                usage.current.push(device.id.clone());
            }
            let target = self.target_in_effect(&collection, &device).await?;
            if !runs
                && target.map(|(t, _)| t) == Some(crate::domain::Target::CollectionImage(image))
            {
                usage.targeted.push(device.id.clone());
            }
        }
        Ok((usage, devices.total))
    }
}

/// A random version string for a new upload (Span: "set automatically to a random string").
fn random_version() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}
