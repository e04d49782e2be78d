//! Timestep embeddings: the sinusoidal projection (`Timesteps`) and its MLP
//! (`TimestepEmbedding`).

use burn::tensor::activation::silu;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use super::nn::Linear;
use super::weights::VarBuilder;

/// diffusers' `get_timestep_embedding`, computed on the CPU in f32 exactly as torch does
/// (the table is tiny), then uploaded in the model's dtype.
pub fn timestep_embedding<B: Backend>(
    timesteps: &[f64],
    dim: usize,
    flip_sin_to_cos: bool,
    freq_shift: f64,
    device: &B::Device,
    dtype: burn::tensor::DType,
) -> Tensor<B, 2> {
    let half = dim / 2;
    let log_period = -(10000f64.ln()) as f32;
    let freqs: Vec<f32> = (0..half)
        .map(|i| (log_period * i as f32 / (half as f64 - freq_shift) as f32).exp())
        .collect();
    let mut out = Vec::with_capacity(timesteps.len() * dim);
    for &t in timesteps {
        let args: Vec<f32> = freqs.iter().map(|f| t as f32 * f).collect();
        let sin = args.iter().map(|a| a.sin());
        let cos = args.iter().map(|a| a.cos());
        if flip_sin_to_cos {
            out.extend(cos.chain(sin));
        } else {
            out.extend(sin.chain(cos));
        }
        if dim % 2 == 1 {
            out.push(0.0);
        }
    }
    let data = TensorData::new(out, [timesteps.len(), dim]).convert_dtype(dtype);
    Tensor::from_data(data, (device, dtype))
}

/// `TimestepEmbedding`: `linear_2(silu(linear_1(x)))`.
pub struct TimestepEmbedding<B: Backend> {
    linear_1: Linear<B>,
    linear_2: Linear<B>,
}

impl<B: Backend> TimestepEmbedding<B> {
    /// Loads `linear_1` (`in_dim → out_dim`) and `linear_2` (`out_dim → out_dim`).
    pub fn load(vb: &VarBuilder<B>, in_dim: usize, out_dim: usize) -> Self {
        Self {
            linear_1: Linear::load(&vb.pp("linear_1"), in_dim, out_dim, true),
            linear_2: Linear::load(&vb.pp("linear_2"), out_dim, out_dim, true),
        }
    }

    /// Embeds the sinusoidal projection.
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.linear_2.forward(silu(self.linear_1.forward(x)))
    }
}
