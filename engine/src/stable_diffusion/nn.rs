//! The handful of layers Stable Diffusion is built from, as plain structs holding tensors.
//!
//! Inference only, so no burn `Module` derive is needed: each layer is loaded from its
//! diffusers key with [`VarBuilder`] and applied with burn's functional ops. Weights keep
//! PyTorch's layout (`Linear` is `[out, in]`) so checkpoint tensors are used as stored.

use burn::tensor::activation::silu;
use burn::tensor::backend::Backend;
use burn::tensor::module::conv2d;
use burn::tensor::ops::{ConvOptions, PaddedConvOptions};
use burn::tensor::{DType, FloatDType, Int, Tensor};

use super::weights::VarBuilder;
use super::{host_attention, host_norm};

/// `torch.nn.Linear`.
pub struct Linear<B: Backend> {
    /// `[in, out]` (transposed once at load so the forward pass is a plain matmul).
    weight_t: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
}

impl<B: Backend> Linear<B> {
    /// Loads `weight` (and `bias` when `with_bias`).
    pub fn load(vb: &VarBuilder<B>, in_dim: usize, out_dim: usize, with_bias: bool) -> Self {
        let weight = vb.get("weight", [out_dim, in_dim]);
        let bias = with_bias.then(|| vb.get("bias", [out_dim]));
        Self {
            weight_t: weight.transpose(),
            bias,
        }
    }

    /// `x @ W^T + b` over the last dimension.
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        // burn's fused linear op (a 2-D GEMM over the flattened leading dims) rather than a
        // broadcast batched matmul.
        burn::tensor::module::linear(x, self.weight_t.clone(), self.bias.clone())
    }
}

/// `torch.nn.Conv2d` with symmetric or explicit asymmetric padding.
pub struct Conv2d<B: Backend> {
    weight: Tensor<B, 4>,
    bias: Option<Tensor<B, 1>>,
    options: PaddedConvOptions<2>,
}

impl<B: Backend> Conv2d<B> {
    /// A square convolution with `padding` on every side.
    pub fn load(
        vb: &VarBuilder<B>,
        in_ch: usize,
        out_ch: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Self {
        let options = ConvOptions::new([stride, stride], [padding, padding], [1, 1], 1).into();
        Self::load_with(vb, in_ch, out_ch, kernel, options)
    }

    /// A convolution padded only at the bottom and right (the VAE encoder's
    /// `F.pad(x, (0, 1, 0, 1))` followed by a stride-2 conv without padding).
    pub fn load_pad_end(vb: &VarBuilder<B>, ch: usize, kernel: usize, stride: usize) -> Self {
        let options = PaddedConvOptions::asymmetric([stride, stride], [0, 0], [1, 1], [1, 1], 1);
        Self::load_with(vb, ch, ch, kernel, options)
    }

    fn load_with(
        vb: &VarBuilder<B>,
        in_ch: usize,
        out_ch: usize,
        kernel: usize,
        options: PaddedConvOptions<2>,
    ) -> Self {
        Self {
            weight: vb.get("weight", [out_ch, in_ch, kernel, kernel]),
            bias: Some(vb.get("bias", [out_ch])),
            options,
        }
    }

    /// Applies the convolution to `[B, C, H, W]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        conv2d(
            x,
            self.weight.clone(),
            self.bias.clone(),
            self.options.clone(),
        )
    }
}

/// `torch.nn.GroupNorm`, with statistics always computed in f32: burn 0.21 computes them in
/// the tensor's dtype, which loses too much precision in f16.
pub struct GroupNorm<B: Backend> {
    groups: usize,
    eps: f64,
    weight: Tensor<B, 1>,
    bias: Tensor<B, 1>,
    /// The parameters on the host, for the Flex f32 kernel (`host_norm`).
    host: Option<host_norm::Affine>,
}

