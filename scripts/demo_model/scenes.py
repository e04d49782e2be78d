#!/usr/bin/env python3
"""Synthetic captioned scenes for the demo model: 64x64 pictures of one or two simple objects.

Everything the model is trained on, and everything the checker (`stablesteering bench demo-model`)
scores against, comes from this file:

* the vocabulary (shapes, colours with their RGB values, sizes, positions, background textures),
  written to ``vocabulary.json`` so the Rust checker names the same colours and shapes;
* one scene = a background (plain colour, or a striped / dotted / gradient texture in a colour)
  plus one or two objects (shape, colour, size, position), drawn with 4x supersampling;
* captions in several phrasings, from the full description down to a bare "a red circle";
* per-image ground truth (object masks, colours, shape names) for the checker;
* a held-out set of (object colour, shape, background colour) triples that never appear in
  training (as the single object of a scene), which the checker renders from captions alone.

Only numpy is needed. ``python3 scenes.py --preview out.png`` writes a contact sheet.
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import random
from dataclasses import dataclass, field

import numpy as np

SIZE = 64
SUPERSAMPLE = 4

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 35),
    "orange": (245, 135, 20),
    "yellow": (245, 220, 35),
    "green": (40, 165, 60),
    "blue": (35, 75, 215),
    "purple": (125, 45, 175),
    "pink": (245, 135, 195),
    "white": (245, 245, 245),
    "black": (20, 20, 20),
    "brown": (125, 75, 35),
}
SHAPES = ["circle", "square", "triangle", "star", "ring", "cross", "heart", "diamond"]
SIZES = {"small": (7.0, 9.0), "large": (15.0, 19.0)}
MEDIUM = (10.0, 14.0)
POSITIONS = {
    "left": (16, 32), "right": (48, 32), "top": (32, 16), "bottom": (32, 48), "centre": (32, 32),
    "top left": (17, 17), "top right": (47, 17), "bottom left": (17, 47), "bottom right": (47, 47),
}
TEXTURES = ["plain", "striped", "dotted", "gradient"]
# "dark background" / "light background" name these plain colours.
TONE_WORDS = {"dark": "black", "light": "white"}

HELD_OUT_SEED = 20261204
HELD_OUT_COUNT = 100


@dataclass
class SceneObject:
    shape: str
    colour: str
    size_word: str | None  # "small" / "large" / None (medium, unnamed)
    position_word: str | None  # a POSITIONS key, or None (random place, unnamed)
    radius: float
    centre: tuple[float, float]


@dataclass
class Scene:
    background: str  # colour name
    texture: str  # plain / striped / dotted / gradient
    objects: list[SceneObject] = field(default_factory=list)


def held_out_triples() -> list[tuple[str, str, str]]:
    """(object colour, shape, background colour) combinations that training never shows alone."""
    rng = random.Random(HELD_OUT_SEED)
    triples = [
        (c, s, b) for c in COLOURS for s in SHAPES for b in COLOURS if c != b
    ]
    rng.shuffle(triples)
    return sorted(triples[:HELD_OUT_COUNT])


def held_out_prompts() -> list[dict]:
    """The checker's prompts: one per held-out triple, in the canonical phrasing."""
    return [
        {"prompt": f"{article(c)} {c} {s} on {article(b)} {b} background",
         "colour": c, "shape": s, "background": b}
        for c, s, b in held_out_triples()
    ]


# ---------------------------------------------------------------- geometry (unit coordinates)

