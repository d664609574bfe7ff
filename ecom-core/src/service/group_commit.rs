//! Group commit: concurrent writes aimed at one key coalesce into batches, so a hot key costs
//! one store write per batch instead of one per caller (TigerBeetle batches transfers the same
//! way).
//!
//! The first caller for an idle key runs its own write at once (a batch of one: no added
//! latency when there is no contention). Callers arriving while a write for the key is in
//! flight queue up; when it ends, everything queued goes out as the next batch, driven by a
//! task of its own, until the queue is empty. A batch that panics takes its callers with it
//! (each of them panics too), like a process dying during the write.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// A boxed, sendable future.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Writes one batch of items for a key; returns one output per item, in order.
pub(crate) type Runner<K, I, O> = Arc<dyn Fn(K, Vec<I>) -> BoxFuture<Vec<O>> + Send + Sync>;

/// Per key, the items waiting for the write in flight, each with where its output goes.
type Queues<K, I, O> = HashMap<K, Vec<(I, oneshot::Sender<O>)>>;

/// Coalesces concurrent items per key into batches written by one [`Runner`].
pub(crate) struct GroupCommit<K, I, O> {
    queues: Mutex<Queues<K, I, O>>,
    run: Runner<K, I, O>,
}

impl<K, I, O> std::fmt::Debug for GroupCommit<K, I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

impl<K, I, O> GroupCommit<K, I, O>
where
    K: Eq + Hash + Clone + Send + 'static,
    I: Send + 'static,
    O: Send + 'static,
{
    /// A group commit writing its batches with `run`.
    pub(crate) fn new(run: Runner<K, I, O>) -> Arc<Self> {
        Arc::new(GroupCommit {
            queues: Mutex::new(HashMap::new()),
            run,
        })
    }

    fn queues(&self) -> std::sync::MutexGuard<'_, Queues<K, I, O>> {
        self.queues.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes `item` under `key`, alone or in a batch with concurrent ones; returns its output.
    pub(crate) async fn submit(self: &Arc<Self>, key: K, item: I) -> O {
        let (item, follower) = self.enqueue(&key, item);
        if let Some(rx) = follower {
            return match rx.await {
                Ok(out) => out,
                Err(_) => panic!("the batch holding this write died"),
            };
        }
        let Some(item) = item else {
            panic!("a leader always keeps its item");
        };
        // Idle key: this caller writes at once, then hands whatever queued meanwhile to a driver.
        let mut turn = Turn {
            commit: self.clone(),
            key: Some(key.clone()),
        };
        let out = (self.run)(key.clone(), vec![item]).await.pop();
        turn.hand_off();
        match out {
            Some(out) => out,
            None => panic!("a group-commit runner returned no output"),
        }
    }

    /// Queues `item` behind a write in flight for `key` (returning the receiver of its
    /// output), or marks the key busy and hands the item back to be written by the caller.
    #[allow(clippy::type_complexity)]
    fn enqueue(&self, key: &K, item: I) -> (Option<I>, Option<oneshot::Receiver<O>>) {
        let mut queues = self.queues();
        if let Some(queue) = queues.get_mut(key) {
            let (tx, rx) = oneshot::channel();
            queue.push((item, tx));
            return (None, Some(rx));
        }
        queues.insert(key.clone(), Vec::new());
        (Some(item), None)
    }

    /// Writes the batches queued under `key` until none is left.
    async fn drive(self: Arc<Self>, key: K, mut batch: Vec<(I, oneshot::Sender<O>)>) {
        let mut turn = Turn {
            commit: self.clone(),
            key: Some(key.clone()),
        };
        loop {
            let (items, senders): (Vec<I>, Vec<oneshot::Sender<O>>) = batch.into_iter().unzip();
            let outs = (self.run)(key.clone(), items).await;
            for (tx, out) in senders.into_iter().zip(outs) {
                let _ = tx.send(out);
            }
            match turn.next_batch() {
                Some(next) => batch = next,
                None => return,
            }
        }
    }
}

