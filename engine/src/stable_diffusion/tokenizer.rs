//! The CLIP tokenizer exactly as transformers' `CLIPTokenizer` (transformers 5, backed by the
//! `tokenizers` library) behaves: special tokens are split out first, the rest is normalised
//! (NFC, whitespace runs to one space, lower case, accents kept), split with CLIP's regex,
//! mapped through GPT-2's byte-to-unicode table and merged with byte-pair encoding. Real model folders ship only
//! `vocab.json` + `merges.txt`, which is all this needs.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

use crate::error::EngineError;

/// CLIP's pre-tokenisation pattern (transformers compiles it with `re.IGNORECASE`).
const PATTERN: &str = r"(?i)<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+";

/// transformers reads only this many merges (`[1 : 49152 - 256 - 2 + 1]`).
const MERGE_LIMIT: usize = 49152 - 256 - 2;

/// A loaded CLIP tokenizer.
pub struct ClipTokenizer {
    encoder: HashMap<String, u32>,
    ranks: HashMap<(String, String), usize>,
    byte_encoder: [char; 256],
    pattern: Regex,
    /// Special tokens split out before BPE, longest first.
    specials: Vec<(String, u32)>,
    bos: u32,
    eos: u32,
    pad: u32,
    unk: u32,
    max_length: usize,
    cache: Mutex<HashMap<String, Vec<u32>>>,
}

fn err(path: &Path, message: impl std::fmt::Display) -> EngineError {
    EngineError::Tokenizer(format!("{}: {message}", path.display()))
}

/// A token from `tokenizer_config.json` / `special_tokens_map.json`: a string or an
/// `AddedToken` object with `content`.
fn token_content(value: Option<&serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => o.get("content")?.as_str().map(str::to_string),
        _ => None,
    }
}

impl ClipTokenizer {
    /// Loads `vocab.json` and `merges.txt` from a diffusers `tokenizer/` folder, and the pad
    /// token and length from its JSON configs when present.
    pub fn from_dir(dir: &Path) -> Result<Self, EngineError> {
        let vocab_path = dir.join("vocab.json");
        let merges_path = dir.join("merges.txt");
        for p in [&vocab_path, &merges_path] {
            if !p.is_file() {
                return Err(err(
                    p,
                    "missing (a diffusers tokenizer/ folder needs vocab.json and merges.txt)",
                ));
            }
        }
        let vocab_text = std::fs::read_to_string(&vocab_path).map_err(|e| err(&vocab_path, e))?;
        let encoder: HashMap<String, u32> = serde_json::from_str(&vocab_text)
            .map_err(|e| err(&vocab_path, format!("not a token → id map: {e}")))?;
        let merges_text =
            std::fs::read_to_string(&merges_path).map_err(|e| err(&merges_path, e))?;
        let mut ranks = HashMap::new();
        for (rank, line) in merges_text
            .trim()
            .split('\n')
            .skip(1)
            .take(MERGE_LIMIT)
            .enumerate()
        {
            let mut parts = line.split(' ');
            match (parts.next(), parts.next()) {
                (Some(a), Some(b)) => {
                    ranks.insert((a.to_string(), b.to_string()), rank);
                }
                _ => {
                    return Err(err(
                        &merges_path,
                        format!("line {} is not a merge pair", rank + 2),
                    ))
                }
            }
        }

        let mut config = serde_json::Map::new();
        for name in ["special_tokens_map.json", "tokenizer_config.json"] {
            let path = dir.join(name);
            if let Ok(text) = std::fs::read_to_string(&path) {
                let value: serde_json::Value =
                    serde_json::from_str(&text).map_err(|e| err(&path, e))?;
                if let serde_json::Value::Object(map) = value {
                    config.extend(map);
                }
            }
        }
        let id_of = |name: &str, default: &str| -> Result<(String, u32), EngineError> {
            let token = token_content(config.get(name)).unwrap_or_else(|| default.to_string());
            let id = *encoder.get(&token).ok_or_else(|| {
                err(
                    &vocab_path,
                    format!("the {name} `{token}` is not in the vocabulary"),
                )
            })?;
            Ok((token, id))
        };
        let bos = id_of("bos_token", "<|startoftext|>")?;
        let eos = id_of("eos_token", "<|endoftext|>")?;
        let unk = id_of("unk_token", "<|endoftext|>")?;
        let pad = id_of("pad_token", "<|endoftext|>")?;
        let max_length = config
            .get("model_max_length")
            .and_then(serde_json::Value::as_u64)
            .filter(|&n| (2..=4096).contains(&n))
            .unwrap_or(77) as usize;
        let mut specials: Vec<(String, u32)> =
            vec![bos.clone(), eos.clone(), unk.clone(), pad.clone()];
        specials.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        specials.dedup();
        Ok(Self {
            encoder,
            ranks,
            byte_encoder: bytes_to_unicode(),
            pattern: Regex::new(PATTERN).expect("the CLIP pattern is valid"),
            specials,
            bos: bos.1,
            eos: eos.1,
            pad: pad.1,
            unk: unk.1,
            max_length,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Begin-of-text id.
    pub fn bos_id(&self) -> u32 {
        self.bos
    }

    /// End-of-text id.
    pub fn eos_id(&self) -> u32 {
        self.eos
    }

    /// Padding id (`<|endoftext|>` for SD 1.x, `!` for SD 2.x).
    pub fn pad_id(&self) -> u32 {
        self.pad
    }

    /// Sequence length of the text encoder (77).
    pub fn model_max_length(&self) -> usize {
        self.max_length
    }

    /// Size of the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.encoder.len()
    }

    /// `bos + tokens + eos`, neither truncated nor padded.
    pub fn encode_unpadded(&self, text: &str) -> Vec<u32> {
        let mut ids = vec![self.bos];
        for (segment, special) in self.split_specials(text) {
            match special {
                Some(id) => ids.push(id),
                None => ids.extend(self.encode_segment(segment)),
            }
        }
        ids.push(self.eos);
        ids
    }

    /// Exactly `model_max_length` ids: truncated keeping the final `eos`, then padded.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut ids = self.encode_unpadded(text);
        if ids.len() > self.max_length {
            ids.truncate(self.max_length - 1);
            ids.push(self.eos);
        }
        ids.resize(self.max_length, self.pad);
        ids
    }

    /// Splits `text` around special tokens (transformers' added-tokens trie).
    fn split_specials<'t>(&self, text: &'t str) -> Vec<(&'t str, Option<u32>)> {
        let mut out = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i < text.len() {
            let rest = &text[i..];
            if let Some((token, id)) = self
                .specials
                .iter()
                .find(|(t, _)| rest.starts_with(t.as_str()))
            {
                if start < i {
                    out.push((&text[start..i], None));
                }
                out.push((&text[i..i + token.len()], Some(*id)));
                i += token.len();
                start = i;
            } else {
                i += rest.chars().next().map_or(1, char::len_utf8);
            }
        }
        if start < text.len() {
            out.push((&text[start..], None));
        }
        out
    }