impl<B: Backend> GroupNorm<B> {
    /// Loads `weight` and `bias` for `channels` channels in `groups` groups.
    pub fn load(vb: &VarBuilder<B>, groups: usize, channels: usize, eps: f64) -> Self {
        let weight: Tensor<B, 1> = vb.get("weight", [channels]);
        let bias: Tensor<B, 1> = vb.get("bias", [channels]);
        let on_host = |t: &Tensor<B, 1>| t.clone().into_data().into_vec::<f32>().ok();
        let host = host_attention::flex_f32::<B>(weight.dtype())
            .then(|| on_host(&weight).zip(on_host(&bias)))
            .flatten()
            .map(|(weight, bias)| host_norm::Affine { weight, bias });
        Self {
            groups,
            eps,
            weight,
            bias,
            host,
        }
    }

    /// `silu(self.forward(x))`, fused on the host for Flex f32.
    pub fn forward_silu(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        match &self.host {
            Some(affine) if host_norm::applies(&x) => {
                host_norm::group_norm(x, affine, self.groups, self.eps, true)
            }
            _ => silu(self.forward(x)),
        }
    }

    /// Normalises `[B, C, H, W]` per (sample, group).
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        if let Some(affine) = self.host.as_ref().filter(|_| host_norm::applies(&x)) {
            return host_norm::group_norm(x, affine, self.groups, self.eps, false);
        }
        let dtype = x.dtype();
        let [b, c, h, w] = x.dims();
        let x = to_f32(x).reshape([b, self.groups, (c / self.groups) * h * w]);
        let (var, mean) = x.clone().var_mean_bias(2);
        let x = (x - mean) / (var + self.eps).sqrt();
        let x = x.reshape([b, c, h, w]).cast(float_dtype(dtype));
        let weight = self.weight.clone().reshape([1, c, 1, 1]);
        let bias = self.bias.clone().reshape([1, c, 1, 1]);
        x * weight + bias
    }
}

/// `torch.nn.LayerNorm` over the last dimension (statistics in f32, as for [`GroupNorm`]).
pub struct LayerNorm<B: Backend> {
    eps: f64,
    weight: Tensor<B, 1>,
    bias: Tensor<B, 1>,
}

impl<B: Backend> LayerNorm<B> {
    /// Loads `weight` and `bias` of width `dim`.
    pub fn load(vb: &VarBuilder<B>, dim: usize, eps: f64) -> Self {
        Self {
            eps,
            weight: vb.get("weight", [dim]),
            bias: vb.get("bias", [dim]),
        }
    }

    /// Normalises `[B, S, D]`.
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let dtype = x.dtype();
        let x = to_f32(x);
        let (var, mean) = x.clone().var_mean_bias(2);
        let x = ((x - mean) / (var + self.eps).sqrt()).cast(float_dtype(dtype));
        x * self.weight.clone().unsqueeze() + self.bias.clone().unsqueeze()
    }
}

/// `torch.nn.Embedding`.
pub struct Embedding<B: Backend> {
    weight: Tensor<B, 2>,
}

impl<B: Backend> Embedding<B> {
    /// Loads a `[count, dim]` table.
    pub fn load(vb: &VarBuilder<B>, count: usize, dim: usize) -> Self {
        Self {
            weight: vb.get("weight", [count, dim]),
        }
    }

    /// The device the table lives on.
    pub fn device(&self) -> B::Device {
        self.weight.device()
    }

    /// Looks up `[B, S]` ids, giving `[B, S, D]`.
    pub fn forward(&self, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        let [b, s] = ids.dims();
        let dim = self.weight.dims()[1];
        self.weight
            .clone()
            .select(0, ids.reshape([b * s]))
            .reshape([b, s, dim])
    }
}

/// Casts to f32 (a no-op on the CPU backend).
pub fn to_f32<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    if x.dtype() == DType::F32 {
        x
    } else {
        x.cast(FloatDType::F32)
    }
}

/// The float dtype of a tensor dtype (every model tensor is a float).
pub fn float_dtype(dtype: DType) -> FloatDType {
    match dtype {
        DType::F64 => FloatDType::F64,
        DType::F16 => FloatDType::F16,
        DType::BF16 => FloatDType::BF16,
        _ => FloatDType::F32,
    }
}
