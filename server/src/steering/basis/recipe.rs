//! The recipe of a session's steering basis: which prompt variants are encoded and how the axes
//! are chosen. Its canonical JSON (serde, declaration order) and BLAKE2b-256 hash identify the
//! basis: the same recipe on the same model always gives the same axes.

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use serde::{Deserialize, Serialize};

use super::BasisError;
use crate::steering::dimensions::extract_prompt_dimensions;
use crate::steering::kinds::BasisKind;

/// Version of the recipe format (and of the algorithm in `compute.rs`).
pub const RECIPE_VERSION: u32 = 1;
/// Largest length of z a basis is built for.
pub const MAX_DIMENSION: u32 = 16;
/// Most modifiers a recipe may list.
pub const MAX_MODIFIERS: usize = 40;
/// Longest modifier text (characters).
pub const MAX_MODIFIER_CHARS: usize = 200;

/// `source` of a modifier that is one of the 12 aesthetic profile tags.
pub const SOURCE_AESTHETIC: &str = "aesthetic";
/// `source` of a modifier that is one pole of a critique axis.
pub const SOURCE_CRITIQUE: &str = "critique";
/// `source` of a modifier built from a content word of the prompt.
pub const SOURCE_DIMENSION: &str = "dimension";
/// `source` of a modifier the model declares (`runner::model_modifiers`).
pub const SOURCE_MODEL: &str = "model";

/// The 12 aesthetic profile tags (the setup page's, with spaces).
pub const AESTHETIC_MODIFIERS: [&str; 12] = [
    "photorealistic",
    "cinematic",
    "painterly",
    "warm tones",
    "cool tones",
    "minimalist",
    "dramatic lighting",
    "soft light",
    "high detail",
    "wide angle",
    "moody",
    "vibrant",
];

/// The modifier that fixes `too_dark`.
pub const BRIGHT: &str = "bright, well lit";
/// The modifier that fixes `too_bright`.
pub const DARK: &str = "dark, low key lighting";
/// The modifier that fixes `too_busy`.
pub const SIMPLE: &str = "minimalist, simple, clean";
/// The modifier that fixes `too_simple`.
pub const INTRICATE: &str = "intricate, busy, highly detailed";

/// Both poles of six critique axes (brightness, busyness, saturation, framing, focus, contrast).
pub const CRITIQUE_MODIFIERS: [&str; 12] = [
    BRIGHT,
    DARK,
    SIMPLE,
    INTRICATE,
    "vivid saturated colors",
    "muted colors",
    "close-up",
    "wide shot",
    "soft focus",
    "sharp focus",
    "high contrast",
    "low contrast",
];

/// The four directional critique tags and the modifier text that fixes each.
pub const TAG_FIX_MODIFIERS: [(&str, &str); 4] = [
    ("too_dark", BRIGHT),
    ("too_bright", DARK),
    ("too_busy", SIMPLE),
    ("too_simple", INTRICATE),
];

/// The modifier whose direction fixes a directional critique tag (`too_dark` → "bright, well
/// lit"); `None` for the other tags.
pub fn tag_fix_modifier(tag: &str) -> Option<&'static str> {
    TAG_FIX_MODIFIERS
        .iter()
        .find(|(t, _)| *t == tag)
        .map(|(_, m)| *m)
}

/// One prompt variant: the prompt with `text` appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Modifier {
    /// What is appended to the prompt (`"vivid saturated colors"`).
    pub text: String,
    /// Where it comes from: `aesthetic`, `critique` or `dimension`.
    pub source: String,
}

impl Modifier {
    fn new(text: impl Into<String>, source: &str) -> Modifier {
        Modifier {
            text: text.into(),
            source: source.to_string(),
        }
    }
}

/// Everything a basis depends on besides the model (fields in canonical order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BasisRecipe {
    /// [`RECIPE_VERSION`].
    pub version: u32,
    /// Semantic, sinusoidal or random orthonormal.
    pub kind: BasisKind,
    /// The session's positive prompt.
    pub prompt: String,
    /// The prompt variants, in order.
    pub modifiers: Vec<Modifier>,
    /// Length of z (1..=16).
    pub dimension: u32,
    /// Seed of the random directions (`random_orthonormal`, and the completion of a semantic
    /// basis with fewer usable directions than `dimension`).
    pub seed: u64,
}