    fn encode_segment(&self, segment: &str) -> Vec<u32> {
        let cleaned = basic_tokenize(segment).join(" ");
        let mut ids = Vec::new();
        for m in self.pattern.find_iter(&cleaned) {
            let word: String = m
                .as_str()
                .bytes()
                .map(|b| self.byte_encoder[b as usize])
                .collect();
            ids.extend(self.bpe_ids(&word));
        }
        ids
    }

    fn bpe_ids(&self, word: &str) -> Vec<u32> {
        if let Some(ids) = self.cache.lock().ok().and_then(|c| c.get(word).cloned()) {
            return ids;
        }
        let ids: Vec<u32> = self
            .bpe(word)
            .iter()
            .map(|piece| self.encoder.get(piece).copied().unwrap_or(self.unk))
            .collect();
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() < 100_000 {
                cache.insert(word.to_string(), ids.clone());
            }
        }
        ids
    }

    /// Byte-pair merges of one pre-token, the last symbol carrying `</w>`.
    fn bpe(&self, token: &str) -> Vec<String> {
        let chars: Vec<char> = token.chars().collect();
        let Some((last, init)) = chars.split_last() else {
            return Vec::new();
        };
        let mut word: Vec<String> = init.iter().map(|c| c.to_string()).collect();
        word.push(format!("{last}</w>"));
        while word.len() > 1 {
            let best = word
                .windows(2)
                .filter_map(|p| {
                    self.ranks
                        .get(&(p[0].clone(), p[1].clone()))
                        .map(|r| (*r, p[0].clone(), p[1].clone()))
                })
                .min_by_key(|(r, _, _)| *r);
            let Some((_, first, second)) = best else {
                break;
            };
            let mut merged = Vec::with_capacity(word.len());
            let mut i = 0;
            while i < word.len() {
                if i + 1 < word.len() && word[i] == first && word[i + 1] == second {
                    merged.push(format!("{first}{second}"));
                    i += 2;
                } else {
                    merged.push(word[i].clone());
                    i += 1;
                }
            }
            word = merged;
        }
        word
    }
}

/// GPT-2's reversible byte → printable character table.
fn bytes_to_unicode() -> [char; 256] {
    let printable = |b: u32| {
        (0x21..=0x7E).contains(&b) || (0xA1..=0xAC).contains(&b) || (0xAE..=0xFF).contains(&b)
    };
    let mut table = ['\0'; 256];
    let mut n = 0;
    for b in 0..256u32 {
        table[b as usize] = if printable(b) {
            char::from_u32(b).expect("latin-1")
        } else {
            n += 1;
            char::from_u32(255 + n).expect("BMP")
        };
    }
    table
}

/// The normalizer of transformers' (tokenizers-backed) `CLIPTokenizer`: NFC, every run of
/// whitespace to one space, lower case. The split regex then drops the spaces.
fn basic_tokenize(text: &str) -> Vec<String> {
    let normalized: String = text.nfc().collect();
    normalized
        .split_whitespace()
        .map(str::to_lowercase)
        .collect()
}