def shape_mask(shape: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Inside-test for a shape of "radius" 1 centred at the origin (x right, y down)."""
    r = np.hypot(x, y)
    if shape == "circle":
        return r <= 1.0
    if shape == "ring":
        return (r <= 1.0) & (r >= 0.55)
    if shape == "square":
        return (np.abs(x) <= 0.82) & (np.abs(y) <= 0.82)
    if shape == "diamond":
        return np.abs(x) + np.abs(y) <= 1.05
    if shape == "cross":
        arm = 0.32
        return ((np.abs(x) <= arm) & (np.abs(y) <= 1.0)) | ((np.abs(y) <= arm) & (np.abs(x) <= 1.0))
    if shape == "triangle":
        # Apex up, base at y = 0.6, roughly centred on the origin.
        return (y <= 0.6) & (np.abs(x) <= (y + 1.0) * 0.62)
    if shape == "star":
        theta = np.arctan2(y, x) + math.pi / 2
        k = (theta % (2 * math.pi / 5)) / (2 * math.pi / 5)  # 0..1 inside one point's sector
        tri = np.abs(k - 0.5) * 2  # 1 at the tips' angle, 0 between
        limit = 0.42 + 0.63 * tri**1.6
        return r <= limit
    if shape == "heart":
        xs, ys = x * 1.15, -(y * 1.15) + 0.25
        return (xs**2 + ys**2 - 1) ** 3 - xs**2 * ys**3 <= 0
    raise ValueError(f"unknown shape {shape}")


def object_mask(obj: SceneObject) -> np.ndarray:
    """Coverage in [0, 1] of one object on the 64x64 grid (4x supersampled)."""
    n = SIZE * SUPERSAMPLE
    coords = (np.arange(n) + 0.5) / SUPERSAMPLE
    xx, yy = np.meshgrid(coords, coords)
    x = (xx - obj.centre[0]) / obj.radius
    y = (yy - obj.centre[1]) / obj.radius
    inside = shape_mask(obj.shape, x, y)
    return inside.reshape(SIZE, SUPERSAMPLE, SIZE, SUPERSAMPLE).mean(axis=(1, 3))


def background_image(colour: str, texture: str, rng: random.Random) -> np.ndarray:
    base = np.array(COLOURS[colour], dtype=np.float32)
    # The texture's second tone: lighter for dark colours, darker for light ones.
    other = base * 0.55 if base.mean() > 110 else base + (255 - base) * 0.45
    img = np.broadcast_to(base, (SIZE, SIZE, 3)).copy()
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    if texture == "striped":
        period = rng.choice([8, 10, 12])
        phase = rng.random() * period
        if rng.random() < 0.5:
            t = ((xx + phase) % period) < period / 2
        else:
            t = ((xx + yy + phase) % period) < period / 2
        img[t] = other
    elif texture == "dotted":
        period = rng.choice([8, 10])
        ox, oy = rng.random() * period, rng.random() * period
        d = np.hypot((xx + ox) % period - period / 2, (yy + oy) % period - period / 2)
        img[d <= period * 0.22] = other
    elif texture == "gradient":
        t = (yy / (SIZE - 1))[..., None] if rng.random() < 0.5 else (xx / (SIZE - 1))[..., None]
        img = base * (1 - 0.6 * t) + other * (0.6 * t)
    return img


def render(scene: Scene, rng: random.Random) -> tuple[np.ndarray, list[np.ndarray]]:
    """The picture (uint8 HxWx3) and each object's coverage mask (float HxW)."""
    img = background_image(scene.background, scene.texture, rng)
    masks = []
    for obj in scene.objects:
        m = object_mask(obj)
        col = np.array(COLOURS[obj.colour], dtype=np.float32)
        img = img * (1 - m[..., None]) + col * m[..., None]
        masks.append(m)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8), masks


# ---------------------------------------------------------------- sampling scenes and captions

def sample_object(rng: random.Random, background: str, taken: list[SceneObject],
                  triple_ok) -> SceneObject:
    for _ in range(100):
        shape = rng.choice(SHAPES)
        colour = rng.choice([c for c in COLOURS if c != background])
        if not triple_ok(colour, shape):
            continue
        size_word = rng.choice(["small", "large", None, None])
        lo, hi = SIZES.get(size_word, MEDIUM) if size_word else MEDIUM
        radius = rng.uniform(lo, hi)
        position_word = rng.choice(list(POSITIONS) + [None, None, None])
        if position_word:
            px, py = POSITIONS[position_word]
            cx, cy = px + rng.uniform(-3, 3), py + rng.uniform(-3, 3)
        else:
            cx, cy = rng.uniform(12, 52), rng.uniform(12, 52)
        margin = radius + 1
        cx, cy = min(max(cx, margin), SIZE - margin), min(max(cy, margin), SIZE - margin)
        if taken:
            if colour in {o.colour for o in taken}:
                continue
            if any(math.hypot(cx - o.centre[0], cy - o.centre[1]) < radius + o.radius + 2 for o in taken):
                continue
        return SceneObject(shape, colour, size_word, position_word, radius, (cx, cy))
    raise RuntimeError("could not place an object")


def sample_scene(rng: random.Random, held_out: set[tuple[str, str, str]]) -> Scene:
    background = rng.choice(list(COLOURS))
    texture = rng.choices(TEXTURES, weights=[0.55, 0.15, 0.15, 0.15])[0]
    scene = Scene(background, texture)
    two = rng.random() < 0.25

    def single_ok(colour: str, shape: str) -> bool:
        return (colour, shape, background) not in held_out

    first = sample_object(rng, background, [], single_ok if not two else (lambda c, s: True))
    scene.objects.append(first)
    if two:
        # Two objects: no position words (the caption names them by shape and colour), smaller.
        first.size_word, first.position_word = None, None
        first.radius = rng.uniform(8, 11)
        first.centre = (rng.uniform(14, 24), rng.uniform(14, 50))
        second = sample_object(rng, background, [first], lambda c, s: True)
        second.size_word, second.position_word = None, None
        second.radius = rng.uniform(8, 11)
        second.centre = (rng.uniform(40, 50), rng.uniform(14, 50))
        if rng.random() < 0.5:
            first.centre, second.centre = second.centre, first.centre
        scene.objects.append(second)
    return scene


def background_phrase(scene: Scene, rng: random.Random) -> str:
    words = scene.background
    if scene.texture == "plain" and scene.background in TONE_WORDS.values() and rng.random() < 0.3:
        words = {v: k for k, v in TONE_WORDS.items()}[scene.background]
    if scene.texture != "plain":
        words = f"{scene.texture} {words}" if rng.random() < 0.5 else f"{words} {scene.texture}"
    return words


