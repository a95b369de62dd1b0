//! minisign signatures for the CLI: a secret key from a file or the environment (an
//! encrypted one with its password from the environment), streaming signatures of files,
//! trusted public keys from files or base64 strings, and verification of a downloaded file.

use std::path::Path;

use minisign::{PublicKey, SecretKey, SecretKeyBox, SignatureBox};

use crate::error::{Error, Result};

/// A key id as minisign prints it: 16 hex digits of the little-endian 8 bytes.
pub fn key_id_hex(keynum: &[u8]) -> String {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&keynum[..8.min(keynum.len())]);
    format!("{:016X}", u64::from_le_bytes(bytes))
}

/// A key's text given inline (a secret key file's two lines, or a base64 public key) or
/// the path of a file holding it.
fn key_text(source: &str, what: &str) -> Result<String> {
    if source.contains('\n') {
        return Ok(source.to_string());
    }
    let path = Path::new(source);
    if path.is_file() {
        return std::fs::read_to_string(path).map_err(|e| Error::io(path, e));
    }
    if what == "public key" {
        return Ok(source.to_string());
    }
    Err(Error::Config(format!(
        "{what} {source:?} is neither a file nor a minisign key's text"
    )))
}

/// An unencrypted secret key from a key file's text. `minisign -G -W` (0.11) leaves the
/// checksum of an unencrypted key zero, which the crate's box loader refuses as corrupted, so
/// the key bytes are read with `SecretKey::from_bytes`; a damaged key still fails, at the
/// self-check each signature gets against the public key.
fn unencrypted_key(text: &str) -> Option<SecretKey> {
    use base64::Engine;
    let encoded = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let sk = SecretKey::from_bytes(&raw).ok()?;
    (!sk.is_encrypted()).then_some(sk)
}

/// A loaded secret key, ready to sign.
pub struct Signer {
    sk: SecretKey,
    pk: PublicKey,
}

impl Signer {
    /// Loads a minisign secret key (`source`: a path, or the key file's text). An
    /// unencrypted key (`minisign -G -W`) needs no password; an encrypted one needs
    /// `password` (never prompted: builds are not interactive).
    pub fn load(source: &str, password: Option<String>) -> Result<Signer> {
        let text = key_text(source, "secret key")?;
        let sk = match (unencrypted_key(&text), password) {
            (Some(sk), _) => sk,
            (None, Some(password)) => {
                SecretKey::from_box(SecretKeyBox::from_string(&text)?, Some(password))
                    .map_err(|e| Error::Config(format!("secret key: {e}")))?
            }
            (None, None) => {
                return Err(Error::Config(
                    "the secret key is encrypted (or not a minisign secret key): set its password in FWREPO_SIGN_KEY_PASSWORD".into(),
                ))
            }
        };
        // Derived from the key itself; every signature is checked against it before use.
        let pk = PublicKey::from_secret_key(&sk)
            .map_err(|e| Error::Config(format!("secret key: {e}")))?;
        Ok(Signer { sk, pk })
    }

    pub fn key_id(&self) -> String {
        key_id_hex(self.pk.keynum())
    }

    /// The public key (base64), for `minisign -P` and the server's trusted keys.
    pub fn public_key(&self) -> String {
        self.pk.to_base64()
    }

    /// Signs a file, streaming it (minisign prehashes with BLAKE2b); answers the `.minisig`.
    pub fn sign_file(&self, path: &Path, trusted_comment: &str) -> Result<String> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let reader = std::io::BufReader::with_capacity(256 * 1024, file);
        self.sign(reader, trusted_comment)
    }

    pub fn sign_bytes(&self, bytes: &[u8], trusted_comment: &str) -> Result<String> {
        self.sign(bytes, trusted_comment)
    }

    fn sign(&self, data: impl std::io::Read, trusted_comment: &str) -> Result<String> {
        let comment = format!("signature from fwrepo, key {}", self.key_id());
        minisign::sign(
            Some(&self.pk),
            &self.sk,
            data,
            Some(trusted_comment),
            Some(&comment),
        )
        .map(|signature| signature.into_string())
        .map_err(|e| Error::Signature(format!("signing failed: {e}")))
    }
}

impl From<minisign::PError> for Error {
    fn from(e: minisign::PError) -> Self {
        Error::Config(format!("minisign key: {e}"))
    }
}

/// A public key to verify with.
pub struct TrustedKey {
    pub key_id: String,
    key: PublicKey,
}

