//! `fwrepo-server backup --to DIR`: asks the server running on a data directory, through its
//! control socket, to write an online backup (the server holds RocksDB, so only it can).

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use crate::control::{self, Answer, Request};

#[derive(Args, Debug)]
pub struct BackupArgs {
    /// Directory to write the backup into: absent (its parent exists) or empty.
    #[arg(long)]
    pub to: PathBuf,
    /// Data directory of the running server (its control socket is there).
    #[arg(long, env = "FWREPO_DATA_DIR", default_value = "./fwrepo-data")]
    pub data_dir: PathBuf,
    /// Print the backup's manifest as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run_backup_command(args: BackupArgs) -> anyhow::Result<()> {
    // The server resolves nothing against its own working directory.
    let to = std::path::absolute(&args.to)?;
    match control::request(&args.data_dir, &Request::Backup { to: to.clone() }).await? {
        Answer::Backup(manifest) if args.json => {
            println!("{}", serde_json::to_string(&manifest)?)
        }
        Answer::Backup(manifest) => println!(
            "backup written to {}: {} blob records ({} bytes), {} blobs linked, {} copied; blob deletes paused {} ms",
            to.display(),
            manifest.blob_records,
            manifest.blob_bytes,
            manifest.blobs_linked,
            manifest.blobs_copied,
            manifest.deletes_paused_ms
        ),
        Answer::Error(message) => bail!("backup failed: {message}"),
    }
    Ok(())
}
