//! hawkBit DDI: what a polling controller is told, its feedback, its credentials. The
//! firmware in effect is re-evaluated on every poll with the check-in rule; actions follow it.

use std::collections::BTreeMap;

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::checkin::OfferedImage;
use super::{Service, ServiceError, ServiceResult};
use crate::domain::ddi::{
    apply_feedback, artifact_filename, parse_sleep, validate_config_data, ActionImage,
    ActionImageKind, ActionRecord, ActionState, Channel, DdiDeviceState, DdiSettings,
    FailedInstall, Feedback, FeedbackRefused, GatewayTokenRecord, LegacyDigests,
    DEFAULT_POLLING_SECS, POLLING_TAG,
};
use crate::domain::{
    CollectionRecord, DeviceRecord, FirmwareState, Management, PoolLink, Sha256Digest, Tags,
};
use crate::meta::actions::ActionPage;
use crate::meta::{audit, now_ms};

/// Name of the collection gateway-registered devices join (created on demand per partner).
pub const DEFAULT_COLLECTION_TAG: &str = "ddi-default";

#[derive(Debug, thiserror::Error)]
pub enum DdiError {
    /// No DDI credential, or one that is not valid for this tenant and controller.
    #[error("a valid TargetToken or GatewayToken for this controller is required")]
    Unauthorized,
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Feedback for a finished action.
    #[error("the action is not active anymore")]
    Gone,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<crate::meta::MetaError> for DdiError {
    fn from(error: crate::meta::MetaError) -> Self {
        DdiError::Service(error.into())
    }
}

pub type DdiResult<T> = Result<T, DdiError>;

/// The credential of a DDI request.
#[derive(Debug)]
pub enum DdiCredential {
    Target(String),
    Gateway(String),
}

/// What a controller's base poll answers.
#[derive(Debug)]
pub struct PollOutcome {
    pub sleep_secs: u32,
    /// The open action: `deploymentBase` when scheduled/proceeding, `cancelAction` when
    /// canceling.
    pub open: Option<ActionRecord>,
    /// Attributes were never stored: offer `configData`.
    pub config_due: bool,
    /// The last action that finished with success.
    pub installed: Option<u64>,
}

/// A token as handed out once.
#[derive(Debug)]
pub struct IssuedDdiToken {
    pub token: String,
    pub gateway: Option<GatewayTokenRecord>,
}

fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The artifact name of a pool record: its name when it looks like a file name, else derived.
fn pool_filename(name: &str, version: &str) -> String {
    if name.contains('.') && !name.contains('/') {
        name.to_string()
    } else {
        artifact_filename("", name, version)
    }
}

/// The snapshot an action keeps of the image it installs.
fn action_image(offered: OfferedImage) -> ActionImage {
    match offered {
        OfferedImage::Collection(image) => ActionImage {
            kind: ActionImageKind::Collection,
            id: image.id,
            name: image.filename.clone(),
            filename: artifact_filename(&image.filename, &image.filename, &image.version),
            version: image.version,
            sha256: image.sha256,
            blake3: image.blake3,
            length: image.length,
            pool: image.pool,
        },
        OfferedImage::DeviceType(image, pool) => ActionImage {
            kind: ActionImageKind::DeviceType,
            id: image.id,
            filename: pool_filename(&pool.name, &pool.version),
            name: pool.name,
            version: pool.version,
            sha256: pool.sha256,
            blake3: pool.blake3,
            length: pool.length,
            pool: Some(PoolLink {
                pool_id: pool.id,
                fw_type: image.fw_type,
                version_number: image.version_number,
            }),
        },
    }
}

/// Installing the action's image succeeded: the device runs it now (the same fields a
/// check-in sets, so usage and the device view agree).
fn record_installed(device: &mut DeviceRecord, image: &ActionImage) {
    if image.kind == ActionImageKind::Collection {
        device.current = Some(image.id);
    }
    if let Some(pool) = image.pool {
        device.versions.insert(pool.fw_type, pool.version_number);
    }
    device.state = Some(FirmwareState::Current);
}

fn polling_secs(settings: &DdiSettings, collection: &CollectionRecord) -> u32 {
    collection
        .tags
        .get(POLLING_TAG)
        .and_then(|text| parse_sleep("tags", text).ok())
        .or(settings.polling_secs)
        .unwrap_or(DEFAULT_POLLING_SECS)
}

impl Service {
    /// Runs a metadata operation whose rules answer DDI errors on the blocking pool.
    async fn ddi_blocking<T: Send + 'static>(
        &self,
        op: impl FnOnce(&crate::meta::MetaStore) -> DdiResult<T> + Send + 'static,
    ) -> DdiResult<T> {
        let meta = std::sync::Arc::clone(&self.meta);
        audit::spawn_blocking(move || op(&meta))
            .await
            .map_err(|e| ServiceError::Internal(Box::new(e)))?
    }

