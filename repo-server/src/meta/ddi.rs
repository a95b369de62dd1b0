//! DDI credentials (target and gateway tokens, stored only as SHA-256), per-partner settings,
//! device attributes from `configData`, and the SHA-1/MD5 cache of blobs served to devices.

use rocksdb::WriteBatch;

use super::keys::*;
use super::{MetaError, MetaResult, MetaStore};
use crate::domain::ddi::{
    close_for_deleted_device, DdiDeviceState, DdiSettings, GatewayTokenRecord, LegacyDigests,
    TargetTokenRecord,
};
use crate::domain::Sha256Digest;

impl MetaStore {
    /// Makes `token_sha256` the device's one target token; the previous one stops working in
    /// the same batch.
    pub fn set_target_token(
        &self,
        partner: &str,
        device: &str,
        token_sha256: &[u8; 32],
        now_ms: u64,
    ) -> MetaResult<()> {
        let guard = self.lock();
        if self.device_collection(partner, device)?.is_none() {
            return Err(MetaError::NotFound("device"));
        }
        let mut batch = WriteBatch::default();
        let by_device = ddi_device_key(partner, device);
        if let Some(old) = self.get::<Vec<u8>>(CF_DDI_DEVICE_TOKENS, &by_device)? {
            batch.delete_cf(self.cf(CF_DDI_TARGET_TOKENS), &old);
        }
        let key = ddi_token_key(token_sha256);
        self.put(&mut batch, CF_DDI_DEVICE_TOKENS, &by_device, &key);
        let record = TargetTokenRecord {
            partner: partner.to_string(),
            device: device.to_string(),
            created_ms: now_ms,
        };
        self.put(&mut batch, CF_DDI_TARGET_TOKENS, &key, &record);
        self.commit(guard, batch)
    }

    pub fn target_token(&self, token_sha256: &[u8; 32]) -> MetaResult<Option<TargetTokenRecord>> {
        self.get(CF_DDI_TARGET_TOKENS, &ddi_token_key(token_sha256))
    }

    pub fn create_gateway_token(
        &self,
        partner: &str,
        token_sha256: [u8; 32],
        now_ms: u64,
    ) -> MetaResult<GatewayTokenRecord> {
        let guard = self.lock();
        let mut batch = WriteBatch::default();
        let id = self.next_counter(&mut batch, &gateway_counter())?;
        let record = GatewayTokenRecord {
            id,
            partner: partner.to_string(),
            token_sha256,
            created_ms: now_ms,
        };
        self.put(
            &mut batch,
            CF_DDI_GATEWAY_TOKENS,
            &ddi_token_key(&token_sha256),
            &record,
        );
        self.put(
            &mut batch,
            CF_DDI_GATEWAY_BY_PARTNER,
            &gateway_by_partner(partner, id),
            &record,
        );
        self.commit(guard, batch)?;
        Ok(record)
    }

    pub fn gateway_token(&self, token_sha256: &[u8; 32]) -> MetaResult<Option<GatewayTokenRecord>> {
        self.get(CF_DDI_GATEWAY_TOKENS, &ddi_token_key(token_sha256))
    }

    pub fn list_gateway_tokens(&self, partner: &str) -> MetaResult<Vec<GatewayTokenRecord>> {
        self.scan_values(CF_DDI_GATEWAY_BY_PARTNER, &partner_prefix(partner))
    }

    pub fn delete_gateway_token(&self, partner: &str, id: u64) -> MetaResult<()> {
        let guard = self.lock();
        let key = gateway_by_partner(partner, id);
        let record: GatewayTokenRecord = self
            .get(CF_DDI_GATEWAY_BY_PARTNER, &key)?
            .ok_or(MetaError::NotFound("gateway token"))?;
        let mut batch = WriteBatch::default();
        self.delete(&mut batch, CF_DDI_GATEWAY_BY_PARTNER, &key);
        self.delete(
            &mut batch,
            CF_DDI_GATEWAY_TOKENS,
            &ddi_token_key(&record.token_sha256),
        );
        self.commit(guard, batch)
    }

    /// Stages, for a device being deleted, the end of its DDI credentials and state: its
    /// target token stops working and its open action is closed as canceled (the history
    /// stays; a device registered later under the same id starts afresh).
    pub(super) fn forget_ddi_device(
        &self,
        batch: &mut WriteBatch,
        partner: &str,
        device: &str,
        now_ms: u64,
    ) -> MetaResult<()> {
        let key = ddi_device_key(partner, device);
        if let Some(token_key) = self.get::<Vec<u8>>(CF_DDI_DEVICE_TOKENS, &key)? {
            batch.delete_cf(self.cf(CF_DDI_TARGET_TOKENS), &token_key);
        }
        if let Some(mut action) = self.open_action(partner, device)? {
            close_for_deleted_device(&mut action, now_ms);
            self.put(
                batch,
                CF_DDI_ACTIONS,
                &action_key(partner, device, action.id),
                &action,
            );
        }
        for cf in [CF_DDI_DEVICE_TOKENS, CF_DDI_OPEN_ACTIONS, CF_DDI_DEVICES] {
            self.delete(batch, cf, &key);
        }
        Ok(())
    }

    pub fn ddi_settings(&self, partner: &str) -> MetaResult<DdiSettings> {
        Ok(self
            .get(CF_DDI_SETTINGS, &partner_prefix(partner))?
            .unwrap_or_default())
    }

    /// Applies `change` to the partner's settings under the writer lock.
    pub fn update_ddi_settings(
        &self,
        partner: &str,
        change: impl FnOnce(&mut DdiSettings),
    ) -> MetaResult<DdiSettings> {
        let guard = self.lock();
        let mut settings = self.ddi_settings(partner)?;
        change(&mut settings);
        let mut batch = WriteBatch::default();
        self.put(
            &mut batch,
            CF_DDI_SETTINGS,
            &partner_prefix(partner),
            &settings,
        );
        self.commit(guard, batch)?;
        Ok(settings)
    }

    pub fn ddi_device_state(&self, partner: &str, device: &str) -> MetaResult<DdiDeviceState> {
        Ok(self
            .get(CF_DDI_DEVICES, &ddi_device_key(partner, device))?
            .unwrap_or_default())
    }

    /// Applies `change` to a device's DDI state under the writer lock.
    pub fn update_ddi_device_state<E: From<MetaError>>(
        &self,
        partner: &str,
        device: &str,
        change: impl FnOnce(&mut DdiDeviceState) -> Result<(), E>,
    ) -> Result<DdiDeviceState, E> {
        let guard = self.lock();
        let mut state = self.ddi_device_state(partner, device)?;
        change(&mut state)?;
        let mut batch = WriteBatch::default();
        self.put(
            &mut batch,
            CF_DDI_DEVICES,
            &ddi_device_key(partner, device),
            &state,
        );
        self.commit(guard, batch)?;
        Ok(state)
    }

    pub fn legacy_digests(&self, sha256: &Sha256Digest) -> MetaResult<Option<LegacyDigests>> {
        self.get(CF_BLOB_LEGACY_DIGESTS, &blob_key(sha256))
    }

    /// Caches a blob's SHA-1 and MD5. Content-addressed: a later write of the same blob
    /// writes the same value, so no lock is needed.
    pub fn put_legacy_digests(
        &self,
        sha256: &Sha256Digest,
        digests: &LegacyDigests,
    ) -> MetaResult<()> {
        let mut batch = WriteBatch::default();
        self.put(
            &mut batch,
            CF_BLOB_LEGACY_DIGESTS,
            &blob_key(sha256),
            digests,
        );
        self.commit_alone(batch)
    }
}
