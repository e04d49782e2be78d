#!/usr/bin/env python3
"""Generate the engine's tiny Stable Diffusion models and its diffusers reference fixtures.

What it writes (all paths relative to the repository root):

* ``engine/models/tiny-sd1/`` and ``engine/models/tiny-sd2/``: two tiny, randomly initialised
  Stable Diffusion models in the diffusers folder layout (model_index.json, scheduler/,
  text_encoder/, tokenizer/, unet/, vae/). They use the real 49,408-token CLIP BPE vocabulary
  (taken from the ``open_clip_torch`` wheel) and deliberately exercise the checkpoint variants a
  loader meets in the wild: fp16 / bf16 / f32 files, text-encoder keys with and without the
  ``text_model.`` prefix, a ``position_ids`` buffer, old and new VAE attention key spellings,
  per-block attention heads, linear vs 1x1-conv transformer projections. tiny-sd1 doubles as the
  bundled demo model.
* ``engine/tests/fixtures/tokenizer.json``: CLIP token ids from transformers' CLIPTokenizer.
* ``engine/tests/fixtures/schedulers.{json,safetensors}``: timesteps, sigmas and synthetic
  denoising loops for every scheduler / spacing the engine supports.
* ``engine/tests/fixtures/<model>/reference.{json,safetensors}``: text encoder, UNet and VAE
  outputs, and whole diffusers pipeline runs (txt2img per scheduler, prompt-embedding steering,
  img2img) with every random draw recorded so the Rust engine can replay them.

A developer runs it ONCE, by hand, and commits its output; CI never runs it (CI has no torch).

    python3 -m venv /work/.venv-fixtures
    /work/.venv-fixtures/bin/pip install -r scripts/engine-fixtures-requirements.txt
    /work/.venv-fixtures/bin/pip install --no-deps open_clip_torch==3.3.0   # vocabulary file only
    /work/.venv-fixtures/bin/python scripts/make_engine_fixtures.py   # ~1 min on 2 cores

Everything is deterministic: float32 on the CPU, 2 threads, every random tensor drawn from its own
seeded generator. References are always computed from the models RELOADED from the written
folders, so they reflect exactly the stored (fp16 / bf16-rounded) weights.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib
import inspect
import json
import math
import os
import platform
import shutil
import statistics
import sys
import time
import zlib
from functools import lru_cache
from pathlib import Path

# Nothing may be fetched from a hub: every model is local.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

import diffusers  # noqa: E402
import transformers  # noqa: E402
from diffusers import (  # noqa: E402
    AutoencoderKL,
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    LMSDiscreteScheduler,
    PNDMScheduler,
    StableDiffusionImg2ImgPipeline,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = ROOT / "engine" / "models"
FIXTURES_DIR = ROOT / "engine" / "tests" / "fixtures"

PROMPT = "a photograph of an astronaut riding a horse"
NEGATIVE_PROMPT = "blurry, low quality"
GUIDANCE_SCALE = 7.5
PIPE_STEPS = 6

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)
diffusers.utils.logging.disable_progress_bar()
transformers.utils.logging.disable_progress_bar()


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def seed_of(name: str) -> int:
    """A stable seed per tensor name, so fixtures do not depend on generation order."""
    return zlib.crc32(name.encode("utf-8"))


def randn(shape, name: str, scale: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed_of(name))
    return torch.randn(shape, generator=g, dtype=torch.float32) * scale


def f32(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to(torch.float32).contiguous().clone()


def jsonable(value):
    """dict(scheduler.config) etc. hold tuples, numpy scalars and tensors; JSON wants plain data."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, torch.Tensor):
        return jsonable(value.tolist())
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        # e.g. DPMSolverMultistep's lambda_min_clipped = -inf. Python would write a bare
        # -Infinity, which is not JSON (serde_json rejects it): write it as a string.
        return str(value).replace("inf", "Infinity").replace("nan", "NaN")
    return value


def floats(t) -> list[float]:
    return [float(x) for x in torch.as_tensor(t).flatten().tolist()]


def write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jsonable(data), indent=1, ensure_ascii=False, allow_nan=False) + "\n")


def write_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: f32(v) for k, v in tensors.items()}, str(path))


def smooth_pattern(shape, name: str) -> torch.Tensor:
    """A smooth, deterministic image in [-1, 1]: sums of low-frequency sinusoids per channel.

    Smooth so that the VAE (a conv net) sees image-like input rather than white noise."""
    _, c, h, w = shape
    g = torch.Generator().manual_seed(seed_of(name))
    y = torch.linspace(0, 1, h).view(h, 1)
    x = torch.linspace(0, 1, w).view(1, w)
    chans = []
    for _ in range(c):
        fx, fy, ph = (torch.rand(3, generator=g) * torch.tensor([3.0, 3.0, 6.28])).tolist()
        chans.append(0.6 * torch.sin(6.28 * (fx * x + fy * y) + ph) + 0.3 * torch.cos(6.28 * fx * x * y + ph))
    return torch.stack(chans).unsqueeze(0).clamp(-1, 1).reshape(shape).contiguous()


RANDN_MODULES = [
    # Every module that does `from ..utils.torch_utils import randn_tensor` and that our pipelines
    # reach: patching the name in each namespace records every draw, in call order.
    "diffusers.schedulers.scheduling_ddim",
    "diffusers.schedulers.scheduling_pndm",
    "diffusers.schedulers.scheduling_euler_discrete",
    "diffusers.schedulers.scheduling_euler_ancestral_discrete",
    "diffusers.schedulers.scheduling_dpmsolver_multistep",
    "diffusers.schedulers.scheduling_lms_discrete",
    "diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion",
    "diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion_img2img",
    "diffusers.models.autoencoders.vae",
]


@contextlib.contextmanager
def record_randn(sink: list[torch.Tensor]):
    """Record every tensor diffusers' randn_tensor returns while inside the block."""
    patched = []
    for name in RANDN_MODULES:
        mod = importlib.import_module(name)
        if not hasattr(mod, "randn_tensor"):
            continue
        orig = mod.randn_tensor

        def wrapper(*args, _orig=orig, **kwargs):
            out = _orig(*args, **kwargs)
            sink.append(f32(out))
            return out

        mod.randn_tensor = wrapper
        patched.append((mod, orig))
    try:
        yield sink
    finally:
        for mod, orig in patched:
            mod.randn_tensor = orig


