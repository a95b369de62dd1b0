//! Span collections and their firmware images. An image's record, its sha256 and version
//! indexes and its hold on the blob (counted in the refcount) change in one WriteBatch.

use rocksdb::WriteBatch;

use super::counts::ListOf;
use super::keys::*;
use super::{MetaError, MetaResult, MetaStore, StagedBatch};
use crate::domain::{
    CollectionImageRecord, CollectionRecord, ConflictKind, DeviceRecord, Management, PoolLink,
    Sha256Digest, Tags,
};

/// A new collection image as the service validated it.
pub struct NewCollectionImage {
    pub version: String,
    pub filename: String,
    pub sha256: Sha256Digest,
    pub length: u64,
    pub blake3: String,
    pub tags: Tags,
    pub pool: Option<PoolLink>,
}

impl MetaStore {
    pub fn create_collection(
        &self,
        partner: &str,
        management: Management,
        tags: Tags,
        now_ms: u64,
    ) -> MetaResult<CollectionRecord> {
        let guard = self.lock();
        let mut batch = WriteBatch::default();
        let id = self.next_counter(&mut batch, &id_counter())?;
        let created_ms = self.next_timestamp(&mut batch, now_ms)?;
        let record = CollectionRecord {
            id: id.to_string(),
            partner: partner.to_string(),
            management,
            target: None,
            tags,
            created_ms,
            updated_ms: created_ms,
        };
        self.put(
            &mut batch,
            CF_COLLECTIONS,
            &collection_key(partner, &record.id),
            &record,
        );
        self.stage_count(&mut batch, partner, ListOf::Collections, 1)?;
        super::audit::note_created(format!("collections/{id}"));
        self.commit(guard, batch)?;
        Ok(record)
    }

    pub fn collection(
        &self,
        partner: &str,
        collection: &str,
    ) -> MetaResult<Option<CollectionRecord>> {
        self.get(CF_COLLECTIONS, &collection_key(partner, collection))
    }

    fn collection_required(&self, partner: &str, collection: &str) -> MetaResult<CollectionRecord> {
        self.collection(partner, collection)?
            .ok_or(MetaError::NotFound("collection"))
    }

    /// Applies `change` to a collection under the writer lock (it may read the store, e.g.
    /// to check that a target image exists) and commits the result.
    pub fn update_collection<E: From<MetaError>>(
        &self,
        partner: &str,
        collection: &str,
        now_ms: u64,
        change: impl FnOnce(&MetaStore, &mut CollectionRecord) -> Result<(), E>,
    ) -> Result<CollectionRecord, E> {
        let guard = self.lock();
        let mut record = self.collection_required(partner, collection)?;
        change(self, &mut record)?;
        record.updated_ms = now_ms.max(record.updated_ms);
        let mut batch = WriteBatch::default();
        self.put(
            &mut batch,
            CF_COLLECTIONS,
            &collection_key(partner, collection),
            &record,
        );
        self.commit(guard, batch)?;
        Ok(record)
    }

    /// Deletes an empty collection; one with images or devices is a conflict.
    pub fn delete_collection(&self, partner: &str, collection: &str) -> MetaResult<()> {
        let guard = self.lock();
        self.collection_required(partner, collection)?;
        let prefix = in_collection(partner, collection);
        if self
            .scan_prefix(CF_COLLECTION_IMAGES, &prefix)
            .next()
            .is_some()
        {
            return Err(MetaError::StateConflict(
                ConflictKind::CollectionNotEmpty,
                format!("collection {collection} still has firmware images: delete them first"),
            ));
        }
        if self.scan_prefix(CF_DEVICES, &prefix).next().is_some() {
            return Err(MetaError::StateConflict(
                ConflictKind::CollectionNotEmpty,
                format!("collection {collection} still has devices: delete them first"),
            ));
        }
        let mut batch = WriteBatch::default();
        self.delete(
            &mut batch,
            CF_COLLECTIONS,
            &collection_key(partner, collection),
        );
        self.stage_count(&mut batch, partner, ListOf::Collections, -1)?;
        self.commit(guard, batch)
    }

