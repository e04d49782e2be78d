//! The demo model's world: the vocabulary its training scenes were drawn from
//! (`scripts/demo_model/scenes.py` writes `vocabulary.json`, embedded here), the held-out prompts
//! the checker renders, and simple image analysis that reads a rendered scene back
//! (background colour, object colour, shape, size, place) so benches can score pictures
//! against captions without a second model.

pub mod analysis;

use std::sync::OnceLock;

use serde::Deserialize;

pub use analysis::{read_scene, SceneReading};

/// `scripts/demo_model/vocabulary.json`, written by the dataset generator.
const VOCABULARY_JSON: &str = include_str!("../../../scripts/demo_model/vocabulary.json");

/// The named colours, shapes, held-out prompts and shape templates of the demo scenes.
#[derive(Debug, Deserialize)]
pub struct Vocabulary {
    /// Picture side in pixels (64).
    pub size: usize,
    /// Colour name → RGB, in the generator's order.
    pub colours: Colours,
    /// Shape names.
    pub shapes: Vec<String>,
    /// Prompts whose (colour, shape, background) never appeared alone in training.
    pub held_out: Vec<HeldOutPrompt>,
    /// Shape name → bitmap rows (`#` inside) filling the shape's bounding box.
    pub shape_templates: std::collections::BTreeMap<String, Vec<String>>,
}

/// One held-out checker prompt and what it asks for.
#[derive(Debug, Clone, Deserialize)]
pub struct HeldOutPrompt {
    /// "a black cross on a purple background".
    pub prompt: String,
    /// The object's colour name.
    pub colour: String,
    /// The object's shape name.
    pub shape: String,
    /// The background's colour name.
    pub background: String,
}

/// The embedded vocabulary (parsed once; the file is generated, so a parse failure is a build
/// mistake that the unit tests catch).
pub fn vocabulary() -> &'static Vocabulary {
    static VOCABULARY: OnceLock<Vocabulary> = OnceLock::new();
    VOCABULARY.get_or_init(|| {
        serde_json::from_str(VOCABULARY_JSON).expect("scripts/demo_model/vocabulary.json parses")
    })
}

/// Colour name → RGB in the generator's order (serde_json's map would sort the names, and the
/// order decides ties).
#[derive(Debug, Clone)]
pub struct Colours(pub Vec<(String, [u8; 3])>);

impl<'de> Deserialize<'de> for Colours {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct InOrder;
        impl<'de> serde::de::Visitor<'de> for InOrder {
            type Value = Colours;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of colour name -> [r, g, b]")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Colours, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, [u8; 3]>()? {
                    out.push(entry);
                }
                Ok(Colours(out))
            }
        }
        d.deserialize_map(InOrder)
    }
}

impl Colours {
    /// The RGB of a named colour.
    pub fn rgb(&self, name: &str) -> Option<[u8; 3]> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, c)| *c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_is_complete() {
        let v = vocabulary();
        assert_eq!(v.size, 64);
        assert!(v.colours.0.len() >= 10);
        assert!(v.shapes.len() >= 8);
        assert_eq!(v.held_out.len(), 100);
        for shape in &v.shapes {
            let t = &v.shape_templates[shape];
            assert!(t.len() >= 16 && t.iter().all(|r| r.len() == t.len()));
        }
        for p in &v.held_out {
            assert!(p.prompt.contains(&p.colour) && p.prompt.contains(&p.shape));
            assert_ne!(p.colour, p.background);
        }
    }
}