/// A caller's or driver's turn at a key. Dropped without handing off (a panic in the write),
/// it frees the key and drops everything queued, whose callers then panic too.
struct Turn<K, I, O>
where
    K: Eq + Hash + Clone + Send + 'static,
    I: Send + 'static,
    O: Send + 'static,
{
    commit: Arc<GroupCommit<K, I, O>>,
    key: Option<K>,
}

impl<K, I, O> Turn<K, I, O>
where
    K: Eq + Hash + Clone + Send + 'static,
    I: Send + 'static,
    O: Send + 'static,
{
    /// Takes what queued under the key; frees the key if nothing did.
    fn next_batch(&mut self) -> Option<Vec<(I, oneshot::Sender<O>)>> {
        let key = self.key.as_ref()?;
        let mut queues = self.commit.queues();
        let queued = queues.get_mut(key).map(std::mem::take).unwrap_or_default();
        if queued.is_empty() {
            queues.remove(key);
            self.key = None;
            return None;
        }
        Some(queued)
    }

    /// Ends a caller's turn: what queued meanwhile goes to a driver task.
    fn hand_off(&mut self) {
        if let Some(batch) = self.next_batch() {
            if let Some(key) = self.key.take() {
                tokio::spawn(self.commit.clone().drive(key, batch));
            }
        }
    }
}

impl<K, I, O> Drop for Turn<K, I, O>
where
    K: Eq + Hash + Clone + Send + 'static,
    I: Send + 'static,
    O: Send + 'static,
{
    /// A caller whose future was dropped mid-write (its client went away) still hands what
    /// queued behind it to a driver, so the others' writes go on; only a panic in the write
    /// takes the queued callers down with it.
    fn drop(&mut self) {
        if self.key.is_none() {
            return;
        }
        if !std::thread::panicking() && tokio::runtime::Handle::try_current().is_ok() {
            self.hand_off();
        }
        if let Some(key) = self.key.take() {
            self.commit.queues().remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The caller writing a batch goes away (its future is dropped mid-write): the callers
    /// queued behind it still get their outputs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_leader_does_not_take_the_queue_down() {
        let commit: Arc<GroupCommit<u8, u32, u32>> = GroupCommit::new(Arc::new(|_, items| {
            Box::pin(async move {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                items.into_iter().map(|i| i + 1).collect()
            })
        }));
        let leader = {
            let commit = commit.clone();
            tokio::spawn(async move { commit.submit(1, 0).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        let followers: Vec<_> = (1..20_u32)
            .map(|i| {
                let commit = commit.clone();
                tokio::spawn(async move { (i, commit.submit(1, i).await) })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        leader.abort();
        assert!(leader.await.unwrap_err().is_cancelled());
        for follower in followers {
            let (i, out) = follower.await.expect("a follower survives its leader");
            assert_eq!(out, i + 1);
        }
        assert!(commit.queues().is_empty(), "every key is freed");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_items_share_batches_and_each_gets_its_output() {
        let batches = Arc::new(AtomicUsize::new(0));
        let counted = batches.clone();
        let commit: Arc<GroupCommit<u8, u32, u32>> = GroupCommit::new(Arc::new(move |_, items| {
            counted.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                items.into_iter().map(|i| i * 2).collect()
            })
        }));
        let tasks: Vec<_> = (0..200_u32)
            .map(|i| {
                let commit = commit.clone();
                tokio::spawn(async move { (i, commit.submit(7, i).await) })
            })
            .collect();
        for task in tasks {
            let (i, out) = task.await.unwrap();
            assert_eq!(out, i * 2);
        }
        let batches = batches.load(Ordering::SeqCst);
        assert!(batches < 100, "200 writes in {batches} batches");
        assert!(commit.queues().is_empty(), "every key is freed");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_write_frees_its_key() {
        let commit: Arc<GroupCommit<u8, u32, u32>> = GroupCommit::new(Arc::new(|_, items| {
            Box::pin(async move {
                assert!(!items.contains(&13), "thirteen");
                items
            })
        }));
        let died = tokio::spawn({
            let commit = commit.clone();
            async move { commit.submit(1, 13).await }
        })
        .await;
        assert!(died.is_err());
        assert_eq!(commit.submit(1, 5).await, 5);
        assert!(commit.queues().is_empty());
    }
}