    /// Adds an image to a collection and holds its blob. The caller must hold the blob
    /// already (a pending upload or a repository entry) so it cannot vanish meanwhile.
    pub fn create_collection_image(
        &self,
        partner: &str,
        collection: &str,
        new: NewCollectionImage,
        now_ms: u64,
    ) -> MetaResult<CollectionImageRecord> {
        let guard = self.lock();
        self.collection_required(partner, collection)?;
        let sha_key = collection_image_by_sha(partner, collection, &new.sha256);
        if let Some(existing) = self.get_u64(CF_COLLECTION_IMAGES_BY_SHA, &sha_key)? {
            return Err(MetaError::Conflict(format!(
                "image {existing} of collection {collection} has the same sha256 {}",
                new.sha256
            )));
        }
        let mut batch = StagedBatch::default();
        let id = self.next_counter(&mut batch, &id_counter())?;
        let created_ms = self.next_timestamp(&mut batch, now_ms)?;
        let version = new.version.clone();
        let version_key = collection_image_by_version(partner, collection, &version);
        if let Some(existing) = self.get_u64(CF_COLLECTION_IMAGES_BY_VERSION, &version_key)? {
            return Err(MetaError::Conflict(format!(
                "image {existing} of collection {collection} already has version '{version}'"
            )));
        }
        let record = CollectionImageRecord {
            id,
            partner: partner.to_string(),
            collection: collection.to_string(),
            version,
            filename: new.filename,
            sha256: new.sha256,
            length: new.length,
            blake3: new.blake3,
            tags: new.tags,
            pool: new.pool,
            created_ms,
            updated_ms: created_ms,
        };
        self.put(
            &mut batch,
            CF_COLLECTION_IMAGES,
            &collection_image_key(partner, collection, id),
            &record,
        );
        self.put_u64(&mut batch, CF_COLLECTION_IMAGES_BY_SHA, &sha_key, id);
        self.put_u64(
            &mut batch,
            CF_COLLECTION_IMAGES_BY_VERSION,
            &version_key,
            id,
        );
        self.stage_collection_hold(&mut batch, &record.sha256, id)?;
        self.stage_count(&mut batch, partner, ListOf::CollectionImages(collection), 1)?;
        super::audit::note_created(format!("collections/{collection}/firmware/{id}"));
        self.commit(guard, batch)?;
        Ok(record)
    }

    pub fn collection_image(
        &self,
        partner: &str,
        collection: &str,
        image: u64,
    ) -> MetaResult<Option<CollectionImageRecord>> {
        self.get(
            CF_COLLECTION_IMAGES,
            &collection_image_key(partner, collection, image),
        )
    }

    pub fn collection_image_by_version(
        &self,
        partner: &str,
        collection: &str,
        version: &str,
    ) -> MetaResult<Option<CollectionImageRecord>> {
        match self.get_u64(
            CF_COLLECTION_IMAGES_BY_VERSION,
            &collection_image_by_version(partner, collection, version),
        )? {
            Some(id) => self.collection_image(partner, collection, id),
            None => Ok(None),
        }
    }

    /// The collection's image made from pool record (`fw_type`, `version_number`), if any:
    /// the record's binary names the one image of that digest in the collection, which
    /// counts only if it is linked to that record. Point lookups, whatever the image count.
    pub fn collection_image_of_pool_record(
        &self,
        partner: &str,
        collection: &str,
        fw_type: u16,
        version_number: u64,
    ) -> MetaResult<Option<CollectionImageRecord>> {
        let Some(pool) = self.pool_by_version_number(partner, fw_type, version_number)? else {
            return Ok(None);
        };
        let by_sha = collection_image_by_sha(partner, collection, &pool.sha256);
        let Some(id) = self.get_u64(CF_COLLECTION_IMAGES_BY_SHA, &by_sha)? else {
            return Ok(None);
        };
        Ok(self
            .collection_image(partner, collection, id)?
            .filter(|image| {
                image
                    .pool
                    .is_some_and(|p| (p.fw_type, p.version_number) == (fw_type, version_number))
            }))
    }

    /// Changes an image's version and/or tags; a version another image has is a conflict.
    /// Sets an image's version (unique in the collection) and edits its tags, under the
    /// writer lock so concurrent edits compose.
    pub fn update_collection_image<E: From<MetaError>>(
        &self,
        partner: &str,
        collection: &str,
        image: u64,
        version: Option<String>,
        now_ms: u64,
        edit_tags: impl FnOnce(&mut Tags) -> Result<(), E>,
    ) -> Result<CollectionImageRecord, E> {
        let guard = self.lock();
        let key = collection_image_key(partner, collection, image);
        let mut record: CollectionImageRecord = self
            .get(CF_COLLECTION_IMAGES, &key)?
            .ok_or(MetaError::NotFound("firmware image"))?;
        let mut batch = WriteBatch::default();
        if let Some(version) = version.filter(|v| *v != record.version) {
            let new_key = collection_image_by_version(partner, collection, &version);
            if let Some(existing) = self.get_u64(CF_COLLECTION_IMAGES_BY_VERSION, &new_key)? {
                return Err(MetaError::Conflict(format!(
                    "image {existing} of collection {collection} already has version '{version}'"
                ))
                .into());
            }
            self.delete(
                &mut batch,
                CF_COLLECTION_IMAGES_BY_VERSION,
                &collection_image_by_version(partner, collection, &record.version),
            );
            self.put_u64(&mut batch, CF_COLLECTION_IMAGES_BY_VERSION, &new_key, image);
            record.version = version;
        }
        edit_tags(&mut record.tags)?;
        record.updated_ms = now_ms.max(record.updated_ms);
        self.put(&mut batch, CF_COLLECTION_IMAGES, &key, &record);
        self.commit(guard, batch)?;
        Ok(record)
    }

