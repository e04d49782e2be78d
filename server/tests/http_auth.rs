//! `serve --auth token` through the full router: without a valid token nothing but the health
//! probe and the login page answers (401 in our shape, A1111's under /sdapi/v1, a redirect to
//! /login for pages); Bearer tokens, A1111 Basic auth (a token as password, or --api-auth) and
//! the login cookie all work; a revoked token stops working at once; a recorded idempotent
//! answer is never replayed to an unauthenticated caller.

mod http_common;

use axum::http::{header, StatusCode};
use base64::Engine as _;
use http_common::TestServer;
use serde_json::{json, Value};
use stablesteering::http::auth::{AuthMode, AuthPolicy};
use stablesteering::services::tokens;

async fn server() -> (TestServer, String) {
    let server = TestServer::start_with(|runtime| {
        runtime.auth = AuthPolicy {
            mode: AuthMode::Token,
            api_auth: Some(("webui".into(), "longsecret1".into())),
            secure_cookie: false,
        };
    })
    .await;
    let secret = token(&server, "tester", false).await;
    (server, secret)
}

async fn token(server: &TestServer, user: &str, admin: bool) -> String {
    let spec = tokens::TokenSpec {
        user: user.into(),
        admin,
        label: String::new(),
    };
    tokens::create(&server.state.store, &spec)
        .await
        .unwrap()
        .secret
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or(Value::Null)
}

fn basic(user_pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(user_pass)
    )
}

