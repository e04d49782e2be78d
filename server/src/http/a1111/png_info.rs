//! `POST /sdapi/v1/png-info`: the text chunks of a PNG, with A1111's `parameters` chunk parsed
//! the way `parse_generation_parameters` does (its regex is hand-matched below, no regex crate:
//! `\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)`, the last line counting as
//! parameters only with at least 3 matches).

use axum::body::Bytes;
use axum::Json;
use engine::image::RgbImage;
use serde_json::{json, Map, Value};

use super::errors::{object_body, A1111Error, A1111Result, Fields};
use super::init_image::decode_base64;

/// `POST /sdapi/v1/png-info` with `{image: base64}` → `{info, items, parameters}`. Reading the
/// body, decoding and parsing are CPU work on up to 32 MB: all of it runs off the async workers.
pub async fn png_info(body: Bytes) -> A1111Result<Json<Value>> {
    tokio::task::spawn_blocking(move || png_info_of(&body))
        .await
        .map_err(|e| A1111Error::bad_request(e.to_string()))?
        .map(Json)
}

fn png_info_of(body: &[u8]) -> A1111Result<Value> {
    let map = object_body(body)?;
    let mut f = Fields::new(&map);
    let image: Option<String> = f.get("image", "str");
    f.finish()?;
    let image = image.unwrap_or_default();
    if image.trim().is_empty() {
        return Ok(json!({"info": "", "items": {}, "parameters": {}}));
    }
    let bytes = decode_base64(&image).map_err(|e| A1111Error::invalid("image", e))?;
    read_png_info(&bytes)
}

/// `{info, items, parameters}` of a PNG's text chunks.
fn read_png_info(bytes: &[u8]) -> A1111Result<Value> {
    let (_, chunks) = RgbImage::from_png(bytes)
        .map_err(|e| A1111Error::bad_request(format!("{e} (PNG images only)")))?;
    let mut info = String::new();
    let mut items = Map::new();
    for (key, text) in chunks {
        if key == "parameters" {
            info = text;
        } else {
            items.insert(key, Value::String(text));
        }
    }
    let parameters = if info.is_empty() {
        Map::new()
    } else {
        parse_parameters(&info)
    };
    Ok(json!({"info": info, "items": items, "parameters": parameters}))
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// One match of the parameter regex starting exactly at `start`: (key, value, end); or, when
/// there is none, the first position where a match could still start. Every start inside the
/// run of whitespace and key characters scanned here ends at the same place and fails the same
/// way, so skipping them keeps [`find_params`] linear (retrying each one was quadratic: a
/// 160 KB line without a colon took 17 s).
fn match_at(chars: &[char], start: usize) -> Result<(String, String, usize), usize> {
    let mut i = start;
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    if i >= chars.len() || !is_word(chars[i]) {
        return Err(i);
    }
    let key_start = i;
    i += 1;
    while i < chars.len() && (is_word(chars[i]) || matches!(chars[i], ' ' | '-' | '/')) {
        i += 1;
    }
    if i - key_start < 2 || i >= chars.len() || chars[i] != ':' {
        return Err(i);
    }
    let key: String = chars[key_start..i].iter().collect();
    i += 1;
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    // Alternative 1: a quoted value followed by `,` or the end.
    if chars.get(i) == Some(&'"') {
        let mut j = i + 1;
        let mut body = 0;
        while j < chars.len() {
            match chars[j] {
                '\\' if j + 1 < chars.len() && chars[j + 1] != '\n' => j += 2,
                // A lone backslash cannot be matched: the quoted alternative fails.
                '\\' => {
                    j = chars.len();
                    break;
                }
                '"' => break,
                _ => j += 1,
            }
            body += 1;
        }
        if j < chars.len() && body > 0 && (j + 1 == chars.len() || chars[j + 1] == ',') {
            let value: String = chars[i..=j].iter().collect();
            let end = if j + 1 < chars.len() { j + 2 } else { j + 1 };
            return Ok((key, value, end));
        }
    }
    // Alternative 2: everything up to the next comma.
    let mut j = i;
    while j < chars.len() && chars[j] != ',' {
        j += 1;
    }
    let value: String = chars[i..j].iter().collect();
    let end = if j < chars.len() { j + 1 } else { j };
    Ok((key, value, end))
}

/// `re.findall` of the parameter regex over one line.
pub fn find_params(line: &str) -> Vec<(String, String)> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < chars.len() {
        match match_at(&chars, pos) {
            Ok((k, v, end)) => {
                out.push((k, v));
                pos = end.max(pos + 1);
            }
            Err(resume) => pos = resume.max(pos + 1),
        }
    }
    out
}

