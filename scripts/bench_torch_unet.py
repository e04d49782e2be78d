#!/usr/bin/env python3
"""PyTorch's side of `stablesteering bench engine --unet-forward`: the median of 20 bare UNet
forwards of a diffusers folder, batch 2, at the model's native latent size, on the CPU.

A developer script (never run by CI), for the same-sitting baseline in docs/BENCHMARKS.md:

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install -r scripts/engine-fixtures-requirements.txt
    /tmp/venv/bin/python scripts/bench_torch_unet.py engine/models/tiny-sd1 --threads 2
"""

import argparse
import json
import statistics
import time

import torch
from diffusers import UNet2DConditionModel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help="a diffusers Stable Diffusion folder")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    unet = UNet2DConditionModel.from_pretrained(f"{args.model}/unet").float().eval()
    cfg = unet.config
    side = cfg.sample_size
    x = torch.randn(2, cfg.in_channels, side, side)
    context = torch.randn(2, 77, cfg.cross_attention_dim)
    t = torch.tensor([999, 421])  # as the Rust bench
    times = []
    with torch.no_grad():
        for i in range(args.runs + 3):
            start = time.perf_counter()
            unet(x, t, encoder_hidden_states=context)
            if i >= 3:  # the first calls pay for allocations and oneDNN's kernel choice
                times.append((time.perf_counter() - start) * 1000)
    print(json.dumps({"model": args.model, "torch": torch.__version__, "threads": args.threads,
                      "latent": [2, cfg.in_channels, side, side],
                      "unet_forward_ms_median": round(statistics.median(times), 2)}))


if __name__ == "__main__":
    main()
