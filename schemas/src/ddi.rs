//! hawkBit DDI wire types (the device side, shaped as hawkBit documents them) and fwrepo's own
//! views of DDI: actions with their history, target and gateway tokens, polling settings.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A hypermedia link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DdiLink {
    pub href: String,
}

/// Links of a base poll: present exactly when the device has something to do.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DdiControllerLinks {
    #[serde(
        default,
        rename = "deploymentBase",
        skip_serializing_if = "Option::is_none"
    )]
    pub deployment_base: Option<DdiLink>,
    #[serde(
        default,
        rename = "cancelAction",
        skip_serializing_if = "Option::is_none"
    )]
    pub cancel_action: Option<DdiLink>,
    #[serde(
        default,
        rename = "configData",
        skip_serializing_if = "Option::is_none"
    )]
    pub config_data: Option<DdiLink>,
    #[serde(
        default,
        rename = "installedBase",
        skip_serializing_if = "Option::is_none"
    )]
    pub installed_base: Option<DdiLink>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DdiPolling {
    /// Suggested time between polls, `HH:MM:SS`.
    pub sleep: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DdiConfig {
    pub polling: DdiPolling,
}

/// Answer of the base poll `GET /{tenant}/controller/v1/{controllerId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DdiControllerBase {
    pub config: DdiConfig,
    #[serde(rename = "_links")]
    pub links: DdiControllerLinks,
}

/// Digests of an artifact, lowercase hex.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DdiArtifactHashes {
    pub sha1: String,
    pub md5: String,
    pub sha256: String,
}

/// Download links of an artifact: `download-http`/`md5sum-http` always (the public URL as
/// configured), `download`/`md5sum` too when that URL is https.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DdiArtifactLinks {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download: Option<DdiLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5sum: Option<DdiLink>,
    #[serde(rename = "download-http")]
    pub download_http: DdiLink,
    #[serde(rename = "md5sum-http")]
    pub md5sum_http: DdiLink,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DdiArtifact {
    pub filename: String,
    pub hashes: DdiArtifactHashes,
    pub size: u64,
    #[serde(rename = "_links")]
    pub links: DdiArtifactLinks,
}

/// A software module of a deployment (fwrepo: one per action, holding its image).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DdiChunk {
    /// `os` for a collection image, `fw-<type>` for an Afero firmware image.
    pub part: String,
    pub version: String,
    pub name: String,
    pub artifacts: Vec<DdiArtifact>,
}

/// How the device should handle a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DdiHandling {
    Skip,
    Attempt,
    Forced,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DdiDeployment {
    pub download: DdiHandling,
    pub update: DdiHandling,
    pub chunks: Vec<DdiChunk>,
}

/// The action's state and its latest messages, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DdiActionHistory {
    pub status: String,
    pub messages: Vec<String>,
}

/// Answer of `deploymentBase/{actionId}` and `installedBase/{actionId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DdiDeploymentBase {
    pub id: String,
    pub deployment: DdiDeployment,
    #[serde(rename = "actionHistory")]
    pub action_history: DdiActionHistory,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DdiCancelActionToStop {
    #[serde(rename = "stopId")]
    pub stop_id: String,
}

/// Answer of `cancelAction/{actionId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DdiCancel {
    pub id: String,
    #[serde(rename = "cancelAction")]
    pub cancel_action: DdiCancelActionToStop,
}

/// `execution` of a feedback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DdiExecution {
    Closed,
    Proceeding,
    Canceled,
    Scheduled,
    Rejected,
    Resumed,
    Downloaded,
    Download,
}

/// `result.finished` of a feedback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DdiFinished {
    Success,
    Failure,
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DdiProgress {
    pub cnt: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DdiResult {
    pub finished: DdiFinished,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<DdiProgress>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DdiStatus {
    pub execution: DdiExecution,
    pub result: DdiResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<String>>,
}

/// Body of `deploymentBase/{actionId}/feedback` and `cancelAction/{actionId}/feedback`.
/// Unknown members (older clients send `id` and `time`) are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DdiActionFeedback {
    pub status: DdiStatus,
    /// Milliseconds since the epoch on the device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
}

/// How `configData` changes the stored attributes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DdiUpdateMode {
    #[default]
    Merge,
    Replace,
    Remove,
}

/// Body of `PUT configData`. Unknown members (`id`, `time`, `status` of older clients) are
/// ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DdiConfigData {
    pub data: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<DdiUpdateMode>,
}

/// The image an action installs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DdiActionImage {
    /// `collection` (a collection image id) or `deviceType` (an Afero firmware image id).
    pub source: crate::CheckinImageSource,
    pub image_id: String,
    pub name: String,
    pub version: String,
    /// The artifact's file name as devices see it.
    pub filename: String,
    pub sha256: String,
    pub length: u64,
}

/// State of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DdiActionStatus {
    Scheduled,
    Proceeding,
    /// A cancel was requested; the device has not confirmed it yet.
    Canceling,
    Success,
    Failure,
    Canceled,
}

/// One entry of an action's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DdiActionEvent {
    /// Milliseconds since the epoch (server time).
    pub time: u64,
    pub status: DdiActionStatus,
    /// `server`, `deployment` (deployment feedback) or `cancel` (cancel feedback).
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    pub messages: Vec<String>,
}

/// A DDI action as our API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DdiAction {
    pub action_id: String,
    pub device_id: String,
    pub collection_id: String,
    pub image: DdiActionImage,
    pub status: DdiActionStatus,
    /// The device refused to cancel; the action runs to its end.
    pub cancel_refused: bool,
    /// Oldest first; the first entry says why the action exists.
    pub history: Vec<DdiActionEvent>,
    /// History entries dropped beyond the per-action cap (the oldest device feedback).
    pub dropped_history_entries: u64,
    pub created: u64,
    pub updated: u64,
}

/// A token shown once: a device's target token or a partner's gateway token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DdiToken {
    /// The gateway token's id (absent for a target token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The device a target token is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// Send as `Authorization: TargetToken <token>` or `GatewayToken <token>`. Shown once.
    pub token: String,
}

/// A gateway token as listed (the token itself is never shown again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DdiGatewayToken {
    pub id: String,
    /// Milliseconds since the epoch.
    pub created: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DdiGatewayTokenList {
    pub tokens: Vec<DdiGatewayToken>,
}

/// A partner's DDI settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DdiPartnerSettings {
    /// Polling interval sent to devices, `HH:MM:SS` (a collection's `ddi.pollingSleep` tag
    /// overrides it).
    pub polling_sleep: String,
    /// Collection that devices registered by a gateway token join (created on demand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_collection_id: Option<String>,
}

/// Body of `PUT /v1/ota/partners/{partnerId}/ddi/settings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DdiPartnerSettingsInput {
    /// `HH:MM:SS` between 00:00:01 and 24:00:00; `null` returns to the default (00:05:00).
    #[serde(default)]
    pub polling_sleep: Option<String>,
}

/// The attributes a device stored through `configData`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DdiAttributes {
    pub attributes: BTreeMap<String, String>,
    /// Milliseconds since the epoch of the last `configData`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<u64>,
}
