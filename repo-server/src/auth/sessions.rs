//! People's sign-in: the password check behind the failed-login throttle, and browser
//! sessions (a random cookie stored only as its SHA-256) with idle and absolute expiry.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::{random_secret, sha256, Actor, AuthError, Authenticator, Principal};
use crate::domain::{Role, SessionRecord, UserRecord};
use crate::meta::now_ms;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "fwrepo_session";

/// Session lifetimes and cookie flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// A session unused this long ends.
    pub idle: Duration,
    /// A session ends this long after sign-in however much it is used.
    pub absolute: Duration,
    /// Mark the cookie `Secure` (the public URL is https).
    pub secure_cookie: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            idle: Duration::from_secs(2 * 3600),
            absolute: Duration::from_secs(12 * 3600),
            secure_cookie: false,
        }
    }
}

/// A session just created: the cookie value is shown to the browser once, never stored.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub cookie_value: String,
    pub session: UserSession,
}

/// A signed-in person, as a request sees them.
#[derive(Debug, Clone)]
pub struct UserSession {
    pub principal: Principal,
    pub username: String,
    pub role: Role,
    /// Must come back with every state-changing request of this session.
    pub csrf_token: String,
    pub expires_ms: u64,
}

/// The CSRF token of a session: derived from its secret, so it is stable for the session,
/// needs no storage, and cannot be computed without the cookie.
pub fn csrf_token(cookie_value: &str) -> String {
    hex::encode(Sha256::digest(format!("csrf:{cookie_value}").as_bytes()))
}

impl Authenticator {
    /// Checks a person's password and opens a session. CPU-heavy (Argon2): call from a
    /// blocking thread. The throttle answers before any hashing.
    pub fn login(
        &self,
        username: &str,
        password: &str,
        from: IpAddr,
    ) -> Result<NewSession, AuthError> {
        self.throttle
            .begin(username, from, Instant::now())
            .map_err(|retry_after| AuthError::TooManyAttempts { retry_after })?;
        let user = self.meta.user(username)?;
        // Always verify (against a dummy hash when there is no such user) so the answer
        // takes as long for an unknown name as for a wrong password.
        let matches = self.verify(user.as_ref().map(|u| u.password_phc.as_str()), password);
        let user = match user {
            Some(user) if matches && !user.disabled => user,
            _ => {
                tracing::info!(user.name = %username, client.ip = %from, "sign-in refused");
                return Err(AuthError::InvalidCredentials);
            }
        };
        self.throttle.succeeded(username, from);
        self.open_session(&user)
    }

    fn open_session(&self, user: &UserRecord) -> Result<NewSession, AuthError> {
        let cookie_value = random_secret();
        let now = now_ms();
        let absolute_expires_ms = now.saturating_add(millis(self.sessions.absolute));
        crate::meta::audit::attribute(&user.partner, format!("user:{}", user.username));
        let record = SessionRecord {
            username: user.username.clone(),
            partner: user.partner.clone(),
            created_ms: now,
            last_seen_ms: now,
            expires_ms: now
                .saturating_add(millis(self.sessions.idle))
                .min(absolute_expires_ms),
            absolute_expires_ms,
        };
        self.meta.create_session(&sha256(&cookie_value), &record)?;
        tracing::info!(user.name = %user.username, "signed in");
        let session = user_session(user, &cookie_value, record.expires_ms);
        Ok(NewSession {
            cookie_value,
            session,
        })
    }

    /// The session of a cookie, sliding its idle expiry (stored at most once a minute).
    /// `Unauthenticated` when unknown, expired, or its user is gone or disabled.
    pub fn resume_session(&self, cookie_value: &str) -> Result<UserSession, AuthError> {
        let hash = sha256(cookie_value);
        let mut record = self
            .meta
            .session(&hash)?
            .ok_or(AuthError::Unauthenticated)?;
        let now = now_ms();
        let user = self.meta.user(&record.username)?;
        let user = match user {
            Some(user)
                if !record.is_expired(now) && !user.disabled && user.partner == record.partner =>
            {
                user
            }
            _ => {
                self.meta.delete_session(&hash)?;
                return Err(AuthError::Unauthenticated);
            }
        };
        if now.saturating_sub(record.last_seen_ms) >= self.touch_interval_ms() {
            record.last_seen_ms = now;
            record.expires_ms = now
                .saturating_add(millis(self.sessions.idle))
                .min(record.absolute_expires_ms);
            if !self.meta.touch_session(&hash, &record)? {
                return Err(AuthError::Unauthenticated);
            }
        }
        // After the touch: a sliding expiry is no change of the actor's.
        crate::meta::audit::attribute(&user.partner, format!("user:{}", user.username));
        Ok(user_session(&user, cookie_value, record.expires_ms))
    }

    /// Ends a session; an unknown cookie is not an error.
    pub fn logout(&self, cookie_value: &str) -> Result<(), AuthError> {
        self.meta.delete_session(&sha256(cookie_value))?;
        Ok(())
    }

    /// A minute, or a quarter of the idle time when that is shorter, so a session in use
    /// never idles out between two stored touches.
    fn touch_interval_ms(&self) -> u64 {
        (millis(self.sessions.idle) / 4).min(60_000)
    }
}