# --------------------------------------------------------------------------------------------
# CLIP vocabulary (OpenAI CLIP's SimpleTokenizer construction)
# --------------------------------------------------------------------------------------------


@lru_cache()
def bytes_to_unicode() -> dict[int, str]:
    """OpenAI CLIP / GPT-2's reversible byte -> printable unicode character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def open_clip_bpe_path() -> Path:
    # Located via importlib so we never import open_clip itself (it needs ftfy, timm, ...).
    spec = importlib.util.find_spec("open_clip")
    if spec is None or spec.submodule_search_locations is None:
        sys.exit("open_clip_torch is not installed (pip install --no-deps open_clip_torch)")
    return Path(list(spec.submodule_search_locations)[0]) / "bpe_simple_vocab_16e6.txt.gz"


def clip_vocab_and_merges() -> tuple[dict[str, int], list[str]]:
    """Exactly SimpleTokenizer.__init__: 256 byte chars, the same with '</w>', the 48,894 merges
    joined, then <|startoftext|> and <|endoftext|> -> 49,408 entries."""
    lines = gzip.open(open_clip_bpe_path()).read().decode("utf-8").split("\n")
    merges = [tuple(m.split()) for m in lines[1 : 49152 - 256 - 2 + 1]]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    assert len(vocab) == 49408 and len(set(vocab)) == 49408
    return {tok: i for i, tok in enumerate(vocab)}, [" ".join(m) for m in merges]


def special_token(content: str, typed: bool) -> dict:
    tok = {"content": content, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}
    return {"__type": "AddedToken", **tok} if typed else tok


def write_tokenizer(dir_: Path, pad_token: str) -> None:
    """vocab.json + merges.txt + the two small JSON files, shaped like the real SD 1.5 / 2.1
    tokenizer folders (which ship no tokenizer.json)."""
    dir_.mkdir(parents=True, exist_ok=True)
    vocab, merges = clip_vocab_and_merges()
    (dir_ / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    (dir_ / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    bos, eos = "<|startoftext|>", "<|endoftext|>"
    write_json(
        dir_ / "tokenizer_config.json",
        {
            "add_prefix_space": False,
            "bos_token": special_token(bos, True),
            "do_lower_case": True,
            "eos_token": special_token(eos, True),
            "errors": "replace",
            "model_max_length": 77,
            "pad_token": pad_token,
            "tokenizer_class": "CLIPTokenizer",
            "unk_token": special_token(eos, True),
        },
    )
    write_json(
        dir_ / "special_tokens_map.json",
        {
            "bos_token": special_token(bos, False),
            "eos_token": special_token(eos, False),
            "pad_token": pad_token,
            "unk_token": special_token(eos, False),
        },
    )


def check_tokenizer_against_open_clip(tok_dir: Path) -> None:
    """transformers' CLIPTokenizer on our files must give open_clip's ids for plain prompts.

    open_clip/tokenizer.py imports ftfy at module level; we do not install ftfy, so load that one
    file with a stand-in ftfy whose fix_text is the identity (true for the ASCII prompts used)."""
    import types

    stub = types.ModuleType("ftfy")
    stub.fix_text = lambda s: s
    saved = sys.modules.get("ftfy")
    sys.modules["ftfy"] = stub
    try:
        path = open_clip_bpe_path().parent / "tokenizer.py"
        spec = importlib.util.spec_from_file_location("open_clip_tokenizer_only", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        ref = mod.SimpleTokenizer()
    finally:
        if saved is None:
            del sys.modules["ftfy"]
        else:
            sys.modules["ftfy"] = saved
    tok = CLIPTokenizer.from_pretrained(str(tok_dir))
    prompts = [PROMPT, NEGATIVE_PROMPT, "A Cat, on a MAT!! it's 1024x768", "  spaces\tand\nnewlines  ", "zzzqqq xylophone"]
    for p in prompts:
        ours = tok(p, padding="max_length", max_length=77, truncation=True)["input_ids"]
        theirs = ref(p)[0].tolist()  # pads with 0
        n = len(ref.encode(p)) + 2
        assert ours[:n] == theirs[:n], (p, ours[:n], theirs[:n])
    print(f"  tokenizer matches open_clip SimpleTokenizer on {len(prompts)} prompts")


# --------------------------------------------------------------------------------------------
# Tiny models
# --------------------------------------------------------------------------------------------

SD1 = dict(
    name="tiny-sd1",
    image_size=64,
    text=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
              hidden_act="quick_gelu", projection_dim=32),
    text_dtype=torch.float16,
    text_prefix=True,
    text_position_ids=True,
    pad_token="<|endoftext|>",
    unet=dict(sample_size=16, in_channels=4, out_channels=4, block_out_channels=(32, 64), layers_per_block=2,
              down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
              up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
              cross_attention_dim=32, attention_head_dim=8, norm_num_groups=8),
    unet_dtype=torch.float32,
    vae=dict(in_channels=3, out_channels=3, block_out_channels=(32, 64, 64),
             down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
             layers_per_block=1, latent_channels=4, norm_num_groups=8, sample_size=64, scaling_factor=0.18215),
    vae_old_attention_keys=False,
    # SD 1.5's scheduler/scheduler_config.json, key for key (no timestep_spacing, as there).
    scheduler={
        "_class_name": "PNDMScheduler",
        "_diffusers_version": "0.6.0",
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "beta_start": 0.00085,
        "num_train_timesteps": 1000,
        "set_alpha_to_one": False,
        "skip_prk_steps": True,
        "steps_offset": 1,
        "trained_betas": None,
        "clip_sample": False,
    },
)

SD2 = dict(
    name="tiny-sd2",
    image_size=32,
    text=dict(hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
              hidden_act="gelu", projection_dim=48),
    text_dtype=torch.bfloat16,
    text_prefix=False,
    text_position_ids=False,
    pad_token="!",
    unet=dict(sample_size=16, in_channels=4, out_channels=4, block_out_channels=(32, 64), layers_per_block=1,
              down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
              up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
              cross_attention_dim=48, attention_head_dim=[2, 4], use_linear_projection=True,
              upcast_attention=True, norm_num_groups=16),
    unet_dtype=torch.float16,
    vae=dict(in_channels=3, out_channels=3, block_out_channels=(32, 64),
             down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
             layers_per_block=1, latent_channels=4, norm_num_groups=16, sample_size=32, scaling_factor=0.13025),
    vae_old_attention_keys=True,
    # SD 2.1 (768, v-prediction)'s scheduler/scheduler_config.json.
    scheduler={
        "_class_name": "DDIMScheduler",
        "_diffusers_version": "0.8.0",
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "beta_start": 0.00085,
        "clip_sample": False,
        "num_train_timesteps": 1000,
        "prediction_type": "v_prediction",
        "set_alpha_to_one": False,
        "skip_prk_steps": True,
        "steps_offset": 1,
        "trained_betas": None,
    },
)

MODELS = [SD1, SD2]


def make_informative_(model: torch.nn.Module, name: str, embedding_std: float | None = None) -> None:
    """Re-draw weights so that every tensor visibly matters.

    Default inits (PyTorch's kaiming-uniform, CLIP's std 0.02) shrink activations layer after
    layer, and leave every norm at weight 1 / bias 0: a loader that skipped a tensor, transposed a
    square matrix or mixed up q/k would still "match" within test tolerances. So: Linear/Conv
    weights ~ N(0, 1/fan_in) (variance preserving), biases ~ N(0, 0.05^2), norm weight
    1 + 0.1 N(0,1) and norm bias 0.1 N(0,1), all from one seeded generator."""
    g = torch.Generator().manual_seed(seed_of("init:" + name))
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, (torch.nn.Linear, torch.nn.Conv2d)):
                fan_in = mod.weight[0].numel()
                mod.weight.copy_(torch.randn(mod.weight.shape, generator=g) / fan_in**0.5)
                if mod.bias is not None:
                    mod.bias.copy_(torch.randn(mod.bias.shape, generator=g) * 0.05)
            elif isinstance(mod, (torch.nn.GroupNorm, torch.nn.LayerNorm)):
                if mod.weight is not None:
                    mod.weight.copy_(1.0 + 0.1 * torch.randn(mod.weight.shape, generator=g))
                if mod.bias is not None:
                    mod.bias.copy_(0.1 * torch.randn(mod.bias.shape, generator=g))
            elif isinstance(mod, torch.nn.Embedding) and embedding_std is not None:
                mod.weight.copy_(torch.randn(mod.weight.shape, generator=g) * embedding_std)


def text_config(spec) -> CLIPTextConfig:
    return CLIPTextConfig(
        vocab_size=49408, max_position_embeddings=77, bos_token_id=49406, eos_token_id=49407,
        pad_token_id=49407, **spec["text"],
    )


def write_text_encoder(spec, dir_: Path) -> None:
    """Save the CLIP text encoder by hand: dtype, key prefix and position_ids buffer vary."""
    dir_.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed_of("text:" + spec["name"]))
    cfg = text_config(spec)
    model = CLIPTextModel(cfg).eval()
    # Embeddings at std 0.5 so token identity survives into the residual stream.
    make_informative_(model, "text:" + spec["name"], embedding_std=0.5)
    # transformers 5's CLIPTextModel has no `text_model` submodule, so its own keys carry no
    # prefix (transformers 4 wrote `text_model.*`, as do real SD checkpoints): normalise, then
    # write the spelling this model is meant to exercise.
    state = {k.removeprefix("text_model."): v.to(spec["text_dtype"]).contiguous()
             for k, v in model.state_dict().items() if not k.endswith("position_ids")}
    if spec["text_position_ids"]:
        # Older transformers saved this buffer; real SD 1.x checkpoints still carry it.
        state["embeddings.position_ids"] = torch.arange(77, dtype=torch.int64).unsqueeze(0)
    if spec["text_prefix"]:
        state = {"text_model." + k: v for k, v in state.items()}
    save_file(state, str(dir_ / "model.safetensors"), metadata={"format": "pt"})
    cfg.architectures = ["CLIPTextModel"]
    cfg.save_pretrained(str(dir_))
    conf = json.loads((dir_ / "config.json").read_text())
    conf["torch_dtype"] = str(spec["text_dtype"]).removeprefix("torch.")
    write_json(dir_ / "config.json", conf)


def rename_vae_attention_to_old_spelling(path: Path) -> None:
    """Pre-0.14 diffusers VAE keys: attentions.0.{query,key,value,proj_attn} (group_norm stays)."""
    state = load_file(str(path))
    renames = {".to_q.": ".query.", ".to_k.": ".key.", ".to_v.": ".value.", ".to_out.0.": ".proj_attn."}
    out = {}
    for k, v in state.items():
        if ".attentions." in k:
            for new, old in renames.items():
                k = k.replace(new, old)
        out[k] = v
    assert any(".proj_attn." in k for k in out)
    save_file(out, str(path), metadata={"format": "pt"})


def write_model(spec) -> Path:
    folder = MODELS_DIR / spec["name"]
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    print(f"building {spec['name']}")

    write_text_encoder(spec, folder / "text_encoder")
    write_tokenizer(folder / "tokenizer", spec["pad_token"])

    torch.manual_seed(seed_of("unet:" + spec["name"]))
    unet = UNet2DConditionModel(**spec["unet"]).eval()
    make_informative_(unet, "unet:" + spec["name"])
    unet.to(spec["unet_dtype"]).save_pretrained(str(folder / "unet"), safe_serialization=True)

    torch.manual_seed(seed_of("vae:" + spec["name"]))
    vae = AutoencoderKL(**spec["vae"]).eval()
    make_informative_(vae, "vae:" + spec["name"])
    vae.save_pretrained(str(folder / "vae"), safe_serialization=True)
    if spec["vae_old_attention_keys"]:
        rename_vae_attention_to_old_spelling(folder / "vae" / "diffusion_pytorch_model.safetensors")

    write_json(folder / "scheduler" / "scheduler_config.json", spec["scheduler"])
    write_json(
        folder / "model_index.json",
        {
            "_class_name": "StableDiffusionPipeline",
            "_diffusers_version": diffusers.__version__,
            "feature_extractor": [None, None],
            "requires_safety_checker": False,
            "safety_checker": [None, None],
            "scheduler": ["diffusers", spec["scheduler"]["_class_name"]],
            "text_encoder": ["transformers", "CLIPTextModel"],
            "tokenizer": ["transformers", "CLIPTokenizer"],
            "unet": ["diffusers", "UNet2DConditionModel"],
            "vae": ["diffusers", "AutoencoderKL"],
        },
    )
    return folder


def file_key_to_model_key(component: str, key: str, prefixed_text_model: bool) -> str:
    """How each stored key maps onto the reloaded torch module's state_dict key.

    prefixed_text_model: transformers 4's CLIPTextModel wraps a `text_model` submodule (keys
    `text_model.*`); transformers 5's does not."""
    if component == "text_encoder":
        key = key.removeprefix("text_model.")
        if prefixed_text_model:
            key = "text_model." + key
    if component == "vae" and ".attentions." in key:
        for old, new in {".query.": ".to_q.", ".key.": ".to_k.", ".value.": ".to_v.", ".proj_attn.": ".to_out.0."}.items():
            key = key.replace(old, new)
    return key


