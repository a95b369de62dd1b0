//! Firmware types: one record per (partner, type number).

use rocksdb::WriteBatch;

use super::keys::*;
use super::{MetaError, MetaResult, MetaStore};
use crate::domain::FirmwareTypeRecord;

impl MetaStore {
    pub fn create_type(
        &self,
        partner: &str,
        fw_type: u16,
        name: &str,
        description: Option<String>,
        now_ms: u64,
    ) -> MetaResult<FirmwareTypeRecord> {
        let guard = self.lock();
        let key = type_key(partner, fw_type);
        if self.exists(CF_TYPES, &key)? {
            return Err(MetaError::Conflict(format!(
                "firmware type {fw_type} already exists"
            )));
        }
        let mut batch = WriteBatch::default();
        let record = FirmwareTypeRecord {
            id: self.next_counter(&mut batch, &id_counter())?,
            partner: partner.to_string(),
            fw_type,
            name: name.to_string(),
            description,
            created_ms: now_ms,
            updated_ms: now_ms,
        };
        self.put(&mut batch, CF_TYPES, &key, &record);
        super::audit::note_created(format!("types/{fw_type}"));
        self.commit(guard, batch)?;
        Ok(record)
    }

    pub fn get_type(&self, partner: &str, fw_type: u16) -> MetaResult<Option<FirmwareTypeRecord>> {
        self.get(CF_TYPES, &type_key(partner, fw_type))
    }

    pub fn list_types(&self, partner: &str) -> MetaResult<Vec<FirmwareTypeRecord>> {
        self.scan_values(CF_TYPES, &partner_prefix(partner))
    }

    pub fn update_type(
        &self,
        partner: &str,
        fw_type: u16,
        name: &str,
        description: Option<String>,
        now_ms: u64,
    ) -> MetaResult<FirmwareTypeRecord> {
        let guard = self.lock();
        let key = type_key(partner, fw_type);
        let mut record: FirmwareTypeRecord = self
            .get(CF_TYPES, &key)?
            .ok_or(MetaError::NotFound("firmware type"))?;
        record.name = name.to_string();
        record.description = description;
        record.updated_ms = now_ms.max(record.created_ms);
        let mut batch = WriteBatch::default();
        self.put(&mut batch, CF_TYPES, &key, &record);
        self.commit(guard, batch)?;
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_store;
    use super::*;

    #[test]
    fn create_get_update_list() {
        let (_dir, meta) = test_store();
        let created = meta.create_type("acme", 101, "mcu", None, 5).unwrap();
        assert!(matches!(
            meta.create_type("acme", 101, "again", None, 6),
            Err(MetaError::Conflict(_))
        ));
        meta.create_type("other", 101, "theirs", None, 6).unwrap();
        assert_eq!(meta.get_type("acme", 101).unwrap().unwrap(), created);
        let updated = meta
            .update_type("acme", 101, "renamed", Some("d".into()), 9)
            .unwrap();
        assert_eq!((updated.name.as_str(), updated.updated_ms), ("renamed", 9));
        assert_eq!(meta.list_types("acme").unwrap().len(), 1);
        assert!(matches!(
            meta.update_type("acme", 7, "x", None, 1),
            Err(MetaError::NotFound(_))
        ));
    }
}
