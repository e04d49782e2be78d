//! The hostile requests of issue 15, as regression tests through the full router: cross-site
//! posts and DNS-rebinding reads are refused before they touch anything, one small request
//! cannot freeze the server or blow up its memory, and client-set options stay bounded.
//! (The same cross-origin attacks from a real Chromium page: end2end/tests/cross_origin.spec.ts.)

mod http_common;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use engine::image::RgbImage;
use http_common::TestServer;
use serde_json::{json, Value};

fn txt2img_body() -> String {
    json!({"prompt": "a red circle", "width": 64, "height": 64, "steps": 2}).to_string()
}

#[tokio::test]
async fn a_text_plain_post_from_a_page_renders_nothing() {
    let server = TestServer::start().await;
    let before = server.event_count();
    // What `fetch(url, {method: "POST", mode: "no-cors", body})` sends from any page.
    let (status, body) = server
        .send_with(
            "POST",
            "/sdapi/v1/txt2img",
            Some(txt2img_body()),
            &[("content-type", "text/plain;charset=UTF-8")],
        )
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert!(
        body["detail"].as_str().is_some(),
        "A1111 error shape: {body}"
    );
    // A form post to a steering route.
    let (status, body) = server
        .send_with(
            "POST",
            "/setup/session",
            Some("prompt=x".into()),
            &[("content-type", "application/x-www-form-urlencoded")],
        )
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert_eq!(body["field"], "Content-Type", "{body}");
    assert_eq!(
        server.event_count(),
        before,
        "a refused request recorded something"
    );
}

#[tokio::test]
async fn foreign_origins_cannot_change_state_and_ours_can() {
    let server = TestServer::start().await;
    let before = server.event_count();
    let create = json!({"prompt": "a red circle", "config_yaml": http_common::tiny_config_yaml("scalar_rating")}).to_string();
    for (origin, site) in [
        (Some("http://evil.example"), None),
        // Another port of the same machine is another origin (and "same-site").
        (Some("http://127.0.0.1:9999"), None),
        (Some("null"), None),
        (None, Some("cross-site")),
        (None, Some("same-site")),
    ] {
        let mut headers = vec![
            ("host", "127.0.0.1:3000"),
            ("content-type", "application/json"),
        ];
        if let Some(origin) = origin {
            headers.push(("origin", origin));
        }
        if let Some(site) = site {
            headers.push(("sec-fetch-site", site));
        }
        let (status, body) = server
            .send_with("POST", "/setup/session", Some(create.clone()), &headers)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{origin:?} {site:?}: {body}");
        assert_eq!(body["error_code"], "forbidden", "{body}");
    }
    assert_eq!(
        server.event_count(),
        before,
        "a refused request recorded something"
    );
    let (status, body) = server
        .send_with(
            "POST",
            "/setup/session",
            Some(create),
            &[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://127.0.0.1:3000"),
                ("sec-fetch-site", "same-origin"),
                ("content-type", "application/json"),
            ],
        )
        .await;
    assert!(status.is_success(), "our own page: {status} {body}");
    assert!(server.event_count() > before);
}

#[tokio::test]
async fn a_rebound_host_name_reads_nothing() {
    let server = TestServer::start().await;
    server.create_session("scalar_rating", "a red circle").await;
    for path in ["/api/export", "/api/sessions", "/sdapi/v1/options", "/"] {
        let (status, body) = server
            .send_with("GET", path, None, &[("host", "attacker.example:3000")])
            .await;
        assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{path}: {body}");
        let text = body.to_string();
        assert!(!text.contains("a red circle"), "{path} leaked: {text}");
    }
    for host in ["127.0.0.1:3000", "localhost:3000", "[::1]:3000"] {
        let (status, body) = server
            .send_with("GET", "/api/sessions", None, &[("host", host)])
            .await;
        assert_eq!(status, StatusCode::OK, "{host}: {body}");
    }
}

fn png_info_body(png: &[u8]) -> String {
    use base64::Engine as _;
    json!({"image": base64::engine::general_purpose::STANDARD.encode(png)}).to_string()
}

#[tokio::test]
async fn a_decompression_bomb_is_refused_from_its_header() {
    let server = TestServer::start().await;
    // 12000x12000 grey declared in a few hundred bytes (the data is never reached).
    let mut bomb = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bomb, 12_000, 12_000);
        encoder.set_color(png::ColorType::Grayscale);
        let mut writer = encoder.write_header().unwrap();
        writer
            .write_chunk(
                png::chunk::IDAT,
                &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
            )
            .unwrap();
    }
    let body = png_info_body(&bomb);
    let json = [("content-type", "application/json")];
    for path in ["/sdapi/v1/png-info", "/sdapi/v1/img2img"] {
        let body = if path.ends_with("img2img") {
            let image: Value = serde_json::from_str(&body).unwrap();
            json!({"prompt": "x", "init_images": [image["image"]], "steps": 2}).to_string()
        } else {
            body.clone()
        };
        let (status, answer) = server.send_with("POST", path, Some(body), &json).await;
        assert!(status.is_client_error(), "{path}: {status} {answer}");
        assert!(
            answer.to_string().contains("12000x12000"),
            "{path}: {answer}"
        );
    }
}