def load_pipeline(folder: Path) -> StableDiffusionPipeline:
    """Reload the pipeline from disk in float32 and prove every stored tensor made it in."""
    # `dtype` is diffusers 0.42's name for the older `torch_dtype`.
    pipe = StableDiffusionPipeline.from_pretrained(str(folder), dtype=torch.float32)
    files = {
        "text_encoder": folder / "text_encoder" / "model.safetensors",
        "unet": folder / "unet" / "diffusion_pytorch_model.safetensors",
        "vae": folder / "vae" / "diffusion_pytorch_model.safetensors",
    }
    for component, path in files.items():
        module = getattr(pipe, component)
        state = module.state_dict()
        prefixed = any(k.startswith("text_model.") for k in state)
        stored = {file_key_to_model_key(component, k, prefixed): v for k, v in load_file(str(path)).items()}
        # from_pretrained silently leaves unmapped tensors at their init: compare every one.
        mismatched = [k for k, v in stored.items() if k in state and not torch.equal(state[k].float(), v.float())]
        missing = [k for k in state if k not in stored and not k.endswith("position_ids")]
        extra = [k for k in stored if k not in state and not k.endswith("position_ids")]
        assert not mismatched and not missing and not extra, (component, mismatched[:5], missing[:5], extra[:5])
        assert all(p.dtype == torch.float32 for p in module.parameters())
    pipe.set_progress_bar_config(disable=True)
    return pipe


