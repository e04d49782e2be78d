//! The CLIP text encoder (transformers' `CLIPTextModel`), as Stable Diffusion uses it: token and
//! position embeddings, pre-norm transformer layers with causal self-attention, a final layer
//! norm, and optionally the output of an earlier layer ("clip skip").

use std::path::Path;

use burn::tensor::activation::{gelu, sigmoid};
use burn::tensor::backend::Backend;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Int, Tensor, TensorData};

use super::config::JsonConfig;
use super::nn::{Embedding, LayerNorm, Linear};
use super::weights::VarBuilder;
use crate::error::EngineError;

/// The activation of the MLPs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `x * sigmoid(1.702 x)`: OpenAI CLIP (SD 1.x).
    QuickGelu,
    /// Exact (erf) GELU: OpenCLIP (SD 2.x).
    Gelu,
}

/// `text_encoder/config.json`.
#[derive(Debug, Clone)]
pub struct ClipTextConfig {
    /// Vocabulary size (49,408 for CLIP).
    pub vocab_size: usize,
    /// Width of the embeddings and of the UNet's cross-attention context.
    pub hidden_size: usize,
    /// Width of the MLPs.
    pub intermediate_size: usize,
    /// Transformer layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer.
    pub num_attention_heads: usize,
    /// Longest token sequence (77).
    pub max_position_embeddings: usize,
    /// MLP activation.
    pub hidden_act: Activation,
    /// Layer norm epsilon.
    pub layer_norm_eps: f64,
}

impl ClipTextConfig {
    /// Parses the config; unknown activations are an error naming them.
    pub fn read(path: &Path) -> Result<Self, EngineError> {
        let c = JsonConfig::read(path)?;
        let act: String = c.get_or("hidden_act", "quick_gelu".to_string())?;
        let hidden_act = match act.as_str() {
            "quick_gelu" => Activation::QuickGelu,
            "gelu" => Activation::Gelu,
            other => {
                return Err(c.error(format!(
                    "key `hidden_act` is `{other}`; supported: quick_gelu, gelu"
                )))
            }
        };
        let config = Self {
            vocab_size: c.get_or("vocab_size", 49408)?,
            hidden_size: c.get_or("hidden_size", 512)?,
            intermediate_size: c.get_or("intermediate_size", 2048)?,
            num_hidden_layers: c.get_or("num_hidden_layers", 12)?,
            num_attention_heads: c.get_or("num_attention_heads", 8)?,
            max_position_embeddings: c.get_or("max_position_embeddings", 77)?,
            hidden_act,
            layer_norm_eps: c.get_or("layer_norm_eps", 1e-5)?,
        };
        if config.num_attention_heads == 0
            || !config
                .hidden_size
                .is_multiple_of(config.num_attention_heads)
        {
            return Err(c.error("hidden_size must be a multiple of num_attention_heads"));
        }
        Ok(config)
    }

    /// SD 1.5's text encoder (openai/clip-vit-large-patch14), for random-weight benchmarks.
    pub fn sd15() -> Self {
        Self {
            vocab_size: 49408,
            hidden_size: 768,
            intermediate_size: 3072,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            max_position_embeddings: 77,
            hidden_act: Activation::QuickGelu,
            layer_norm_eps: 1e-5,
        }
    }
}

struct ClipAttention<B: Backend> {
    q_proj: Linear<B>,
    k_proj: Linear<B>,
    v_proj: Linear<B>,
    out_proj: Linear<B>,
    heads: usize,
}

impl<B: Backend> ClipAttention<B> {
    fn load(vb: &VarBuilder<B>, c: &ClipTextConfig) -> Self {
        let d = c.hidden_size;
        Self {
            q_proj: Linear::load(&vb.pp("q_proj"), d, d, true),
            k_proj: Linear::load(&vb.pp("k_proj"), d, d, true),
            v_proj: Linear::load(&vb.pp("v_proj"), d, d, true),
            out_proj: Linear::load(&vb.pp("out_proj"), d, d, true),
            heads: c.num_attention_heads,
        }
    }

    fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let [b, s, d] = x.dims();
        let split = |t: Tensor<B, 3>| {
            t.reshape([b, s, self.heads, d / self.heads])
                .swap_dims(1, 2)
        };
        let q = split(self.q_proj.forward(x.clone()));
        let k = split(self.k_proj.forward(x.clone()));
        let v = split(self.v_proj.forward(x));
        let options = AttentionModuleOptions {
            scale: None,
            softcap: None,
            is_causal: true,
        };
        let y = attention(q, k, v, None, None, options);
        self.out_proj.forward(y.swap_dims(1, 2).reshape([b, s, d]))
    }
}