impl BasisRecipe {
    /// The recipe of a session: the 12 aesthetic tags, the 12 critique poles, and for each
    /// content word `w` of the prompt (at most four) `detailed w` and `prominent w`: 24 to 32
    /// distinct modifiers, never more than [`MAX_MODIFIERS`]. A model that declares its own
    /// vocabulary (`model_modifiers`, non-empty) gets those in place of the aesthetic and
    /// critique families: it would not understand them (critique tags then have no direction
    /// unless the model lists their fixing modifier).
    pub fn for_session(
        kind: BasisKind,
        prompt: &str,
        dimension: u32,
        seed: u64,
        model_modifiers: &[String],
    ) -> BasisRecipe {
        let mut modifiers: Vec<Modifier> = Vec::new();
        let mut push = |text: String, source: &str| {
            if modifiers.len() < MAX_MODIFIERS && !modifiers.iter().any(|m| m.text == text) {
                modifiers.push(Modifier::new(text, source));
            }
        };
        if model_modifiers.is_empty() {
            for text in AESTHETIC_MODIFIERS {
                push(text.to_string(), SOURCE_AESTHETIC);
            }
            for text in CRITIQUE_MODIFIERS {
                push(text.to_string(), SOURCE_CRITIQUE);
            }
        }
        for text in model_modifiers {
            let source = if CRITIQUE_MODIFIERS.contains(&text.as_str()) {
                SOURCE_CRITIQUE
            } else {
                SOURCE_MODEL
            };
            push(text.clone(), source);
        }
        for word in extract_prompt_dimensions(prompt) {
            if matches!(word.as_str(), "lighting" | "color" | "mood") {
                continue;
            }
            push(format!("detailed {word}"), SOURCE_DIMENSION);
            push(format!("prominent {word}"), SOURCE_DIMENSION);
        }
        BasisRecipe {
            version: RECIPE_VERSION,
            kind,
            prompt: prompt.to_string(),
            modifiers,
            dimension,
            seed,
        }
    }