def check_every_tensor_matters(label: str, module: torch.nn.Module, run) -> float:
    """Reset each parameter to what a loader that skipped it would leave (norms: weight 1 /
    bias 0; everything else: zeros) and require a visible change in the output. Returns the
    smallest change seen. Key biases are exempt: softmax(q.(k+b)) == softmax(q.k) for every
    query, so no output can ever depend on them."""
    norm_params = {f"{mn}.{pn}" if mn else pn for mn, m in module.named_modules()
                   if isinstance(m, (torch.nn.GroupNorm, torch.nn.LayerNorm)) for pn, _ in m.named_parameters(recurse=False)}
    with torch.no_grad():
        base = run()
        weakest, weak = float("inf"), []
        for name, p in module.named_parameters():
            if name.endswith(("k_proj.bias", "to_k.bias")):
                continue
            saved = p.detach().clone()
            p.fill_(1.0 if name in norm_params and name.endswith("weight") else 0.0)
            change = (run() - base).abs().max().item()
            p.copy_(saved)
            weakest = min(weakest, change)
            if change < 1e-3:  # parity tests compare at ~1e-4 or tighter
                weak.append((name, change))
    assert not weak, (label, weak)
    return weakest


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --------------------------------------------------------------------------------------------
# Tokenizer fixture
# --------------------------------------------------------------------------------------------

TOKENIZER_CASES = [
    "a photograph of an astronaut riding a horse",
    "blurry, low quality",
    "A Photograph Of An ASTRONAUT",
    "a cat, on a mat!!",
    "wow! great!!! ok!?",
    "it's don't we'll they're I'M you've she'd",
    "1024x768 3.5 2024-01-01 100%",
    "café naïve Ünïcödé",
    "cafe\u0301 (decomposed e + combining acute: NFC first)",
    "東京 の 夜",
    "🐱 cat",
    "  lots   of\tspace\n\nand\r\nnewlines  ",
    "",
    " ",
    "hello<|endoftext|>world",
    "<|startoftext|> a cat <|endoftext|>",
    "state-of-the-art well-known e-mail",
    "https://example.com/path?q=1&x=y",
    "aaaaaaaaaaaaaaaaaaaaaaa",
    "masterpiece, best quality, (detailed:1.2), [background]",
    "dog.cat;bird:fish/horse\\cow|pig",
    "\"quoted\" 'single' `back`",
    "don’t “smart” quotes — dash … ellipsis",
    "Straße Œuvre ÆØÅ ñ",
    "Привет мир",
    "مرحبا",
    "a_b__c snake_case CamelCase",
    "#hashtag @mention $5 ~tilde^ *star*",
    "x" * 3,
    " ".join(["word"] * 90),
    ", ".join(f"token{i}" for i in range(60)),
    "a red apple, a green pear and a yellow banana on a wooden table, studio lighting, 85mm, "
    "highly detailed, sharp focus, trending on artstation, octane render, volumetric fog, "
    "cinematic composition, golden hour, bokeh, depth of field, ultra realistic, 8k",
]


