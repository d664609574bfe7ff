//! Password hashing with argon2id, run on the blocking pool so it never stalls async workers,
//! and bounded: at most one hash per CPU at a time (each takes about 19 MiB and a CPU for tens
//! of milliseconds); a caller that cannot start within [`HASH_WAIT`] gets [`Error::Busy`]
//! (503, retry), so a flood of logins cannot exhaust memory or starve the blocking pool.

use crate::error::{Error, Result};
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};

/// Longest a password check waits for its turn.
pub(crate) const HASH_WAIT: Duration = Duration::from_secs(5);

/// The hashes allowed at once in this process: one per CPU.
fn hashing() -> &'static Semaphore {
    static HASHING: OnceLock<Semaphore> = OnceLock::new();
    HASHING.get_or_init(|| {
        Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
    })
}

/// A turn at hashing, waiting at most `wait`.
async fn turn(slots: &Semaphore, wait: Duration) -> Result<SemaphorePermit<'_>> {
    match tokio::time::timeout(wait, slots.acquire()).await {
        Ok(Ok(permit)) => Ok(permit),
        Ok(Err(_)) | Err(_) => Err(Error::Busy(
            "too many password checks at once; retry later".into(),
        )),
    }
}

/// Hashes `password` into a PHC string (argon2id, default parameters, random salt).
pub(crate) async fn hash(password: String) -> Result<String> {
    let _turn = turn(hashing(), HASH_WAIT).await?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::backend(e.to_string()))
    })
    .await
    .map_err(Error::backend)?
}

/// True if `password` matches the PHC string `phc`.
pub(crate) async fn verify(password: String, phc: String) -> Result<bool> {
    let _turn = turn(hashing(), HASH_WAIT).await?;
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&phc).map_err(|e| Error::backend(e.to_string()))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(Error::backend)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_caller_that_cannot_get_a_turn_in_time_is_told_to_retry() {
        let slots = Semaphore::new(2);
        let a = turn(&slots, Duration::from_millis(10)).await.unwrap();
        let _b = turn(&slots, Duration::from_millis(10)).await.unwrap();
        assert!(matches!(
            turn(&slots, Duration::from_millis(20)).await,
            Err(Error::Busy(_))
        ));
        drop(a);
        assert!(turn(&slots, Duration::from_millis(20)).await.is_ok());
    }
}
