//! The PostgreSQL schema and its versioned migrations, applied at start-up.
//!
//! Every migration runs in its own transaction under a session advisory lock, so two servers
//! starting at once apply each migration once. A database whose schema is newer than this
//! binary knows is refused: an older binary must not write rows a newer one reads differently.

use tokio_postgres::Client;

use crate::store::error::{Result, StoreError};
use crate::store::postgres::db_error;

/// Advisory-lock key that serialises migrations ("ss-migr" in ASCII).
const MIGRATION_LOCK: i64 = 0x0073_732d_6d69_6772;

/// The migrations, in order; the schema version is the number of migrations applied.
const MIGRATIONS: &[&str] = &[
    // 1: the event log. `xid` is the writing transaction's id (assigned at the insert, after
    // the stream locks are held); subscribers order by (xid, position) and read only below
    // the oldest running transaction, so a late commit can never land behind a cursor.
    "CREATE TABLE events (
        position        bigserial PRIMARY KEY,
        xid             bigint    NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
        stream_kind     smallint  NOT NULL,
        stream_entity   uuid      NOT NULL,
        stream_version  bigint    NOT NULL CHECK (stream_version >= 1),
        event_id        uuid      NOT NULL UNIQUE,
        event_type      smallint  NOT NULL,
        schema_version  smallint  NOT NULL,
        payload         bytea     NOT NULL,
        recorded_at     timestamptz NOT NULL,
        UNIQUE (stream_kind, stream_entity, stream_version)
     );
     CREATE INDEX events_commit_order ON events (xid, position);",
    // 2: the job queue, derived from the log in each append's transaction (`leases.rs`).
    crate::store::postgres::leases::MIGRATION,
];

/// The schema version this binary writes and reads.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// Bring the database to [`SCHEMA_VERSION`], or refuse a newer one.
pub async fn migrate(client: &mut Client) -> Result<()> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(db_error)?;
    let result = apply_missing(client).await;
    let unlock = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(db_error);
    result.and(unlock.map(|_| ()))
}

async fn apply_missing(client: &mut Client) -> Result<()> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .await
        .map_err(db_error)?;
    let current: i32 = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .await
        .map_err(db_error)?
        .get(0);
    if current > SCHEMA_VERSION {
        return Err(StoreError::DatabaseRefused {
            reason: format!(
                "the database schema is at version {current}, newer than the {SCHEMA_VERSION} \
                 this stablesteering knows; upgrade stablesteering"
            ),
        });
    }
    for (version, sql) in (current + 1..).zip(&MIGRATIONS[current as usize..]) {
        let tx = client.transaction().await.map_err(db_error)?;
        tx.batch_execute(sql).await.map_err(db_error)?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&version],
        )
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        tracing::info!(version, "applied PostgreSQL schema migration");
    }
    Ok(())
}
