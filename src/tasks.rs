//! A count of the native tasks alive: every operation spawned for a promise and every chunk task of a
//! read. An aborted operation's promise rejects at once while its tasks wind down in the background;
//! the count is how a test proves they are then dropped, and with them every buffer they own (Rust
//! frees what a dropped task owns, so a task that ends is memory that is handed back to the allocator).

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Tasks alive now.
static ALIVE: AtomicUsize = AtomicUsize::new(0);

/// Held by a task's future for as long as it lives: counted in [`ALIVE`] until dropped.
struct Alive;

impl Alive {
    fn new() -> Self {
        ALIVE.fetch_add(1, Ordering::Relaxed);
        Self
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        ALIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `work`, counted in [`alive`] from now until it completes or is dropped (aborted) unfinished.
pub fn counted<F: Future>(work: F) -> impl Future<Output = F::Output> {
    let alive = Alive::new();
    async move {
        let _alive = alive;
        work.await
    }
}

/// How many counted tasks are alive now.
#[must_use]
pub fn alive() -> usize {
    ALIVE.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_task_counts_until_it_completes_or_is_dropped() {
        let before = alive();
        let done = counted(async { 7 });
        assert_eq!(alive(), before + 1);
        assert_eq!(done.await, 7);
        assert_eq!(alive(), before);
        let dropped = counted(std::future::pending::<()>());
        assert_eq!(alive(), before + 1);
        drop(dropped);
        assert_eq!(alive(), before);
    }
}