def make_tokenizer_fixture(folders: dict[str, Path]) -> Path:
    toks = {name: CLIPTokenizer.from_pretrained(str(f / "tokenizer")) for name, f in folders.items()}
    for name, tok in toks.items():
        print(f"  {name}: pad={tok.pad_token!r} ({tok.pad_token_id}) bos={tok.bos_token_id} eos={tok.eos_token_id} "
              f"vocab={len(tok)} max_len={tok.model_max_length}")
    assert toks["tiny-sd1"].pad_token_id == 49407 and toks["tiny-sd2"].pad_token_id == 0
    cases = []
    for text in TOKENIZER_CASES:
        ids = {name: tok(text, padding="max_length", max_length=77, truncation=True)["input_ids"] for name, tok in toks.items()}
        # Per model: the pad token is a special token, so SD 2's "!" is split out of the text
        # ("!!" -> "!", "!" = [0, 0] instead of the merged BPE token 748).
        unpadded = {name: tok(text)["input_ids"] for name, tok in toks.items()}
        assert all(len(v) == 77 for v in ids.values())
        cases.append({"text": text, "ids": ids, "unpadded_ids": unpadded})
    path = FIXTURES_DIR / "tokenizer.json"
    write_json(path, {
        "transformers_version": transformers.__version__,
        "tokenizer_class": type(toks["tiny-sd1"]).__name__,
        "note": "CLIPTokenizer.from_pretrained(<model>/tokenizer)(text, padding='max_length', max_length=77, "
                "truncation=True); unpadded_ids: the same call without padding/truncation.",
        "cases": cases,
    })
    return path


# --------------------------------------------------------------------------------------------
# Scheduler fixtures
# --------------------------------------------------------------------------------------------

SCHEDULERS = {
    # name: (class, overrides passed to from_config)
    "ddim": (DDIMScheduler, {}),
    "pndm": (PNDMScheduler, {}),
    "euler": (EulerDiscreteScheduler, {}),
    "euler-a": (EulerAncestralDiscreteScheduler, {}),
    "dpmpp-2m": (DPMSolverMultistepScheduler, {}),
    "dpmpp-2m-karras": (DPMSolverMultistepScheduler, {"use_karras_sigmas": True}),
    "lms": (LMSDiscreteScheduler, {}),
}


def scheduler_cases() -> list[dict]:
    cases = []
    for s in ["ddim", "pndm", "euler", "euler-a", "dpmpp-2m", "dpmpp-2m-karras", "lms"]:
        cases.append(dict(name=f"sd1-{s}", base="tiny-sd1", scheduler=s, steps=6, overrides={}))
    for s in ["ddim", "euler", "dpmpp-2m"]:
        for spacing in ["linspace", "leading", "trailing"]:
            cases.append(dict(name=f"sd1-{s}-{spacing}", base="tiny-sd1", scheduler=s, steps=7,
                              overrides={"timestep_spacing": spacing}))
    cases.append(dict(name="sd1-pndm-25", base="tiny-sd1", scheduler="pndm", steps=25, overrides={}))
    for s in ["ddim", "euler", "euler-a", "dpmpp-2m", "dpmpp-2m-karras"]:
        cases.append(dict(name=f"sd2-{s}", base="tiny-sd2", scheduler=s, steps=6, overrides={}))
    return cases


def build_scheduler(base_config: dict, scheduler: str, overrides: dict, steps: int):
    cls, extra = SCHEDULERS[scheduler]
    sched = cls.from_config(base_config, **extra, **overrides)
    sched.set_timesteps(steps)
    return sched


def config_dict(sched) -> dict:
    """dict(scheduler.config), with the set-derived `_use_default_values` sorted for stable output."""
    conf = dict(sched.config)
    if "_use_default_values" in conf:
        conf["_use_default_values"] = sorted(conf["_use_default_values"])
    return conf


def scheduler_state(sched) -> dict:
    sigmas = getattr(sched, "sigmas", None)
    return {
        "class": type(sched).__name__,
        "config": config_dict(sched),
        "timesteps": floats(sched.timesteps),
        "sigmas": floats(sigmas) if sigmas is not None else None,
        "init_noise_sigma": float(sched.init_noise_sigma),
        "order": sched.order,
    }


def make_scheduler_fixtures(folders: dict[str, Path]) -> list[Path]:
    base_configs = {n: json.loads((f / "scheduler" / "scheduler_config.json").read_text()) for n, f in folders.items()}
    tensors: dict[str, torch.Tensor] = {}
    out_cases = []
    for case in scheduler_cases():
        name, base = case["name"], base_configs[case["base"]]
        sched = build_scheduler(base, case["scheduler"], case["overrides"], case["steps"])
        entry = {"name": name, "base_model": case["base"], "scheduler": case["scheduler"],
                 "overrides": {**SCHEDULERS[case["scheduler"]][1], **case["overrides"]},
                 "num_inference_steps": case["steps"], **scheduler_state(sched)}

        # Synthetic loop: random "model outputs", every intermediate recorded.
        g = torch.Generator().manual_seed(seed_of(name + ".step-generator"))
        sample = randn([2, 4, 4, 4], name + ".sample0") * sched.init_noise_sigma
        tensors[f"{name}.sample0"] = sample
        noise: list[torch.Tensor] = []
        # Like the pipelines' prepare_extra_step_kwargs: only some step()s take a generator.
        step_kwargs = {"generator": g} if "generator" in inspect.signature(sched.step).parameters else {}
        with record_randn(noise):
            for i, t in enumerate(sched.timesteps):
                model_output = randn([2, 4, 4, 4], f"{name}.model_output.{i}")
                scaled = sched.scale_model_input(sample, t)
                before = len(noise)
                prev = sched.step(model_output, t, sample, **step_kwargs).prev_sample
                assert len(noise) - before <= 1
                if len(noise) > before:
                    tensors[f"{name}.noise.{i}"] = noise[-1]
                tensors[f"{name}.model_output.{i}"] = model_output
                tensors[f"{name}.scaled.{i}"] = scaled
                tensors[f"{name}.prev.{i}"] = prev
                sample = prev
        entry["noise_steps"] = [i for i in range(len(sched.timesteps)) if f"{name}.noise.{i}" in tensors]

        # add_noise on a FRESH scheduler: after steps, Euler-type schedulers use their step_index
        # instead of looking the timestep up (diffusers' inpainting path).
        fresh = build_scheduler(base, case["scheduler"], case["overrides"], case["steps"])
        index = len(fresh.timesteps) // 3
        original = randn([2, 4, 4, 4], name + ".add_noise.original")
        add_noise = randn([2, 4, 4, 4], name + ".add_noise.noise")
        result = fresh.add_noise(original, add_noise, fresh.timesteps[index : index + 1])
        tensors[f"{name}.add_noise.original"] = original
        tensors[f"{name}.add_noise.noise"] = add_noise
        tensors[f"{name}.add_noise.timestep_index"] = torch.tensor([float(index)])
        tensors[f"{name}.add_noise.result"] = result
        entry["add_noise_timestep_index"] = index
        entry["add_noise_timestep"] = float(fresh.timesteps[index])
        out_cases.append(entry)

    jpath, spath = FIXTURES_DIR / "schedulers.json", FIXTURES_DIR / "schedulers.safetensors"
    write_json(jpath, {
        "diffusers_version": diffusers.__version__,
        "torch_version": torch.__version__,
        "note": "Each case is Cls.from_config(<model>/scheduler/scheduler_config.json, **overrides) then "
                "set_timesteps(num_inference_steps). Loop: sample0 = randn*init_noise_sigma; per step i: "
                "scaled.i = scale_model_input(sample, t_i); prev.i = step(model_output.i, t_i, sample).prev_sample "
                "(noise.i = the randn it drew, if any). add_noise uses a fresh scheduler and "
                "timesteps[add_noise_timestep_index].",
        "cases": out_cases,
    })
    write_tensors(spath, tensors)
    return [jpath, spath]


