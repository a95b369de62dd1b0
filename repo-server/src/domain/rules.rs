//! Validation rules and their documented limits.

use super::DomainError;

/// Longest partner id, device type id or device id.
pub const MAX_ID_LEN: usize = 64;
/// Longest firmware name.
pub const MAX_NAME_LEN: usize = 200;
/// Longest description.
pub const MAX_DESCRIPTION_LEN: usize = 2000;
/// Longest version string.
pub const MAX_VERSION_LEN: usize = 128;
/// Longest tag.
pub const MAX_TAG_LEN: usize = 200;
/// Most tags on one record.
pub const MAX_TAGS: usize = 64;
/// Most tags in one `tags=` filter.
pub const MAX_FILTER_TAGS: usize = 16;

/// Firmware type 4 is the device description (device profile).
pub const DEVICE_DESCRIPTION_TYPE: u16 = 4;

/// A firmware type number: 1–100 platform, 101–200 MCU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FirmwareTypeNumber(u16);

impl FirmwareTypeNumber {
    pub fn new(value: i64) -> Result<Self, DomainError> {
        if (1..=200).contains(&value) {
            Ok(FirmwareTypeNumber(value as u16))
        } else {
            Err(DomainError::TypeOutOfRange(value))
        }
    }

    /// Parses a path segment; a non-number is out of range too.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let value: i64 = text
            .parse()
            .map_err(|_| DomainError::field("type", "must be an integer 1-200"))?;
        Self::new(value)
    }

    pub fn get(self) -> u16 {
        self.0
    }

    /// The device attribute that reports this type's installed version number.
    pub fn version_attribute_id(self) -> i64 {
        2000 + i64::from(self.0)
    }

    pub fn is_mcu(self) -> bool {
        self.0 > 100
    }

    /// Pool records of type 4 are refused: device descriptions live under a device type.
    pub fn ensure_poolable(self) -> Result<Self, DomainError> {
        if self.0 == DEVICE_DESCRIPTION_TYPE {
            Err(DomainError::DeviceDescriptionInPool)
        } else {
            Ok(self)
        }
    }
}

fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// Free text of bounded length without control characters.
pub fn validate_text(field: &'static str, text: &str, max: usize) -> Result<(), DomainError> {
    if text.trim().is_empty() {
        return Err(DomainError::field(field, "must not be empty"));
    }
    if text.len() > max {
        return Err(DomainError::field(
            field,
            format!("longer than {max} bytes"),
        ));
    }
    if has_control(text) {
        return Err(DomainError::field(field, "contains control characters"));
    }
    Ok(())
}

pub fn validate_name(name: &str) -> Result<(), DomainError> {
    validate_text("name", name, MAX_NAME_LEN)
}

pub fn validate_version(version: &str) -> Result<(), DomainError> {
    validate_text("version", version, MAX_VERSION_LEN)
}

pub fn validate_description(description: Option<&str>) -> Result<(), DomainError> {
    match description {
        Some(text) if text.len() > MAX_DESCRIPTION_LEN => Err(DomainError::field(
            "description",
            format!("longer than {MAX_DESCRIPTION_LEN} bytes"),
        )),
        Some(text)
            if text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) =>
        {
            Err(DomainError::field(
                "description",
                "contains control characters other than newlines and tabs",
            ))
        }
        _ => Ok(()),
    }
}

/// Ids of partners, device types and devices: they become key prefixes and path segments.
pub fn validate_id(field: &'static str, id: &str) -> Result<(), DomainError> {
    let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if id.is_empty() || id.len() > MAX_ID_LEN || !id.chars().all(valid_char) || id.starts_with('.')
    {
        return Err(DomainError::field(
            field,
            format!("must be 1-{MAX_ID_LEN} characters of A-Z a-z 0-9 . _ - (not starting with .)"),
        ));
    }
    Ok(())
}

/// A tag: no control characters (they separate index keys) and no comma (it separates filters).
pub fn validate_tag(tag: &str) -> Result<(), DomainError> {
    if tag.is_empty() || tag.len() > MAX_TAG_LEN {
        return Err(DomainError::field(
            "tags",
            format!("each tag must be 1-{MAX_TAG_LEN} bytes"),
        ));
    }
    if has_control(tag) || tag.contains(',') {
        return Err(DomainError::field(
            "tags",
            "a tag must not contain control characters or commas",
        ));
    }
    Ok(())
}

/// Validates and normalises a record's tags: order kept, duplicates dropped.
pub fn normalize_tags(tags: &[String]) -> Result<Vec<String>, DomainError> {
    if tags.len() > MAX_TAGS {
        return Err(DomainError::field(
            "tags",
            format!("at most {MAX_TAGS} tags per record"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags {
        validate_tag(tag)?;
        if !out.contains(tag) {
            out.push(tag.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_ranges() {
        assert!(FirmwareTypeNumber::new(0).is_err());
        assert!(FirmwareTypeNumber::new(201).is_err());
        assert!(!FirmwareTypeNumber::new(100).unwrap().is_mcu());
        assert!(FirmwareTypeNumber::new(101).unwrap().is_mcu());
        assert_eq!(
            FirmwareTypeNumber::new(105).unwrap().version_attribute_id(),
            2105
        );
        assert_eq!(
            FirmwareTypeNumber::new(4).unwrap().ensure_poolable(),
            Err(DomainError::DeviceDescriptionInPool)
        );
        assert!(FirmwareTypeNumber::parse("99999999999999999999").is_err());
    }

    #[test]
    fn ids_reject_traversal_and_control() {
        assert!(validate_id("partnerId", "acme-1").is_ok());
        assert!(validate_id("partnerId", "..").is_err());
        assert!(validate_id("partnerId", "a/b").is_err());
        assert!(validate_id("partnerId", "a\u{0}").is_err());
        assert!(validate_id("partnerId", &"a".repeat(65)).is_err());
    }

    #[test]
    fn tags_are_checked_and_deduplicated() {
        let tags = vec!["a".to_string(), "b".to_string(), "a".to_string()];
        assert_eq!(normalize_tags(&tags).unwrap(), vec!["a", "b"]);
        assert!(normalize_tags(&["x,y".to_string()]).is_err());
        assert!(normalize_tags(&["x\ny".to_string()]).is_err());
        assert!(normalize_tags(&vec!["t".to_string(); MAX_TAGS + 1]).is_err());
    }
}