impl TrustedKey {
    /// `source`: a `.pub` file, or the base64 key string.
    pub fn load(source: &str) -> Result<TrustedKey> {
        let text = key_text(source, "public key")?;
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))
            .collect();
        let [encoded] = lines.as_slice() else {
            return Err(Error::Config(format!(
                "trusted key {source:?}: expected a minisign public key (base64 or .pub file)"
            )));
        };
        let key = PublicKey::from_base64(encoded)
            .map_err(|e| Error::Config(format!("trusted key {source:?}: {e}")))?;
        Ok(TrustedKey {
            key_id: key_id_hex(key.keynum()),
            key,
        })
    }

    /// Whether `signature` (a `.minisig` text) is by this key and verifies over `data`.
    fn verifies(
        &self,
        signature: &SignatureBox,
        data: impl std::io::Read + std::io::Seek,
    ) -> Result<bool> {
        if signature.keynum() != self.key.keynum() {
            return Ok(false);
        }
        match minisign::verify(&self.key, signature, data, true, false, false) {
            Ok(()) => Ok(true),
            Err(e) if matches!(e.kind(), minisign::ErrorKind::Verify) => Ok(false),
            Err(e) => Err(Error::Signature(format!("verifying: {e}"))),
        }
    }
}

/// The trusted key id that verifies one of `signatures` over the file at `path`; an error
/// naming what was found when none does.
pub fn verify_file(path: &Path, signatures: &[String], trusted: &[TrustedKey]) -> Result<String> {
    verify_with(signatures, trusted, || {
        std::fs::File::open(path).map_err(|e| Error::io(path, e))
    })
}

/// As [`verify_file`], over bytes in memory (a provenance statement).
pub fn verify_bytes(bytes: &[u8], signatures: &[String], trusted: &[TrustedKey]) -> Result<String> {
    verify_with(signatures, trusted, || Ok(std::io::Cursor::new(bytes)))
}

fn verify_with<R: std::io::Read + std::io::Seek>(
    signatures: &[String],
    trusted: &[TrustedKey],
    open: impl Fn() -> Result<R>,
) -> Result<String> {
    if signatures.is_empty() {
        return Err(Error::Signature("it has no signature".into()));
    }
    let mut seen = Vec::new();
    for text in signatures {
        let Ok(signature) = SignatureBox::from_string(text) else {
            seen.push("a malformed signature".to_string());
            continue;
        };
        let key_id = key_id_hex(signature.keynum());
        match trusted.iter().find(|k| k.key_id == key_id) {
            Some(key) if key.verifies(&signature, open()?)? => return Ok(key_id),
            Some(_) => seen.push(format!(
                "a signature by trusted key {key_id} that does NOT verify"
            )),
            None => seen.push(format!("a signature by untrusted key {key_id}")),
        }
    }
    Err(Error::Signature(format!(
        "no signature verifies with a trusted key (found {})",
        seen.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_signer() -> (Signer, String) {
        let pair = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        let text = pair.sk.to_box(None).unwrap().into_string();
        (Signer::load(&text, None).unwrap(), pair.pk.to_base64())
    }

    #[test]
    fn a_file_signature_verifies_with_its_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("fw.bin");
        std::fs::write(&file, b"firmware").unwrap();
        let (signer, public) = new_signer();
        let signature = signer.sign_file(&file, "file:fw.bin").unwrap();
        let trusted = TrustedKey::load(&public).unwrap();
        assert_eq!(trusted.key_id, signer.key_id());
        let ok = verify_file(&file, &[signature.clone()], &[trusted]).unwrap();
        assert_eq!(ok, signer.key_id());
        let (other, other_public) = new_signer();
        let err = verify_file(
            &file,
            &[signature.clone()],
            &[TrustedKey::load(&other_public).unwrap()],
        );
        assert!(matches!(err, Err(Error::Signature(_))));
        std::fs::write(&file, b"tampered").unwrap();
        let err = verify_file(&file, &[signature], &[TrustedKey::load(&public).unwrap()]);
        assert!(matches!(err, Err(Error::Signature(m)) if m.contains("does NOT verify")));
        drop(other);
    }

    #[test]
    fn encrypted_keys_need_their_password() {
        let pair = minisign::KeyPair::generate_encrypted_keypair(Some("pw".into())).unwrap();
        let text = pair.sk.to_box(None).unwrap().into_string();
        assert!(
            matches!(Signer::load(&text, None), Err(Error::Config(m)) if m.contains("FWREPO_SIGN_KEY_PASSWORD"))
        );
        assert!(Signer::load(&text, Some("wrong".into())).is_err());
        let signer = Signer::load(&text, Some("pw".into())).unwrap();
        assert_eq!(signer.public_key(), pair.pk.to_base64());
    }
}
