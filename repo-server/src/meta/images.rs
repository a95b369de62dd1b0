//! Device-type firmware images (pool records associated with a device type) and pushes.

use rocksdb::{Direction, IteratorMode, WriteBatch};

use super::counts::ListOf;
use super::keys::*;
use super::{MetaError, MetaResult, MetaStore};
use crate::domain::{ImageRecord, PoolRecordData, PushRecord};

impl MetaStore {
    /// Associates a pool record with a device type; one image per (device type, type, versionNumber).
    pub fn create_image(
        &self,
        partner: &str,
        device_type: &str,
        pool: &PoolRecordData,
        now_ms: u64,
    ) -> MetaResult<ImageRecord> {
        if pool.partner != partner {
            return Err(MetaError::NotFound("pool record"));
        }
        let guard = self.lock();
        let mut batch = WriteBatch::default();
        let id = self.next_counter(&mut batch, &id_counter())?;
        let image = self.stage_image(&mut batch, id, device_type, pool, now_ms)?;
        self.stage_count(&mut batch, partner, ListOf::PartnerImages, 1)?;
        self.commit(guard, batch)?;
        Ok(image)
    }

    /// Stages image `id` associating `pool` with a device type; one image per (device type,
    /// type, versionNumber). Call under the writer lock; the caller counts it among the
    /// partner's images (`ListOf::PartnerImages`), once for all the images of its batch.
    pub(super) fn stage_image(
        &self,
        batch: &mut WriteBatch,
        id: u64,
        device_type: &str,
        pool: &PoolRecordData,
        now_ms: u64,
    ) -> MetaResult<ImageRecord> {
        let partner = pool.partner.as_str();
        let index_key =
            image_by_device_type(partner, device_type, pool.fw_type, pool.version_number);
        if let Some(existing) = self.get_u64(CF_IMAGES_BY_DEVICE_TYPE, &index_key)? {
            return Err(MetaError::Conflict(format!(
                "type {} versionNumber {} is already associated with device type {device_type} (image {existing})",
                pool.fw_type, pool.version_number
            )));
        }
        let image = ImageRecord {
            id,
            partner: partner.to_string(),
            device_type: device_type.to_string(),
            pool_id: pool.id,
            fw_type: pool.fw_type,
            version_number: pool.version_number,
            created_ms: now_ms,
            updated_ms: now_ms,
        };
        self.put(batch, CF_IMAGES, &image_key(image.id), &image);
        self.put_u64(batch, CF_IMAGES_BY_DEVICE_TYPE, &index_key, image.id);
        self.put_u64(
            batch,
            CF_IMAGES_BY_POOL,
            &image_by_pool(pool.id, device_type),
            image.id,
        );
        self.stage_image_id_order(batch, &image, 1)?;
        Ok(image)
    }

    pub fn image(&self, id: u64) -> MetaResult<Option<ImageRecord>> {
        self.get(CF_IMAGES, &image_key(id))
    }

    pub fn image_by_version_number(
        &self,
        partner: &str,
        device_type: &str,
        fw_type: u16,
        version_number: u64,
    ) -> MetaResult<Option<ImageRecord>> {
        match self.get_u64(
            CF_IMAGES_BY_DEVICE_TYPE,
            &image_by_device_type(partner, device_type, fw_type, version_number),
        )? {
            Some(id) => self.image(id),
            None => Ok(None),
        }
    }

    /// The image of the highest versionNumber of each type a device type has: one backward
    /// seek per type, whatever the number of images.
    pub fn newest_image_per_type(
        &self,
        partner: &str,
        device_type: &str,
    ) -> MetaResult<Vec<ImageRecord>> {
        let prefix = device_type_prefix(partner, device_type, None);
        let mut upper = prefix.clone();
        upper.extend_from_slice(&[0xFF; 11]);
        let mut ids = Vec::new();
        loop {
            let mut iter = self.db.iterator_cf(
                self.cf(CF_IMAGES_BY_DEVICE_TYPE),
                IteratorMode::From(&upper, Direction::Reverse),
            );
            let Some(item) = iter.next() else { break };
            let (key, value) = item?;
            let Some(fw_type) = key
                .strip_prefix(prefix.as_slice())
                .and_then(|rest| rest.get(..2))
                .map(|t| u16::from_be_bytes([t[0], t[1]]))
            else {
                break;
            };
            ids.push(super::codec::decode_u64(CF_IMAGES_BY_DEVICE_TYPE, &value)?);
            // Every key of this type sorts after the bare type prefix: the next seek lands
            // on the type below.
            upper = device_type_prefix(partner, device_type, Some(fw_type));
        }
        self.get_many(CF_IMAGES, ids.iter().map(|id| image_key(*id)))
    }

