//! Span FOTA wire types (collections, collection firmware images, devices, usage) and the
//! device check-in of fwrepo. Span style: camelCase, string ids, lists wrapped in an object.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::page::PageInfo;

/// Custom attributes of a collection, image or device: name → value.
pub type TagMap = BTreeMap<String, String>;

/// Who decides a collection's devices' firmware.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ManagementScope {
    /// Each device's own `firmware.targetFirmwareId` (or an Afero push) is its target.
    Device,
    /// The collection's `firmware.targetFirmwareId` is every device's target.
    Collection,
    /// No firmware management: devices' versions are ignored, check-in never offers an update.
    Disabled,
}

/// The `firmware` member of a collection as the API answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CollectionFirmware {
    pub management: ManagementScope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_firmware_id: Option<String>,
    /// The image every device of the collection reports as installed (absent when the
    /// collection has no device or its devices differ). Read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_firmware_id: Option<String>,
}

/// A Span collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Collection {
    pub collection_id: String,
    pub firmware: CollectionFirmware,
    pub tags: TagMap,
}

/// The `firmware` member of a collection create or PATCH body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CollectionFirmwareInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management: Option<ManagementScope>,
    /// An image id of this collection; `""` clears the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_firmware_id: Option<String>,
    /// Accepted so a GET answer can be sent back; ignored (it is derived from the devices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_firmware_id: Option<String>,
}

/// Body of `POST /collections` and `PATCH /collections/{collectionId}`. In a PATCH, absent
/// members stay; `tags` are merged (a tag set to `""` is removed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CollectionInput {
    /// Accepted so a GET answer can be sent back; must name the collection if present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<CollectionFirmwareInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<TagMap>,
}

/// Answer of `GET /collections`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionList {
    pub collections: Vec<Collection>,
    /// fwrepo extension: this page's place in the list (`?page=&size=`).
    pub page: PageInfo,
}

/// A firmware image of a collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CollectionImage {
    pub image_id: String,
    /// What the device reports once the image is installed; unique in the collection. A random
    /// string until set.
    pub version: String,
    pub filename: String,
    /// SHA-256 of the image (lowercase hex); unique in the collection.
    pub sha256: String,
    pub length: u64,
    pub collection_id: String,
    /// Milliseconds since the epoch.
    pub created: u64,
    pub tags: TagMap,
    /// fwrepo extension: the pool record the image was made from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_record_id: Option<String>,
    /// fwrepo extension: where a device downloads the image (GET with Range).
    pub url: String,
}

/// Answer of `GET /collections/{collectionId}/firmware`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionImageList {
    pub images: Vec<CollectionImage>,
    /// fwrepo extension: this page's place in the list (`?page=&size=`).
    pub page: PageInfo,
}

/// Body of `PATCH /collections/{collectionId}/firmware/{imageId}`; `tags` are merged (a tag
/// set to `""` is removed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CollectionImageUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<TagMap>,
}

/// Selects a pool record by firmware type and version number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PoolRecordRef {
    #[serde(rename = "type")]
    pub fw_type: i64,
    pub version_number: String,
}

/// JSON body of `POST /collections/{collectionId}/firmware`: an image made from a pool record
/// without re-uploading its bytes. `version` defaults to the pool record's version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CollectionImageFromPool {
    pub pool_record: PoolRecordRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<TagMap>,
}

/// Answer of `GET /collections/{collectionId}/firmware/{imageId}/usage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FirmwareUsage {
    pub firmware_id: String,
    /// Devices whose target in effect is this image and that do not run it yet.
    pub targeted_devices: Vec<String>,
    /// Devices that report this image as installed.
    pub current_devices: Vec<String>,
    /// fwrepo extension: which page of the collection's devices these lists cover
    /// (`?page=&size=`); the usage of the whole collection is the union over its pages.
    pub page: PageInfo,
}

/// What a device's last check-in concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeviceFirmwareState {
    /// Nothing to install.
    Current,
    /// An update was offered.
    Pending,
    /// The collection's management is `disabled`.
    Unmanaged,
}

/// The `firmware` member of a device as the API answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceFirmware {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_firmware_id: Option<String>,
    /// The device's own target: an image of the collection, or an Afero firmware image id
    /// when an Afero push is the newer instruction. Only in effect with management `device`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_firmware_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<DeviceFirmwareState>,
}

/// A device of a collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Device {
    pub device_id: String,
    pub collection_id: String,
    /// The Afero device type, whose firmware images the device is eligible for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_type_id: Option<String>,
    pub firmware: DeviceFirmware,
    /// Installed version numbers, Afero style: version attribute id (2000 + type) → versionNumber.
    pub versions: BTreeMap<String, String>,
    pub tags: TagMap,
    /// Milliseconds since the epoch of the last check-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_checkin: Option<u64>,
}

/// The `firmware` member of a device create or PATCH body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceFirmwareInput {
    /// An image id of the collection; `""` clears the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_firmware_id: Option<String>,
    /// An image id of the collection (e.g. what the factory flashed); check-ins overwrite it.
    /// `""` clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_firmware_id: Option<String>,
    /// Accepted so a GET answer can be sent back; ignored (set by check-ins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<DeviceFirmwareState>,
}

/// Body of `POST /collections/{collectionId}/devices` and of a device PATCH. In a PATCH,
/// absent members stay, `versions` and `tags` are merged (a tag set to `""` is removed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceInput {
    /// Unique among the partner's devices (it is what an Afero push names). Generated when
    /// absent on create; must name the device if present in a PATCH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// Accepted so a GET answer can be sent back; must name the collection if present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_id: Option<String>,
    /// `""` clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_type_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<DeviceFirmwareInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<TagMap>,
    /// Accepted so a GET answer can be sent back; ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_checkin: Option<u64>,
}

/// Answer of `GET /collections/{collectionId}/devices`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceList {
    pub devices: Vec<Device>,
    /// fwrepo extension: this page's place in the list (`?page=&size=`).
    pub page: PageInfo,
}

/// Body of `POST /collections/{collectionId}/devices/{deviceId}/checkin`: what the device has
/// installed. Every member is optional; what is reported replaces what was known.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckinRequest {
    /// Installed version numbers: version attribute id (2000 + type) → versionNumber.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<BTreeMap<String, String>>,
    /// The collection image the device runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_firmware_id: Option<String>,
    /// The version string the running image reports (Span/LwM2M style); matched against the
    /// collection's image versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_version: Option<String>,
}

/// What a check-in tells the device to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckinAction {
    None,
    Update,
}

/// Where an offered image comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum CheckinImageSource {
    /// A firmware image of the device's collection.
    Collection,
    /// An Afero firmware image of the device's device type (pool record).
    DeviceType,
}

/// The image a device should install.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckinImage {
    /// The collection image id or the Afero firmware image id.
    pub id: String,
    pub source: CheckinImageSource,
    pub version: String,
    /// Download URL (GET with Range; the device's token authorizes it).
    pub url: String,
    pub sha256: String,
    pub length: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// Firmware type and version number, when the image is (made from) a pool record.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub fw_type: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_attribute_id: Option<i64>,
}

/// Answer of a check-in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckinResponse {
    pub action: CheckinAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<CheckinImage>,
    /// Why, for humans: e.g. "collection target", "newer image for type 101", "up to date".
    pub reason: String,
}