    /// Resolves a DDI credential for `tenant`/`controller`. A target token is valid only for
    /// its own device; a gateway token for any controller of its partner.
    pub fn ddi_authenticate(
        &self,
        tenant: &str,
        controller: &str,
        credential: Option<DdiCredential>,
    ) -> DdiResult<DdiCredentialKind> {
        match credential.ok_or(DdiError::Unauthorized)? {
            DdiCredential::Target(token) => match self.meta.target_token(&token_hash(&token))? {
                Some(r) if r.partner == tenant && r.device == controller => {
                    audit::attribute(tenant, format!("device:{controller}"));
                    Ok(DdiCredentialKind::Target)
                }
                _ => Err(DdiError::Unauthorized),
            },
            DdiCredential::Gateway(token) => match self.meta.gateway_token(&token_hash(&token))? {
                Some(r) if r.partner == tenant => {
                    audit::attribute(tenant, format!("gateway:{}", r.id));
                    Ok(DdiCredentialKind::Gateway)
                }
                _ => Err(DdiError::Unauthorized),
            },
        }
    }

    /// The device a controller id names, registering it on a gateway's first poll.
    async fn ddi_device(
        &self,
        tenant: &str,
        controller: &str,
        register: bool,
    ) -> DdiResult<(CollectionRecord, DeviceRecord)> {
        let (owner, id) = (tenant.to_string(), controller.to_string());
        let collection = match self
            .meta_read(move |m| m.device_collection(&owner, &id))
            .await?
        {
            Some(collection) => collection,
            None if register => self.register_controller(tenant, controller).await?,
            None => return Err(DdiError::NotFound("controller")),
        };
        let collection = self.collection_record(tenant, &collection).await?;
        let device = self
            .device_record(tenant, &collection.id, controller)
            .await?;
        Ok((collection, device))
    }

    /// Creates the device in the partner's default DDI collection; answers its collection.
    async fn register_controller(&self, tenant: &str, controller: &str) -> DdiResult<String> {
        crate::domain::validate_id("controllerId", controller).map_err(ServiceError::from)?;
        let collection = self.default_ddi_collection(tenant).await?;
        let created = self
            .create_device(
                tenant,
                &collection,
                Some(controller.to_string()),
                Default::default(),
            )
            .await;
        match created {
            Ok(_) => {
                tracing::info!(device.id = controller, collection.id = %collection, "controller registered by gateway token");
                Ok(collection)
            }
            // Two first polls at once: the other one registered it.
            Err(ServiceError::Conflict(_)) => {
                let (owner, id) = (tenant.to_string(), controller.to_string());
                self.meta_read(move |m| m.device_collection(&owner, &id))
                    .await?
                    .ok_or(DdiError::NotFound("controller"))
            }
            Err(other) => Err(other.into()),
        }
    }