#[tokio::test]
async fn png_info_of_a_hostile_infotext_answers_at_once() {
    let server = TestServer::start().await;
    // 160 KB of words without a colon: the old parser retried every position (17.5 s).
    let infotext = format!("a prompt\n{}", "word ".repeat(32_000));
    let image = RgbImage {
        width: 2,
        height: 2,
        pixels: vec![0; 12],
    };
    let png = image.to_png(&[("parameters".into(), infotext)]).unwrap();
    let started = Instant::now();
    let (status, body) = server
        .send_with(
            "POST",
            "/sdapi/v1/png-info",
            Some(png_info_body(&png)),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        body["parameters"]["Prompt"]
            .as_str()
            .map(|p| p.starts_with("a prompt")),
        Some(true)
    );
}

#[tokio::test]
async fn client_options_stay_bounded() {
    let server = TestServer::start().await;
    let json = [("content-type", "application/json")];
    let many: serde_json::Map<String, Value> = (0..300)
        .map(|i| (format!("hostile_option_{i}"), json!(i)))
        .collect();
    let (status, body) = server
        .send_with(
            "POST",
            "/sdapi/v1/options",
            Some(Value::Object(many).to_string()),
            &json,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let big = json!({"hostile_big": "x".repeat(10_000)}).to_string();
    let (status, body) = server
        .send_with("POST", "/sdapi/v1/options", Some(big), &json)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.to_string().contains("hostile_big"),
        "names the option: {body}"
    );
    let (_, options) = server.send("GET", "/sdapi/v1/options", None).await;
    let text = options.to_string();
    assert!(!text.contains("hostile_"), "a refused option was kept");
    // A normal option is still remembered.
    let (status, _) = server
        .send_with(
            "POST",
            "/sdapi/v1/options",
            Some(json!({"samples_save": true, "my_tool_flag": 1}).to_string()),
            &json,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, options) = server.send("GET", "/sdapi/v1/options", None).await;
    assert_eq!(options["my_tool_flag"], 1);
}

