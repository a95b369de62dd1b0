//! `fwrepo keygen`: a minisign key pair for `publish --sign-key` (the same format as
//! `minisign -G`): `<PREFIX>.key` (encrypted when FWREPO_SIGN_KEY_PASSWORD is set) and
//! `<PREFIX>.pub`.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::Context;
use crate::error::{Error, Result};
use crate::ops::sign::key_id_hex;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct KeygenArgs {
    /// Path prefix of the key files: writes PREFIX.key and PREFIX.pub.
    #[arg(long, value_name = "PREFIX")]
    pub output: PathBuf,
    /// Overwrite existing key files.
    #[arg(long)]
    pub force: bool,
}

/// Creates `path` with `text` (owner-only for a secret key); refuses to overwrite unless `force`.
fn write_new(path: &Path, text: &str, force: bool, secret: bool) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| Error::io(path, e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::io(path, e))
}

pub fn run(ctx: &Context, args: &KeygenArgs) -> Result<()> {
    let password = ctx.env.get("FWREPO_SIGN_KEY_PASSWORD");
    let encrypted = password.is_some();
    let pair = match password {
        Some(password) => minisign::KeyPair::generate_encrypted_keypair(Some(password)),
        None => minisign::KeyPair::generate_unencrypted_keypair(),
    }
    .map_err(|e| Error::Signature(format!("generating a key pair: {e}")))?;
    let key_id = key_id_hex(pair.pk.keynum());
    let comment = format!("fwrepo secret key {key_id}");
    let secret = pair.sk.to_box(Some(&comment))?.into_string();
    let public = pair.pk.to_box()?.into_string();
    let with_ext = |ext: &str| {
        let mut path = args.output.clone().into_os_string();
        path.push(ext);
        PathBuf::from(path)
    };
    let (key_path, pub_path) = (with_ext(".key"), with_ext(".pub"));
    write_new(&key_path, &secret, args.force, true)?;
    write_new(&pub_path, &public, args.force, false)?;
    outln!("key id:     {key_id}");
    outln!("public key: {}", pair.pk.to_base64());
    outln!(
        "secret key: {} ({})",
        key_path.display(),
        if encrypted {
            "encrypted with FWREPO_SIGN_KEY_PASSWORD"
        } else {
            "unencrypted: keep it secret"
        }
    );
    outln!("public key: {}", pub_path.display());
    Ok(())
}
