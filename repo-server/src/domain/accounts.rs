//! People's accounts: roles, the user record and the rules for usernames and passwords.
//! No I/O; hashing lives in `auth`, storage in `meta`.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{DomainError, Scope};

/// Longest username.
pub const MAX_USERNAME_LEN: usize = 64;
/// Shortest password accepted when a user is created.
pub const MIN_PASSWORD_LEN: usize = 12;
/// Longest password accepted (hashing cost grows with it).
pub const MAX_PASSWORD_LEN: usize = 1024;

/// What a person may do; each role maps to the OAuth scopes a client would need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Maintainer,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Maintainer, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Maintainer => "maintainer",
            Role::Admin => "admin",
        }
    }

    /// The scopes this role holds (`Scope::grants` gives admin ⊃ write ⊃ read).
    pub fn scopes(self) -> Vec<Scope> {
        match self {
            Role::Viewer => vec![Scope::Read],
            Role::Maintainer => vec![Scope::Write],
            Role::Admin => vec![Scope::Admin],
        }
    }
}

impl FromStr for Role {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Role, DomainError> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| DomainError::field("role", "must be viewer, maintainer or admin"))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person's account. Usernames are unique server-wide; the user belongs to one partner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    pub partner: String,
    pub username: String,
    pub role: Role,
    /// Argon2id hash in PHC string form (salt and parameters included).
    pub password_phc: String,
    pub disabled: bool,
    pub created_ms: u64,
}

/// A signed-in browser session, stored under the SHA-256 of its cookie value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub username: String,
    pub partner: String,
    pub created_ms: u64,
    pub last_seen_ms: u64,
    /// When the session ends unless used again: the earlier of idle and absolute expiry.
    pub expires_ms: u64,
    /// When the session ends however much it is used.
    pub absolute_expires_ms: u64,
}

impl SessionRecord {
    pub fn is_expired(&self, now_ms: u64) -> bool {
        now_ms >= self.expires_ms
    }
}

/// 1-64 characters of A-Z a-z 0-9 . _ - (they become key parts and path segments).
pub fn validate_username(username: &str) -> Result<(), DomainError> {
    let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if username.is_empty() || username.len() > MAX_USERNAME_LEN || !username.chars().all(valid_char)
    {
        return Err(DomainError::field(
            "username",
            format!("must be 1-{MAX_USERNAME_LEN} characters of A-Z a-z 0-9 . _ -"),
        ));
    }
    Ok(())
}

/// A new password: long enough to resist guessing, short enough to hash cheaply, and not
/// the username.
pub fn validate_password(username: &str, password: &str) -> Result<(), DomainError> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_LEN {
        return Err(DomainError::field(
            "password",
            format!("must be at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(DomainError::field(
            "password",
            format!("must be at most {MAX_PASSWORD_LEN} bytes"),
        ));
    }
    if password.eq_ignore_ascii_case(username) {
        return Err(DomainError::field(
            "password",
            "must differ from the username",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_and_map_to_scopes() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
        assert!(Scope::grants(&Role::Viewer.scopes(), Scope::Read));
        assert!(!Scope::grants(&Role::Viewer.scopes(), Scope::Write));
        assert!(Scope::grants(&Role::Maintainer.scopes(), Scope::Write));
        assert!(!Scope::grants(&Role::Maintainer.scopes(), Scope::Admin));
        assert!(Scope::grants(&Role::Admin.scopes(), Scope::Admin));
    }

    #[test]
    fn usernames_and_passwords_are_checked() {
        assert!(validate_username("alice.o-k_1").is_ok());
        for bad in ["", "a b", "ümlaut", "a/b", &"x".repeat(65)] {
            assert!(validate_username(bad).is_err(), "{bad:?}");
        }
        assert!(validate_password("alice", "correct horse").is_ok());
        assert!(validate_password("alice", "short").is_err());
        assert!(validate_password("alicealice12", "ALICEALICE12").is_err());
        assert!(validate_password("alice", &"p".repeat(1025)).is_err());
    }
}
