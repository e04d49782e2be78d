//! The render queue, fair between users: one lane per owner (the session's owner, or the user
//! of the token that asked; `""` without auth), served round-robin, so one user's long queue
//! cannot starve another's first job. Without auth there is one lane, i.e. plain FIFO. The log
//! is the record of what is queued (`job.queued`); this is only the order of service, rebuilt
//! on start-up from the queued jobs.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use tokio::sync::Notify;
use uuid::Uuid;

/// Most jobs one user may have queued at once (admins and the no-auth case are not limited).
pub const MAX_QUEUED_PER_USER: usize = 16;

#[derive(Debug, Default)]
struct Lanes {
    by_owner: HashMap<String, VecDeque<Uuid>>,
    /// Owners with queued jobs, in serving order.
    turn: VecDeque<String>,
}

/// Round-robin lanes of job ids.
#[derive(Debug, Default)]
pub struct FairQueue {
    lanes: Mutex<Lanes>,
    ready: Notify,
}

impl FairQueue {
    /// Queues `job` in `owner`'s lane.
    pub fn push(&self, owner: &str, job: Uuid) {
        let mut lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        let lane = lanes.by_owner.entry(owner.to_string()).or_default();
        lane.push_back(job);
        if lane.len() == 1 {
            lanes.turn.push_back(owner.to_string());
        }
        drop(lanes);
        self.ready.notify_one();
    }

    /// The next job: the front of the lane whose turn it is.
    pub fn try_pop(&self) -> Option<Uuid> {
        let mut lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        let owner = lanes.turn.pop_front()?;
        let lane = lanes.by_owner.get_mut(&owner)?;
        let job = lane.pop_front();
        if lane.is_empty() {
            lanes.by_owner.remove(&owner);
        } else {
            lanes.turn.push_back(owner);
        }
        job
    }

    /// Waits for the next job.
    pub async fn pop(&self) -> Uuid {
        loop {
            if let Some(job) = self.try_pop() {
                return job;
            }
            // `notify_one` keeps a permit when no worker waits, so a push between the check
            // above and this wait is not lost.
            self.ready.notified().await;
        }
    }

    /// How many jobs `owner` has queued.
    pub fn queued_for(&self, owner: &str) -> usize {
        let lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        lanes.by_owner.get(owner).map_or(0, VecDeque::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_take_turns_and_each_lane_stays_in_order() {
        let q = FairQueue::default();
        let ids: Vec<Uuid> = (0..6).map(Uuid::from_u128).collect();
        // Alice queues four before Bob's two arrive.
        for id in &ids[..4] {
            q.push("alice", *id);
        }
        q.push("bob", ids[4]);
        q.push("bob", ids[5]);
        assert_eq!(q.queued_for("alice"), 4);
        let order: Vec<Uuid> = std::iter::from_fn(|| q.try_pop()).collect();
        assert_eq!(order, [ids[0], ids[4], ids[1], ids[5], ids[2], ids[3]]);
        assert_eq!(q.queued_for("alice"), 0);
    }

    #[tokio::test]
    async fn a_waiting_worker_wakes_for_a_push() {
        let q = std::sync::Arc::new(FairQueue::default());
        let waiter = tokio::spawn({
            let q = std::sync::Arc::clone(&q);
            async move { q.pop().await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        q.push("", Uuid::from_u128(7));
        let got = tokio::time::timeout(std::time::Duration::from_secs(2), waiter)
            .await
            .expect("woke")
            .unwrap();
        assert_eq!(got, Uuid::from_u128(7));
    }
}
