//! Browser sessions, stored under the SHA-256 of the cookie value, with two indexes: by user
//! (disabling a user ends them all) and by expiry (the sweep reads only expired ones).

use rocksdb::WriteBatch;

use super::expiry::SWEEP_BATCH;
use super::keys::*;
use super::{MetaError, MetaResult, MetaStore};
use crate::domain::SessionRecord;

impl MetaStore {
    pub fn create_session(&self, hash: &[u8; 32], session: &SessionRecord) -> MetaResult<()> {
        let mut batch = WriteBatch::default();
        self.stage_session(&mut batch, hash, session);
        self.commit_alone(batch)
    }

    pub fn session(&self, hash: &[u8; 32]) -> MetaResult<Option<SessionRecord>> {
        self.get(CF_SESSIONS, &session_key(hash))
    }

    /// Slides a session's expiry: stores `session` and moves its expiry index entry, if the
    /// session still exists (a logout may have won the race). Answers whether it did.
    pub fn touch_session(&self, hash: &[u8; 32], session: &SessionRecord) -> MetaResult<bool> {
        let guard = self.lock();
        let Some(old) = self.session(hash)? else {
            return Ok(false);
        };
        let mut batch = WriteBatch::default();
        self.delete(
            &mut batch,
            CF_SESSIONS_BY_EXPIRY,
            &session_by_expiry(old.expires_ms, hash),
        );
        self.stage_session(&mut batch, hash, session);
        self.commit(guard, batch)?;
        Ok(true)
    }

    /// Deletes a session and its index entries; nothing happens when it is already gone.
    pub fn delete_session(&self, hash: &[u8; 32]) -> MetaResult<()> {
        let guard = self.lock();
        let mut batch = WriteBatch::default();
        self.stage_delete_session(&mut batch, hash)?;
        self.commit(guard, batch)
    }

    /// Deletes sessions whose expiry is at or before `now_ms`; answers how many. Reads the
    /// expiry index from its start, so live sessions are never visited.
    pub fn purge_expired_sessions(&self, now_ms: u64) -> MetaResult<usize> {
        let mut purged = 0;
        loop {
            let guard = self.lock();
            let due = self.due_entries(CF_SESSIONS_BY_EXPIRY, now_ms, SWEEP_BATCH)?;
            let mut batch = WriteBatch::default();
            for (key, _) in &due {
                let hash =
                    trailing_session_hash(key).ok_or_else(|| corrupt("malformed expiry key"))?;
                // The index entry goes even if the record is missing (never left dangling).
                self.delete(&mut batch, CF_SESSIONS_BY_EXPIRY, key);
                self.stage_delete_session(&mut batch, &hash)?;
            }
            self.commit(guard, batch)?;
            purged += due.len();
            if due.len() < SWEEP_BATCH {
                return Ok(purged);
            }
        }
    }

    /// How many sessions a user has.
    #[cfg(test)]
    pub fn count_user_sessions(&self, username: &str) -> MetaResult<usize> {
        let mut count = 0;
        for item in self.scan_prefix(CF_SESSIONS_BY_USER, &sessions_of_user(username)) {
            item?;
            count += 1;
        }
        Ok(count)
    }

    /// Stages the deletion of every session of `username` (call under the writer lock).
    pub(super) fn stage_delete_user_sessions(
        &self,
        batch: &mut WriteBatch,
        username: &str,
    ) -> MetaResult<()> {
        for item in self.scan_prefix(CF_SESSIONS_BY_USER, &sessions_of_user(username)) {
            let (key, _) = item?;
            let hash = trailing_session_hash(&key).ok_or_else(|| corrupt("malformed user key"))?;
            self.delete(batch, CF_SESSIONS_BY_USER, &key);
            self.stage_delete_session(batch, &hash)?;
        }
        Ok(())
    }

    fn stage_session(&self, batch: &mut WriteBatch, hash: &[u8; 32], session: &SessionRecord) {
        self.put(batch, CF_SESSIONS, &session_key(hash), session);
        batch.put_cf(
            self.cf(CF_SESSIONS_BY_USER),
            session_by_user(&session.username, hash),
            [],
        );
        batch.put_cf(
            self.cf(CF_SESSIONS_BY_EXPIRY),
            session_by_expiry(session.expires_ms, hash),
            [],
        );
    }

    fn stage_delete_session(&self, batch: &mut WriteBatch, hash: &[u8; 32]) -> MetaResult<()> {
        if let Some(session) = self.session(hash)? {
            self.delete(batch, CF_SESSIONS, &session_key(hash));
            self.delete(
                batch,
                CF_SESSIONS_BY_USER,
                &session_by_user(&session.username, hash),
            );
            self.delete(
                batch,
                CF_SESSIONS_BY_EXPIRY,
                &session_by_expiry(session.expires_ms, hash),
            );
        }
        Ok(())
    }
}

fn corrupt(reason: &str) -> MetaError {
    MetaError::Corrupt {
        cf: CF_SESSIONS,
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Role, UserRecord};
    use crate::meta::test_store;

    fn session(username: &str, expires_ms: u64) -> SessionRecord {
        SessionRecord {
            username: username.into(),
            partner: "acme".into(),
            created_ms: 0,
            last_seen_ms: 0,
            expires_ms,
            absolute_expires_ms: expires_ms,
        }
    }

    #[test]
    fn purge_reads_only_expired_sessions_and_keeps_indexes_consistent() {
        let (_dir, store) = test_store();
        store.create_session(&[1; 32], &session("a", 100)).unwrap();
        store.create_session(&[2; 32], &session("a", 300)).unwrap();
        store.create_session(&[3; 32], &session("b", 200)).unwrap();
        // Sliding moves the expiry index entry: [1] now expires at 400.
        store.touch_session(&[1; 32], &session("a", 400)).unwrap();
        assert_eq!(store.purge_expired_sessions(250).unwrap(), 1);
        assert!(store.session(&[3; 32]).unwrap().is_none());
        assert_eq!(store.count_user_sessions("b").unwrap(), 0);
        assert_eq!(store.count_user_sessions("a").unwrap(), 2);
        assert_eq!(store.purge_expired_sessions(1000).unwrap(), 2);
        assert_eq!(store.count_user_sessions("a").unwrap(), 0);
        assert_eq!(store.scan_prefix(CF_SESSIONS_BY_EXPIRY, &[]).count(), 0);
    }

    #[test]
    fn disabling_a_user_deletes_its_sessions_in_the_same_change() {
        let (_dir, store) = test_store();
        store
            .create_user(&UserRecord {
                partner: "acme".into(),
                username: "a".into(),
                role: Role::Admin,
                password_phc: String::new(),
                disabled: false,
                created_ms: 0,
            })
            .unwrap();
        store.create_session(&[1; 32], &session("a", 100)).unwrap();
        store.create_session(&[2; 32], &session("b", 100)).unwrap();
        store
            .update_user("a", |u| {
                u.disabled = true;
                Ok(())
            })
            .unwrap();
        assert!(store.session(&[1; 32]).unwrap().is_none());
        assert!(store.session(&[2; 32]).unwrap().is_some());
        assert_eq!(store.scan_prefix(CF_SESSIONS_BY_EXPIRY, &[]).count(), 1);
    }
}
