#!/usr/bin/env python3
"""How well a demo-model VAE can draw the checker's scenes: encode + decode 200 held-out scenes
(each held-out triple twice, one medium object on a plain background, as the prompts ask) and
read them back with a Python port of the checker's reader (server/src/demo_scenes/analysis.rs).

A developer diagnostic (never run by CI): the UNet can only be as right as the VAE that draws its
latents, so this says which stage limits `bench demo-model`.

    .venv-demo-model/bin/python scripts/demo_model/vae_check.py engine/models/demo-shapes/vae
"""

import json
import pathlib
import random
import sys
from collections import deque

import numpy as np
import torch

HERE = pathlib.Path(__file__).parent
sys.path.insert(0, str(HERE))
import scenes  # noqa: E402

VOCABULARY = json.loads((HERE / "vocabulary.json").read_text())
COLOURS = {k: np.array(v, dtype=np.float32) for k, v in VOCABULARY["colours"].items()}
TEMPLATES = {k: np.array([[c == "#" for c in row] for row in rows])
             for k, rows in VOCABULARY["shape_templates"].items()}


def nearest_colour(rgb: np.ndarray) -> str:
    return min(COLOURS, key=lambda k: np.linalg.norm(COLOURS[k] - rgb))


def largest_region(mask: np.ndarray) -> list:
    h, w = mask.shape
    seen, best = np.zeros_like(mask), []
    for start in zip(*np.nonzero(mask)):
        if seen[start]:
            continue
        seen[start], region, queue = True, [start], deque([start])
        while queue:
            y, x = queue.popleft()
            for yy, xx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= yy < h and 0 <= xx < w and mask[yy, xx] and not seen[yy, xx]:
                    seen[yy, xx] = True
                    region.append((yy, xx))
                    queue.append((yy, xx))
        if len(region) > len(best):
            best = region
    return best


def read_scene(img: np.ndarray) -> dict:
    """Background from the 2-px border's median, the largest region farther than 60 from it as
    the object, its colour from its interior, its shape by IoU with each template."""
    img = img.astype(np.float32)
    h, w, _ = img.shape
    border = np.concatenate([img[:2].reshape(-1, 3), img[-2:].reshape(-1, 3),
                             img[2:-2, :2].reshape(-1, 3), img[2:-2, -2:].reshape(-1, 3)])
    background = np.median(border, axis=0)
    region = largest_region(np.linalg.norm(img - background, axis=2) > 60)
    out = {"background": nearest_colour(background)}
    if len(region) < 12:
        return out
    inside = np.zeros((h, w), bool)
    for p in region:
        inside[p] = True
    interior = inside.copy()
    interior[1:-1, 1:-1] &= inside[:-2, 1:-1] & inside[2:, 1:-1] & inside[1:-1, :-2] & inside[1:-1, 2:]
    interior[0, :] = interior[-1, :] = interior[:, 0] = interior[:, -1] = False
    pixels = img[interior] if interior.sum() >= 4 else img[inside]
    out["colour"] = nearest_colour(np.median(pixels, axis=0))
    ys, xs = np.nonzero(inside)
    y0, y1, x0, x1 = ys.min(), ys.max(), xs.min(), xs.max()
    best = ("", -1.0)
    for name, t in TEMPLATES.items():
        idx = np.arange(t.shape[0])
        cols = x0 + np.minimum(((idx + 0.5) * (x1 - x0 + 1) / len(idx)).astype(int), x1 - x0)
        rows = y0 + np.minimum(((idx + 0.5) * (y1 - y0 + 1) / len(idx)).astype(int), y1 - y0)
        a = inside[np.ix_(rows, cols)]
        iou = (a & t).sum() / max((a | t).sum(), 1)
        if iou > best[1]:
            best = (name, iou)
    out["shape"] = best[0]
    return out


def held_out_scenes() -> tuple[np.ndarray, list]:
    rng = random.Random(7)
    images, truth = [], []
    for colour, shape, background in scenes.held_out_triples():
        for _ in range(2):
            scene = scenes.Scene(background, "plain")
            radius = rng.uniform(10, 14)
            centre = (rng.uniform(20, 44), rng.uniform(20, 44))
            scene.objects.append(scenes.SceneObject(shape, colour, None, None, radius, centre))
            images.append(scenes.render(scene, rng)[0])
            truth.append((colour, shape, background))
    return np.stack(images), truth


def score(images: np.ndarray, truth: list) -> list:
    right = np.zeros(3)
    for img, (colour, shape, background) in zip(images, truth):
        r = read_scene(img)
        right += [r.get("colour") == colour, r["background"] == background, r.get("shape") == shape]
    return (100 * right / len(images)).round(1).tolist()


def main() -> None:
    from diffusers import AutoencoderKL

    torch.set_num_threads(2)
    images, truth = held_out_scenes()
    vae = AutoencoderKL.from_pretrained(sys.argv[1]).float().eval()
    with torch.no_grad():
        x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
        rec = vae.decode(vae.encode(x).latent_dist.mean).sample
    rec = ((rec.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    print(json.dumps({
        "vae": sys.argv[1],
        "scenes": len(images),
        "originals_colour_background_shape_pct": score(images, truth),
        "reconstructions_colour_background_shape_pct": score(rec, truth),
        "reconstruction_l1": round(float(np.abs(rec.astype(float) - images).mean() / 255), 4),
    }))


if __name__ == "__main__":
    main()