    /// Images made from one pool record (its device-type associations).
    pub fn images_of_pool_record(&self, pool_id: u64) -> MetaResult<Vec<ImageRecord>> {
        // These index keys end in the device type, so the image id is the value, not the key tail.
        let ids = self.scan_ids_from_values(CF_IMAGES_BY_POOL, &pool_images_prefix(pool_id))?;
        ids_to_images(self, &ids)
    }

    /// Dissociates an image from its device type.
    pub fn delete_image(
        &self,
        partner: &str,
        device_type: &str,
        fw_type: u16,
        version_number: u64,
    ) -> MetaResult<ImageRecord> {
        let guard = self.lock();
        let image = self
            .image_by_version_number(partner, device_type, fw_type, version_number)?
            .ok_or(MetaError::NotFound("firmware image"))?;
        let mut batch = WriteBatch::default();
        self.delete(&mut batch, CF_IMAGES, &image_key(image.id));
        self.delete(
            &mut batch,
            CF_IMAGES_BY_DEVICE_TYPE,
            &image_by_device_type(partner, device_type, fw_type, version_number),
        );
        self.delete(
            &mut batch,
            CF_IMAGES_BY_POOL,
            &image_by_pool(image.pool_id, device_type),
        );
        self.stage_image_id_order(&mut batch, &image, -1)?;
        self.stage_count(&mut batch, partner, ListOf::PartnerImages, -1)?;
        self.commit(guard, batch)?;
        Ok(image)
    }

    /// Stages (`delta` 1) or removes (-1) an image's entries in the id-order index (under its
    /// type and under every type) and its device type's counts.
    pub(super) fn stage_image_id_order(
        &self,
        batch: &mut WriteBatch,
        image: &ImageRecord,
        delta: i64,
    ) -> MetaResult<()> {
        let (partner, dt) = (image.partner.as_str(), image.device_type.as_str());
        for (fw_type, list) in [
            (
                image.fw_type,
                ListOf::DeviceTypeImages(dt, Some(image.fw_type)),
            ),
            (ALL_TYPES, ListOf::DeviceTypeImages(dt, None)),
        ] {
            let key = image_by_device_type_id(partner, dt, fw_type, image.id);
            if delta > 0 {
                batch.put_cf(self.cf(CF_IMAGES_BY_DEVICE_TYPE_ID), key, []);
            } else {
                self.delete(batch, CF_IMAGES_BY_DEVICE_TYPE_ID, &key);
            }
            self.stage_count(batch, partner, list, delta)?;
        }
        Ok(())
    }

    /// Records that `device` should install `image` next.
    pub fn push_image(
        &self,
        partner: &str,
        device: &str,
        image: &ImageRecord,
        now_ms: u64,
    ) -> MetaResult<PushRecord> {
        let guard = self.lock();
        let push = PushRecord {
            image_id: image.id,
            device_type: image.device_type.clone(),
            pushed_ms: now_ms,
        };
        let mut batch = WriteBatch::default();
        self.put(&mut batch, CF_PUSHES, &push_key(partner, device), &push);
        self.commit(guard, batch)?;
        Ok(push)
    }

    pub fn push_for_device(&self, partner: &str, device: &str) -> MetaResult<Option<PushRecord>> {
        self.get(CF_PUSHES, &push_key(partner, device))
    }
}

fn ids_to_images(meta: &MetaStore, ids: &[u64]) -> MetaResult<Vec<ImageRecord>> {
    ids.iter()
        .map(|id| {
            meta.image(*id)?
                .ok_or(MetaError::NotFound("firmware image"))
        })
        .collect()
}
