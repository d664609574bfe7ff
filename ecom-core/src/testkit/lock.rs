//! Cases for [`DistributedLock`](crate::lock::DistributedLock).

use crate::backend::Backend;
use crate::error::Error;
use futures::future::join_all;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn key(name: &str) -> String {
    format!("testkit:{name}:{}", uuid::Uuid::new_v4().simple())
}

/// 100 contending tasks; never two inside at once, and all get in.
pub async fn mutual_exclusion(backend: &Backend) {
    let key = key("mutex");
    let inside = Arc::new(AtomicUsize::new(0));
    let entered = Arc::new(AtomicUsize::new(0));
    let tasks = (0..100).map(|_| {
        let (lock, key, inside, entered) = (
            backend.lock.clone(),
            key.clone(),
            inside.clone(),
            entered.clone(),
        );
        tokio::spawn(async move {
            let guard = lock
                .acquire(&key, Duration::from_secs(10), Duration::from_secs(30))
                .await
                .expect("acquired within the wait");
            assert_eq!(
                inside.fetch_add(1, Ordering::SeqCst),
                0,
                "two holders at once"
            );
            tokio::task::yield_now().await;
            inside.fetch_sub(1, Ordering::SeqCst);
            entered.fetch_add(1, Ordering::SeqCst);
            assert!(lock.release(&guard).await.expect("release"));
        })
    });
    for r in join_all(tasks).await {
        r.expect("task ran");
    }
    assert_eq!(entered.load(Ordering::SeqCst), 100);
}

/// A held lock is busy and only its owner releases it; a lock never released frees itself
/// after its TTL. Nothing here depends on how fast the machine is: every lock that must still
/// be held has a TTL of a minute, and the expiry is waited for (up to 10 s), not timed.
pub async fn expiry_and_owner_only_release(backend: &Backend) {
    let key = key("expiry");
    let lock = &backend.lock;
    let first = lock
        .acquire(&key, Duration::from_secs(60), Duration::ZERO)
        .await
        .unwrap();
    // Busy while held: a short wait gives the retryable Busy error.
    assert!(matches!(
        lock.acquire(&key, Duration::from_secs(5), Duration::from_millis(50))
            .await,
        Err(Error::Busy(_))
    ));
    // A forged guard cannot release it.
    let mut forged = first.clone();
    forged.owner = "someone-else".into();
    assert!(!lock.release(&forged).await.unwrap());
    assert!(matches!(
        lock.acquire(&key, Duration::from_secs(5), Duration::ZERO)
            .await,
        Err(Error::Busy(_))
    ));
    assert!(lock.release(&first).await.unwrap());
    // A holder that never releases: after its TTL the lock is free again.
    let stale = lock
        .acquire(&key, Duration::from_millis(100), Duration::ZERO)
        .await
        .unwrap();
    assert!(stale.fence > first.fence);
    let second = lock
        .acquire(&key, Duration::from_secs(60), Duration::from_secs(10))
        .await
        .unwrap();
    assert!(second.fence > stale.fence);
    // The expired holder cannot release the new holder's lock.
    assert!(!lock.release(&stale).await.unwrap());
    assert!(matches!(
        lock.acquire(&key, Duration::from_secs(5), Duration::from_millis(20))
            .await,
        Err(Error::Busy(_))
    ));
    assert!(lock.release(&second).await.unwrap());
    assert!(!lock.release(&second).await.unwrap());
    let third = lock
        .acquire(&key, Duration::from_secs(5), Duration::ZERO)
        .await
        .unwrap();
    assert!(lock.release(&third).await.unwrap());
}

pub async fn fencing_tokens_increase(backend: &Backend) {
    let key = key("fence");
    let mut last = 0;
    for _ in 0..20 {
        let guard = backend
            .lock
            .acquire(&key, Duration::from_secs(5), Duration::from_secs(5))
            .await
            .unwrap();
        assert!(guard.fence > last, "fence {} after {}", guard.fence, last);
        last = guard.fence;
        assert!(backend.lock.release(&guard).await.unwrap());
    }
    // Keys have independent locks.
    let a = backend
        .lock
        .acquire(&format!("{key}:a"), Duration::from_secs(5), Duration::ZERO)
        .await
        .unwrap();
    let b = backend
        .lock
        .acquire(&format!("{key}:b"), Duration::from_secs(5), Duration::ZERO)
        .await
        .unwrap();
    assert!(backend.lock.release(&a).await.unwrap());
    assert!(backend.lock.release(&b).await.unwrap());
}
