#!/usr/bin/env python3
"""Train the demo model: a small Stable Diffusion 1.x-architecture pipeline that draws simple scenes.

Run by a developer (never by CI), through ``train.sh`` which creates the virtualenv:

    scripts/demo_model/train.sh            # ~1 hour on 2 CPU cores

Stages (each one's losses go to ``docs/demo-model/training.csv``):

1. **Data**: ``scenes.dataset`` draws N captioned 64x64 scenes (held-out triples excluded).
2. **VAE**: an ``AutoencoderKL`` with 4-channel latents at /8 (64x64 -> 8x8x4), trained on
   reconstruction (L1 + MSE) with a small KL term; its scaling factor is 1/std of the latents.
3. **Text encoder + UNet**, trained together from scratch: a small ``CLIPTextModel`` behind the
   standard CLIP BPE tokenizer and a small ``UNet2DConditionModel`` predicting epsilon under the
   SD 1.x noise schedule (scaled_linear, 1000 steps), with 10 % caption dropout (empty prompt) so
   classifier-free guidance works. An EMA of both is what gets saved.
4. **Save** in the diffusers folder layout (model_index.json, scheduler/, text_encoder/,
   tokenizer/, unet/, vae/), weights in f16, then reload and render a contact sheet of held-out
   prompts with diffusers as a smoke check.

Everything is seeded; the hyper-parameters are the constants below and are written to
``docs/demo-model/hyperparameters.json``.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import math
import pathlib
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import scenes  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOKENIZER_SOURCE = ROOT / "engine/models/tiny-sd1/tokenizer"

HP = {
    "seed": 1234,
    "images": 60000,
    "threads": 2,
    "vae": {
        "block_out_channels": [16, 32, 64, 64],
        "layers_per_block": 1,
        "norm_num_groups": 8,
        "latent_channels": 4,
        "batch": 32,
        "lr": 2e-3,
        "warmup_steps": 100,
        "steps": 6000,
        "max_minutes": 28.0,
        "kl_weight": 1e-6,
        # The posterior starts nearly deterministic (std e^-4): with a unit std at the start the
        # decoder spent its first minutes learning through noise.
        "initial_logvar": -8.0,
        # Pixels on and around objects weigh this much more than the background (renormalised
        # per batch); unweighted, the background (most pixels) was learnt first and the objects'
        # colours and shapes barely at all (2026-12-04 sitting 4: 6-minute runs, object colour
        # 15.5 % -> 38.5 %, shape 22.5 % -> 35 % of reconstructions read right).
        "object_weight": 4.0,
        # bf16 autocast: 1.6x faster on this CPU (avx512_bf16) for the VAE; not used for the
        # UNet, where it measured slower (0.61 s against 0.45 s per step of 64).
        "bf16": True,
    },
    # Stage 4: with the encoder (so the latents the UNet learned) frozen, the decoder alone is
    # trained further on the latent means, with the same object weighting.
    "decoder_refine": {
        "batch": 32,
        "lr": 5e-4,
        "steps": 2000,
        "max_minutes": 5.0,
    },
    "text_encoder": {
        "hidden_size": 64,
        "intermediate_size": 256,
        "num_hidden_layers": 3,
        "num_attention_heads": 4,
    },
    "unet": {
        "block_out_channels": [64, 128],
        "layers_per_block": 1,
        "attention_head_dim": 4,
        "norm_num_groups": 16,
        "batch": 64,
        "lr": 5e-4,
        "steps": 5000,
        "max_minutes": 34.0,
        "caption_dropout": 0.1,
        "ema": 0.999,
    },
    # Stage 3b (`--continue-unet`): more of stage 3 on the saved text encoder + UNet, from a
    # warm-up to the same cosine decay; the AdamW state starts afresh.
    "unet_continue": {
        "lr": 3e-4,
        "steps": 4000,
        "max_minutes": 30.0,
    },
}


def log_row(writer, stage: str, step: int, seconds: float, loss: float) -> None:
    writer.writerow([stage, step, f"{seconds:.1f}", f"{loss:.6f}"])


def to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def reconstruction_loss(rec: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """L1 + squared error, pixels on and within 2 px of an object weighted `object_weight` more.

    An object pixel is one farther than 0.3 (on the -1..1 scale) from its picture's border median,
    the same rule the checker uses to find objects.
    """
    with torch.no_grad():
        border = torch.cat([x[:, :, :2].flatten(2), x[:, :, -2:].flatten(2),
                            x[:, :, :, :2].flatten(2), x[:, :, :, -2:].flatten(2)], 2)
        background = border.median(2).values[:, :, None, None]
        on_object = ((x - background).norm(dim=1, keepdim=True) > 0.3).float()
        weight = 1 + HP["vae"]["object_weight"] * F.max_pool2d(on_object, 5, 1, 2)
        weight = weight / weight.mean()
    d = rec.float() - x
    return (weight * (d.abs() + d * d)).mean()


def lr_at(hp: dict, step: int, frac: float) -> float:
    """Linear warm-up, then cosine decay to 5 % of the peak over the step or time budget."""
    warm = min(1.0, (step + 1) / hp.get("warmup_steps", 1))
    return hp["lr"] * warm * (0.5 * (1 + math.cos(math.pi * min(frac, 1.0))) * 0.95 + 0.05)


def autocast():
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=HP["vae"]["bf16"])


def train_vae(images: np.ndarray, writer, out: dict):
    from diffusers import AutoencoderKL

    hp = HP["vae"]
    n = len(hp["block_out_channels"])
    vae = AutoencoderKL(
        in_channels=3, out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * n, up_block_types=["UpDecoderBlock2D"] * n,
        block_out_channels=hp["block_out_channels"], layers_per_block=hp["layers_per_block"],
        latent_channels=hp["latent_channels"], norm_num_groups=hp["norm_num_groups"],
        sample_size=scenes.SIZE,
    )
    with torch.no_grad():
        vae.quant_conv.bias[hp["latent_channels"]:].fill_(hp["initial_logvar"])
    opt = torch.optim.AdamW(vae.parameters(), lr=hp["lr"], weight_decay=0.0)
    gen = torch.Generator().manual_seed(HP["seed"])
    start, step, budget = time.time(), 0, hp["max_minutes"] * 60
    vae.train()
    while step < hp["steps"] and time.time() - start < budget:
        idx = torch.randint(0, len(images), (hp["batch"],), generator=gen)
        x = to_tensor(images[idx.numpy()])
        with autocast():
            post = vae.encode(x).latent_dist
            rec = vae.decode(post.sample(generator=gen)).sample
        loss_rec = reconstruction_loss(rec, x)
        loss = loss_rec + hp["kl_weight"] * post.kl().float().mean()
        frac = max(step / hp["steps"], (time.time() - start) / budget)
        for g in opt.param_groups:
            g["lr"] = lr_at(hp, step, frac)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 50 == 0:
            log_row(writer, "vae", step, time.time() - start, loss_rec.item())
            print(f"vae step {step} {time.time() - start:.0f}s rec {loss_rec.item():.4f}", flush=True)
        step += 1
    out["vae_steps"] = step
    vae.eval()
    return vae


def refine_decoder(vae, images: np.ndarray, writer, out: dict):
    """Trains only the decoder (post_quant_conv + decoder) on the frozen encoder's latent means."""
    hp = HP["decoder_refine"]
    vae.requires_grad_(False)
    params = list(vae.decoder.parameters()) + list(vae.post_quant_conv.parameters())
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=hp["lr"], weight_decay=0.0)
    gen = torch.Generator().manual_seed(HP["seed"] + 2)
    start, step, budget = time.time(), 0, hp["max_minutes"] * 60
    vae.decoder.train()
    while step < hp["steps"] and time.time() - start < budget:
        idx = torch.randint(0, len(images), (hp["batch"],), generator=gen)
        x = to_tensor(images[idx.numpy()])
        with torch.no_grad(), autocast():
            z = vae.encode(x).latent_dist.mean
        with autocast():
            rec = vae.decode(z).sample
        loss = reconstruction_loss(rec, x)
        frac = max(step / hp["steps"], (time.time() - start) / budget)
        for g in opt.param_groups:
            g["lr"] = lr_at(hp, step, frac)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 50 == 0:
            log_row(writer, "decoder", step, time.time() - start, loss.item())
            print(f"decoder step {step} {time.time() - start:.0f}s rec {loss.item():.4f}", flush=True)
        step += 1
    out["decoder_refine_steps"] = step
    vae.eval()
    return vae


