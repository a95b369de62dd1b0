//! Password hashing with Argon2id (OWASP's parameters: 19 MiB, 2 passes, 1 lane) and a gate
//! that bounds how many hashes run at once, since each holds 19 MiB for tens of milliseconds.

use std::sync::{Condvar, Mutex};

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use rand::RngCore;

use super::{random_secret, AuthError, Authenticator};

/// An Argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    // 16 bytes from the OS-seeded CSPRNG (the password-hash crate's own RNG needs a feature
    // argon2 does not pass through).
    let mut salt_bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|e| AuthError::Invalid(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AuthError::Invalid(format!("password cannot be hashed: {e}")))
}

/// Whether `password` matches the PHC string (its own parameters and salt are used). The
/// comparison inside is constant-time; an unparsable hash matches nothing.
pub fn verify_password(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A counting semaphore for blocking threads: at most `limit` hashes at a time, so a burst
/// of sign-ins costs latency, not memory.
pub struct HashGate {
    busy: Mutex<usize>,
    freed: Condvar,
    limit: usize,
}

impl Default for HashGate {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        HashGate {
            busy: Mutex::new(0),
            freed: Condvar::new(),
            limit: cores.max(2),
        }
    }
}

impl HashGate {
    pub fn run<T>(&self, work: impl FnOnce() -> T) -> T {
        {
            let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
            while *busy >= self.limit {
                busy = self.freed.wait(busy).unwrap_or_else(|p| p.into_inner());
            }
            *busy += 1;
        }
        let _release = Release(self);
        work()
    }
}

/// Gives the gate's slot back even if the work panics.
struct Release<'a>(&'a HashGate);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        let mut busy = self.0.busy.lock().unwrap_or_else(|p| p.into_inner());
        *busy -= 1;
        self.0.freed.notify_one();
    }
}

impl Authenticator {
    pub(super) fn hash(&self, password: &str) -> Result<String, AuthError> {
        self.hashing.run(|| hash_password(password))
    }

    /// Verifies against the user's hash, or against a dummy hash of the same cost when
    /// there is no user, so an unknown username takes as long as a wrong password.
    pub(super) fn verify(&self, phc: Option<&str>, password: &str) -> bool {
        let phc = match phc {
            Some(phc) => phc,
            None => self
                .dummy_phc
                .get_or_init(|| hash_password(&random_secret()).expect("a random password hashes")),
        };
        self.hashing.run(|| verify_password(phc, password))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let phc = hash_password("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(!phc.contains("correct horse"));
        assert!(verify_password(&phc, "correct horse battery"));
        assert!(!verify_password(&phc, "correct horse batterY"));
        assert!(!verify_password("not a hash", "correct horse battery"));
        assert_ne!(
            phc,
            hash_password("correct horse battery").unwrap(),
            "salted"
        );
    }

    #[test]
    fn the_gate_bounds_concurrent_work() {
        let gate = HashGate {
            busy: Mutex::new(0),
            freed: Condvar::new(),
            limit: 2,
        };
        let running = std::sync::atomic::AtomicUsize::new(0);
        let peak = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..6 {
                scope.spawn(|| {
                    gate.run(|| {
                        use std::sync::atomic::Ordering::SeqCst;
                        let now = running.fetch_add(1, SeqCst) + 1;
                        peak.fetch_max(now, SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, SeqCst);
                    })
                });
            }
        });
        assert_eq!(peak.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