    /// The partner's default DDI collection, created (management `device`, tagged
    /// `ddi-default`) the first time a gateway registers a controller.
    async fn default_ddi_collection(&self, tenant: &str) -> DdiResult<String> {
        let owner = tenant.to_string();
        let settings = self.meta_read(move |m| m.ddi_settings(&owner)).await?;
        if let Some(id) = settings.default_collection {
            let (owner, coll) = (tenant.to_string(), id.clone());
            if self
                .meta_read(move |m| m.collection(&owner, &coll))
                .await?
                .is_some()
            {
                return Ok(id);
            }
        }
        let tags = Tags::from([(DEFAULT_COLLECTION_TAG.to_string(), "true".to_string())]);
        let (owner, tags_) = (tenant.to_string(), tags);
        let created = self
            .meta_write(move |m| m.create_collection(&owner, Management::Device, tags_, now_ms()))
            .await?;
        let (owner, new_id) = (tenant.to_string(), created.id.clone());
        let settings = self
            .meta_write(move |m| {
                let stale = |s: &DdiSettings| {
                    s.default_collection
                        .as_ref()
                        .is_none_or(|id| m.collection(&owner, id).ok().flatten().is_none())
                };
                m.update_ddi_settings(&owner, |s| {
                    if stale(s) {
                        s.default_collection = Some(new_id);
                    }
                })
            })
            .await?;
        match settings.default_collection {
            // Another first registration won the race: drop the empty collection made here.
            Some(winner) if winner != created.id => {
                let (owner, loser) = (tenant.to_string(), created.id);
                self.meta_write(move |m| m.delete_collection(&owner, &loser))
                    .await?;
                Ok(winner)
            }
            _ => Ok(created.id),
        }
    }

    /// Re-evaluates the firmware in effect for a device and reconciles its open action.
    async fn evaluate(
        &self,
        collection: &CollectionRecord,
        device: &DeviceRecord,
    ) -> DdiResult<Option<ActionRecord>> {
        let decision = self.decide_for(collection, device).await?;
        let (offered, reason) = self.offered_image(collection, decision).await?;
        let desired = offered.map(|o| (action_image(o), reason));
        let (device_, now) = (device.clone(), now_ms());
        let retarget_ms = device.target_set_ms.max(collection.updated_ms);
        let open = self
            .meta_write(move |m| m.reconcile_action(&device_, desired, retarget_ms, now))
            .await?;
        Ok(open)
    }

    /// The base poll.
    pub async fn ddi_poll(
        &self,
        tenant: &str,
        controller: &str,
        kind: DdiCredentialKind,
    ) -> DdiResult<PollOutcome> {
        let (collection, device) = self
            .ddi_device(tenant, controller, kind == DdiCredentialKind::Gateway)
            .await?;
        let open = self.evaluate(&collection, &device).await?;
        if let Some(action) = &open {
            self.legacy_digests(action.image.sha256).await?;
        }
        let (owner, id) = (tenant.to_string(), controller.to_string());
        let (settings, state) = self
            .meta_read(move |m| Ok((m.ddi_settings(&owner)?, m.ddi_device_state(&owner, &id)?)))
            .await?;
        Ok(PollOutcome {
            sleep_secs: polling_secs(&settings, &collection),
            open,
            config_due: state.attributes_ms.is_none(),
            installed: state.installed_action,
        })
    }

    /// One action of a controller (any state), with the SHA-1/MD5 of its artifact.
    pub async fn ddi_action(
        &self,
        tenant: &str,
        controller: &str,
        action: u64,
    ) -> DdiResult<(ActionRecord, LegacyDigests)> {
        let (owner, id) = (tenant.to_string(), controller.to_string());
        let record = self
            .meta_read(move |m| m.action(&owner, &id, action))
            .await?
            .ok_or(DdiError::NotFound("action"))?;
        let digests = self.legacy_digests(record.image.sha256).await?;
        Ok((record, digests))
    }

    /// Feedback on an action's deployment or cancel channel. `closed` + success makes the
    /// action's image the device's current firmware in the same batch.
    pub async fn ddi_feedback(
        &self,
        tenant: &str,
        controller: &str,
        action: u64,
        channel: Channel,
        feedback: Feedback,
    ) -> DdiResult<ActionRecord> {
        let (owner, id) = (tenant.to_string(), controller.to_string());
        let record = self
            .ddi_blocking(move |m| {
                m.update_action(&owner, &id, action, |record, device, state| {
                    apply_feedback(record, channel, feedback, now_ms()).map_err(|e| match e {
                        FeedbackRefused::Closed => DdiError::Gone,
                        FeedbackRefused::NoCancel => DdiError::NotFound("cancel action"),
                    })?;
                    match record.state {
                        ActionState::Success => {
                            record_installed(device, &record.image);
                            state.installed_action = Some(record.id);
                            state.failed = None;
                        }
                        ActionState::Failure => {
                            state.failed = Some(FailedInstall {
                                image: record.image.clone(),
                                at_ms: record.updated_ms,
                            });
                        }
                        _ => {}
                    }
                    Ok(())
                })
            })
            .await?;
        tracing::info!(
            device.id = controller,
            action.id = action,
            action.state = record.state.as_str(),
            "DDI feedback"
        );
        Ok(record)
    }

