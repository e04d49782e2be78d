//! A1111 fields this server does not implement: sent with their default (or off) value they
//! are accepted, as every A1111 client sends the whole payload; asked to do anything, the
//! request is refused with a 422 naming the field, never rendered as if the field were absent.
//! (An inpainting request would otherwise come back as a full img2img without a word.)

use serde_json::{Map, Value};

use super::errors::Fields;

/// One field, when it asks for something, and why that cannot be done here.
struct Unimplemented {
    field: &'static str,
    asks: fn(&Value) -> bool,
    why: &'static str,
}

fn is_true(v: &Value) -> bool {
    v.as_bool() == Some(true)
}

fn nonzero(v: &Value) -> bool {
    v.as_f64().is_some_and(|x| x != 0.0)
}

fn positive(v: &Value) -> bool {
    v.as_f64().is_some_and(|x| x > 0.0)
}

fn not_one(v: &Value) -> bool {
    v.as_f64().is_some_and(|x| x != 1.0)
}

fn non_empty(v: &Value) -> bool {
    match v {
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => false,
    }
}

/// `alwayson_scripts` with a script that is switched on: an entry whose `args` is neither
/// empty nor `[false]` (how clients say "installed, off").
fn enables_a_script(v: &Value) -> bool {
    let Some(scripts) = v.as_object() else {
        return false;
    };
    scripts.values().any(|entry| {
        let args = entry.get("args").and_then(Value::as_array);
        !matches!(
            args.map(Vec::as_slice),
            None | Some([]) | Some([Value::Bool(false)])
        )
    })
}

const BOTH: &[Unimplemented] = &[
    Unimplemented {
        field: "enable_hr",
        asks: is_true,
        why: "the hires fix is not implemented here; render at the size you want",
    },
    Unimplemented {
        field: "restore_faces",
        asks: is_true,
        why: "face restoration is not implemented here",
    },
    Unimplemented {
        field: "tiling",
        asks: is_true,
        why: "tiling is not implemented here",
    },
    Unimplemented {
        field: "subseed_strength",
        asks: positive,
        why: "variation seeds are not implemented here; use 0",
    },
    Unimplemented {
        field: "seed_resize_from_h",
        asks: positive,
        why: "resizing seeds from another size is not implemented here; use -1 or 0",
    },
    Unimplemented {
        field: "seed_resize_from_w",
        asks: positive,
        why: "resizing seeds from another size is not implemented here; use -1 or 0",
    },
    Unimplemented {
        field: "styles",
        asks: non_empty,
        why: "prompt styles are not stored here; put the text in the prompt",
    },
    Unimplemented {
        field: "script_name",
        asks: non_empty,
        why: "scripts are not implemented here",
    },
    Unimplemented {
        field: "alwayson_scripts",
        asks: enables_a_script,
        why: "extensions (ControlNet, ADetailer, …) are not implemented here; send {} or \
              leave them off",
    },
    Unimplemented {
        field: "refiner_checkpoint",
        asks: non_empty,
        why: "a refiner model is not implemented here",
    },
    Unimplemented {
        field: "s_churn",
        asks: nonzero,
        why: "sampler noise settings are not implemented here; use 0",
    },
    Unimplemented {
        field: "s_tmin",
        asks: nonzero,
        why: "sampler noise settings are not implemented here; use 0",
    },
    Unimplemented {
        field: "s_noise",
        asks: not_one,
        why: "sampler noise settings are not implemented here; use 1",
    },
];

const IMG2IMG: &[Unimplemented] = &[
    Unimplemented {
        field: "mask",
        asks: non_empty,
        why: "inpainting is not implemented here yet; send img2img without a mask",
    },
    Unimplemented {
        field: "resize_mode",
        asks: nonzero,
        why: "only resize mode 0 (just resize) is implemented here",
    },
    Unimplemented {
        field: "initial_noise_multiplier",
        asks: not_one,
        why: "an initial noise multiplier is not implemented here; use 1",
    },
];

/// Record a refusal in `f` for every field of `body` that asks for something not implemented.
pub fn refuse_unimplemented(f: &mut Fields<'_>, body: &Map<String, Value>, img2img: bool) {
    let fields = BOTH.iter().chain(if img2img { IMG2IMG } else { &[] });
    for u in fields {
        if body.get(u.field).is_some_and(|v| (u.asks)(v)) {
            f.reject(u.field, u.why);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::errors::A1111Error;
    use super::*;

    /// The fields refused for `body`.
    fn refused(body: Value, img2img: bool) -> Vec<String> {
        let map = body.as_object().unwrap().clone();
        let mut f = Fields::new(&map);
        refuse_unimplemented(&mut f, &map, img2img);
        match f.finish() {
            Ok(()) => Vec::new(),
            Err(A1111Error::Validation(items)) => items
                .iter()
                .map(|i| i["loc"][1].as_str().unwrap_or_default().to_string())
                .collect(),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_full_default_payload_passes_and_each_request_for_more_is_named() {
        let webuiapi_defaults = json!({
            "enable_hr": false, "restore_faces": false, "tiling": false,
            "subseed_strength": 0.0, "seed_resize_from_h": 0, "seed_resize_from_w": 0,
            "styles": [], "script_name": null, "script_args": [], "alwayson_scripts": {},
            "s_churn": 0, "s_tmax": 0, "s_tmin": 0, "s_noise": 1, "eta": 1.0,
            "resize_mode": 0, "initial_noise_multiplier": 1, "mask_blur": 4,
            "hr_scale": 2, "hr_upscaler": "Latent",
        });
        assert!(refused(webuiapi_defaults, true).is_empty());
        let off = json!({"alwayson_scripts": {"ADetailer": {"args": [false]}, "ControlNet": {"args": []}}});
        assert!(refused(off, false).is_empty());
        for (body, field) in [
            (json!({"enable_hr": true}), "enable_hr"),
            (json!({"restore_faces": true}), "restore_faces"),
            (json!({"subseed_strength": 0.3}), "subseed_strength"),
            (json!({"styles": ["cinematic"]}), "styles"),
            (
                json!({"alwayson_scripts": {"ControlNet": {"args": [{"model": "x"}]}}}),
                "alwayson_scripts",
            ),
            (json!({"mask": "iVBORw0KGgo="}), "mask"),
            (json!({"resize_mode": 2}), "resize_mode"),
        ] {
            let img2img = field == "mask" || field == "resize_mode";
            let named = refused(body.clone(), img2img);
            assert_eq!(named, vec![field.to_string()], "{body}");
        }
        // A mask on txt2img is not an A1111 field there: ignored like any unknown key.
        assert!(refused(json!({"mask": "x"}), false).is_empty());
    }
}