/// A1111's `parse_generation_parameters`: `Prompt`, `Negative prompt`, every `Key: value`
/// of the last line (quoted values unquoted, `Size` split into `Size-1`/`Size-2`).
pub fn parse_parameters(text: &str) -> Map<String, Value> {
    let mut lines: Vec<&str> = text.trim().split('\n').collect();
    let mut last = lines.pop().unwrap_or("");
    if find_params(last).len() < 3 {
        lines.push(last);
        last = "";
    }
    let (mut prompt, mut negative, mut in_negative) = (String::new(), String::new(), false);
    for line in lines {
        let mut line = line.trim();
        if let Some(rest) = line.strip_prefix("Negative prompt:") {
            in_negative = true;
            line = rest.trim();
        }
        let target = if in_negative {
            &mut negative
        } else {
            &mut prompt
        };
        if !target.is_empty() {
            target.push('\n');
        }
        target.push_str(line);
    }
    let mut out = Map::new();
    out.insert("Prompt".into(), json!(prompt));
    out.insert("Negative prompt".into(), json!(negative));
    for (key, mut value) in find_params(last) {
        if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
            if let Ok(unquoted) = serde_json::from_str::<String>(&value) {
                value = unquoted;
            }
        }
        let size = value
            .split_once('x')
            .filter(|(a, b)| {
                !a.is_empty()
                    && !b.is_empty()
                    && a.bytes().all(|c| c.is_ascii_digit())
                    && b.bytes().all(|c| c.is_ascii_digit())
            })
            .map(|(a, b)| (a.to_string(), b.to_string()));
        match size {
            Some((w, h)) => {
                out.insert(format!("{key}-1"), json!(w));
                out.insert(format!("{key}-2"), json!(h));
            }
            None => {
                out.insert(key, json!(value));
            }
        }
    }
    if !out.contains_key("Clip skip") {
        out.insert("Clip skip".into(), json!("1"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a1111_infotext() {
        let text = "a red fox, \"quoted\"\nNegative prompt: blurry\nSteps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 965400086, Size: 512x768, Model: sd15, Lora hashes: \"a: 1, b: 2\", Version: v1.9";
        let p = parse_parameters(text);
        assert_eq!(p["Prompt"], "a red fox, \"quoted\"");
        assert_eq!(p["Negative prompt"], "blurry");
        assert_eq!(p["Steps"], "20");
        assert_eq!(p["Sampler"], "DPM++ 2M");
        assert_eq!(p["Schedule type"], "Karras");
        assert_eq!(p["Size-1"], "512");
        assert_eq!(p["Size-2"], "768");
        assert_eq!(p["Lora hashes"], "a: 1, b: 2");
        assert_eq!(p["Version"], "v1.9");
    }

    #[test]
    fn hostile_lines_parse_in_linear_time() {
        // Each of these took seconds when every failed start was retried one character later.
        let words = "word ".repeat(40_000);
        let spaces = format!("{}x", " ".repeat(200_000));
        let quotes = "k: \"a,".repeat(30_000);
        for line in [words, spaces, quotes] {
            let started = std::time::Instant::now();
            let _ = parse_parameters(&format!("prompt\n{line}"));
            assert!(
                started.elapsed() < std::time::Duration::from_secs(2),
                "{:?}",
                started.elapsed()
            );
        }
        // Skipping ahead finds the same matches the regex finds.
        let found = find_params("ab cd ef, Steps: 20, x y: 1, Seed: 5");
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(found[0], ("Steps".to_string(), "20".to_string()));
        assert_eq!(found[1], ("x y".to_string(), "1".to_string()));
    }

    #[test]
    fn a_short_last_line_is_prompt() {
        let p = parse_parameters("just a prompt: with colon");
        assert_eq!(p["Prompt"], "just a prompt: with colon");
        assert!(!p.contains_key("just a prompt"));
    }
}
