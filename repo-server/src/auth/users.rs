//! People's accounts of a partner: create (password hashed with Argon2id), list, change
//! role, disable (which ends the user's sessions). Another partner's user is not found.

use super::{AuthError, Authenticator};
use crate::domain::{validate_id, validate_password, validate_username, Role, UserRecord};
use crate::meta::{now_ms, MetaError};

/// What an admin may change about a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserChange {
    pub disabled: Option<bool>,
    pub role: Option<Role>,
}

impl Authenticator {
    /// Creates a user. CPU-heavy (Argon2): call from a blocking thread.
    pub fn create_user(
        &self,
        partner: &str,
        username: &str,
        role: Role,
        password: &str,
    ) -> Result<UserRecord, AuthError> {
        validate_id("partnerId", partner)?;
        validate_username(username)?;
        validate_password(username, password)?;
        let user = UserRecord {
            partner: partner.to_string(),
            username: username.to_string(),
            role,
            password_phc: self.hash(password)?,
            disabled: false,
            created_ms: now_ms(),
        };
        self.meta.create_user(&user)?;
        Ok(user)
    }

    /// A partner's users in username order.
    pub fn list_users(&self, partner: &str) -> Result<Vec<UserRecord>, AuthError> {
        Ok(self.meta.list_users(partner)?)
    }

    /// Disables or re-enables a user; disabling ends every session of the user at once.
    pub fn set_user_disabled(
        &self,
        partner: &str,
        username: &str,
        disabled: bool,
    ) -> Result<UserRecord, AuthError> {
        self.update_user(
            partner,
            username,
            UserChange {
                disabled: Some(disabled),
                role: None,
            },
        )
    }

    /// Applies `change` to a partner's user in one write.
    pub fn update_user(
        &self,
        partner: &str,
        username: &str,
        change: UserChange,
    ) -> Result<UserRecord, AuthError> {
        let updated = self.meta.update_user(username, |user| {
            if user.partner != partner {
                return Err(MetaError::NotFound("user"));
            }
            if let Some(disabled) = change.disabled {
                user.disabled = disabled;
            }
            if let Some(role) = change.role {
                user.role = role;
            }
            Ok(())
        })?;
        Ok(updated)
    }

    /// The partner a username belongs to (the offline CLI acts across partners).
    pub fn user_partner(&self, username: &str) -> Result<String, AuthError> {
        self.meta
            .user(username)?
            .map(|u| u.partner)
            .ok_or(AuthError::NotFound("user"))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::auth::{test_authenticator, SessionConfig};

    const PASSWORD: &str = "a long enough password";

    fn authenticator() -> (tempfile::TempDir, Authenticator) {
        test_authenticator(Duration::from_secs(60), SessionConfig::default())
    }

    #[test]
    fn users_are_unique_checked_and_stored_hashed() {
        let (_dir, auth) = authenticator();
        let user = auth
            .create_user("acme", "alice", Role::Maintainer, PASSWORD)
            .unwrap();
        assert!(user.password_phc.starts_with("$argon2id$"));
        assert!(!user.password_phc.contains(PASSWORD));
        assert!(matches!(
            auth.create_user("other", "alice", Role::Viewer, PASSWORD),
            Err(AuthError::Conflict(_))
        ));
        for (name, password) in [("bad name", PASSWORD), ("bob", "short"), ("bob", "")] {
            assert!(matches!(
                auth.create_user("acme", name, Role::Viewer, password),
                Err(AuthError::Invalid(_))
            ));
        }
        assert_eq!(auth.list_users("acme").unwrap(), [user]);
        assert!(auth.list_users("other").unwrap().is_empty());
    }

    #[test]
    fn another_partners_user_cannot_be_changed() {
        let (_dir, auth) = authenticator();
        auth.create_user("acme", "alice", Role::Viewer, PASSWORD)
            .unwrap();
        assert!(matches!(
            auth.set_user_disabled("other", "alice", true),
            Err(AuthError::NotFound("user"))
        ));
        assert!(matches!(
            auth.set_user_disabled("acme", "nobody", true),
            Err(AuthError::NotFound("user"))
        ));
        let changed = auth
            .update_user(
                "acme",
                "alice",
                UserChange {
                    disabled: None,
                    role: Some(Role::Admin),
                },
            )
            .unwrap();
        assert_eq!(changed.role, Role::Admin);
        assert!(!changed.disabled);
        assert!(!auth.list_users("acme").unwrap()[0].disabled);
    }
}