# --------------------------------------------------------------------------------------------
# Per-model references
# --------------------------------------------------------------------------------------------


def text_encoder_refs(pipe, tensors: dict) -> dict:
    prompts = [PROMPT, ""]
    ids = pipe.tokenizer(prompts, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    with torch.no_grad():
        last = pipe.text_encoder(ids).last_hidden_state
        # What encode_prompt(clip_skip=1) computes: hidden_states[-2] then final_layer_norm.
        te = pipe.text_encoder
        final_ln = te.text_model.final_layer_norm if hasattr(te, "text_model") else te.final_layer_norm
        skip = final_ln(te(ids, output_hidden_states=True).hidden_states[-2])
        try:
            via_pipe, _ = pipe.encode_prompt(prompts, "cpu", 1, False, clip_skip=1)
            assert torch.equal(skip, via_pipe)
            note = "equals StableDiffusionPipeline.encode_prompt(clip_skip=1)"
        except AttributeError as err:
            # diffusers reaches for text_encoder.text_model, which transformers 5 removed.
            note = f"computed by hand: encode_prompt(clip_skip=1) fails here ({err})"
            print(f"  note: {note}")
    tensors["text_encoder.input_ids"] = ids.float()
    tensors["text_encoder.last_hidden_state"] = last
    tensors["text_encoder.clip_skip_1"] = skip
    return {"prompts": prompts, "clip_skip_1": "hidden_states[-2] -> final_layer_norm; " + note}


def unet_refs(pipe, tensors: dict) -> dict:
    d = pipe.text_encoder.config.hidden_size
    sample = randn([2, 4, 16, 16], "unet.sample")
    timesteps = torch.tensor([999.0, 421.0])
    ehs = randn([2, 77, d], "unet.encoder_hidden_states")
    with torch.no_grad():
        out = pipe.unet(sample, timesteps, ehs).sample
    tensors.update({"unet.sample": sample, "unet.timesteps": timesteps, "unet.encoder_hidden_states": ehs, "unet.out": out})
    # Timing, for a CPU baseline the Rust engine can be compared against (same machine).
    with torch.no_grad():
        for _ in range(3):
            pipe.unet(sample, timesteps, ehs)
        times = []
        for _ in range(20):
            t0 = time.perf_counter()
            pipe.unet(sample, timesteps, ehs)
            times.append((time.perf_counter() - t0) * 1000)
    return {"out_std": float(out.std()), "forward_ms": round(statistics.median(times), 3)}


def vae_refs(pipe, spec, tensors: dict) -> dict:
    size = spec["image_size"]
    latents = randn([1, 4, 16, 16], "vae.decode.latents")
    image = smooth_pattern([1, 3, size, size], "vae.encode.image")
    with torch.no_grad():
        decoded = pipe.vae.decode(latents).sample
        dist = pipe.vae.encode(image).latent_dist
    tensors.update({"vae.decode.latents": latents, "vae.decode.out": decoded, "vae.encode.image": image,
                    "vae.encode.mean": dist.mean, "vae.encode.std": dist.std})
    return {"decode_out_std": float(decoded.std()), "encode_mean_std": float(dist.mean.std())}


def swap_scheduler(saved, scheduler: str):
    """The usual diffusers swap, NewScheduler.from_config(pipe.scheduler.config, **extra), always
    from the scheduler loaded from disk (`saved`): chaining swaps would carry one case's settings
    (e.g. use_karras_sigmas) into the next."""
    cls, extra = SCHEDULERS[scheduler]
    return cls.from_config(saved.config, **extra)


def pipeline_case_json(name, sched_name, sched, steps, extra=None) -> dict:
    sched.set_timesteps(steps)
    return {"name": name, "scheduler": sched_name, "scheduler_class": type(sched).__name__,
            "scheduler_config": config_dict(sched), "num_inference_steps": steps,
            "timesteps": floats(sched.timesteps),
            "sigmas": floats(sched.sigmas) if getattr(sched, "sigmas", None) is not None else None,
            "init_noise_sigma": float(sched.init_noise_sigma), **(extra or {})}


def step_recorder(store: list, timesteps: list):
    def callback(pipe, i, t, kwargs):
        store.append(f32(kwargs["latents"]))
        timesteps.append(float(t))
        return kwargs
    return callback


def txt2img_refs(pipe, saved, spec, scheduler_names, tensors: dict) -> list[dict]:
    size = spec["image_size"]
    cases = []
    for s in scheduler_names:
        key = f"pipe.{s}"
        pipe.scheduler = swap_scheduler(saved, s)
        # Same result as from the raw JSON: _use_default_values keeps the old class's defaults
        # (e.g. PNDM's timestep_spacing) from leaking into the new class.
        cls, extra = SCHEDULERS[s]
        public = lambda sch: {k: v for k, v in config_dict(sch).items() if not k.startswith("_")}  # noqa: E731
        assert public(cls.from_config(spec["scheduler"], **extra)) == public(pipe.scheduler), s
        assert public(saved) == public(type(saved).from_config(spec["scheduler"]))
        latents = randn([2, 4, 16, 16], key + ".latents_init")
        steps, ts, noise = [], [], []
        with record_randn(noise), torch.no_grad():
            image = pipe(PROMPT, negative_prompt=NEGATIVE_PROMPT, num_images_per_prompt=2, guidance_scale=GUIDANCE_SCALE,
                         num_inference_steps=PIPE_STEPS, height=size, width=size, output_type="np", latents=latents,
                         generator=torch.Generator().manual_seed(seed_of(key + ".generator")),
                         callback_on_step_end=step_recorder(steps, ts)).images
        tensors[key + ".latents_init"] = latents
        for i, l in enumerate(steps):
            tensors[f"{key}.latents.{i}"] = l
        for k, n in enumerate(noise):
            tensors[f"{key}.noise.{k}"] = n
        tensors[key + ".image"] = torch.from_numpy(np.ascontiguousarray(image))
        entry = pipeline_case_json(s, s, swap_scheduler(saved, s), PIPE_STEPS, {
            "kind": "txt2img", "callback_timesteps": ts, "noise_count": len(noise)})
        cases.append(entry)
    return cases


def steer_refs(pipe, saved, spec, tensors: dict) -> dict:
    """Prompt-embedding steering: explicit prompt_embeds = encode(prompt) + per-image delta."""
    size, key = spec["image_size"], "pipe.steer"
    pipe.scheduler = swap_scheduler(saved, "ddim")
    with torch.no_grad():
        pos, _ = pipe.encode_prompt(PROMPT, "cpu", 1, False)
        neg, _ = pipe.encode_prompt(NEGATIVE_PROMPT, "cpu", 1, False)
    delta = randn([2, 77, pos.shape[-1]], key + ".delta", scale=0.5)
    embeds = pos.repeat(2, 1, 1) + delta
    negative = neg.repeat(2, 1, 1)
    latents = randn([2, 4, 16, 16], key + ".latents_init")
    steps, ts, noise = [], [], []
    with record_randn(noise), torch.no_grad():
        image = pipe(prompt_embeds=embeds, negative_prompt_embeds=negative, num_images_per_prompt=1,
                     guidance_scale=GUIDANCE_SCALE, num_inference_steps=PIPE_STEPS, height=size, width=size,
                     output_type="np", latents=latents, callback_on_step_end=step_recorder(steps, ts)).images
    assert not noise
    tensors.update({key + ".delta": delta, key + ".prompt_embeds": embeds, key + ".negative_prompt_embeds": negative,
                    key + ".latents_init": latents, key + ".image": torch.from_numpy(np.ascontiguousarray(image))})
    for i, l in enumerate(steps):
        tensors[f"{key}.latents.{i}"] = l
    return pipeline_case_json("steer", "ddim", swap_scheduler(saved, "ddim"), PIPE_STEPS, {
        "kind": "txt2img-prompt-embeds", "callback_timesteps": ts,
        "note": "prompt_embeds = encode(prompt) repeated x2 + delta; negative_prompt_embeds = encode(negative) x2"})


def img2img_image(size: int) -> torch.Tensor:
    return (smooth_pattern([1, 3, size, size], "img2img.image") * 0.5 + 0.5).clamp(0, 1)


def img2img_refs(pipe, saved, spec, scheduler_names, tensors: dict) -> list[dict]:
    size, strength = spec["image_size"], 0.6
    init = img2img_image(size)
    tensors["img2img.image"] = init
    cases = []
    for s in scheduler_names:
        key = f"img2img.{s}"
        i2i = StableDiffusionImg2ImgPipeline(**{**pipe.components, "scheduler": swap_scheduler(saved, s)})
        i2i.set_progress_bar_config(disable=True)
        # Also record the starting latents (encode -> sample -> scale -> add_noise), so the
        # encode half can be tested apart from the denoising loop.
        starts = []
        prepare = i2i.prepare_latents
        i2i.prepare_latents = lambda *a, **k: starts.append(f32(prepare(*a, **k))) or starts[-1].clone()
        steps, ts, noise = [], [], []
        with record_randn(noise), torch.no_grad():
            image = i2i(PROMPT, image=init, strength=strength, negative_prompt=NEGATIVE_PROMPT,
                        num_images_per_prompt=1, guidance_scale=GUIDANCE_SCALE, num_inference_steps=PIPE_STEPS,
                        output_type="np", generator=torch.Generator().manual_seed(seed_of(key + ".generator")),
                        callback_on_step_end=step_recorder(steps, ts)).images
        sched = swap_scheduler(saved, s)
        sched.set_timesteps(PIPE_STEPS)
        # The documented recipe, checked: image*2-1 -> VAE posterior mean + std*noise.0 ->
        # *scaling_factor -> add_noise(noise.1, first used timestep).
        with torch.no_grad():
            dist = pipe.vae.encode(init * 2 - 1).latent_dist
        expected = (dist.mean + dist.std * noise[0]) * pipe.vae.config.scaling_factor
        begin = len(sched.timesteps) - len(ts)
        if hasattr(sched, "set_begin_index"):
            sched.set_begin_index(begin)
        expected = sched.add_noise(expected, noise[1], sched.timesteps[begin : begin + 1])
        assert len(starts) == 1 and torch.allclose(starts[0], expected, atol=1e-5), s
        tensors[key + ".latents_init"] = starts[0]
        for k, n in enumerate(noise):
            tensors[f"{key}.noise.{k}"] = n
        for i, l in enumerate(steps):
            tensors[f"{key}.latents.{i}"] = l
        tensors[key + ".image"] = torch.from_numpy(np.ascontiguousarray(image))
        tensors[key + ".timesteps"] = torch.tensor(ts)
        sched = swap_scheduler(saved, s)
        init_timestep = min(int(PIPE_STEPS * strength), PIPE_STEPS)
        t_start = max(PIPE_STEPS - init_timestep, 0)
        cases.append(pipeline_case_json(s, s, sched, PIPE_STEPS, {
            "kind": "img2img", "strength": strength, "t_start": t_start, "begin_index": t_start * sched.order,
            "used_timesteps": ts, "noise_count": len(noise),
            "noise_order": "noise.0 = VAE posterior sample noise (latent = mean + std*noise, then *scaling_factor); "
                           "noise.1 = add_noise noise at used_timesteps[0]; further = scheduler step noise. latents_init = "
                           "prepare_latents' output (before the first step)"}))
    return cases


def make_model_references(spec, folder: Path) -> list[Path]:
    print(f"references for {spec['name']}")
    pipe = load_pipeline(folder)
    tensors: dict[str, torch.Tensor] = {}
    info = {
        "model": spec["name"],
        "versions": {"torch": torch.__version__, "diffusers": diffusers.__version__, "transformers": transformers.__version__},
        "image_size": spec["image_size"],
        "latent_size": 16,
        "vae_scaling_factor": pipe.vae.config.scaling_factor,
        "prompt": PROMPT, "negative_prompt": NEGATIVE_PROMPT, "guidance_scale": GUIDANCE_SCALE,
        "num_images_per_prompt": 2,
        "pipeline_note": "latents_init is the raw randn passed as `latents`; the pipeline multiplies it by "
                         "init_noise_sigma. latents.i = latents after step i (callback_on_step_end). image = "
                         "output_type='np' (float [0,1], NHWC). noise.k = every randn_tensor draw, in call order.",
    }
    info["text_encoder"] = text_encoder_refs(pipe, tensors)
    unet_info = unet_refs(pipe, tensors)
    info["unet"] = {"out_std": unet_info["out_std"]}
    # Median of 20 forwards (batch 2, the unet.* inputs, no_grad) after 3 warm-ups. Varies run to
    # run (other load on the machine); the only field that does.
    info["torch_cpu_unet_forward_ms"] = unet_info["forward_ms"]
    info["torch_num_threads"] = torch.get_num_threads()
    info["timing_cpu"] = cpu_name()
    info["vae"] = vae_refs(pipe, spec, tensors)
    saved = pipe.scheduler  # as loaded from <model>/scheduler
    if spec["name"] == "tiny-sd1":
        info["pipelines"] = txt2img_refs(pipe, saved, spec, ["ddim", "pndm", "euler", "euler-a", "dpmpp-2m", "dpmpp-2m-karras", "lms"], tensors)
        info["steer"] = steer_refs(pipe, saved, spec, tensors)
        info["img2img"] = img2img_refs(pipe, saved, spec, ["ddim", "euler-a"], tensors)
    else:
        info["pipelines"] = txt2img_refs(pipe, saved, spec, ["ddim", "euler", "euler-a", "dpmpp-2m"], tensors)
    for k, v in tensors.items():
        assert torch.isfinite(v).all(), k

    # A loader that drops any tensor must fail these fixtures.
    te, unet, vae = pipe.text_encoder, pipe.unet, pipe.vae
    ids = tensors["text_encoder.input_ids"].long()
    sens = {
        "text_encoder": check_every_tensor_matters("text_encoder", te, lambda: te(ids).last_hidden_state),
        "unet": check_every_tensor_matters("unet", unet, lambda: unet(
            tensors["unet.sample"], tensors["unet.timesteps"], tensors["unet.encoder_hidden_states"]).sample),
        "vae": check_every_tensor_matters("vae", vae, lambda: torch.cat([
            vae.decode(tensors["vae.decode.latents"]).sample.flatten(),
            vae.encode(tensors["vae.encode.image"]).latent_dist.mean.flatten(),
            vae.encode(tensors["vae.encode.image"]).latent_dist.std.flatten()])),
    }
    info["tensor_sensitivity"] = {
        "note": "smallest max-abs change of the component's fixture output when any one stored tensor is "
                "reset to a skipped-loader value (norms 1/0, others 0); key biases exempt (softmax-invariant)",
        **sens}
    print("  every tensor matters; smallest change: " + ", ".join(f"{k} {v:.3g}" for k, v in sens.items()))
    out = FIXTURES_DIR / spec["name"]
    write_json(out / "reference.json", info)
    write_tensors(out / "reference.safetensors", tensors)
    print(f"  unet out std {info['unet']['out_std']:.3f}, vae decode std {info['vae']['decode_out_std']:.3f}, "
          f"unet forward {info['torch_cpu_unet_forward_ms']:.2f} ms")
    return [out / "reference.json", out / "reference.safetensors"]


# --------------------------------------------------------------------------------------------


def main() -> None:
    print(f"torch {torch.__version__}, diffusers {diffusers.__version__}, transformers {transformers.__version__}, "
          f"threads {torch.get_num_threads()}")
    folders = {spec["name"]: write_model(spec) for spec in MODELS}
    check_tokenizer_against_open_clip(folders["tiny-sd1"] / "tokenizer")

    written = [make_tokenizer_fixture(folders)]
    written += make_scheduler_fixtures(folders)
    for spec in MODELS:
        written += make_model_references(spec, folders[spec["name"]])

    print("\nwritten:")
    total = 0
    for name, folder in folders.items():
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                print(f"  {p.relative_to(ROOT)}  {p.stat().st_size:,} B")
        size = folder_size(folder)
        print(f"  = {folder.relative_to(ROOT)}/  {size / 2**20:.2f} MiB")
        if size >= 10 * 2**20:
            print(f"  WARNING: {name} is over the 10 MiB target")
        total += size
    for p in written:
        print(f"  {p.relative_to(ROOT)}  {p.stat().st_size:,} B")
        total += p.stat().st_size
    print(f"total {total / 2**20:.2f} MiB")
    assert total < 40 * 2**20


if __name__ == "__main__":
    main()
