//! `fwrepo trust`: the partner's trusted minisign keys and protected tags (needs a client
//! with the `admin` scope): `add KEY`, `list`, `remove KEY_ID`, `policy [--protect TAG]...`.

use fwrepo_schemas::{SigningPolicy, TrustedKey, TrustedKeyCreate};

use super::Context;
use crate::config::Layer;
use crate::error::{Error, Result};

#[derive(Debug, Clone, clap::Args)]
pub struct TrustArgs {
    #[command(subcommand)]
    pub action: TrustAction,
    /// Print the answer as JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum TrustAction {
    /// Trust a minisign public key (a .pub file or the base64 key).
    Add {
        key: String,
        /// What the key is for.
        #[arg(long)]
        description: Option<String>,
    },
    /// List the trusted keys.
    List,
    /// Stop trusting a key (its id: 16 hex digits).
    Remove { key_id: String },
    /// Print the protected tags, or set them with --protect (repeatable) or --clear.
    Policy {
        /// A tag whose records need a trusted signature (replaces the list).
        #[arg(long = "protect", value_name = "TAG")]
        protect: Vec<String>,
        /// Protect no tag.
        #[arg(long, conflicts_with = "protect")]
        clear: bool,
    },
}

/// A key given as a file is sent as the file's text (the server reads both forms).
fn key_text(key: &str) -> Result<String> {
    let path = std::path::Path::new(key);
    if path.is_file() {
        std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
    } else {
        Ok(key.to_string())
    }
}

fn print_keys(keys: &[TrustedKey]) {
    for key in keys {
        outln!(
            "{}  {}  {}",
            key.key_id,
            key.public_key,
            key.description.as_deref().unwrap_or("")
        );
    }
}

fn print_json(value: &impl serde::Serialize) {
    outln!(
        "{}",
        serde_json::to_string_pretty(value).expect("answer serializes")
    );
}

pub async fn run(ctx: &Context, args: &TrustArgs) -> Result<()> {
    let layer = ctx.layers(Layer::default(), &ctx.cwd)?;
    let api = ctx.api(&layer)?;
    match &args.action {
        TrustAction::Add { key, description } => {
            let body = TrustedKeyCreate {
                public_key: key_text(key)?,
                description: description.clone(),
            };
            let added = api.add_trusted_key(&body).await?;
            if args.json {
                print_json(&added);
            } else {
                print_keys(&[added]);
            }
        }
        TrustAction::List => {
            let keys = api.trusted_keys().await?;
            if args.json {
                print_json(&keys);
            } else {
                print_keys(&keys);
            }
        }
        TrustAction::Remove { key_id } => {
            api.remove_trusted_key(key_id).await?;
            ctx.note(&format!("key {key_id} is no longer trusted"));
        }
        TrustAction::Policy { protect, clear } => {
            let policy = if protect.is_empty() && !clear {
                api.signing_policy().await?
            } else {
                let body = SigningPolicy {
                    protected_tags: protect.clone(),
                };
                api.set_signing_policy(&body).await?
            };
            if args.json {
                print_json(&policy);
            } else {
                outln!("protected tags: {}", policy.protected_tags.join(" "));
            }
        }
    }
    Ok(())
}