@torch.no_grad()
def encode_all(vae, images: np.ndarray) -> torch.Tensor:
    lat = []
    for i in range(0, len(images), 256):
        with autocast():
            lat.append(vae.encode(to_tensor(images[i:i + 256])).latent_dist.mean.float())
    return torch.cat(lat)


def build_text_encoder():
    from transformers import CLIPTextConfig, CLIPTextModel

    hp = HP["text_encoder"]
    cfg = CLIPTextConfig(
        vocab_size=49408, hidden_size=hp["hidden_size"], intermediate_size=hp["intermediate_size"],
        num_hidden_layers=hp["num_hidden_layers"], num_attention_heads=hp["num_attention_heads"],
        max_position_embeddings=77, hidden_act="quick_gelu", projection_dim=hp["hidden_size"],
        bos_token_id=49406, eos_token_id=49407, pad_token_id=49407,
    )
    return CLIPTextModel(cfg)


def build_unet():
    from diffusers import UNet2DConditionModel

    hp = HP["unet"]
    return UNet2DConditionModel(
        sample_size=scenes.SIZE // 8, in_channels=4, out_channels=4,
        down_block_types=["CrossAttnDownBlock2D", "DownBlock2D"],
        up_block_types=["UpBlock2D", "CrossAttnUpBlock2D"],
        mid_block_type="UNetMidBlock2DCrossAttn",
        block_out_channels=hp["block_out_channels"], layers_per_block=hp["layers_per_block"],
        cross_attention_dim=HP["text_encoder"]["hidden_size"],
        attention_head_dim=hp["attention_head_dim"], norm_num_groups=hp["norm_num_groups"],
    )