#[tokio::test]
async fn without_a_token_only_health_and_login_answer() {
    let (server, _) = server().await;
    let (status, headers, body) = server.request("GET", "/api/sessions", None, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(&body)["error_code"], "unauthorized");
    assert!(headers[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let (status, headers, body) = server.request("GET", "/sdapi/v1/options", None, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(json_of(&body)["detail"].is_string(), "A1111 shape");
    assert!(headers[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    let before = server.event_count();
    let create = json!({"prompt": "x", "config": {}}).to_string();
    let (status, _, _) = server
        .request(
            "POST",
            "/sessions",
            Some(create),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        server.event_count(),
        before,
        "a refused request recorded something"
    );
    // A page goes to the login form, which answers.
    let (status, headers, _) = server
        .request("GET", "/sessions/abc?x=1", None, &[("accept", "text/html")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "/login?next=/sessions/abc%3Fx%3D1"
    );
    let (status, _, body) = server.request("GET", "/login", None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).contains("name=\"token\""));
    let (status, _, _) = server.request("GET", "/api/health", None, &[]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn bearer_basic_and_api_auth_credentials_work_and_wrong_ones_do_not() {
    let (server, secret) = server().await;
    let bearer = format!("Bearer {secret}");
    let (status, _, _) = server
        .request("GET", "/api/sessions", None, &[("authorization", &bearer)])
        .await;
    assert_eq!(status, StatusCode::OK);
    for good in [
        basic(&format!("anyone:{secret}")),
        basic("webui:longsecret1"),
    ] {
        let (status, _, _) = server
            .request(
                "GET",
                "/sdapi/v1/sd-models",
                None,
                &[("authorization", &good)],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{good}");
    }
    for bad in [
        format!("Bearer {secret}x"),
        "Bearer sst_".to_string(),
        basic("webui:wrongsecret"),
        basic(&format!("{secret}:")),
    ] {
        let (status, _, _) = server
            .request("GET", "/api/sessions", None, &[("authorization", &bad)])
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}");
    }
}

#[tokio::test]
async fn the_login_form_sets_a_cookie_that_authenticates() {
    let (server, secret) = server().await;
    let form = format!("token={secret}&next=%2Fsessions");
    let urlencoded = [("content-type", "application/x-www-form-urlencoded")];
    let (status, headers, _) = server
        .request("POST", "/login", Some(form), &urlencoded)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/sessions");
    let cookie = headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_string();
    let (status, _, _) = server
        .request("GET", "/api/sessions", None, &[("cookie", &pair)])
        .await;
    assert_eq!(status, StatusCode::OK);
    // A wrong token: the form again, no cookie; an outside `next` is not followed.
    let (status, headers, _) = server
        .request("POST", "/login", Some("token=nope".into()), &urlencoded)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.get(header::SET_COOKIE).is_none());
    let form = format!("token={secret}&next=%2F%2Fevil.example");
    let (_, headers, _) = server
        .request("POST", "/login", Some(form), &urlencoded)
        .await;
    assert_eq!(headers[header::LOCATION], "/");
    // Another site's page cannot post the form (Origin check), even with a good token.
    let form = format!("token={secret}");
    let foreign = [
        ("content-type", "application/x-www-form-urlencoded"),
        ("origin", "http://evil.example"),
        ("host", "127.0.0.1:3000"),
    ];
    let (status, _, _) = server.request("POST", "/login", Some(form), &foreign).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn tokens_are_managed_over_http_and_revocation_is_immediate() {
    let (server, secret) = server().await;
    let bearer = format!("Bearer {secret}");
    let auth = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
    ];
    let (status, _, body) = server
        .request(
            "POST",
            "/api/tokens",
            Some(json!({"label": "script"}).to_string()),
            &auth,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let created = json_of(&body);
    let second = format!("Bearer {}", created["secret"].as_str().unwrap());
    let (_, _, body) = server.request("GET", "/api/tokens", None, &auth).await;
    let listed = json_of(&body);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(
        !listed.to_string().contains("sst_"),
        "a secret was listed: {listed}"
    );
    let id = created["token_id"].as_str().unwrap();
    let (status, _, _) = server
        .request("DELETE", &format!("/api/tokens/{id}"), None, &auth)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = server
        .request("GET", "/api/sessions", None, &[("authorization", &second)])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Only hashes are in the log (the whole-store export is an admin's).
    let root = format!("Bearer {}", token(&server, "root", true).await);
    let (_, _, bytes) = server
        .request(
            "GET",
            "/api/export?format=jsonl",
            None,
            &[("authorization", &root)],
        )
        .await;
    let export = String::from_utf8_lossy(&bytes);
    assert!(export.contains("token.created"));
    assert!(!export.contains(&secret), "a secret is in the log");
}

#[tokio::test]
async fn a_recorded_answer_is_not_replayed_to_an_unauthenticated_caller() {
    let (server, secret) = server().await;
    let bearer = format!("Bearer {secret}");
    let body = json!({"prompt": "x", "config": {}}).to_string();
    let keyed = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/json"),
        ("idempotency-key", "k-auth"),
    ];
    let (status, _, _) = server
        .request("POST", "/sessions", Some(body.clone()), &keyed)
        .await;
    assert_eq!(status, StatusCode::OK);
    let anonymous = [
        ("content-type", "application/json"),
        ("idempotency-key", "k-auth"),
    ];
    let (status, _, bytes) = server
        .request("POST", "/sessions", Some(body), &anonymous)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!String::from_utf8_lossy(&bytes).contains("\"prompt\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_see_only_their_own_sessions_and_admins_see_all() {
    let (server, _) = server().await;
    let alice = format!("Bearer {}", token(&server, "alice", false).await);
    let bob = format!("Bearer {}", token(&server, "bob", false).await);
    let admin = format!("Bearer {}", token(&server, "root", true).await);
    let as_user = |who: &str| -> Vec<(&'static str, String)> {
        vec![
            ("authorization", who.to_string()),
            ("content-type", "application/json".to_string()),
        ]
    };
    let call = |method: &'static str, path: String, who: String, body: Option<String>| {
        let server = &server;
        async move {
            let headers = as_user(&who);
            let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, _, bytes) = server.request(method, &path, body, &refs).await;
            (status, json_of(&bytes))
        }
    };
    let yaml = http_common::tiny_config_yaml("winner_only");
    let create = json!({"prompt": "alice's lighthouse", "config_yaml": yaml}).to_string();
    let (status, created) =
        call("POST", "/setup/session".into(), alice.clone(), Some(create)).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let sid = created["session"]["id"].as_str().unwrap().to_string();
    let (status, job) = call(
        "POST",
        format!("/sessions/{sid}/rounds/next/async"),
        alice.clone(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job_id = job["job_id"].as_str().unwrap().to_string();
    server.wait_job(&job_id).await;

    // Bob sees nothing of it, on any route, and cannot change it.
    for path in [
        format!("/sessions/{sid}"),
        format!("/api/sessions/{sid}"),
        format!("/sessions/{sid}/replay"),
        format!("/sessions/{sid}/trace-report"),
        format!("/api/sessions/{sid}/export"),
        format!("/jobs/{job_id}"),
    ] {
        let (status, _) = call("GET", path.clone(), bob.clone(), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "bob read {path}");
    }
    let (_, list) = call("GET", "/sessions".into(), bob.clone(), None).await;
    assert_eq!(list.as_array().unwrap().len(), 0, "{list}");
    let (_, jobs) = call("GET", "/api/jobs".into(), bob.clone(), None).await;
    assert_eq!(jobs.as_array().unwrap().len(), 0, "{jobs}");
    let fork = json!({"round": 1}).to_string();
    let (status, _) = call(
        "POST",
        format!("/api/sessions/{sid}/fork"),
        bob.clone(),
        Some(fork.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call("DELETE", format!("/sessions/{sid}"), bob.clone(), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call("GET", "/api/export?format=jsonl".into(), bob.clone(), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let grant = json!({"label": "x", "user": "alice"}).to_string();
    let (status, _) = call("POST", "/api/tokens".into(), bob.clone(), Some(grant)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Alice sees it and her fork is hers; the admin sees both.
    let (_, list) = call("GET", "/sessions".into(), alice.clone(), None).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let (status, child) = call(
        "POST",
        format!("/api/sessions/{sid}/fork"),
        alice.clone(),
        Some(fork),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{child}");
    let child_id = child["id"].as_str().unwrap().to_string();
    let (status, _) = call("GET", format!("/sessions/{child_id}"), bob.clone(), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = call("GET", "/api/sessions".into(), admin.clone(), None).await;
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    let (status, _) = call(
        "GET",
        "/api/export?format=jsonl".into(),
        admin.clone(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call("DELETE", format!("/sessions/{child_id}"), admin, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_log_in_with_a_password_and_logout_ends_that_login() {
    let server = TestServer::start_with(|runtime| {
        runtime.auth = AuthPolicy {
            mode: AuthMode::Accounts,
            api_auth: None,
            secure_cookie: true,
        };
    })
    .await;
    let store = server.state.store.clone();
    tokio::task::spawn_blocking(move || {
        stablesteering::services::passwords::set_blocking(&store, "ada", false, "correct horse")
    })
    .await
    .unwrap()
    .unwrap();
    let urlencoded = [("content-type", "application/x-www-form-urlencoded")];
    let (_, _, page) = server.request("GET", "/login", None, &[]).await;
    assert!(String::from_utf8_lossy(&page).contains("name=\"password\""));
    let (status, headers, _) = server
        .request(
            "POST",
            "/login",
            Some("user=ada&password=wrong+horse".into()),
            &urlencoded,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.get(header::SET_COOKIE).is_none());
    let (status, headers, _) = server
        .request(
            "POST",
            "/login",
            Some("user=ada&password=correct+horse".into()),
            &urlencoded,
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie = headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(cookie.contains("; Secure"), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_string();
    let (status, _, _) = server
        .request("GET", "/api/sessions", None, &[("cookie", &pair)])
        .await;
    assert_eq!(status, StatusCode::OK);
    // Logout revokes that login's token (a pasted API token would be left alone).
    let with_cookie = [("cookie", pair.as_str())];
    let (status, _, _) = server.request("POST", "/logout", None, &with_cookie).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, _) = server
        .request("GET", "/api/sessions", None, &with_cookie)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The log holds an Argon2 hash, never the password.
    let admin = format!("Bearer {}", token(&server, "root", true).await);
    let (_, _, bytes) = server
        .request(
            "GET",
            "/api/export?format=jsonl",
            None,
            &[("authorization", &admin)],
        )
        .await;
    let export = String::from_utf8_lossy(&bytes);
    assert!(export.contains("password.set") && export.contains("argon2id"));
    assert!(!export.contains("correct horse"));
}