    /// Stores `configData` attributes (merge, replace or remove).
    pub async fn ddi_config_data(
        &self,
        tenant: &str,
        controller: &str,
        data: BTreeMap<String, String>,
        mode: ConfigMode,
    ) -> DdiResult<DdiDeviceState> {
        self.ddi_device(tenant, controller, false).await?;
        let (owner, id) = (tenant.to_string(), controller.to_string());
        let state = self
            .meta_write(move |m| {
                m.update_ddi_device_state(&owner, &id, |state| {
                    match mode {
                        ConfigMode::Merge => state.attributes.extend(data),
                        ConfigMode::Replace => state.attributes = data,
                        ConfigMode::Remove => {
                            for key in data.keys() {
                                state.attributes.remove(key);
                            }
                        }
                    }
                    validate_config_data(&state.attributes)?;
                    state.attributes_ms = Some(now_ms());
                    Ok::<_, ServiceError>(())
                })
            })
            .await?;
        Ok(state)
    }

    /// SHA-1 and MD5 of a blob: from the cache, or computed once (a streaming read on the
    /// blocking pool) and cached. Ingest never computes them.
    pub async fn legacy_digests(&self, sha256: Sha256Digest) -> ServiceResult<LegacyDigests> {
        if let Some(cached) = self.meta_read(move |m| m.legacy_digests(&sha256)).await? {
            return Ok(cached);
        }
        let length = self
            .meta_read(move |m| m.blob_record(&sha256))
            .await?
            .ok_or(ServiceError::NotFound("blob"))?
            .length;
        let blob = self.open_blob(sha256, length, None).await?;
        let mut reader = tokio_util::io::SyncIoBridge::new(blob.reader);
        let digests = tokio::task::spawn_blocking(move || -> std::io::Result<LegacyDigests> {
            use std::io::Read;
            let (mut sha1, mut md5) = (sha1::Sha1::new(), md5::Md5::new());
            let mut buffer = vec![0u8; 256 * 1024];
            loop {
                let n = reader.read(&mut buffer)?;
                if n == 0 {
                    break;
                }
                sha1.update(&buffer[..n]);
                md5.update(&buffer[..n]);
            }
            Ok(LegacyDigests {
                sha1: hex::encode(sha1.finalize()),
                md5: hex::encode(md5.finalize()),
            })
        })
        .await
        .map_err(|e| ServiceError::Internal(Box::new(e)))?
        .map_err(|e| ServiceError::Internal(format!("reading blob {sha256}: {e}").into()))?;
        let cached = digests.clone();
        self.meta_write(move |m| m.put_legacy_digests(&sha256, &cached))
            .await?;
        tracing::info!(blob.sha256 = %sha256, "computed SHA-1 and MD5 for DDI");
        Ok(digests)
    }

    /// Issues (or rotates) a device's target token; shown once, stored as its SHA-256.
    pub async fn issue_target_token(
        &self,
        partner: &str,
        collection: &str,
        device: &str,
    ) -> ServiceResult<IssuedDdiToken> {
        self.device_record(partner, collection, device).await?;
        let token = new_token();
        let (owner, id, hash) = (partner.to_string(), device.to_string(), token_hash(&token));
        self.meta_write(move |m| m.set_target_token(&owner, &id, &hash, now_ms()))
            .await?;
        Ok(IssuedDdiToken {
            token,
            gateway: None,
        })
    }