def article(words: str) -> str:
    return "an" if words[0] in "aeiou" else "a"


WHERE = {"left": "on the left", "right": "on the right", "top": "at the top",
         "bottom": "at the bottom", "centre": "in the centre"}


def where_phrase(position_word: str) -> str:
    return WHERE.get(position_word, f"in the {position_word}")


def object_phrase(obj: SceneObject, rng: random.Random, with_size: bool) -> str:
    parts = [obj.size_word] if with_size and obj.size_word else []
    parts += [obj.colour, obj.shape]
    return " ".join(parts)


def caption(scene: Scene, rng: random.Random) -> str:
    """One of several phrasings; some leave attributes out (the picture still has them)."""
    bg = background_phrase(scene, rng)
    if len(scene.objects) == 2:
        a, b = (object_phrase(o, rng, False) for o in scene.objects)
        forms = [f"{article(a)} {a} and {article(b)} {b} on {article(bg)} {bg} background",
                 f"{a} and {b}, {bg} background", f"{article(a)} {a} and {article(b)} {b}"]
        return rng.choice(forms)
    obj = scene.objects[0]
    what = object_phrase(obj, rng, True)
    where = obj.position_word
    a, on_bg = article(what), f"on {article(bg)} {bg} background"
    forms = [f"{a} {what} {on_bg}", f"{what}, {bg} background", f"{a} {what}"]
    if where:
        place = where_phrase(where)
        forms += [f"{a} {what} {place}, {bg} background", f"{what} {place} {on_bg}",
                  f"{a} {what} {place}"]
    if rng.random() < 0.15:
        bare = f"{obj.colour} {obj.shape}"
        return f"{article(bare)} {bare}" if rng.random() < 0.5 else f"{bg} background"
    return rng.choice(forms)


def dataset(count: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """`count` pictures (N x 64 x 64 x 3 uint8) and their captions, deterministic in `seed`."""
    rng = random.Random(seed)
    held = set(held_out_triples())
    images = np.empty((count, SIZE, SIZE, 3), dtype=np.uint8)
    captions = []
    for i in range(count):
        scene = sample_scene(rng, held)
        images[i], _ = render(scene, rng)
        captions.append(caption(scene, rng))
    return images, captions


def _chunk(args: tuple[int, int]) -> tuple[np.ndarray, list[str]]:
    count, seed = args
    return dataset(count, seed)


def dataset_parallel(count: int, seed: int, workers: int = 2, chunk: int = 5000):
    """`dataset` in chunks of `chunk` scenes (chunk i seeded `seed * 1000 + i`) on `workers`
    processes; deterministic in (count, seed, chunk)."""
    from multiprocessing import Pool

    jobs = [(min(chunk, count - start), seed * 1000 + i)
            for i, start in enumerate(range(0, count, chunk))]
    with Pool(workers) as pool:
        parts = pool.map(_chunk, jobs)
    return np.concatenate([p[0] for p in parts]), [c for p in parts for c in p[1]]


def write_vocabulary(path: pathlib.Path) -> None:
    path.write_text(json.dumps({
        "size": SIZE,
        "colours": {k: list(v) for k, v in COLOURS.items()},
        "shapes": SHAPES,
        "held_out": held_out_prompts(),
        "shape_templates": shape_templates(),
    }, indent=1) + "\n")


def shape_templates(n: int = 24) -> dict[str, list[str]]:
    """Each shape as an n x n bitmap filling its bounding box, for the checker's shape test."""
    out = {}
    for shape in SHAPES:
        obj = SceneObject(shape, "white", None, None, 20.0, (32.0, 32.0))
        m = object_mask(obj) > 0.5
        ys, xs = np.nonzero(m)
        crop = m[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1].astype(np.float32)
        iy = (np.arange(n) + 0.5) * crop.shape[0] / n
        ix = (np.arange(n) + 0.5) * crop.shape[1] / n
        t = crop[iy.astype(int)][:, ix.astype(int)] > 0.5
        out[shape] = ["".join("#" if v else "." for v in row) for row in t]
    return out


def write_png(path: pathlib.Path, rgb: np.ndarray) -> None:
    """A minimal RGB PNG writer (no imaging library needed)."""
    import struct
    import zlib

    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(rgb.shape[0]))

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", rgb.shape[1], rgb.shape[0], 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preview", type=pathlib.Path, help="write a contact sheet PNG of 64 scenes")
    ap.add_argument("--vocabulary", type=pathlib.Path, help="write vocabulary.json here")
    args = ap.parse_args()
    if args.vocabulary:
        write_vocabulary(args.vocabulary)
    if args.preview:
        imgs, caps = dataset(64, 1)
        sheet = imgs.reshape(8, 8, SIZE, SIZE, 3).transpose(0, 2, 1, 3, 4).reshape(8 * SIZE, 8 * SIZE, 3)
        write_png(args.preview, sheet)
        for i, c in enumerate(caps[:64]):
            print(i, c)


if __name__ == "__main__":
    main()