def tokenize(tokenizer, captions: list[str]) -> torch.Tensor:
    return tokenizer(captions, padding="max_length", max_length=77, truncation=True,
                     return_tensors="pt").input_ids


def train_denoiser(latents: torch.Tensor, captions: list[str], tokenizer, writer, out: dict,
                   start_from=None, stage: str = "unet", run: int = 0):
    """Trains the text encoder and UNet together; `start_from` = (text_encoder, unet) continues
    a saved pair (stage 3b, its `run`-th continuation, logged as `stage`) with the
    `unet_continue` budget instead of starting from scratch."""
    from diffusers import DDPMScheduler

    hp = dict(HP["unet"], **HP["unet_continue"]) if start_from else HP["unet"]
    text_encoder, unet = start_from or (build_text_encoder(), build_unet())
    noise_sched = DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                num_train_timesteps=1000)
    ids_all = tokenize(tokenizer, captions)
    ids_empty = tokenize(tokenizer, [""])[0]
    params = list(text_encoder.parameters()) + list(unet.parameters())
    opt = torch.optim.AdamW(params, lr=hp["lr"], weight_decay=1e-4)
    ema_te, ema_unet = copy.deepcopy(text_encoder), copy.deepcopy(unet)
    gen = torch.Generator().manual_seed(HP["seed"] + (3 + 10 * run if start_from else 1))
    alphas = noise_sched.alphas_cumprod
    start, step, budget = time.time(), 0, hp["max_minutes"] * 60
    text_encoder.train(), unet.train()
    while step < hp["steps"] and time.time() - start < budget:
        idx = torch.randint(0, len(latents), (hp["batch"],), generator=gen)
        x0 = latents[idx]
        ids = ids_all[idx].clone()
        drop = torch.rand(hp["batch"], generator=gen) < hp["caption_dropout"]
        ids[drop] = ids_empty
        t = torch.randint(0, 1000, (hp["batch"],), generator=gen)
        noise = torch.randn(x0.shape, generator=gen)
        a = alphas[t].view(-1, 1, 1, 1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        cond = text_encoder(ids).last_hidden_state
        pred = unet(xt, t, encoder_hidden_states=cond).sample
        loss = F.mse_loss(pred, noise)
        frac = max(step / hp["steps"], (time.time() - start) / budget)
        warm = min(1.0, (step + 1) / 200)
        for g in opt.param_groups:
            g["lr"] = hp["lr"] * warm * (0.5 * (1 + math.cos(math.pi * min(frac, 1.0))) * 0.9 + 0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        decay = min(hp["ema"], (1 + step) / (10 + step))
        with torch.no_grad():
            for model, ema in ((text_encoder, ema_te), (unet, ema_unet)):
                for p, q in zip(model.parameters(), ema.parameters()):
                    q.lerp_(p, 1 - decay)
        if step % 50 == 0:
            log_row(writer, stage, step, time.time() - start, loss.item())
            print(f"unet step {step} {time.time() - start:.0f}s loss {loss.item():.4f}", flush=True)
        step += 1
    out[f"{stage}_steps"] = step
    return ema_te.eval(), ema_unet.eval()


def save_pipeline(model_dir: pathlib.Path, vae, text_encoder, unet, scaling: float) -> None:
    from diffusers import PNDMScheduler

    if model_dir.exists():
        shutil.rmtree(model_dir)
    model_dir.mkdir(parents=True)
    vae.register_to_config(scaling_factor=scaling)
    vae.to(torch.float16).save_pretrained(model_dir / "vae", safe_serialization=True)
    unet.to(torch.float16).save_pretrained(model_dir / "unet", safe_serialization=True)
    text_encoder.to(torch.float16).save_pretrained(model_dir / "text_encoder", safe_serialization=True)
    shutil.copytree(TOKENIZER_SOURCE, model_dir / "tokenizer")
    PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                  num_train_timesteps=1000, skip_prk_steps=True, steps_offset=1,
                  set_alpha_to_one=False).save_pretrained(model_dir / "scheduler")
    # The model's own steering vocabulary (server: runner::model_modifiers): it knows no
    # aesthetic words, so its semantic basis is built from the attributes it was trained on.
    modifiers = list(scenes.COLOURS) + list(scenes.SIZES) + list(scenes.WHERE.values()) + [
        f"{t} background" for t in ("striped", "dotted", "gradient", "dark", "light")]
    (model_dir / "stablesteering.json").write_text(
        json.dumps({"steering_modifiers": modifiers}, indent=1) + "\n")
    index = json.loads((ROOT / "engine/models/tiny-sd1/model_index.json").read_text())
    (model_dir / "model_index.json").write_text(json.dumps(index, indent=1) + "\n")


@torch.no_grad()
def smoke_sheet(model_dir: pathlib.Path, sheet: pathlib.Path) -> None:
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(model_dir, torch_dtype=torch.float32,
                                                   safety_checker=None, requires_safety_checker=False)
    prompts = [p["prompt"] for p in scenes.held_out_prompts()[:16]]
    gen = torch.Generator().manual_seed(0)
    images = pipe(prompts, height=64, width=64, num_inference_steps=25, guidance_scale=7.5,
                  generator=gen, output_type="np").images
    arr = (np.clip(images, 0, 1) * 255).round().astype(np.uint8)
    scenes.write_png(sheet, arr.reshape(4, 4, 64, 64, 3).transpose(0, 2, 1, 3, 4).reshape(256, 256, 3))
    (sheet.with_suffix(".txt")).write_text("\n".join(prompts) + "\n")


def record_extra_stage(args, stage: str, out: dict) -> None:
    """After a stage run alone on a saved model: add its hyper-parameters and run figures to
    hyperparameters.json and redraw the held-out smoke sheet."""
    params = json.loads((args.docs / "hyperparameters.json").read_text())
    params["hp"][stage] = HP[stage]
    params["run"].update(out)
    (args.docs / "hyperparameters.json").write_text(json.dumps(params, indent=1) + "\n")
    smoke_sheet(args.out, args.docs / "heldout-diffusers.png")


def refine_only(args, images: np.ndarray, out: dict) -> None:
    """Stage 4 on a saved model: reload its VAE in f32, refine the decoder, save it back."""
    from diffusers import AutoencoderKL

    vae = AutoencoderKL.from_pretrained(args.out / "vae").float()
    with open(args.docs / "training.csv", "a", newline="") as f:
        vae = refine_decoder(vae, images, csv.writer(f), out)
    vae.to(torch.float16).save_pretrained(args.out / "vae", safe_serialization=True)
    record_extra_stage(args, "decoder_refine", out)


def continue_unet(args, images: np.ndarray, captions: list[str], out: dict) -> None:
    """Stage 3b on a saved model: its VAE's encoder gives the latents, its text encoder and UNet
    (saved as the EMA, f16) train further and are saved back; the VAE is left as it is."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    vae = AutoencoderKL.from_pretrained(args.out / "vae").float().eval()
    latents = encode_all(vae, images) * vae.config.scaling_factor
    pair = (CLIPTextModel.from_pretrained(args.out / "text_encoder").float(),
            UNet2DConditionModel.from_pretrained(args.out / "unet").float())
    tokenizer = CLIPTokenizer.from_pretrained(TOKENIZER_SOURCE)
    # Each continuation gets its own label (unet_continue, unet_continue_2, ...) and batch order.
    earlier = json.loads((args.docs / "hyperparameters.json").read_text())["hp"]
    run = sum(1 for key in earlier if key.startswith("unet_continue"))
    stage = "unet_continue" if run == 0 else f"unet_continue_{run + 1}"
    with open(args.docs / "training.csv", "a", newline="") as f:
        text_encoder, unet = train_denoiser(latents, captions, tokenizer, csv.writer(f), out, pair,
                                            stage, run)
    unet.to(torch.float16).save_pretrained(args.out / "unet", safe_serialization=True)
    text_encoder.to(torch.float16).save_pretrained(args.out / "text_encoder", safe_serialization=True)
    HP[stage] = HP["unet_continue"]
    record_extra_stage(args, stage, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=pathlib.Path, default=ROOT / "engine/models/demo-shapes")
    ap.add_argument("--docs", type=pathlib.Path, default=ROOT / "docs/demo-model")
    ap.add_argument("--refine-decoder-only", action="store_true",
                    help="run only stage 4 on the model already in --out (the first run's way)")
    ap.add_argument("--continue-unet", action="store_true",
                    help="run only stage 3b: train the saved text encoder + UNet in --out further")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every stage's step budget")
    ap.add_argument("--cache", type=pathlib.Path, default=pathlib.Path("/tmp"),
                    help="where the generated scenes are cached between runs")
    args = ap.parse_args()
    for stage in ("vae", "unet", "unet_continue"):
        HP[stage]["steps"] = int(HP[stage]["steps"] * args.scale)
        HP[stage]["max_minutes"] *= args.scale
    torch.manual_seed(HP["seed"])
    torch.set_num_threads(HP["threads"])
    args.docs.mkdir(parents=True, exist_ok=True)
    out: dict = {}
    t0 = time.time()
    cache = args.cache / f"demo-scenes-{HP['images']}-{HP['seed']}.npz"
    if cache.exists():
        data = np.load(cache)
        images, captions = data["images"], [str(c) for c in data["captions"]]
    else:
        images, captions = scenes.dataset_parallel(HP["images"], HP["seed"], workers=HP["threads"])
        np.savez(cache, images=images, captions=np.array(captions))
    out["data_seconds"] = round(time.time() - t0, 1)
    print(f"{len(images)} scenes in {out['data_seconds']} s", flush=True)
    if args.refine_decoder_only:
        refine_only(args, images, out)
        return
    if args.continue_unet:
        continue_unet(args, images, captions, out)
        return
    from transformers import CLIPTokenizer

    tokenizer = CLIPTokenizer.from_pretrained(TOKENIZER_SOURCE)
    with open(args.docs / "training.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["stage", "step", "seconds", "loss"])
        vae = train_vae(images, writer, out)
        vae.save_pretrained(args.cache / "demo-vae-stage1")  # for diagnosis while the UNet trains
        latents = encode_all(vae, images)
        scaling = float(1.0 / latents.std())
        out["vae_scaling_factor"] = scaling
        latents = latents * scaling
        text_encoder, unet = train_denoiser(latents, captions, tokenizer, writer, out)
        vae = refine_decoder(vae, images, writer, out)
    save_pipeline(args.out, vae, text_encoder, unet, scaling)
    out["total_minutes"] = round((time.time() - t0) / 60, 1)
    out["torch"] = torch.__version__
    (args.docs / "hyperparameters.json").write_text(json.dumps({"hp": HP, "run": out}, indent=1) + "\n")
    smoke_sheet(args.out, args.docs / "heldout-diffusers.png")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
