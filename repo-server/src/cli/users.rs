//! `fwrepo-server user ...`: people's accounts, offline (the server must not be running on
//! the data dir). Passwords come from a TTY prompt, or from stdin when it is not a TTY.

use std::io::{BufRead, IsTerminal};

use anyhow::{bail, Context};
use clap::Subcommand;

use super::{offline_authenticator, DataDirArg};
use crate::api::wire;
use crate::domain::{validate_id, validate_password, validate_username, Role};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is prompted for (twice), or read from stdin's first line.
    Create {
        #[command(flatten)]
        data: DataDirArg,
        #[arg(long)]
        partner: String,
        #[arg(long)]
        username: String,
        /// viewer (ota:read), maintainer (ota:write) or admin.
        #[arg(long)]
        role: Role,
        #[arg(long)]
        json: bool,
    },
    /// List users (never their password hashes).
    List {
        #[command(flatten)]
        data: DataDirArg,
        /// Only this partner's users.
        #[arg(long)]
        partner: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: sign-in is refused and its sessions end.
    Disable {
        #[command(flatten)]
        data: DataDirArg,
        username: String,
    },
    /// Enable a disabled user again.
    Enable {
        #[command(flatten)]
        data: DataDirArg,
        username: String,
    },
}

pub fn run_user_command(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create {
            data,
            partner,
            username,
            role,
            json,
        } => {
            // Checked before the password is typed.
            validate_id("partner", &partner)?;
            validate_username(&username)?;
            let password = read_new_password(&username)?;
            let (auth, _) = offline_authenticator(data.data_dir)?;
            let user = auth.create_user(&partner, &username, role, &password)?;
            if json {
                println!("{}", serde_json::to_string(&wire::user(&user))?);
            } else {
                println!(
                    "created {} ({}) in partner {}",
                    user.username, user.role, user.partner
                );
            }
        }
        UserCommand::List {
            data,
            partner,
            json,
        } => {
            let (auth, meta) = offline_authenticator(data.data_dir)?;
            let users = match partner {
                Some(partner) => auth.list_users(&partner)?,
                None => meta.list_all_users()?,
            };
            let users: Vec<_> = users.iter().map(wire::user).collect();
            if json {
                println!("{}", serde_json::to_string(&users)?);
            } else {
                for u in users {
                    let state = if u.disabled { "disabled" } else { "active" };
                    let role = serde_json::to_value(u.role)?;
                    println!(
                        "{}\t{}\t{}\t{state}",
                        u.username,
                        u.partner_id,
                        role.as_str().unwrap_or("")
                    );
                }
            }
        }
        UserCommand::Disable { data, username } => set_disabled(data, &username, true)?,
        UserCommand::Enable { data, username } => set_disabled(data, &username, false)?,
    }
    Ok(())
}

fn set_disabled(data: DataDirArg, username: &str, disabled: bool) -> anyhow::Result<()> {
    let (auth, _) = offline_authenticator(data.data_dir)?;
    let partner = auth.user_partner(username)?;
    auth.set_user_disabled(&partner, username, disabled)?;
    println!(
        "{} {username}",
        if disabled { "disabled" } else { "enabled" }
    );
    Ok(())
}

/// The new password: prompted twice on a terminal, else the first line of stdin.
fn read_new_password(username: &str) -> anyhow::Result<String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").context("cannot read password")?;
        validate_password(username, &first)?;
        let again = rpassword::prompt_password("Again: ").context("cannot read password")?;
        if first != again {
            bail!("the passwords differ");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        line.trim_end_matches(['\n', '\r']).to_string()
    };
    Ok(password)
}