    /// Canonical JSON (declaration order; what [`Self::hash`] hashes and events store).
    pub fn canonical_json(&self) -> String {
        // Plain strings, integers and an enum: serialization cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Lowercase hex BLAKE2b-256 of [`Self::canonical_json`].
    pub fn hash(&self) -> String {
        let digest = Blake2b::<U32>::digest(self.canonical_json().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The text encoded for modifier `text`: `"{prompt}, {text}"` (trailing spaces and commas
    /// of the prompt dropped first; just `text` for an empty prompt).
    pub fn variant_prompt(&self, text: &str) -> String {
        let base = self.prompt.trim_end().trim_end_matches(',').trim_end();
        if base.is_empty() {
            text.to_string()
        } else {
            format!("{base}, {text}")
        }
    }

    /// [`Self::variant_prompt`] of every modifier, in order.
    pub fn variant_prompts(&self) -> Vec<String> {
        self.modifiers
            .iter()
            .map(|m| self.variant_prompt(&m.text))
            .collect()
    }

    /// Checks version, dimension and modifiers.
    pub fn validate(&self) -> Result<(), BasisError> {
        if self.version != RECIPE_VERSION {
            return Err(BasisError::Recipe(format!(
                "version {} is not supported (expected {RECIPE_VERSION})",
                self.version
            )));
        }
        if self.dimension == 0 || self.dimension > MAX_DIMENSION {
            return Err(BasisError::Recipe(format!(
                "dimension must be 1..={MAX_DIMENSION}, got {}",
                self.dimension
            )));
        }
        if self.modifiers.is_empty() || self.modifiers.len() > MAX_MODIFIERS {
            return Err(BasisError::Recipe(format!(
                "1..={MAX_MODIFIERS} modifiers needed, got {}",
                self.modifiers.len()
            )));
        }
        for (j, m) in self.modifiers.iter().enumerate() {
            let chars = m.text.chars().count();
            if m.text.trim().is_empty() || chars > MAX_MODIFIER_CHARS {
                return Err(BasisError::Recipe(format!(
                    "modifiers[{j}].text must be 1..={MAX_MODIFIER_CHARS} characters"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_vocabulary_replaces_the_aesthetic_and_critique_families() {
        let model: Vec<String> = ["purple", "large", BRIGHT].map(String::from).to_vec();
        let r = BasisRecipe::for_session(BasisKind::Semantic, "a red circle", 4, 1, &model);
        let listed: Vec<(&str, &str)> = r
            .modifiers
            .iter()
            .map(|m| (m.text.as_str(), m.source.as_str()))
            .collect();
        assert_eq!(
            listed[..3],
            [
                ("purple", SOURCE_MODEL),
                ("large", SOURCE_MODEL),
                (BRIGHT, SOURCE_CRITIQUE)
            ]
        );
        assert!(listed.iter().all(|(_, s)| *s != SOURCE_AESTHETIC));
        assert!(listed.contains(&("prominent circle", SOURCE_DIMENSION)));
        assert!(r.validate().is_ok());
    }

    #[test]
    fn session_recipe_has_every_family_within_bounds() {
        let r = BasisRecipe::for_session(
            BasisKind::Semantic,
            "A cinematic mountain road at sunrise",
            5,
            7,
            &[],
        );
        assert!(r.validate().is_ok());
        assert!(
            (24..=40).contains(&r.modifiers.len()),
            "{}",
            r.modifiers.len()
        );
        let texts: Vec<&str> = r.modifiers.iter().map(|m| m.text.as_str()).collect();
        for (_, fix) in TAG_FIX_MODIFIERS {
            assert!(texts.contains(&fix));
        }
        assert!(texts.contains(&"detailed mountain"));
        assert!(texts.contains(&"prominent sunrise"));
        assert!(!texts
            .iter()
            .any(|t| t.ends_with("lighting") && t.starts_with("detailed")));
        let mut unique = texts.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), texts.len());
        // A prompt without content words still has 24 modifiers.
        let short = BasisRecipe::for_session(BasisKind::Semantic, "a cat", 5, 7, &[]);
        assert_eq!(short.modifiers.len(), 24);
    }

    #[test]
    fn canonical_json_and_hash_are_stable() {
        let r = BasisRecipe::for_session(BasisKind::Semantic, "a cat", 3, 1, &[]);
        let json = r.canonical_json();
        assert!(json.starts_with(
            r#"{"version":1,"kind":"semantic","prompt":"a cat","modifiers":[{"text":"photorealistic","source":"aesthetic"}"#
        ));
        assert!(json.ends_with(r#""dimension":3,"seed":1}"#));
        let back: BasisRecipe = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, r);
        assert_eq!(r.hash().len(), 64);
        assert_eq!(r.hash(), back.hash());
        let other = BasisRecipe::for_session(BasisKind::Semantic, "a cat", 3, 2, &[]);
        assert_ne!(other.hash(), r.hash());
    }

    #[test]
    fn variants_and_tag_fixes() {
        let r = BasisRecipe::for_session(BasisKind::Semantic, "a cat, ", 3, 1, &[]);
        assert_eq!(r.variant_prompt("moody"), "a cat, moody");
        let empty = BasisRecipe::for_session(BasisKind::Semantic, "", 3, 1, &[]);
        assert_eq!(empty.variant_prompt("moody"), "moody");
        assert_eq!(r.variant_prompts().len(), r.modifiers.len());
        assert_eq!(tag_fix_modifier("too_dark"), Some(BRIGHT));
        assert_eq!(tag_fix_modifier("too_simple"), Some(INTRICATE));
        assert_eq!(tag_fix_modifier("wrong_style"), None);
    }

    #[test]
    fn validation_names_the_problem() {
        let mut r = BasisRecipe::for_session(BasisKind::Semantic, "a cat", 17, 1, &[]);
        assert!(matches!(r.validate(), Err(BasisError::Recipe(m)) if m.contains("dimension")));
        r.dimension = 2;
        r.version = 2;
        assert!(matches!(r.validate(), Err(BasisError::Recipe(m)) if m.contains("version")));
        r.version = RECIPE_VERSION;
        r.modifiers[0].text = " ".into();
        assert!(matches!(r.validate(), Err(BasisError::Recipe(m)) if m.contains("modifiers[0]")));
        r.modifiers.clear();
        assert!(r.validate().is_err());
    }
}
