//! The local content-addressed cache: `<dir>/sha256/<ab>/<hex>` holds verified blobs,
//! `<dir>/partial/<hex>.part` holds interrupted downloads, `<dir>/tokens/` holds OAuth tokens.
//! A blob enters `sha256/` only after its digest was checked, by rename.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::ops::digest::sha256_file;

#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn check_hex(sha256: &str) -> Result<()> {
        if sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "not a lowercase SHA-256: {sha256:?}"
            )))
        }
    }

    pub fn blob_path(&self, sha256: &str) -> PathBuf {
        self.root.join("sha256").join(&sha256[..2]).join(sha256)
    }

    pub fn part_path(&self, sha256: &str) -> PathBuf {
        self.root.join("partial").join(format!("{sha256}.part"))
    }

    pub fn tokens_dir(&self) -> PathBuf {
        self.root.join("tokens")
    }

    /// A cached blob, re-verified; a corrupt one is removed and reported absent.
    pub fn get(&self, sha256: &str) -> Result<Option<PathBuf>> {
        Self::check_hex(sha256)?;
        let path = self.blob_path(sha256);
        if !path.is_file() {
            return Ok(None);
        }
        let (actual, _) = sha256_file(&path)?;
        if actual == sha256 {
            Ok(Some(path))
        } else {
            let _ = std::fs::remove_file(&path);
            Ok(None)
        }
    }

    /// Moves a verified file into the cache; answers its cache path.
    pub fn insert_verified(&self, sha256: &str, file: &Path) -> Result<PathBuf> {
        Self::check_hex(sha256)?;
        let dest = self.blob_path(sha256);
        let parent = dest.parent().expect("blob path has a parent");
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        std::fs::rename(file, &dest).map_err(|e| Error::io(&dest, e))?;
        Ok(dest)
    }

    /// Prepares the partial-download directory and answers the `.part` path.
    pub fn part(&self, sha256: &str) -> Result<PathBuf> {
        Self::check_hex(sha256)?;
        let path = self.part_path(sha256);
        let parent = path.parent().expect("part path has a parent");
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        Ok(path)
    }
}

/// Copies `from` to `to` through a temp file in `to`'s directory, so `to` is never half-written.
pub fn copy_atomic(from: &Path, to: &Path) -> Result<()> {
    let dir = to
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let tmp = dir.join(format!(
        ".{}.fwrepo-tmp",
        to.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    std::fs::copy(from, &tmp).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, to).map_err(|e| Error::io(to, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verified_blobs_round_trip_and_corruption_is_evicted() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("c"));
        let sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(cache.get(sha).unwrap(), None);
        let src = dir.path().join("abc");
        std::fs::write(&src, b"abc").unwrap();
        let stored = cache.insert_verified(sha, &src).unwrap();
        assert_eq!(stored, dir.path().join("c/sha256/ba").join(sha));
        assert_eq!(cache.get(sha).unwrap(), Some(stored.clone()));
        std::fs::write(&stored, b"abd").unwrap();
        assert_eq!(cache.get(sha).unwrap(), None);
        assert!(!stored.exists());
        assert!(cache.get("../../etc/passwd").is_err());
    }
}
