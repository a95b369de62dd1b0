//! Span FOTA collections, their firmware images and devices, and the rule that decides what a
//! checking-in device installs next. No I/O: the service gathers the facts, this decides.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{DomainError, Sha256Digest};

/// Most tags on one collection, image or device.
pub const MAX_TAG_ENTRIES: usize = 64;
/// Longest tag name.
pub const MAX_TAG_NAME_LEN: usize = 100;
/// Longest tag value.
pub const MAX_TAG_VALUE_LEN: usize = 1000;
/// Longest image file name.
pub const MAX_FILENAME_LEN: usize = 255;

/// Custom attributes: name → value.
pub type Tags = BTreeMap<String, String>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Management {
    Device,
    Collection,
    Disabled,
}

/// A partner's collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionRecord {
    pub id: String,
    pub partner: String,
    pub management: Management,
    /// A collection image id.
    pub target: Option<u64>,
    pub tags: Tags,
    pub created_ms: u64,
    pub updated_ms: u64,
}

/// A firmware image of a collection. Holds its blob for as long as it exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionImageRecord {
    pub id: u64,
    pub partner: String,
    pub collection: String,
    pub version: String,
    pub filename: String,
    pub sha256: Sha256Digest,
    pub length: u64,
    pub blake3: String,
    pub tags: Tags,
    /// The pool record it was made from, with that record's type and version number.
    pub pool: Option<PoolLink>,
    pub created_ms: u64,
    pub updated_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolLink {
    pub pool_id: u64,
    pub fw_type: u16,
    pub version_number: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FirmwareState {
    Current,
    Pending,
    Unmanaged,
}

/// A device of a collection. Device ids are unique per partner (an Afero push names one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub id: String,
    pub partner: String,
    pub collection: String,
    pub device_type: Option<String>,
    /// Installed version number per firmware type.
    pub versions: BTreeMap<u16, u64>,
    /// The collection image it runs.
    pub current: Option<u64>,
    /// Its own target (a collection image), and when that was last set or cleared: an Afero
    /// push newer than this replaces it.
    pub target: Option<u64>,
    pub target_set_ms: u64,
    pub state: Option<FirmwareState>,
    pub tags: Tags,
    pub last_checkin_ms: Option<u64>,
    pub created_ms: u64,
    pub updated_ms: u64,
}

/// Validates a tag map (whole, or the changes of a merge).
pub fn validate_tag_map(tags: &Tags, allow_empty_values: bool) -> Result<(), DomainError> {
    if tags.len() > MAX_TAG_ENTRIES {
        return Err(DomainError::field(
            "tags",
            format!("at most {MAX_TAG_ENTRIES} tags"),
        ));
    }
    for (name, value) in tags {
        if name.is_empty() || name.len() > MAX_TAG_NAME_LEN || name.chars().any(char::is_control) {
            return Err(DomainError::field(
                "tags",
                format!("tag names must be 1-{MAX_TAG_NAME_LEN} bytes without control characters"),
            ));
        }
        if (!allow_empty_values && value.is_empty())
            || value.len() > MAX_TAG_VALUE_LEN
            || value.chars().any(char::is_control)
        {
            return Err(DomainError::field(
                "tags",
                format!(
                    "tag values must be 1-{MAX_TAG_VALUE_LEN} bytes without control characters"
                ),
            ));
        }
    }
    Ok(())
}

/// Merges PATCH tags into `tags`: a tag set to `""` is removed.
pub fn merge_tags(tags: &mut Tags, changes: &Tags) -> Result<(), DomainError> {
    validate_tag_map(changes, true)?;
    for (name, value) in changes {
        if value.is_empty() {
            tags.remove(name);
        } else {
            tags.insert(name.clone(), value.clone());
        }
    }
    validate_tag_map(tags, false)
}

pub fn validate_filename(filename: &str) -> Result<(), DomainError> {
    super::validate_text("filename", filename, MAX_FILENAME_LEN)
}

/// Parses an Afero versions map (`"2101"` → `"3"`) into type → version number.
pub fn parse_versions(raw: &BTreeMap<String, String>) -> Result<BTreeMap<u16, u64>, DomainError> {
    let mut out = BTreeMap::new();
    for (attribute, version_number) in raw {
        let attribute_id: i64 = attribute.parse().map_err(|_| {
            DomainError::field("versions", "keys are version attribute ids 2001-2200")
        })?;
        let fw_type =
            super::FirmwareTypeNumber::new(attribute_id.saturating_sub(2000)).map_err(|_| {
                DomainError::field("versions", "keys are version attribute ids 2001-2200")
            })?;
        let number = version_number.parse::<u64>().map_err(|_| {
            DomainError::field(
                "versions",
                "values are version numbers (strings of integers)",
            )
        })?;
        out.insert(fw_type.get(), number);
    }
    Ok(out)
}

/// A target: an image of the device's collection, or an Afero firmware image (by push).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    CollectionImage(u64),
    DeviceTypeImage(u64),
}

impl Target {
    pub fn id(self) -> u64 {
        match self {
            Target::CollectionImage(id) | Target::DeviceTypeImage(id) => id,
        }
    }
}

/// A candidate an explicit target or eligibility can name, as the decision needs to see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offer {
    /// A collection image (by id), with its pool link if any.
    CollectionImage { id: u64, pool: Option<PoolLink> },
    /// An Afero firmware image: (image id, type, version number).
    DeviceTypeImage {
        id: u64,
        fw_type: u16,
        version_number: u64,
    },
}

/// Why the target in effect is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetSource {
    Collection,
    Device,
    Push,
}

