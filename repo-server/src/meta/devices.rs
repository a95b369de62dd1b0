//! Devices of collections, and the partner-wide device id index (an Afero push names a device
//! by id alone, so ids are unique per partner).

use rocksdb::WriteBatch;

use super::counts::ListOf;
use super::keys::*;
use super::{MetaError, MetaResult, MetaStore};
use crate::domain::DeviceRecord;

impl MetaStore {
    /// Creates a device; its id (generated when `None`) must be free in the partner. `init`
    /// may check the draft against the store under the writer lock (e.g. its image ids).
    pub fn create_device<E: From<MetaError>>(
        &self,
        partner: &str,
        collection: &str,
        id: Option<String>,
        now_ms: u64,
        init: impl FnOnce(&MetaStore, &mut DeviceRecord) -> Result<(), E>,
    ) -> Result<DeviceRecord, E> {
        let guard = self.lock();
        if self.collection(partner, collection)?.is_none() {
            return Err(MetaError::NotFound("collection").into());
        }
        let mut batch = WriteBatch::default();
        let id = match id {
            Some(id) => id,
            None => self
                .next_counter_where(&mut batch, &id_counter(), |n| {
                    Ok(!self.exists(CF_DEVICES_BY_ID, &device_by_id(partner, &n.to_string()))?)
                })?
                .to_string(),
        };
        let by_id = device_by_id(partner, &id);
        if let Some(existing) = self.get::<String>(CF_DEVICES_BY_ID, &by_id)? {
            return Err(MetaError::Conflict(format!(
                "device {id} already exists (in collection {existing})"
            ))
            .into());
        }
        let created_ms = self.next_timestamp(&mut batch, now_ms)?;
        let mut device = DeviceRecord {
            id: id.clone(),
            partner: partner.to_string(),
            collection: collection.to_string(),
            device_type: None,
            versions: Default::default(),
            current: None,
            target: None,
            // Never set: a push made before the device was registered still counts.
            target_set_ms: 0,
            state: None,
            tags: Default::default(),
            last_checkin_ms: None,
            created_ms,
            updated_ms: created_ms,
        };
        init(self, &mut device)?;
        self.put(
            &mut batch,
            CF_DEVICES,
            &device_key(partner, collection, &id),
            &device,
        );
        self.put(
            &mut batch,
            CF_DEVICES_BY_ID,
            &by_id,
            &collection.to_string(),
        );
        self.stage_stat(&mut batch, partner, super::stats::Stat::Devices, 1)?;
        self.stage_count(&mut batch, partner, ListOf::Devices(collection), 1)?;
        self.stage_running(&mut batch, partner, collection, None, device.current)?;
        super::audit::note_created(format!("collections/{collection}/devices/{id}"));
        self.commit(guard, batch)?;
        Ok(device)
    }

    pub fn device(
        &self,
        partner: &str,
        collection: &str,
        device: &str,
    ) -> MetaResult<Option<DeviceRecord>> {
        self.get(CF_DEVICES, &device_key(partner, collection, device))
    }

    /// The collection a partner's device belongs to.
    pub fn device_collection(&self, partner: &str, device: &str) -> MetaResult<Option<String>> {
        self.get(CF_DEVICES_BY_ID, &device_by_id(partner, device))
    }

    /// Applies `change` to a device under the writer lock and commits the result.
    pub fn update_device<E: From<MetaError>>(
        &self,
        partner: &str,
        collection: &str,
        device: &str,
        now_ms: u64,
        change: impl FnOnce(&MetaStore, &mut DeviceRecord) -> Result<(), E>,
    ) -> Result<DeviceRecord, E> {
        let guard = self.lock();
        let key = device_key(partner, collection, device);
        let mut record: DeviceRecord = self
            .get(CF_DEVICES, &key)?
            .ok_or(MetaError::NotFound("device"))?;
        let running_before = record.current;
        change(self, &mut record)?;
        record.updated_ms = now_ms.max(record.updated_ms);
        let mut batch = WriteBatch::default();
        self.put(&mut batch, CF_DEVICES, &key, &record);
        self.stage_running(
            &mut batch,
            partner,
            collection,
            running_before,
            record.current,
        )?;
        self.commit(guard, batch)?;
        Ok(record)
    }

    pub fn delete_device(&self, partner: &str, collection: &str, device: &str) -> MetaResult<()> {
        let guard = self.lock();
        let key = device_key(partner, collection, device);
        let Some(record) = self.get::<DeviceRecord>(CF_DEVICES, &key)? else {
            return Err(MetaError::NotFound("device"));
        };
        let mut batch = WriteBatch::default();
        self.stage_running(&mut batch, partner, collection, record.current, None)?;
        self.delete(&mut batch, CF_DEVICES, &key);
        self.delete(&mut batch, CF_DEVICES_BY_ID, &device_by_id(partner, device));
        self.forget_ddi_device(&mut batch, partner, device, super::now_ms())?;
        self.stage_stat(&mut batch, partner, super::stats::Stat::Devices, -1)?;
        self.stage_count(&mut batch, partner, ListOf::Devices(collection), -1)?;
        self.commit(guard, batch)
    }
}
