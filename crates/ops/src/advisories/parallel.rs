//! Matching many hosts on every core: hosts are independent and the advisory index is
//! read-only, so each thread takes the next unmatched host until none is left. Threads are the
//! application's decision, not the model's (which stays pure); this file uses only `std`, so
//! the matching benchmark (`crates/model/benches/advisories.rs`) includes it as it is and
//! times the product's own split.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

/// `work` applied to every item, on as many threads as the machine has cores (at most one per
/// item); the results in the items' order. Each thread claims the next item when done with its
/// last, so a few costly hosts do not leave a core idle.
pub fn map_in_parallel<T, R, F>(items: &[T], work: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let threads = thread::available_parallelism().map_or(1, usize::from).min(items.len());
    if threads <= 1 {
        return items.iter().map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let claim_and_work = || {
        let mut done = Vec::new();
        loop {
            let position = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(position) else { return done };
            done.push((position, work(item)));
        }
    };
    let mut results: Vec<(usize, R)> = thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(claim_and_work)).collect();
        let mut results = claim_and_work();
        for helper in helpers {
            // A panic in `work` is a bug; it goes on in the caller's thread as it would have
            // without threads.
            results.extend(helper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        }
        results
    });
    results.sort_unstable_by_key(|(position, _)| *position);
    results.into_iter().map(|(_, result)| result).collect()
}

#[cfg(test)]
mod tests {
    // No `use super::*`: the benchmark includes this file, and builds this module without its
    // tests.
    #[test]
    fn every_item_is_mapped_once_and_in_order() {
        let items: Vec<u64> = (0..1_000).collect();
        let squares = super::map_in_parallel(&items, |n| n * n);
        assert_eq!(squares, items.iter().map(|n| n * n).collect::<Vec<_>>());
        assert_eq!(super::map_in_parallel(&[] as &[u64], |n| *n), Vec::<u64>::new());
    }
}
