//! Afero OTA wire types: firmware types, pool records, device-type firmware images, tags.
//! Ids and version numbers travel as strings of integers (they may exceed 2^53).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Body of `POST .../types`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FirmwareTypeCreate {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// 1–100 platform types, 101–200 MCU types.
    #[serde(rename = "type")]
    pub fw_type: i64,
}

/// Body of `PUT .../types/{type}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FirmwareTypeUpdate {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A firmware type as the API answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FirmwareType {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub fw_type: i64,
    pub partner_id: String,
    pub created_timestamp: u64,
    pub updated_timestamp: u64,
    /// 2000 + type: the device attribute that reports this type's installed version number.
    pub version_attribute_id: i64,
}

/// Device-type associations: partner id → device type ids.
pub type Associations = BTreeMap<String, Vec<String>>;

/// Body of `POST .../pool`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PoolRecordCreate {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub fw_type: i64,
    pub version: String,
    /// A repository URL answered by `binaries/moveToRepository`.
    pub url: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associations: Option<Associations>,
}

/// Body of `PUT .../pool/types/{type}/versionNumbers/{n}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PoolRecordUpdate {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub version: String,
    pub url: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A firmware pool record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PoolRecord {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub fw_type: i64,
    pub version_number: String,
    pub version: String,
    pub url: String,
    pub tags: Vec<String>,
    pub created_timestamp: u64,
    pub updated_timestamp: u64,
    pub partner_id: String,
    pub version_attribute_id: i64,
    /// fwrepo extension: SHA-256 of the binary (lowercase hex); the blob's identity.
    pub sha256: String,
    /// fwrepo extension: BLAKE3 of the binary (lowercase hex), for fast integrity checks.
    pub blake3: String,
    /// fwrepo extension: size of the binary in bytes.
    pub length: u64,
}

/// Body of `POST .../deviceTypes/{d}/firmwareImages`: a pool record (as the pool GETs answer
/// it) to associate with the device type. Fields the pool GETs answer are accepted and checked
/// against the pool record; `versionNumber` is what selects it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FirmwareImageCreate {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub fw_type: i64,
    pub version_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub url: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associations: Option<Associations>,
    // Echoed pool-record fields, accepted so a GET answer can be posted back unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_timestamp: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_timestamp: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_attribute_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blake3: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
}

/// A pool record associated with a device type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FirmwareImage {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub fw_type: i64,
    pub version_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub url: String,
    pub tags: Vec<String>,
    pub created_timestamp: u64,
    pub updated_timestamp: u64,
    pub partner_id: String,
    pub device_type_id: String,
    /// fwrepo extension: the pool record this image is.
    pub pool_record_id: String,
    pub sha256: String,
    pub length: u64,
}

/// One device-type association of a pool record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Association {
    pub name: String,
    pub partner_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub device_type_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_type_name: Option<String>,
    pub firmware_image_id: String,
}

/// `{"value": "<string>"}`: binary upload answer, moveToRepository body and answer, push body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StringValue {
    pub value: String,
}

/// fwrepo extension, `GET .../binaries/sha256/{sha256}`: the partner holds these bytes (an
/// upload or a repository entry), so publishing them again needs no upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BinaryStatus {
    /// SHA-256 of the binary (lowercase hex).
    pub sha256: String,
    /// Size of the binary in bytes.
    pub length: u64,
    /// Moved to the repository (else an upload waiting to be moved).
    pub in_repository: bool,
    /// The repository URL, when in the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `{"value": <bool>}`: the exists check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BoolValue {
    pub value: bool,
}

/// Answer of `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Health {
    pub status: String,
    pub version: String,
}
