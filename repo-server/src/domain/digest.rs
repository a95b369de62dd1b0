//! SHA-256 digests: the identity of every stored binary.

use std::fmt;

use super::DomainError;

/// A SHA-256 digest; displayed and parsed as 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    /// Parses lowercase or uppercase hex; anything else is a field error naming `field`.
    pub fn parse_hex(field: &'static str, text: &str) -> Result<Self, DomainError> {
        let mut bytes = [0u8; 32];
        if text.len() != 64 {
            return Err(DomainError::field(
                field,
                "expected 64 hex characters (a SHA-256 digest)",
            ));
        }
        hex::decode_to_slice(text, &mut bytes).map_err(|_| {
            DomainError::field(field, "expected 64 hex characters (a SHA-256 digest)")
        })?;
        Ok(Sha256Digest(bytes))
    }

    pub fn to_hex(&self) -> String {
        // `hex::encode` collects an iterator of chars; encoding into a buffer is a plain loop
        // (it runs several times for every download).
        let mut text = [0u8; 64];
        hex::encode_to_slice(self.0, &mut text).expect("64 hex digits for 32 bytes");
        String::from_utf8(text.to_vec()).expect("hex digits are ASCII")
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Stored and exchanged as hex, like everywhere else it appears.
impl serde::Serialize for Sha256Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Sha256Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Sha256Digest::parse_hex("sha256", &text).map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let hex = "ab".repeat(32);
        assert_eq!(Sha256Digest::parse_hex("x", &hex).unwrap().to_hex(), hex);
        assert_eq!(
            Sha256Digest::parse_hex("x", &hex.to_uppercase())
                .unwrap()
                .to_hex(),
            hex
        );
    }

    #[test]
    fn display_hex_and_json_agree_on_a_known_digest() {
        use sha2::Digest;
        let empty = Sha256Digest(sha2::Sha256::digest(b"").into());
        let known = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(empty.to_string(), known);
        assert_eq!(empty.to_hex(), known);
        assert_eq!(
            serde_json::to_string(&empty).unwrap(),
            format!("\"{known}\"")
        );
        assert_eq!(format!("{empty:?}"), format!("sha256:{known}"));
    }

    #[test]
    fn rejects_wrong_length_and_non_hex() {
        assert!(Sha256Digest::parse_hex("x", "abc").is_err());
        assert!(Sha256Digest::parse_hex("x", &"zz".repeat(32)).is_err());
    }
}