    /// Deletes an image and releases its blob; refused (`MetaError::InUse`) while the
    /// collection or one of its devices targets it, a device runs it or a DDI action not yet
    /// finished installs it. Answers the record and the blob's refcount after the release.
    pub fn delete_collection_image(
        &self,
        partner: &str,
        collection: &str,
        image: u64,
    ) -> MetaResult<(CollectionImageRecord, u64)> {
        let guard = self.lock();
        let collection_record = self.collection_required(partner, collection)?;
        let key = collection_image_key(partner, collection, image);
        let record: CollectionImageRecord = self
            .get(CF_COLLECTION_IMAGES, &key)?
            .ok_or(MetaError::NotFound("firmware image"))?;
        let devices: Vec<DeviceRecord> =
            self.scan_values(CF_DEVICES, &in_collection(partner, collection))?;
        let uses = self.collection_image_uses(&collection_record, &record, &devices)?;
        if uses.is_used() {
            return Err(MetaError::InUse(Box::new(uses)));
        }
        let mut batch = StagedBatch::default();
        self.delete(&mut batch, CF_COLLECTION_IMAGES, &key);
        self.delete(
            &mut batch,
            CF_COLLECTION_IMAGES_BY_SHA,
            &collection_image_by_sha(partner, collection, &record.sha256),
        );
        self.delete(
            &mut batch,
            CF_COLLECTION_IMAGES_BY_VERSION,
            &collection_image_by_version(partner, collection, &record.version),
        );
        let refcount = self.stage_collection_release(&mut batch, &record.sha256, image)?;
        self.stage_count(
            &mut batch,
            partner,
            ListOf::CollectionImages(collection),
            -1,
        )?;
        self.commit(guard, batch)?;
        Ok((record, refcount))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_store;
    use super::*;

    fn new_image(sha: Sha256Digest, version: &str) -> NewCollectionImage {
        NewCollectionImage {
            version: version.to_string(),
            filename: "a.bin".into(),
            sha256: sha,
            length: 3,
            blake3: "b3".into(),
            tags: Tags::new(),
            pool: None,
        }
    }

    #[test]
    fn images_hold_their_blob_and_stay_unique() {
        let (_dir, meta) = test_store();
        let sha = Sha256Digest([7; 32]);
        meta.add_pending("p", &sha, 3, "b3", 0, 100).unwrap();
        let c = meta
            .create_collection("p", Management::Device, Tags::new(), 1)
            .unwrap();
        let image = meta
            .create_collection_image("p", &c.id, new_image(sha, "1.0"), 2)
            .unwrap();
        assert_eq!(meta.blob_record(&sha).unwrap().unwrap().refcount, 2);
        assert_eq!(meta.counted_holds().unwrap()[&sha], 2);
        let dup = meta.create_collection_image("p", &c.id, new_image(sha, "2.0"), 3);
        assert!(matches!(dup, Err(MetaError::Conflict(m)) if m.contains(&image.id.to_string())));
        let other = Sha256Digest([8; 32]);
        meta.add_pending("p", &other, 3, "b3", 0, 100).unwrap();
        let dup = meta.create_collection_image("p", &c.id, new_image(other, "1.0"), 3);
        assert!(matches!(dup, Err(MetaError::Conflict(_))));
        assert!(matches!(
            meta.delete_collection("p", &c.id),
            Err(MetaError::StateConflict(
                ConflictKind::CollectionNotEmpty,
                _
            ))
        ));
        meta.sweep_expired_uploads(1000).unwrap();
        assert_eq!(meta.blob_record(&sha).unwrap().unwrap().refcount, 1);
        let (_, refcount) = meta.delete_collection_image("p", &c.id, image.id).unwrap();
        assert_eq!(refcount, 0);
        assert!(!meta.counted_holds().unwrap().contains_key(&sha));
        meta.delete_collection("p", &c.id).unwrap();
    }
}
