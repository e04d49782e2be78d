//! Deleting and purging a session (issue 15, "everything in the log's care"): a plain delete
//! hides the session and stops serving its images; `?purge=true` removes its data for real —
//! its records are overwritten with placeholders, its images and traces deleted, a
//! `session.purged` event records it — while another session's images stay, the log still
//! verifies and backs up, and nothing of the purged prompt is left in exports or backups.

mod http_common;

use axum::http::StatusCode;
use http_common::TestServer;
use serde_json::json;
use stablesteering::store::{Event, StreamId};

const SECRET: &str = "a private lighthouse 7f3a9c";

async fn session_with_a_round(server: &TestServer, prompt: &str) -> (String, Vec<String>) {
    let sid = server.create_session("winner_only", prompt).await;
    let (status, round) = server
        .send("POST", &format!("/sessions/{sid}/rounds/next"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{round}");
    let urls: Vec<String> = round["image_urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_string())
        .collect();
    assert!(!urls.is_empty());
    (sid, urls)
}

async fn status_of(server: &TestServer, url: &str) -> StatusCode {
    server.send_raw("GET", url, None, "").await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_sessions_images_are_no_longer_served() {
    let server = TestServer::start().await;
    let (sid, urls) = session_with_a_round(&server, "a red circle").await;
    assert_eq!(status_of(&server, &urls[0]).await, StatusCode::OK);
    let (status, _) = server
        .send("DELETE", &format!("/sessions/{sid}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for url in &urls {
        assert_eq!(
            status_of(&server, url).await,
            StatusCode::NOT_FOUND,
            "{url}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_removes_the_sessions_data_and_keeps_everything_else() {
    let server = TestServer::start().await;
    let (kept, kept_urls) = session_with_a_round(&server, "a blue square").await;
    let (sid, urls) = session_with_a_round(&server, SECRET).await;
    let (status, body) = server
        .send(
            "POST",
            "/frontend-events",
            Some(json!({"event": "viewed", "page": "session", "session_id": sid})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = server.state.runtime.data_dir.clone();
    let artifact_files = |urls: &[String]| -> Vec<bool> {
        urls.iter()
            .map(|u| {
                let hash = u.rsplit('/').next().unwrap();
                server.state.services.runner.artifacts().contains(hash)
            })
            .collect()
    };
    assert!(artifact_files(&urls).iter().all(|&present| present));

    let (status, body) = server
        .send("DELETE", &format!("/sessions/{sid}?purge=true"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // Gone from every read model and from disk.
    let (status, _) = server.send("GET", &format!("/sessions/{sid}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(artifact_files(&urls).iter().all(|&present| !present));
    assert!(!stablesteering::traces::session_dir(&data, sid.parse().unwrap()).exists());
    let global = std::fs::read_to_string(stablesteering::traces::frontend::global_path(&data))
        .unwrap_or_default();
    assert!(
        !global.contains(&sid),
        "the global trace still names the session"
    );
    // The other session is untouched.
    let (status, _) = server.send("GET", &format!("/sessions/{kept}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(status_of(&server, &kept_urls[0]).await, StatusCode::OK);

    // The whole-store export no longer holds the prompt; the purge is recorded.
    let (status, bytes) = server
        .send_raw("GET", "/api/export?format=jsonl", None, "")
        .await;
    assert_eq!(status, StatusCode::OK);
    let export = String::from_utf8_lossy(&bytes);
    assert!(
        !export.contains(SECRET),
        "the export still holds the purged prompt"
    );
    assert!(export.contains("event.redacted"));
    let store = &server.state.store;
    let stream = StreamId::Session(sid.parse().unwrap());
    let events = store.stream_events(&stream, 1, 1000).unwrap();
    assert!(matches!(
        events.last().unwrap().event,
        Event::SessionPurged(_)
    ));
    assert!(events[..events.len() - 1]
        .iter()
        .all(|e| matches!(e.event, Event::EventRedacted(_))));

    // Purging again is a 404: there is nothing left to purge.
    let (status, _) = server
        .send("DELETE", &format!("/sessions/{sid}?purge=true"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = server
        .send("DELETE", &format!("/sessions/{kept}?purge=maybe"), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "purge", "{body}");

    // A backup verifies and carries nothing of the prompt.
    let backup = server.dir.path().join("backup.bin");
    let options = stablesteering::store::backup::BackupOptions::default();
    stablesteering::store::backup::backup(server.state.store.as_sled().unwrap(), &backup, options)
        .expect("backup");
    stablesteering::store::backup::verify_backup(&backup).expect("the backup verifies");
    let bytes = std::fs::read(&backup).unwrap();
    let needle = SECRET.as_bytes();
    assert!(
        !bytes.windows(needle.len()).any(|w| w == needle),
        "the backup holds the purged prompt"
    );
}
