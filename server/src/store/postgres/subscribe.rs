//! Subscriptions to the PostgreSQL log: a cursor in commit order, re-read on every wake-up.
//!
//! One connection per store `LISTEN`s on the notify channel and bumps a counter each time a
//! commit notifies; subscribers wait on the counter, then re-read from their own cursor. The
//! notification only says "look again" — delivery always comes from the table, so a lost
//! notification (reconnect, full queue) delays an event by at most [`POLL_EVERY`], never loses
//! it. The poll also covers the one case a notification cannot: an unrelated long transaction
//! that held the read horizon back has ended.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::tls::NoTlsStream;
use tokio_postgres::{AsyncMessage, Client, Config, Connection, NoTls, Socket};

use crate::store::backend::{EventSubscription, Position};
use crate::store::envelope::Envelope;
use crate::store::error::{Result, StoreError};
use crate::store::postgres::read::{self, Located};
use crate::store::postgres::{pooled, PgStore, NOTIFY_CHANNEL, PROGRESS_CHANNEL};

/// Longest a subscriber waits without a notification before it re-reads anyway.
const POLL_EVERY: Duration = Duration::from_millis(100);

/// How long the listener waits before reconnecting after its connection failed.
const RECONNECT_AFTER: Duration = Duration::from_millis(500);

type Listener = (Client, Connection<Socket, NoTlsStream>);

/// Connect the listener (failing now if the database is unreachable) and keep it running,
/// reconnecting as needed, until every receiver is gone. Job progress notes (a worker's
/// [`PROGRESS_CHANNEL`] payloads) go to `progress`; they are live updates, never state, so a
/// note lost in a reconnect only skips a tick.
pub(crate) async fn listen(
    config: Config,
    handle: &Handle,
    progress: tokio::sync::broadcast::Sender<String>,
) -> std::result::Result<watch::Receiver<u64>, tokio_postgres::Error> {
    let first = config.connect(NoTls).await?;
    let (tx, rx) = watch::channel(0u64);
    handle.spawn(listener_loop(config, Arc::new(tx), progress, Some(first)));
    Ok(rx)
}

async fn listener_loop(
    config: Config,
    tx: Arc<watch::Sender<u64>>,
    progress: tokio::sync::broadcast::Sender<String>,
    mut first: Option<Listener>,
) {
    while !tx.is_closed() {
        let connected = match first.take() {
            Some(c) => Ok(c),
            None => config.connect(NoTls).await,
        };
        if let Ok((client, mut connection)) = connected {
            let bump = tx.clone();
            let notes = progress.clone();
            let driver = tokio::spawn(async move {
                let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
                while let Some(Ok(message)) = messages.next().await {
                    match message {
                        AsyncMessage::Notification(n) if n.channel() == PROGRESS_CHANNEL => {
                            let _ = notes.send(n.payload().to_string());
                        }
                        AsyncMessage::Notification(_) => {
                            bump.send_modify(|n| *n = n.wrapping_add(1))
                        }
                        _ => {}
                    }
                }
            });
            if client
                .batch_execute(&format!(
                    "LISTEN {NOTIFY_CHANNEL}; LISTEN {PROGRESS_CHANNEL}"
                ))
                .await
                .is_ok()
            {
                // Whatever committed while we were not listening is found by this re-read.
                tx.send_modify(|n| *n = n.wrapping_add(1));
                tokio::select! {
                    _ = driver => tracing::warn!("PostgreSQL listener connection lost; reconnecting"),
                    _ = tx.closed() => return,
                }
            }
        }
        tokio::time::sleep(RECONNECT_AFTER).await;
    }
}

/// A resumable feed of the PostgreSQL log in commit order.
pub struct PgSubscription {
    store: PgStore,
    cursor: Position,
    wake: watch::Receiver<u64>,
}

impl PgSubscription {
    pub(crate) fn new(store: PgStore, after: Position) -> Self {
        let wake = store.inner.wake.clone();
        PgSubscription {
            store,
            cursor: after,
            wake,
        }
    }
}

/// Aborts the spawned reader when the caller stops waiting.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Wait until at least one event after `cursor` is readable; return up to `max`.
async fn wait_for_page(
    store: PgStore,
    mut wake: watch::Receiver<u64>,
    cursor: Position,
    max: usize,
) -> Result<Vec<Located>> {
    loop {
        wake.borrow_and_update();
        let client = pooled(&store.inner.pool).await?;
        let page = read::read_committed_after(&**client, cursor, max.max(1)).await?;
        drop(client);
        if !page.is_empty() {
            return Ok(page);
        }
        if store.inner.closed.load(Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        let _ = tokio::time::timeout(POLL_EVERY, wake.changed()).await;
    }
}

impl EventSubscription for PgSubscription {
    fn next_batch(
        &mut self,
        max: usize,
    ) -> impl std::future::Future<Output = Result<Vec<Envelope>>> + Send {
        let task = AbortOnDrop(self.store.inner.handle.spawn(wait_for_page(
            self.store.clone(),
            self.wake.clone(),
            self.cursor,
            max,
        )));
        async move {
            let mut task = task;
            let located = (&mut task.0).await.map_err(|e| StoreError::Database {
                detail: format!("subscription task failed: {e}"),
            })??;
            if let Some(last) = located.last() {
                self.cursor = last.position;
                self.store.note_position(last.position);
            }
            Ok(located.into_iter().map(|l| l.envelope).collect())
        }
    }

    fn position(&self) -> Position {
        self.cursor
    }
}
