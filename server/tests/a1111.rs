//! The A1111-compatible API (`/sdapi/v1/*`) in-process, with the bundled tiny model on the CPU:
//! deterministic txt2img, the PNG chunks, the job record and its single runner invocation,
//! img2img, progress/interrupt/skip on the caller's job, the discovery endpoints, png-info,
//! and the A1111 error shapes.

mod http_common;

use axum::http::StatusCode;
use base64::Engine as _;
use engine::image::RgbImage;
use http_common::TestServer;
use serde_json::{json, Value};

fn b64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("raw base64")
}

fn info_of(body: &Value) -> Value {
    serde_json::from_str(body["info"].as_str().expect("info is a JSON string")).expect("info")
}

fn tiny_txt2img(seed: i64) -> Value {
    json!({
        "prompt": "a lighthouse at dusk",
        "negative_prompt": "blurry",
        "seed": seed,
        "width": 64,
        "height": 64,
        "steps": 3,
        "sampler_name": "Euler",
        "cfg_scale": 7,
        "override_settings": {},
        "hr_upscaler": "Latent",
        "alwayson_scripts": {},
        "subseed": null,
    })
}

/// Everything that generates or touches the process-wide options runs in this one test, in
/// order, so the options cannot change under a concurrent generation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a1111_generation_end_to_end() {
    let server = TestServer::start().await;

    // txt2img twice with a fixed seed: the same bytes.
    let (status, first) = server
        .send("POST", "/sdapi/v1/txt2img", Some(tiny_txt2img(1234)))
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, second) = server
        .send("POST", "/sdapi/v1/txt2img", Some(tiny_txt2img(1234)))
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let images = first["images"].as_array().expect("images");
    assert_eq!(images.len(), 1);
    assert_eq!(first["images"], second["images"], "same seed, same bytes");
    let image = images[0].as_str().expect("base64");
    assert!(!image.starts_with("data:"), "raw base64, no data: prefix");
    let png = b64(image);

    // The PNG carries A1111's parameters and our own chunk.
    let (decoded, chunks) = RgbImage::from_png(&png).expect("png");
    assert_eq!((decoded.width, decoded.height), (64, 64));
    let chunk = |k: &str| {
        chunks
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {k} chunk"))
    };
    let parameters = chunk("parameters");
    assert!(
        parameters
            .starts_with("a lighthouse at dusk\nNegative prompt: blurry\nSteps: 3, Sampler: Euler"),
        "{parameters}"
    );
    assert!(parameters.contains("Seed: 1234"), "{parameters}");
    let ours: Value = serde_json::from_str(&chunk("stablesteering")).expect("json chunk");
    assert_eq!(ours["seed"], 1234);
    assert_eq!(ours["snapshot"]["kind"], "txt2img");
    assert_eq!(ours["snapshot"]["scheduler"], "euler");
    assert_eq!(
        ours["snapshot"]["context"]["a1111_request"]["prompt"],
        "a lighthouse at dusk"
    );
    assert!(ours["snapshot"]["context"]["client"].is_string());

    // info: a JSON string with A1111's keys.
    let info = info_of(&first);
    for key in [
        "prompt",
        "all_prompts",
        "negative_prompt",
        "all_negative_prompts",
        "seed",
        "all_seeds",
        "subseed",
        "all_subseeds",
        "subseed_strength",
        "width",
        "height",
        "sampler_name",
        "cfg_scale",
        "steps",
        "batch_size",
        "sd_model_name",
        "sd_model_hash",
        "denoising_strength",
        "index_of_first_image",
        "infotexts",
        "job_timestamp",
        "clip_skip",
        "version",
    ] {
        assert!(info.get(key).is_some(), "info lacks {key}: {info}");
    }
    assert_eq!(info["seed"], 1234);
    assert_eq!(info["all_seeds"], json!([1234]));
    assert_eq!(info["infotexts"][0], json!(parameters));
    assert_eq!(info["job_timestamp"].as_str().map(str::len), Some(14));
    assert_eq!(first["parameters"]["steps"], 3);
    assert_eq!(first["parameters"]["batch_size"], 1, "defaults filled in");

    // The job is recorded and went through the runner exactly once.
    let job_id = info["job_id"].as_str().expect("job id").to_string();
    let jobs = server.state.services.list_jobs(None, 10);
    let job = jobs
        .iter()
        .find(|j| j.id.to_string() == job_id)
        .expect("the job is listed");
    assert_eq!(job.operation, "txt2img");
    assert_eq!(job.state, "succeeded");
    assert_eq!(job.runner_invocations, 1);

    // A batch: seeds go up by one per image, like A1111.
    let mut batch = tiny_txt2img(10);
    batch["batch_size"] = json!(2);
    batch["n_iter"] = json!(1);
    batch["sampler_name"] = json!("DPM++ 2M");
    batch["scheduler"] = json!("Karras");
    let (status, body) = server.send("POST", "/sdapi/v1/txt2img", Some(batch)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["images"].as_array().map(Vec::len), Some(2));
    let info = info_of(&body);
    assert_eq!(info["all_seeds"], json!([10, 11]));
    assert!(info["infotexts"][1]
        .as_str()
        .unwrap()
        .contains("Schedule type: Karras"));

    // img2img from the first image (webuiapi sends a data: prefix); null size adopts the image's.
    let (status, body) = server
        .send(
            "POST",
            "/sdapi/v1/img2img",
            Some(json!({
                "init_images": [format!("data:image/png;base64,{image}")],
                "prompt": "a lighthouse at night",
                "denoising_strength": 0.5,
                "seed": 5,
                "steps": 4,
                "width": null,
                "height": null,
                "sampler_name": "Euler a",
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let out = b64(body["images"][0].as_str().expect("image"));
    let (img, chunks) = RgbImage::from_png(&out).expect("png");
    assert_eq!((img.width, img.height), (64, 64));
    let text = &chunks
        .iter()
        .find(|(k, _)| k == "parameters")
        .expect("parameters")
        .1;
    assert!(text.contains("Denoising strength: 0.5"), "{text}");
    assert_eq!(body["parameters"]["init_images"], Value::Null, "not echoed");
    let info = info_of(&body);
    assert_eq!(info["denoising_strength"], 0.5);
    let jobs = server.state.services.list_jobs(None, 1);
    assert_eq!(jobs[0].operation, "img2img");
    assert_eq!(jobs[0].runner_invocations, 1);

    // A different requested size is fitted ("Just resize").
    let (status, body) = server
        .send(
            "POST",
            "/sdapi/v1/img2img",
            Some(json!({"init_images": [image], "width": 48, "height": 32, "steps": 2, "seed": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (img, _) = RgbImage::from_png(&b64(body["images"][0].as_str().unwrap())).unwrap();
    assert_eq!((img.width, img.height), (48, 32));

    // png-info round trip.
    let (status, body) = server
        .send(
            "POST",
            "/sdapi/v1/png-info",
            Some(json!({"image": format!("data:image/png;base64,{image}")})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["info"], json!(parameters));
    assert_eq!(body["parameters"]["Prompt"], "a lighthouse at dusk");
    assert_eq!(body["parameters"]["Negative prompt"], "blurry");
    assert_eq!(body["parameters"]["Seed"], "1234");
    assert_eq!(body["parameters"]["Steps"], "3");
    assert_eq!(body["parameters"]["Size-1"], "64");
    assert!(body["items"]["stablesteering"].is_string());

    // Options: remembered process-wide and used by later requests.
    let (status, options) = server.send("GET", "/sdapi/v1/options", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(options["samples_format"], "png");
    assert_eq!(options["CLIP_stop_at_last_layers"], 1);
    let (status, models) = server.send("GET", "/sdapi/v1/sd-models", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(options["sd_model_checkpoint"], models[0]["title"]);
    assert_eq!(options["sd_checkpoint_hash"], models[0]["sha256"]);
    let (status, bytes) = server
        .send_raw(
            "POST",
            "/sdapi/v1/options",
            Some(r#"{"CLIP_stop_at_last_layers": 2, "sd_model_checkpoint": null}"#.into()),
            "application/json",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, b"null");
    let (_, options) = server.send("GET", "/sdapi/v1/options", None).await;
    assert_eq!(options["CLIP_stop_at_last_layers"], 2);
    let (status, body) = server
        .send("POST", "/sdapi/v1/txt2img", Some(tiny_txt2img(3)))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let info = info_of(&body);
    assert_eq!(info["clip_skip"], 2);
    assert!(info["infotexts"][0]
        .as_str()
        .unwrap()
        .contains("Clip skip: 2"));
    let (status, _) = server
        .send(
            "POST",
            "/sdapi/v1/options",
            Some(json!({"CLIP_stop_at_last_layers": 1, "sd_model_checkpoint": models[0]["title"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = server
        .send(
            "POST",
            "/sdapi/v1/options",
            Some(json!({"sd_model_checkpoint": "v1-5-pruned.safetensors [6ce0161689]"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Interrupt stops the caller's running job; the request answers without images.
    let router = server.router.clone();
    let long = {
        let mut r = tiny_txt2img(9);
        r["steps"] = json!(150);
        r
    };
    let request = tokio::spawn(async move {
        use tower::ServiceExt;
        let req = axum::http::Request::post("/sdapi/v1/txt2img")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(long.to_string()))
            .unwrap();
        let res = router.oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = http_body_util::BodyExt::collect(res.into_body())
            .await
            .unwrap()
            .to_bytes();
        (status, serde_json::from_slice::<Value>(&bytes).unwrap())
    });
    let mut seen_running = false;
    let mut last = Value::Null;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::time::Instant::now() < deadline && !request.is_finished() {
        let (_, p) = server.send("GET", "/sdapi/v1/progress", None).await;
        if p["state"]["job_count"] == 1 && p["state"]["sampling_step"].as_u64().unwrap_or(0) > 0 {
            assert!(p["progress"].as_f64().unwrap() > 0.01, "{p}");
            assert_eq!(p["state"]["job"], "txt2img");
            seen_running = true;
            break;
        }
        last = p;
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    if !seen_running && request.is_finished() {
        panic!("the long job ended before it was seen: {:?}", request.await);
    }
    assert!(seen_running, "the long job was never seen running: {last}");
    let (status, body) = server.send("POST", "/sdapi/v1/interrupt", None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    let (status, body) = request.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["images"], json!([]));
    assert_eq!(info_of(&body)["interrupted"], true);
    let jobs = server.state.services.list_jobs(None, 1);
    assert_eq!(jobs[0].state, "cancelled");

    // Idle again.
    let (_, p) = server
        .send("GET", "/sdapi/v1/progress?skip_current_image=true", None)
        .await;
    assert_eq!(p["progress"], 0.0);
    assert_eq!(p["state"]["job_count"], 0);
}

#[tokio::test]
async fn a1111_discovery_and_errors() {
    let server = TestServer::start().await;

    let (status, samplers) = server.send("GET", "/sdapi/v1/samplers", None).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = samplers
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for name in ["DPM++ 2M", "Euler a", "Euler", "LMS", "DDIM", "PLMS"] {
        assert!(names.contains(&name), "{names:?}");
    }
    assert!(samplers[0]["aliases"].is_array() && samplers[0]["options"].is_object());

    let (_, schedulers) = server.send("GET", "/sdapi/v1/schedulers", None).await;
    let names: Vec<&str> = schedulers
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["automatic", "karras"]);
    for key in ["label", "aliases", "default_rho", "need_inner_model"] {
        assert!(schedulers[0].get(key).is_some(), "{key}");
    }

    let (_, models) = server.send("GET", "/sdapi/v1/sd-models", None).await;
    let model = &models[0];
    let short = model["hash"].as_str().unwrap();
    assert_eq!(short.len(), 10);
    assert_eq!(
        model["title"],
        json!(format!(
            "{} [{short}]",
            model["model_name"].as_str().unwrap()
        ))
    );
    assert!(model["sha256"].as_str().unwrap().starts_with(short));

    let (_, scripts) = server.send("GET", "/sdapi/v1/scripts", None).await;
    assert_eq!(scripts, json!({"txt2img": [], "img2img": []}));
    let (_, embeddings) = server.send("GET", "/sdapi/v1/embeddings", None).await;
    assert_eq!(embeddings, json!({"loaded": {}, "skipped": {}}));
    for path in ["sd-vae", "upscalers", "loras"] {
        let (status, body) = server.send("GET", &format!("/sdapi/v1/{path}"), None).await;
        assert_eq!((status, body), (StatusCode::OK, json!([])), "{path}");
    }
    let (_, memory) = server.send("GET", "/sdapi/v1/memory", None).await;
    assert!(memory["ram"]["total"].is_number());
    let (_, flags) = server.send("GET", "/sdapi/v1/cmd-flags", None).await;
    assert!(flags.is_object());

    // Idle progress; skip answers JSON null (never an empty body).
    let (_, p) = server.send("GET", "/sdapi/v1/progress", None).await;
    assert_eq!(p["progress"], 0.0);
    assert_eq!(p["state"]["job_count"], 0);
    let (status, bytes) = server
        .send_raw("POST", "/sdapi/v1/skip", None, "application/json")
        .await;
    assert_eq!(
        (status, bytes.as_slice()),
        (StatusCode::OK, b"null".as_slice())
    );

    // Unknown sampler: 400 in A1111's error shape.
    let (status, body) = server
        .send(
            "POST",
            "/sdapi/v1/txt2img",
            Some(json!({"sampler_name": "Heun", "steps": 2})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    for key in ["error", "detail", "body", "errors"] {
        assert!(body.get(key).is_some(), "{key}: {body}");
    }
    // Wrong type: 422 naming the field.
    let (status, body) = server
        .send(
            "POST",
            "/sdapi/v1/txt2img",
            Some(json!({"steps": "many", "width": 64})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "steps"]));
    // Malformed JSON: 422 too.
    let (status, _) = server
        .send_raw(
            "POST",
            "/sdapi/v1/txt2img",
            Some("{".into()),
            "application/json",
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // A size the engine refuses: 422 naming it.
    let (status, body) = server
        .send(
            "POST",
            "/sdapi/v1/txt2img",
            Some(json!({"width": 63, "height": 64, "steps": 2})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "width"]));
    // Another model: refused.
    let (status, body) = server
        .send(
            "POST",
            "/sdapi/v1/txt2img",
            Some(json!({"steps": 2, "override_settings": {"sd_model_checkpoint": "sdxl"}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // img2img without an init image: 404 "Init image not found".
    let (status, body) = server
        .send(
            "POST",
            "/sdapi/v1/img2img",
            Some(json!({"init_images": null, "steps": 2})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["detail"], "Init image not found");
    // Nothing of that was queued.
    assert!(server.state.services.list_jobs(None, 10).is_empty());
}
