//! DDI actions: records per device in id order, and the index of each device's open action.
//! An action change and the device record it updates commit in one batch.

use rocksdb::WriteBatch;

use super::codec;
use super::keys::*;
use super::{MetaError, MetaResult, MetaStore};
use crate::domain::ddi::{
    new_action, reconcile, request_cancel, retry_blocked, ActionImage, ActionRecord,
    DdiDeviceState, Reconcile,
};
use crate::domain::DeviceRecord;

/// One page of a device's actions.
pub struct ActionPage {
    pub actions: Vec<ActionRecord>,
    pub total: u64,
}

impl MetaStore {
    pub fn action(
        &self,
        partner: &str,
        device: &str,
        action: u64,
    ) -> MetaResult<Option<ActionRecord>> {
        self.get(CF_DDI_ACTIONS, &action_key(partner, device, action))
    }

    /// The device's open action (scheduled, proceeding or canceling), if any.
    pub fn open_action(&self, partner: &str, device: &str) -> MetaResult<Option<ActionRecord>> {
        match self.get_u64(CF_DDI_OPEN_ACTIONS, &ddi_device_key(partner, device))? {
            Some(id) => self.action(partner, device, id),
            None => Ok(None),
        }
    }

    /// Brings the device's open action in line with the image in effect (`desired`, with the
    /// reason it is): creates one, or asks the device to cancel one that no longer applies.
    /// A failed image is not offered again before `retarget_ms` passes its failure time.
    /// Answers the open action afterwards. Writes run under the writer lock: two polls at
    /// once create one action.
    pub fn reconcile_action(
        &self,
        device: &DeviceRecord,
        desired: Option<(ActionImage, String)>,
        retarget_ms: u64,
        now_ms: u64,
    ) -> MetaResult<Option<ActionRecord>> {
        let (partner, id) = (device.partner.as_str(), device.id.as_str());
        let plan = |open: Option<&ActionRecord>| -> MetaResult<Reconcile> {
            let state = self.ddi_device_state(partner, id)?;
            let desired = desired
                .as_ref()
                .map(|(image, _)| image)
                .filter(|image| open.is_some() || !retry_blocked(&state, image, retarget_ms));
            Ok(reconcile(open, desired))
        };
        // Most polls change nothing: decide on plain reads first, and take the writer lock
        // (deciding again under it) only when something is to be written.
        let open = self.open_action(partner, id)?;
        if plan(open.as_ref())? == Reconcile::Keep {
            return Ok(open);
        }
        let guard = self.lock();
        let open = self.open_action(partner, id)?;
        let step = plan(open.as_ref())?;
        let mut batch = WriteBatch::default();
        let after = match step {
            Reconcile::Keep => return Ok(open),
            Reconcile::Create => {
                let (image, reason) = desired.expect("create only with a desired image");
                let action_id = self.next_counter(&mut batch, &action_counter())?;
                let action = new_action(action_id, device, image, &reason, now_ms);
                self.put_u64(
                    &mut batch,
                    CF_DDI_OPEN_ACTIONS,
                    &ddi_device_key(partner, id),
                    action_id,
                );
                action
            }
            Reconcile::RequestCancel => {
                let mut action = open.expect("cancel only an open action");
                request_cancel(&mut action, now_ms);
                action
            }
        };
        self.put(
            &mut batch,
            CF_DDI_ACTIONS,
            &action_key(partner, id, after.id),
            &after,
        );
        self.commit(guard, batch)?;
        Ok(Some(after))
    }

    /// Applies `change` to an action and the device it belongs to, under the writer lock, and
    /// commits both (and the open-action index) in one batch.
    pub fn update_action<E: From<MetaError>>(
        &self,
        partner: &str,
        device: &str,
        action: u64,
        change: impl FnOnce(&mut ActionRecord, &mut DeviceRecord, &mut DdiDeviceState) -> Result<(), E>,
    ) -> Result<ActionRecord, E> {
        let guard = self.lock();
        let key = action_key(partner, device, action);
        let mut record: ActionRecord = self
            .get(CF_DDI_ACTIONS, &key)?
            .ok_or(MetaError::NotFound("action"))?;
        let device_key = device_key(partner, &record.collection, device);
        let mut device_record: DeviceRecord = self
            .get(CF_DEVICES, &device_key)?
            .ok_or(MetaError::NotFound("device"))?;
        let before = device_record.clone();
        let mut state = self.ddi_device_state(partner, device)?;
        let state_before = state.clone();
        change(&mut record, &mut device_record, &mut state)?;
        let mut batch = WriteBatch::default();
        self.put(&mut batch, CF_DDI_ACTIONS, &key, &record);
        if device_record != before {
            device_record.updated_ms = record.updated_ms.max(device_record.updated_ms);
            self.put(&mut batch, CF_DEVICES, &device_key, &device_record);
            let collection = record.collection.as_str();
            self.stage_running(
                &mut batch,
                partner,
                collection,
                before.current,
                device_record.current,
            )?;
        }
        if state != state_before {
            self.put(
                &mut batch,
                CF_DDI_DEVICES,
                &ddi_device_key(partner, device),
                &state,
            );
        }
        if !record.state.is_open() {
            self.delete(
                &mut batch,
                CF_DDI_OPEN_ACTIONS,
                &ddi_device_key(partner, device),
            );
        }
        self.commit(guard, batch)?;
        Ok(record)
    }

    /// A window of a device's actions in id order, and how many it has. Only the window is
    /// decoded.
    pub fn list_actions(
        &self,
        partner: &str,
        device: &str,
        offset: u64,
        limit: usize,
    ) -> MetaResult<ActionPage> {
        let mut actions = Vec::new();
        let mut total = 0u64;
        for item in self.scan_prefix(CF_DDI_ACTIONS, &device_actions_prefix(partner, device)) {
            let (_, value) = item?;
            if total >= offset && actions.len() < limit {
                actions.push(codec::decode(CF_DDI_ACTIONS, &value)?);
            }
            total += 1;
        }
        Ok(ActionPage { actions, total })
    }
}
