//! `fwrepo provenance <SHA256>`: prints a binary's build provenance statement exactly as
//! signed; with `--trusted-key`, only after its signature verifies with one of them.

use std::path::PathBuf;

use super::Context;
use crate::config::Layer;
use crate::error::{Error, Result};
use crate::ops::sign::{verify_bytes, TrustedKey};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct ProvenanceArgs {
    /// The binary's SHA-256 (64 hex digits).
    pub sha256: String,
    /// Refuse the statement unless its signature verifies with this minisign public key (a
    /// .pub file or the base64 key; repeatable).
    #[arg(long = "trusted-key", value_name = "KEY")]
    pub trusted_keys: Vec<String>,
    /// Also write the statement's `.minisig` signature to FILE (for `minisign -V`).
    #[arg(long, value_name = "FILE")]
    pub signature_out: Option<PathBuf>,
    /// Print the server's whole answer (statement, signature, key id, verified) as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(ctx: &Context, args: &ProvenanceArgs) -> Result<()> {
    let sha256 = args.sha256.to_ascii_lowercase();
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Config(format!(
            "{:?} is not a SHA-256 (64 hex digits)",
            args.sha256
        )));
    }
    let keys = args
        .trusted_keys
        .iter()
        .map(|k| TrustedKey::load(k))
        .collect::<Result<Vec<_>>>()?;
    let layer = ctx.layers(Layer::default(), &ctx.cwd)?;
    let api = ctx.api(&layer)?;
    let provenance = api.provenance(&sha256).await?;
    if !keys.is_empty() {
        let signatures = [provenance.signature.clone()];
        let key = verify_bytes(provenance.statement.as_bytes(), &signatures, &keys).map_err(
            |e| match e {
                Error::Signature(why) => {
                    Error::Signature(format!("provenance of {sha256} refused: {why}"))
                }
                other => other,
            },
        )?;
        ctx.note(&format!(
            "provenance signature verified with trusted key {key}"
        ));
    }
    if let Some(path) = &args.signature_out {
        std::fs::write(path, &provenance.signature).map_err(|e| Error::io(path, e))?;
    }
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&provenance).expect("provenance serializes")
        );
    } else {
        // Exactly the signed bytes, so `> statement.json` verifies with `minisign -V`.
        out!("{}", provenance.statement);
    }
    Ok(())
}
