//! Checkpoint access in the style of candle's `VarBuilder`: a module asks for a tensor by its
//! diffusers key (`down_blocks.0.resnets.1.conv1.weight`) and the shape its config implies.
//!
//! Files are read with burn-store's safetensors reader (f32, f16 and bf16 are converted to the
//! compute dtype on load). Instead of failing at the first absent tensor, every missing key is
//! collected so the error names all of them, and keys the model never asked for are reported as
//! unexpected. Two historical spellings are normalised when the file is read: the `text_model.`
//! prefix of CLIP checkpoints and the old VAE attention names (`query/key/value/proj_attn`).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Distribution, Tensor, TensorData};
use burn_store::ModuleStore;

use crate::error::EngineError;

/// How stored keys are normalised before the model asks for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStyle {
    /// UNet keys are used as stored.
    Plain,
    /// CLIP text encoder: `text_model.` is stripped, the `position_ids` buffer dropped.
    ClipText,
    /// VAE: old attention names are renamed to `to_q/to_k/to_v/to_out.0`.
    Vae,
}

/// Where tensors come from.
enum Source {
    /// A checkpoint read into memory.
    File(BTreeMap<String, TensorData>),
    /// Random weights of the right shapes, for benchmarks without a checkpoint.
    Random,
}

/// The tensors of one component plus the bookkeeping of which were used.
pub struct WeightFile {
    path: PathBuf,
    source: Source,
    used: RefCell<BTreeSet<String>>,
    missing: RefCell<Vec<String>>,
    mismatched: RefCell<Option<EngineError>>,
}

impl WeightFile {
    /// Reads a safetensors file; unreadable files are an [`EngineError::Io`].
    pub fn open(path: &Path, style: KeyStyle) -> Result<Self, EngineError> {
        if !path.is_file() {
            return Err(EngineError::io(path, "file not found"));
        }
        let mut store = burn_store::SafetensorsStore::from_file(path);
        let snapshots = store
            .get_all_snapshots()
            .map_err(|e| EngineError::io(path, e))?;
        let mut tensors = BTreeMap::new();
        for (key, snapshot) in snapshots {
            let Some(key) = normalise_key(key, style) else {
                continue;
            };
            let data = snapshot.to_data().map_err(|e| EngineError::io(path, e))?;
            tensors.insert(key, data);
        }
        Ok(Self::from_source(path.to_path_buf(), Source::File(tensors)))
    }

    /// Random weights (norm weights 1, biases 0, other weights scaled by 1/sqrt(fan-in)).
    pub fn random(label: &str) -> Self {
        Self::from_source(PathBuf::from(label), Source::Random)
    }

    fn from_source(path: PathBuf, source: Source) -> Self {
        Self {
            path,
            source,
            used: RefCell::new(BTreeSet::new()),
            missing: RefCell::new(Vec::new()),
            mismatched: RefCell::new(None),
        }
    }

    /// A builder rooted at the file's top level.
    pub fn root<B: Backend>(&self, device: &B::Device, dtype: DType) -> VarBuilder<'_, B> {
        VarBuilder {
            file: self,
            prefix: String::new(),
            device: device.clone(),
            dtype,
        }
    }

    /// Ends loading: an error naming every missing key or the first shape mismatch; the
    /// names of unexpected tensors are returned for the caller to log.
    pub fn finish(self, component: &str) -> Result<Vec<String>, EngineError> {
        if let Some(err) = self.mismatched.into_inner() {
            return Err(err);
        }
        let missing = self.missing.into_inner();
        if !missing.is_empty() {
            return Err(EngineError::MissingWeights {
                component: component.to_string(),
                file: self.path.display().to_string(),
                count: missing.len(),
                keys: missing.into_iter().take(8).collect(),
            });
        }
        let used = self.used.into_inner();
        Ok(match self.source {
            Source::File(tensors) => tensors
                .into_keys()
                .filter(|key| !used.contains(key))
                .collect(),
            Source::Random => Vec::new(),
        })
    }
}

/// Maps a stored key to the name the model asks for; `None` drops it.
fn normalise_key(key: &str, style: KeyStyle) -> Option<String> {
    match style {
        KeyStyle::Plain => Some(key.to_string()),
        KeyStyle::ClipText => {
            let key = key.strip_prefix("text_model.").unwrap_or(key);
            // A registered buffer that old transformers versions saved; it is just 0..77.
            (key != "embeddings.position_ids").then(|| key.to_string())
        }
        KeyStyle::Vae => {
            if !key.contains(".attentions.") {
                return Some(key.to_string());
            }
            let renamed = [
                (".query.", ".to_q."),
                (".key.", ".to_k."),
                (".value.", ".to_v."),
                (".proj_attn.", ".to_out.0."),
            ]
            .iter()
            .find(|(old, _)| key.contains(old))
            .map(|(old, new)| key.replacen(old, new, 1));
            Some(renamed.unwrap_or_else(|| key.to_string()))
        }
    }
}

/// A view of a [`WeightFile`] under a key prefix.
pub struct VarBuilder<'a, B: Backend> {
    file: &'a WeightFile,
    prefix: String,
    device: B::Device,
    dtype: DType,
}