    pub async fn create_gateway_token(&self, partner: &str) -> ServiceResult<IssuedDdiToken> {
        let token = new_token();
        let (owner, hash) = (partner.to_string(), token_hash(&token));
        let record = self
            .meta_write(move |m| m.create_gateway_token(&owner, hash, now_ms()))
            .await?;
        Ok(IssuedDdiToken {
            token,
            gateway: Some(record),
        })
    }

    pub async fn list_gateway_tokens(
        &self,
        partner: &str,
    ) -> ServiceResult<Vec<GatewayTokenRecord>> {
        let owner = partner.to_string();
        self.meta_call(move |m| m.list_gateway_tokens(&owner)).await
    }

    pub async fn delete_gateway_token(&self, partner: &str, id: u64) -> ServiceResult<()> {
        let owner = partner.to_string();
        self.meta_write(move |m| m.delete_gateway_token(&owner, id))
            .await
    }

    pub async fn ddi_settings(&self, partner: &str) -> ServiceResult<DdiSettings> {
        let owner = partner.to_string();
        self.meta_read(move |m| m.ddi_settings(&owner)).await
    }

    /// Sets (or with `None` clears) the partner's polling interval.
    pub async fn set_ddi_polling(
        &self,
        partner: &str,
        sleep: Option<String>,
    ) -> ServiceResult<DdiSettings> {
        let secs = match sleep.as_deref() {
            Some(text) => Some(parse_sleep("pollingSleep", text)?),
            None => None,
        };
        let owner = partner.to_string();
        self.meta_write(move |m| m.update_ddi_settings(&owner, |s| s.polling_secs = secs))
            .await
    }

    /// A device's open hawkBit deployment (scheduled, proceeding or canceling), as stored:
    /// a point read, for lists that show one per device.
    pub async fn open_deployment(
        &self,
        partner: &str,
        device: &str,
    ) -> ServiceResult<Option<crate::domain::ddi::ActionRecord>> {
        self.meta_read(|m| m.open_action(partner, device)).await
    }

    /// A page of a device's actions, after evaluating what is in effect now (so the list
    /// shows an action as soon as a target changes, without waiting for the device's poll).
    pub async fn list_device_actions(
        &self,
        partner: &str,
        collection: &str,
        device: &str,
        page: u32,
        size: u32,
    ) -> ServiceResult<ActionPage> {
        let collection_record = self.collection_record(partner, collection).await?;
        let device_record = self.device_record(partner, collection, device).await?;
        self.evaluate(&collection_record, &device_record)
            .await
            .map_err(DdiError::into_service)?;
        let (owner, id) = (partner.to_string(), device.to_string());
        let offset = u64::from(page) * u64::from(size);
        self.meta_call(move |m| m.list_actions(&owner, &id, offset, size as usize))
            .await
    }

    pub async fn device_action(
        &self,
        partner: &str,
        collection: &str,
        device: &str,
        action: u64,
    ) -> ServiceResult<ActionRecord> {
        self.device_record(partner, collection, device).await?;
        let (owner, id) = (partner.to_string(), device.to_string());
        self.meta_read(move |m| m.action(&owner, &id, action))
            .await?
            .ok_or(ServiceError::NotFound("action"))
    }

    /// The device's attributes stored through `configData`.
    pub async fn device_attributes(
        &self,
        partner: &str,
        device: &str,
    ) -> ServiceResult<DdiDeviceState> {
        let (owner, id) = (partner.to_string(), device.to_string());
        self.meta_read(move |m| m.ddi_device_state(&owner, &id))
            .await
    }
}

/// How `configData` changes the stored attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigMode {
    Merge,
    Replace,
    Remove,
}

/// Which credential authenticated a DDI request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DdiCredentialKind {
    Target,
    Gateway,
}

impl DdiError {
    fn into_service(self) -> ServiceError {
        match self {
            DdiError::Service(inner) => inner,
            DdiError::NotFound(what) => ServiceError::NotFound(what),
            other => ServiceError::Internal(Box::new(other)),
        }
    }
}

impl From<crate::domain::DomainError> for DdiError {
    fn from(error: crate::domain::DomainError) -> Self {
        DdiError::Service(error.into())
    }
}
