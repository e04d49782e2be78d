//! `stablesteering store migrate --from DIR --to postgres://…`: copy a sled log into an empty
//! PostgreSQL database, then verify the copy event by event.
//!
//! Events keep their ids, streams, versions, times and payloads; only global positions are new
//! (PostgreSQL's). Pages are written one transaction each, in log order, by this one writer, so
//! the database's commit order is the sled log's order. A database that already holds events
//! is refused: merging two logs is not a copy.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::store::backend::{EventStore, Position};
use crate::store::envelope::Envelope;
use crate::store::error::{Result, StoreError};
use crate::store::postgres::append::{insert_rows, Row};
use crate::store::postgres::{db_error, PgStore, NOTIFY_CHANNEL};
use crate::store::sled::open::StoreOptions;
use crate::store::sled::store::SledStore;
use crate::store::util::block_on;

/// Events copied per transaction.
const PAGE: usize = 1_000;

/// What a migration did.
#[derive(Debug, Clone, Serialize)]
pub struct MigrateReport {
    pub events: u64,
    pub seconds: f64,
    pub verified: bool,
}

/// Copy the sled log in `from` into the empty database at `to` and verify it.
pub fn migrate_sled_to_postgres(from: &Path, to: &str) -> Result<MigrateReport> {
    let sled = SledStore::open(from, StoreOptions::default())?;
    let pg = PgStore::open_blocking(to)?;
    let result = copy_and_verify(&sled, &pg);
    sled.close();
    result
}

fn copy_and_verify(sled: &SledStore, pg: &PgStore) -> Result<MigrateReport> {
    let existing = block_on(pg.count_events())?;
    if existing > 0 {
        return Err(StoreError::Import(format!(
            "{} already holds {existing} events; migrate into an empty database",
            pg.location()
        )));
    }
    let started = Instant::now();
    let mut at = Position::START;
    let mut events = 0u64;
    loop {
        let page = block_on(sled.read_all(at, PAGE))?;
        if page.events.is_empty() {
            break;
        }
        at = page.next;
        events += page.events.len() as u64;
        block_on(pg.import_page(page.events))?;
    }
    verify(sled, pg)?;
    Ok(MigrateReport {
        events,
        seconds: started.elapsed().as_secs_f64(),
        verified: true,
    })
}

/// Both logs hold the same events in the same order.
fn verify(sled: &SledStore, pg: &PgStore) -> Result<()> {
    let (mut a, mut b) = (Position::START, Position::START);
    let mut checked = 0u64;
    loop {
        let left = block_on(sled.read_all(a, PAGE))?;
        let right = block_on(pg.read_all(b, PAGE))?;
        if left.events.len() != right.events.len() {
            return Err(StoreError::Import(format!(
                "verification: after {checked} events the logs differ in length"
            )));
        }
        if left.events.is_empty() {
            return Ok(());
        }
        for (x, y) in left.events.iter().zip(&right.events) {
            let same = x.event_id == y.event_id
                && x.stream == y.stream
                && x.stream_version == y.stream_version
                && x.recorded_at_us == y.recorded_at_us
                && x.event == y.event;
            if !same {
                return Err(StoreError::Import(format!(
                    "verification: event {} (sled seq {}) differs in PostgreSQL",
                    x.event_id, x.seq
                )));
            }
            checked += 1;
        }
        (a, b) = (left.next, right.next);
    }
}

impl PgStore {
    /// Number of events in the database.
    pub(crate) fn count_events(&self) -> impl std::future::Future<Output = Result<u64>> + Send {
        self.with_client(|client| async move {
            let row = client
                .query_one("SELECT count(*) FROM events", &[])
                .await
                .map_err(db_error)?;
            Ok(row.get::<_, i64>(0) as u64)
        })
    }

    /// Insert envelopes as they are (ids, streams, versions, times) in one transaction.
    pub(crate) fn import_page(
        &self,
        page: Vec<Envelope>,
    ) -> impl std::future::Future<Output = Result<()>> + Send {
        self.with_client(move |mut client| async move {
            let rows = page
                .iter()
                .map(Row::from_envelope)
                .collect::<Result<Vec<_>>>()?;
            let tx = client.transaction().await.map_err(db_error)?;
            insert_rows(&tx, &rows)
                .await
                .map_err(|e| StoreError::Import(format!("PostgreSQL refused a page: {e}")))?;
            crate::store::postgres::leases::record_marks(&tx, page.iter().map(|e| &e.event))
                .await
                .map_err(|e| StoreError::Import(format!("PostgreSQL refused a page: {e}")))?;
            tx.batch_execute(&format!("NOTIFY {NOTIFY_CHANNEL}"))
                .await
                .map_err(db_error)?;
            tx.commit().await.map_err(db_error)
        })
    }
}