impl<'a, B: Backend> VarBuilder<'a, B> {
    /// The builder for a child module (`vb.pp("down_blocks").pp(0)`).
    pub fn pp(&self, name: impl std::fmt::Display) -> Self {
        let prefix = if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        };
        Self {
            file: self.file,
            prefix,
            device: self.device.clone(),
            dtype: self.dtype,
        }
    }

    /// The device tensors are created on.
    pub fn device(&self) -> &B::Device {
        &self.device
    }

    /// The compute dtype of this component.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    /// True when the checkpoint has `name` under this prefix (random weights have everything).
    pub fn contains(&self, name: &str) -> bool {
        match &self.file.source {
            Source::File(tensors) => tensors.contains_key(&self.key(name)),
            Source::Random => true,
        }
    }

    /// The tensor `name` with the shape the config implies. A missing key or a wrong shape is
    /// recorded (see [`WeightFile::finish`]) and zeros are returned so loading can go on and
    /// report every problem at once.
    pub fn get<const D: usize>(&self, name: &str, shape: [usize; D]) -> Tensor<B, D> {
        let key = self.key(name);
        let options = (&self.device, self.dtype);
        match &self.file.source {
            Source::Random => random_tensor(name, shape, options),
            Source::File(tensors) => match tensors.get(&key) {
                None => {
                    self.file.missing.borrow_mut().push(key);
                    Tensor::zeros(shape, options)
                }
                Some(data) if data.shape.as_slice() != shape.as_slice() => {
                    let mut slot = self.file.mismatched.borrow_mut();
                    if slot.is_none() {
                        *slot = Some(EngineError::ShapeMismatch {
                            file: self.file.path.display().to_string(),
                            key,
                            expected: shape.to_vec(),
                            found: data.shape.to_vec(),
                        });
                    }
                    Tensor::zeros(shape, options)
                }
                Some(data) => {
                    self.file.used.borrow_mut().insert(key);
                    let data = data.clone().convert_dtype(self.dtype);
                    Tensor::from_data(data, options)
                }
            },
        }
    }
}

fn random_tensor<B: Backend, const D: usize>(
    name: &str,
    shape: [usize; D],
    options: (&B::Device, DType),
) -> Tensor<B, D> {
    if D == 1 {
        // Norm scales are 1, every bias and norm shift 0: activations stay in range.
        return if name == "weight" {
            Tensor::ones(shape, options)
        } else {
            Tensor::zeros(shape, options)
        };
    }
    let fan_in: usize = shape[1..].iter().product::<usize>().max(1);
    let std = 1.0 / (fan_in as f64).sqrt();
    Tensor::<B, D>::random(shape, Distribution::Normal(0.0, std), options.0).cast(options.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_vae_attention_names_are_renamed() {
        let k = normalise_key("encoder.mid_block.attentions.0.query.weight", KeyStyle::Vae);
        assert_eq!(
            k.as_deref(),
            Some("encoder.mid_block.attentions.0.to_q.weight")
        );
        let k = normalise_key(
            "decoder.mid_block.attentions.0.proj_attn.bias",
            KeyStyle::Vae,
        );
        assert_eq!(
            k.as_deref(),
            Some("decoder.mid_block.attentions.0.to_out.0.bias")
        );
        let k = normalise_key("decoder.conv_in.weight", KeyStyle::Vae);
        assert_eq!(k.as_deref(), Some("decoder.conv_in.weight"));
    }

    #[test]
    fn clip_prefix_and_buffer_are_normalised() {
        assert_eq!(
            normalise_key("text_model.final_layer_norm.weight", KeyStyle::ClipText).as_deref(),
            Some("final_layer_norm.weight")
        );
        assert_eq!(
            normalise_key("text_model.embeddings.position_ids", KeyStyle::ClipText),
            None
        );
    }
}

/// A tensor read from a safetensors file as f32.
#[derive(Debug, Clone, PartialEq)]
pub struct F32Tensor {
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub values: Vec<f32>,
}

/// Reads every tensor of a safetensors file as f32 (any float dtype; integer tensors are
/// converted too). Used for `--init-latents FILE:TENSOR` and by the parity tests.
pub fn read_f32_tensors(path: &Path) -> Result<BTreeMap<String, F32Tensor>, EngineError> {
    if !path.is_file() {
        return Err(EngineError::io(path, "file not found"));
    }
    let mut store = burn_store::SafetensorsStore::from_file(path);
    let snapshots = store
        .get_all_snapshots()
        .map_err(|e| EngineError::io(path, e))?;
    let mut out = BTreeMap::new();
    for (key, snapshot) in snapshots {
        let data = snapshot.to_data().map_err(|e| EngineError::io(path, e))?;
        let shape = data.shape.to_vec();
        let values = data
            .convert_dtype(DType::F32)
            .into_vec::<f32>()
            .map_err(|e| EngineError::io(path, format!("{key}: {e:?}")))?;
        out.insert(key.clone(), F32Tensor { shape, values });
    }
    Ok(out)
}

/// Serialises f32 tensors as a safetensors file (tests, and tools that save latents).
pub fn write_f32_safetensors(tensors: &[(&String, &F32Tensor)]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut offset = 0usize;
    for (name, t) in tensors {
        let bytes = t.values.len() * 4;
        header.insert(
            (*name).clone(),
            serde_json::json!({"dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + bytes]}),
        );
        offset += bytes;
    }
    let mut header = serde_json::Value::Object(header).to_string().into_bytes();
    while !header.len().is_multiple_of(8) {
        header.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    for (_, t) in tensors {
        for v in &t.values {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}