fn noise_png(side: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_u32;
    let pixels = (0..side * side * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    RgbImage {
        width: side,
        height: side,
        pixels,
    }
    .to_png(&[])
    .unwrap()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn img2img_that_keeps_no_step_is_refused_before_queueing() {
    let server = TestServer::start().await;
    let before = server.event_count();
    let body = json!({"prompt": "x", "init_images": [b64(&noise_png(64))], "steps": 1,
                      "denoising_strength": 0.75, "width": 64, "height": 64});
    let (status, answer) = server
        .send_with(
            "POST",
            "/sdapi/v1/img2img",
            Some(body.to_string()),
            &[("content-type", "application/json")],
        )
        .await;
    assert!(status.is_client_error(), "{status} {answer}");
    assert!(answer.to_string().contains("no denoising step"), "{answer}");
    assert_eq!(server.event_count(), before, "nothing is queued");
}

#[tokio::test]
async fn a_large_init_image_can_be_echoed_back() {
    let server = TestServer::start().await;
    // ~1 MB of base64: stored inline in the job's snapshot it broke the log's record limit.
    let image = b64(&noise_png(640));
    assert!(image.len() > 1 << 20);
    let body = json!({"prompt": "x", "init_images": [image.clone()], "steps": 2,
                      "denoising_strength": 0.75, "width": 64, "height": 64,
                      "include_init_images": true});
    let (status, answer) = server
        .send_with(
            "POST",
            "/sdapi/v1/img2img",
            Some(body.to_string()),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer["parameters"]["init_images"][0].as_str(),
        Some(image.as_str())
    );
    assert_eq!(answer["images"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn work_over_the_cpu_budget_is_refused_with_what_to_change() {
    let server = TestServer::start().await;
    let before = server.event_count();
    let body = json!({"prompt": "x", "width": 2048, "height": 2048, "steps": 100});
    let (status, answer) = server
        .send_with(
            "POST",
            "/sdapi/v1/txt2img",
            Some(body.to_string()),
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(answer.to_string().contains("megapixel-steps"), "{answer}");
    let yaml = "image_size: 2048x2048\nnum_inference_steps: 100\ncandidate_count: 8\n";
    let (status, answer) = server
        .send(
            "POST",
            "/setup/session",
            Some(json!({"prompt": "x", "config_yaml": yaml})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["field"], "num_inference_steps", "{answer}");
    assert_eq!(server.event_count(), before);
}

#[tokio::test]
async fn sizes_left_out_are_the_models_own_everywhere() {
    let server = TestServer::start().await;
    let native = server.state.services.runner.model().default_size;
    let (status, created) = server
        .send(
            "POST",
            "/setup/session",
            Some(json!({"prompt": "a red circle"})),
        )
        .await;
    assert!(status.is_success(), "{created}");
    let text = created.to_string();
    assert!(
        text.contains(&format!("{native}x{native}")),
        "session size: {text}"
    );
    let (status, answer) = server
        .send(
            "POST",
            "/sdapi/v1/txt2img",
            Some(json!({"prompt": "x", "steps": 2})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let info: Value = serde_json::from_str(answer["info"].as_str().unwrap()).unwrap();
    assert_eq!(info["width"], native);
    assert_eq!(answer["parameters"]["width"], native);
}

#[tokio::test]
async fn a_yaml_alias_bomb_is_refused_at_once() {
    let server = TestServer::start().await;
    let mut yaml = String::from("a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
    for (name, prev) in ["b", "c", "d", "e", "f", "g", "h", "i"]
        .iter()
        .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
    {
        yaml.push_str(&format!("{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
    }
    let started = Instant::now();
    let (status, answer) = server
        .send(
            "POST",
            "/setup/session",
            Some(json!({"prompt": "x", "config_yaml": yaml})),
        )
        .await;
    assert!(status.is_client_error(), "{status} {answer}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn one_client_in_a_loop_gets_429_and_others_do_not() {
    let server = TestServer::start_with(|runtime| {
        runtime.rate_limiter = stablesteering::http::rate_limit::RateLimiter::new(5);
    })
    .await;
    let looping: std::net::SocketAddr = "10.1.1.1:40000".parse().unwrap();
    let mut statuses = Vec::new();
    for _ in 0..15 {
        statuses.push(server.get_from(looping, "/api/health").await);
    }
    let admitted = statuses
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .count();
    assert_eq!(admitted, 10, "a burst of twice the rate: {statuses:?}");
    let (status, retry) = &statuses[14];
    assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry.as_deref(), Some("1"));
    let other: std::net::SocketAddr = "10.1.1.2:40000".parse().unwrap();
    assert_eq!(
        server.get_from(other, "/api/health").await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_retried_post_with_an_idempotency_key_creates_one_session() {
    let server = TestServer::start().await;
    let body = json!({"prompt": "a red circle",
                      "config_yaml": http_common::tiny_config_yaml("winner_only")})
    .to_string();
    let count = |list: &Value| list.as_array().map_or(0, Vec::len);
    let (_, before) = server.send("GET", "/api/sessions", None).await;
    let with_key = |key: &'static str| {
        [
            ("content-type", "application/json"),
            ("idempotency-key", key),
        ]
    };
    let (status, first) = server
        .send_with(
            "POST",
            "/setup/session",
            Some(body.clone()),
            &with_key("create-1"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, again) = server
        .send_with(
            "POST",
            "/setup/session",
            Some(body.clone()),
            &with_key("create-1"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        again, first,
        "the retry answers what the first request answered"
    );
    let (_, after) = server.send("GET", "/api/sessions", None).await;
    assert_eq!(count(&after), count(&before) + 1, "one session, not two");
    // Another key is another request.
    let (_, other) = server
        .send_with(
            "POST",
            "/setup/session",
            Some(body.clone()),
            &with_key("create-2"),
        )
        .await;
    assert_ne!(other["session"]["id"], first["session"]["id"]);
    // The same key on another route, or a malformed key, is refused.
    let (status, answer) = server
        .send_with(
            "POST",
            "/sessions",
            Some(body.clone()),
            &with_key("create-1"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["field"], "Idempotency-Key");
    let (status, answer) = server
        .send_with(
            "POST",
            "/setup/session",
            Some(body),
            &with_key("has a space"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
}

#[tokio::test]
async fn bad_query_strings_get_our_json_error_naming_the_parameter() {
    let server = TestServer::start().await;
    let (status, body) = server.send("GET", "/api/jobs?limit=many", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error_code"], "invalid_input", "{body}");
    assert_eq!(body["field"], "limit", "{body}");
    let (status, body) = server.send("GET", "/api/jobs?limit=-1", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "limit", "{body}");
}

#[tokio::test]
async fn idempotency_refusals_on_a1111_routes_carry_a1111_errors() {
    let server = TestServer::start().await;
    let (status, body) = server
        .send_with(
            "POST",
            "/sdapi/v1/options",
            Some("{}".into()),
            &[("idempotency-key", "k1")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The same key on another route: refused, in A1111's HTTPException shape.
    let (status, body) = server
        .send_with(
            "POST",
            "/sdapi/v1/interrupt",
            None,
            &[("idempotency-key", "k1")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["detail"].as_str().is_some(), "{body}");
    assert!(body.get("error_code").is_none(), "{body}");
}
