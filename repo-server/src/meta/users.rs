//! People's accounts: the user record (by username, unique server-wide) and the per-partner
//! username index. Disabling a user ends its sessions in the same batch.

use rocksdb::WriteBatch;

use super::keys::*;
use super::{MetaError, MetaResult, MetaStore};
use crate::domain::UserRecord;

impl MetaStore {
    /// Stores a new user; `Conflict` when the username is taken (by any partner).
    pub fn create_user(&self, user: &UserRecord) -> MetaResult<()> {
        let guard = self.lock();
        let key = user_key(&user.username);
        if self.exists(CF_USERS, &key)? {
            return Err(MetaError::Conflict(format!(
                "username {} is taken",
                user.username
            )));
        }
        let mut batch = WriteBatch::default();
        self.put(&mut batch, CF_USERS, &key, user);
        batch.put_cf(
            self.cf(CF_USERS_BY_PARTNER),
            user_by_partner(&user.partner, &user.username),
            [],
        );
        super::audit::note_created(format!("admin/users/{}", user.username));
        self.commit(guard, batch)
    }

    pub fn user(&self, username: &str) -> MetaResult<Option<UserRecord>> {
        self.get(CF_USERS, &user_key(username))
    }

    /// A partner's users in username order.
    pub fn list_users(&self, partner: &str) -> MetaResult<Vec<UserRecord>> {
        let prefix = partner_prefix(partner);
        let mut users = Vec::new();
        for item in self.scan_prefix(CF_USERS_BY_PARTNER, &prefix) {
            let (key, _) = item?;
            let username =
                username_of_partner_key(prefix.len(), &key).ok_or(MetaError::Corrupt {
                    cf: CF_USERS_BY_PARTNER,
                    reason: "malformed key".into(),
                })?;
            if let Some(user) = self.user(username)? {
                users.push(user);
            }
        }
        Ok(users)
    }

    /// Every user of every partner (the offline CLI's listing).
    pub fn list_all_users(&self) -> MetaResult<Vec<UserRecord>> {
        self.scan_values(CF_USERS, &[])
    }

    /// Changes a user under the writer lock; `change` may refuse (e.g. another partner's
    /// user). When the user ends up disabled, its sessions are deleted in the same batch.
    pub fn update_user(
        &self,
        username: &str,
        change: impl FnOnce(&mut UserRecord) -> MetaResult<()>,
    ) -> MetaResult<UserRecord> {
        let guard = self.lock();
        let key = user_key(username);
        let mut user: UserRecord = self
            .get(CF_USERS, &key)?
            .ok_or(MetaError::NotFound("user"))?;
        change(&mut user)?;
        let mut batch = WriteBatch::default();
        self.put(&mut batch, CF_USERS, &key, &user);
        if user.disabled {
            self.stage_delete_user_sessions(&mut batch, username)?;
        }
        self.commit(guard, batch)?;
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;
    use crate::meta::test_store;

    fn user(partner: &str, username: &str) -> UserRecord {
        UserRecord {
            partner: partner.into(),
            username: username.into(),
            role: Role::Viewer,
            password_phc: "$argon2id$stub".into(),
            disabled: false,
            created_ms: 1,
        }
    }

    #[test]
    fn usernames_are_unique_and_listed_per_partner() {
        let (_dir, store) = test_store();
        store.create_user(&user("acme", "bob")).unwrap();
        store.create_user(&user("acme", "alice")).unwrap();
        store.create_user(&user("acme2", "carol")).unwrap();
        assert!(matches!(
            store.create_user(&user("acme2", "bob")),
            Err(MetaError::Conflict(_))
        ));
        let names = |p: &str| -> Vec<String> {
            store
                .list_users(p)
                .unwrap()
                .into_iter()
                .map(|u| u.username)
                .collect()
        };
        assert_eq!(names("acme"), ["alice", "bob"]);
        assert_eq!(names("acme2"), ["carol"]);
        assert_eq!(store.list_all_users().unwrap().len(), 3);
    }
}