/// What a check-in concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    None(&'static str),
    Update(Offer, String),
}

impl Decision {
    pub fn state(&self, management: Management) -> FirmwareState {
        match (management, self) {
            (Management::Disabled, _) => FirmwareState::Unmanaged,
            (_, Decision::None(_)) => FirmwareState::Current,
            (_, Decision::Update(..)) => FirmwareState::Pending,
        }
    }
}

/// Does the device run `offer`? By the image id it reports, or by the version number it
/// reports for the offer's firmware type.
pub fn runs(current: Option<u64>, versions: &BTreeMap<u16, u64>, offer: &Offer) -> bool {
    match offer {
        Offer::CollectionImage { id, pool } => {
            current == Some(*id)
                || pool.is_some_and(|p| versions.get(&p.fw_type) == Some(&p.version_number))
        }
        Offer::DeviceTypeImage {
            fw_type,
            version_number,
            ..
        } => versions.get(fw_type) == Some(version_number),
    }
}

/// Decides a check-in. `explicit` is the target in effect for the collection's management
/// (already resolved: collection target, or the newer of the device's target and a push).
/// Without one, `newest` holds the newest device-type image of each firmware type (type
/// order); the first whose version number is above the installed one is offered (never a
/// downgrade; a type the device does not report is not installed, so not offered).
pub fn decide(
    management: Management,
    explicit: Option<(Offer, TargetSource)>,
    current: Option<u64>,
    versions: &BTreeMap<u16, u64>,
    newest: &[Offer],
) -> Decision {
    if management == Management::Disabled {
        return Decision::None("firmware management is disabled for the collection");
    }
    if let Some((offer, source)) = explicit {
        if runs(current, versions, &offer) {
            return Decision::None("the device runs its target");
        }
        let why = match source {
            TargetSource::Collection => "the collection's target",
            TargetSource::Device => "the device's target",
            TargetSource::Push => "an Afero push to the device",
        };
        return Decision::Update(offer, why.to_string());
    }
    for offer in newest {
        if let Offer::DeviceTypeImage {
            fw_type,
            version_number,
            ..
        } = offer
        {
            if versions
                .get(fw_type)
                .is_some_and(|installed| version_number > installed)
            {
                return Decision::Update(
                    offer.clone(),
                    format!("a newer image of firmware type {fw_type} for the device type"),
                );
            }
        }
    }
    Decision::None("no target and no newer image for the device type")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(id: u64, fw_type: u16, version_number: u64) -> Offer {
        Offer::DeviceTypeImage {
            id,
            fw_type,
            version_number,
        }
    }

    #[test]
    fn disabled_never_offers() {
        let explicit = Some((
            Offer::CollectionImage { id: 1, pool: None },
            TargetSource::Collection,
        ));
        assert!(matches!(
            decide(Management::Disabled, explicit, None, &BTreeMap::new(), &[]),
            Decision::None(_)
        ));
    }

    #[test]
    fn explicit_targets_may_be_older() {
        let versions = BTreeMap::from([(101, 5)]);
        let older = dt(7, 101, 2);
        let decision = decide(
            Management::Device,
            Some((older.clone(), TargetSource::Push)),
            None,
            &versions,
            &[],
        );
        assert_eq!(
            decision,
            Decision::Update(older, "an Afero push to the device".into())
        );
        let same = dt(8, 101, 5);
        assert!(matches!(
            decide(
                Management::Device,
                Some((same, TargetSource::Push)),
                None,
                &versions,
                &[]
            ),
            Decision::None(_)
        ));
    }

    #[test]
    fn eligibility_never_downgrades() {
        let versions = BTreeMap::from([(101, 5), (102, 1)]);
        assert!(matches!(
            decide(
                Management::Collection,
                None,
                None,
                &versions,
                &[dt(1, 101, 4)]
            ),
            Decision::None(_)
        ));
        assert!(matches!(
            decide(
                Management::Collection,
                None,
                None,
                &versions,
                &[dt(1, 101, 5)]
            ),
            Decision::None(_)
        ));
        assert!(
            matches!(
                decide(
                    Management::Collection,
                    None,
                    None,
                    &versions,
                    &[dt(1, 103, 9)]
                ),
                Decision::None(_)
            ),
            "unreported types are not installed"
        );
        assert!(matches!(
            decide(
                Management::Device,
                None,
                None,
                &versions,
                &[dt(1, 101, 5), dt(2, 102, 2)]
            ),
            Decision::Update(Offer::DeviceTypeImage { id: 2, .. }, _)
        ));
    }

    #[test]
    fn tags_merge_and_remove() {
        let mut tags = Tags::from([("a".into(), "1".into()), ("b".into(), "2".into())]);
        merge_tags(
            &mut tags,
            &Tags::from([("a".into(), "".into()), ("c".into(), "3".into())]),
        )
        .unwrap();
        assert_eq!(
            tags,
            Tags::from([("b".into(), "2".into()), ("c".into(), "3".into())])
        );
        assert!(merge_tags(&mut tags, &Tags::from([("".into(), "x".into())])).is_err());
    }

    #[test]
    fn versions_parse() {
        let raw = BTreeMap::from([("2101".to_string(), "3".to_string())]);
        assert_eq!(parse_versions(&raw).unwrap(), BTreeMap::from([(101, 3)]));
        assert!(parse_versions(&BTreeMap::from([("101".to_string(), "3".to_string())])).is_err());
        assert!(parse_versions(&BTreeMap::from([("2101".to_string(), "x".to_string())])).is_err());
    }
}