struct ClipMlp<B: Backend> {
    fc1: Linear<B>,
    fc2: Linear<B>,
    act: Activation,
}

impl<B: Backend> ClipMlp<B> {
    fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let x = self.fc1.forward(x);
        let x = match self.act {
            Activation::QuickGelu => x.clone() * sigmoid(x * 1.702),
            Activation::Gelu => gelu(x),
        };
        self.fc2.forward(x)
    }
}

struct ClipEncoderLayer<B: Backend> {
    layer_norm1: LayerNorm<B>,
    self_attn: ClipAttention<B>,
    layer_norm2: LayerNorm<B>,
    mlp: ClipMlp<B>,
}

impl<B: Backend> ClipEncoderLayer<B> {
    fn load(vb: &VarBuilder<B>, c: &ClipTextConfig) -> Self {
        let d = c.hidden_size;
        Self {
            layer_norm1: LayerNorm::load(&vb.pp("layer_norm1"), d, c.layer_norm_eps),
            self_attn: ClipAttention::load(&vb.pp("self_attn"), c),
            layer_norm2: LayerNorm::load(&vb.pp("layer_norm2"), d, c.layer_norm_eps),
            mlp: ClipMlp {
                fc1: Linear::load(&vb.pp("mlp").pp("fc1"), d, c.intermediate_size, true),
                fc2: Linear::load(&vb.pp("mlp").pp("fc2"), c.intermediate_size, d, true),
                act: c.hidden_act,
            },
        }
    }

    fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let x = x.clone() + self.self_attn.forward(self.layer_norm1.forward(x));
        x.clone() + self.mlp.forward(self.layer_norm2.forward(x))
    }
}

/// `CLIPTextModel.text_model` (keys without the `text_model.` prefix, see `weights`).
pub struct ClipTextTransformer<B: Backend> {
    token_embedding: Embedding<B>,
    position_embedding: Embedding<B>,
    layers: Vec<ClipEncoderLayer<B>>,
    final_layer_norm: LayerNorm<B>,
    config: ClipTextConfig,
}

impl<B: Backend> ClipTextTransformer<B> {
    /// Loads every tensor under `vb` (the file's root).
    pub fn load(vb: &VarBuilder<B>, config: ClipTextConfig) -> Self {
        let c = &config;
        let emb = vb.pp("embeddings");
        let enc = vb.pp("encoder").pp("layers");
        Self {
            token_embedding: Embedding::load(
                &emb.pp("token_embedding"),
                c.vocab_size,
                c.hidden_size,
            ),
            position_embedding: Embedding::load(
                &emb.pp("position_embedding"),
                c.max_position_embeddings,
                c.hidden_size,
            ),
            layers: (0..c.num_hidden_layers)
                .map(|i| ClipEncoderLayer::load(&enc.pp(i), c))
                .collect(),
            final_layer_norm: LayerNorm::load(
                &vb.pp("final_layer_norm"),
                c.hidden_size,
                c.layer_norm_eps,
            ),
            config,
        }
    }

    /// The config this encoder was built from.
    pub fn config(&self) -> &ClipTextConfig {
        &self.config
    }

    /// Encodes token ids `[B, S]` into `[B, S, hidden]`. With `clip_skip = n` the output of the
    /// n-th layer from the end is used (then the final layer norm), as diffusers'
    /// `encode_prompt(clip_skip=n)` does.
    pub fn forward(&self, ids: &[Vec<u32>], clip_skip: usize) -> Tensor<B, 3> {
        let device = self.token_embedding_device();
        let b = ids.len();
        let s = ids.first().map_or(0, Vec::len);
        let flat: Vec<i64> = ids.iter().flatten().map(|&id| i64::from(id)).collect();
        let ids = Tensor::<B, 2, Int>::from_data(TensorData::new(flat, [b, s]), &device);
        let positions = Tensor::<B, 1, Int>::arange(0..s as i64, &device)
            .reshape([1, s])
            .repeat_dim(0, b);
        let mut x = self.token_embedding.forward(ids) + self.position_embedding.forward(positions);
        let used = self.layers.len().saturating_sub(clip_skip);
        for layer in &self.layers[..used] {
            x = layer.forward(x);
        }
        self.final_layer_norm.forward(x)
    }

    fn token_embedding_device(&self) -> B::Device {
        self.token_embedding.device()
    }
}
