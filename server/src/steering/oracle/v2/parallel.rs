//! A deterministic parallel map: jobs are pure functions of their index, taken from a shared
//! counter in small chunks by `threads` scoped threads, and the results are put back in index
//! order, so the output never depends on scheduling.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Jobs taken per grab.
const CHUNK: usize = 4;

/// `(0..count).map(job)` on `threads` threads; the first error by index wins.
pub fn map_indexed<T, E, F>(count: usize, threads: usize, job: F) -> Result<Vec<T>, E>
where
    T: Send,
    E: Send,
    F: Fn(usize) -> Result<T, E> + Sync,
{
    let next = AtomicUsize::new(0);
    let worker = || {
        let mut done: Vec<(usize, Result<T, E>)> = Vec::new();
        loop {
            let first = next.fetch_add(CHUNK, Ordering::Relaxed);
            if first >= count {
                break;
            }
            for index in first..(first + CHUNK).min(count) {
                done.push((index, job(index)));
            }
        }
        done
    };
    let mut all: Vec<(usize, Result<T, E>)> = if threads <= 1 {
        worker()
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads).map(|_| scope.spawn(worker)).collect();
            let mut all = Vec::with_capacity(count);
            for handle in handles {
                // A job that panicked loses its results; the count check below reports it.
                if let Ok(part) = handle.join() {
                    all.extend(part);
                }
            }
            all
        })
    };
    all.sort_by_key(|(index, _)| *index);
    all.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_the_index_order_whatever_the_threads() {
        let one: Result<Vec<usize>, ()> = map_indexed(101, 1, |i| Ok(i * i));
        let two: Result<Vec<usize>, ()> = map_indexed(101, 2, |i| Ok(i * i));
        assert_eq!(one, two);
        assert_eq!(two.map(|v| v.len()), Ok(101));
        let err: Result<Vec<usize>, usize> =
            map_indexed(50, 2, |i| if i % 7 == 6 { Err(i) } else { Ok(i) });
        assert_eq!(err, Err(6));
    }
}