fn user_session(user: &UserRecord, cookie_value: &str, expires_ms: u64) -> UserSession {
    UserSession {
        principal: Principal {
            actor: Actor::User(user.username.clone()),
            partner: user.partner.clone(),
            scopes: user.role.scopes(),
        },
        username: user.username.clone(),
        role: user.role,
        csrf_token: csrf_token(cookie_value),
        expires_ms,
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::thread::sleep;

    use super::*;
    use crate::auth::{test_authenticator, USERNAME_LIMIT};
    use crate::domain::Scope;

    const PASSWORD: &str = "a long enough password";
    const HOME: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn with_sessions(idle_ms: u64, absolute_ms: u64) -> (tempfile::TempDir, Authenticator) {
        let (dir, auth) = test_authenticator(
            Duration::from_secs(60),
            SessionConfig {
                idle: Duration::from_millis(idle_ms),
                absolute: Duration::from_millis(absolute_ms),
                secure_cookie: false,
            },
        );
        auth.create_user("acme", "alice", Role::Maintainer, PASSWORD)
            .unwrap();
        (dir, auth)
    }

    #[test]
    fn login_opens_a_session_with_the_roles_scopes_and_a_stable_csrf_token() {
        let (_dir, auth) = with_sessions(60_000, 120_000);
        let new = auth.login("alice", PASSWORD, HOME).unwrap();
        assert_eq!(new.cookie_value.len(), 43, "32 bytes, URL-safe base64");
        let session = auth.resume_session(&new.cookie_value).unwrap();
        assert_eq!(session.principal.actor, Actor::User("alice".into()));
        assert_eq!(session.principal.actor_id(), "user:alice");
        assert!(session.principal.authorize("acme", Scope::Write).is_ok());
        assert!(session.principal.authorize("acme", Scope::Admin).is_err());
        assert!(matches!(
            session.principal.authorize("other", Scope::Read),
            Err(AuthError::OtherPartner)
        ));
        assert_eq!(session.csrf_token, new.session.csrf_token);
        assert_eq!(session.csrf_token, csrf_token(&new.cookie_value));
        assert_ne!(session.csrf_token, csrf_token("another cookie"));
        assert_eq!(session.csrf_token.len(), 64);
        // Only the cookie's hash is stored.
        assert!(auth
            .meta
            .session(&sha256(&new.cookie_value))
            .unwrap()
            .is_some());
        auth.logout(&new.cookie_value).unwrap();
        assert!(matches!(
            auth.resume_session(&new.cookie_value),
            Err(AuthError::Unauthenticated)
        ));
        auth.logout(&new.cookie_value).unwrap();
    }

    #[test]
    fn wrong_password_unknown_user_and_disabled_user_look_the_same() {
        let (_dir, auth) = with_sessions(60_000, 120_000);
        for (name, password) in [("alice", "wrong password!"), ("nobody", PASSWORD)] {
            assert!(matches!(
                auth.login(name, password, HOME),
                Err(AuthError::InvalidCredentials)
            ));
        }
        let open = auth.login("alice", PASSWORD, HOME).unwrap();
        auth.set_user_disabled("acme", "alice", true).unwrap();
        assert!(matches!(
            auth.resume_session(&open.cookie_value),
            Err(AuthError::Unauthenticated)
        ));
        assert_eq!(auth.meta.count_user_sessions("alice").unwrap(), 0);
        assert!(matches!(
            auth.login("alice", PASSWORD, HOME),
            Err(AuthError::InvalidCredentials)
        ));
        auth.set_user_disabled("acme", "alice", false).unwrap();
        assert!(auth.login("alice", PASSWORD, HOME).is_ok());
    }

    #[test]
    fn role_changes_apply_to_open_sessions() {
        let (_dir, auth) = with_sessions(60_000, 120_000);
        let open = auth.login("alice", PASSWORD, HOME).unwrap();
        auth.update_user(
            "acme",
            "alice",
            crate::auth::UserChange {
                disabled: None,
                role: Some(Role::Viewer),
            },
        )
        .unwrap();
        let session = auth.resume_session(&open.cookie_value).unwrap();
        assert_eq!(session.role, Role::Viewer);
        assert!(session.principal.authorize("acme", Scope::Write).is_err());
    }

    #[test]
    fn repeated_failures_are_throttled_before_hashing() {
        let (_dir, auth) = with_sessions(60_000, 120_000);
        for _ in 0..USERNAME_LIMIT.failures {
            assert!(matches!(
                auth.login("alice", "wrong password!", HOME),
                Err(AuthError::InvalidCredentials)
            ));
        }
        let started = Instant::now();
        let refused = auth.login("alice", PASSWORD, HOME);
        let Err(AuthError::TooManyAttempts { retry_after }) = refused else {
            panic!("expected TooManyAttempts, got {refused:?}");
        };
        assert!(retry_after > Duration::from_secs(60) && retry_after <= USERNAME_LIMIT.window);
        assert!(
            started.elapsed() < Duration::from_millis(5),
            "no hashing behind the throttle"
        );
    }

    #[test]
    fn an_idle_session_expires_and_a_used_one_slides() {
        let (_dir, auth) = with_sessions(800, 60_000);
        let idle = auth.login("alice", PASSWORD, HOME).unwrap();
        let used = auth.login("alice", PASSWORD, HOME).unwrap();
        for _ in 0..8 {
            sleep(Duration::from_millis(150));
            auth.resume_session(&used.cookie_value).unwrap();
        }
        assert!(matches!(
            auth.resume_session(&idle.cookie_value),
            Err(AuthError::Unauthenticated)
        ));
        assert!(auth
            .meta
            .session(&sha256(&idle.cookie_value))
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_session_ends_at_its_absolute_expiry_even_in_use() {
        let (_dir, auth) = with_sessions(60_000, 1000);
        let open = auth.login("alice", PASSWORD, HOME).unwrap();
        assert!(open.session.expires_ms <= now_ms() + 1000);
        for _ in 0..3 {
            sleep(Duration::from_millis(150));
            auth.resume_session(&open.cookie_value).unwrap();
        }
        sleep(Duration::from_millis(700));
        assert!(matches!(
            auth.resume_session(&open.cookie_value),
            Err(AuthError::Unauthenticated)
        ));
    }
}
