//! Stored values: one format-version byte, then JSON. The byte lets a later release migrate.

use serde::{de::DeserializeOwned, Serialize};

use super::MetaError;

const FORMAT_V1: u8 = 1;

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![FORMAT_V1];
    serde_json::to_writer(&mut out, value).expect("records serialize");
    out
}

pub fn decode<T: DeserializeOwned>(cf: &'static str, bytes: &[u8]) -> Result<T, MetaError> {
    match bytes.split_first() {
        Some((&FORMAT_V1, body)) => serde_json::from_slice(body).map_err(|e| MetaError::Corrupt {
            cf,
            reason: e.to_string(),
        }),
        Some((version, _)) => Err(MetaError::Corrupt {
            cf,
            reason: format!("unknown format version {version}"),
        }),
        None => Err(MetaError::Corrupt {
            cf,
            reason: "empty value".into(),
        }),
    }
}

pub fn encode_u64(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

pub fn decode_u64(cf: &'static str, bytes: &[u8]) -> Result<u64, MetaError> {
    bytes
        .try_into()
        .map(u64::from_be_bytes)
        .map_err(|_| MetaError::Corrupt {
            cf,
            reason: "counter is not 8 bytes".into(),
        })
}
