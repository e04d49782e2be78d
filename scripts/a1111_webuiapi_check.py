#!/usr/bin/env python3
"""Drives a running StableSteering server with the real `webuiapi` client from PyPI.

Usage: a1111_webuiapi_check.py HOST PORT  (scripts/a1111-check.sh starts the server and runs
this). Prints one line per check and, last, exactly `N passed, M failed`; exits 1 on failure.
"""

import json
import sys
import threading
import time
import traceback

import webuiapi

RESULTS = []


def check(name):
    def wrap(fn):
        try:
            fn()
            RESULTS.append((name, True, ""))
            print(f"PASS {name}")
        except Exception as e:  # noqa: BLE001 - report every failure and go on
            RESULTS.append((name, False, repr(e)))
            print(f"FAIL {name}: {e!r}")
            traceback.print_exc()
        return fn

    return wrap


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    api = webuiapi.WebUIApi(host=host, port=port, sampler="Euler", steps=3)
    state = {}

    @check("txt2img is deterministic with a fixed seed")
    def _():
        kw = dict(prompt="a lighthouse", negative_prompt="blurry", seed=1234,
                  width=64, height=64, steps=3, sampler_name="Euler", cfg_scale=7)
        a = api.txt2img(**kw)
        b = api.txt2img(**kw)
        assert len(a.images) == 1 and a.image.size == (64, 64), a.images
        raw_a = a.json["images"][0]
        assert raw_a == b.json["images"][0], "same seed gave different bytes"
        assert not raw_a.startswith("data:")
        assert isinstance(a.info, dict), type(a.info)
        assert a.info["seed"] == 1234 and a.info["all_seeds"] == [1234], a.info
        assert "Seed: 1234" in a.info["infotexts"][0]
        assert a.parameters["steps"] == 3
        assert "parameters" in a.image.info and "stablesteering" in a.image.info, a.image.info.keys()
        assert json.loads(a.image.info["stablesteering"])["snapshot"]["kind"] == "txt2img"
        state["image"] = a.image
        state["infotext"] = a.info["infotexts"][0]

    @check("img2img from the txt2img result")
    def _():
        r = api.img2img(images=[state["image"]], prompt="a lighthouse at night",
                        denoising_strength=0.5, seed=5, width=64, height=64, steps=4)
        assert len(r.images) == 1 and r.image.size == (64, 64)
        assert r.info["denoising_strength"] == 0.5
        assert "Denoising strength: 0.5" in r.image.info["parameters"]

    @check("progress when idle")
    def _():
        p = api.get_progress()
        assert p["progress"] == 0 and p["state"]["job_count"] == 0, p

    @check("interrupt stops a running txt2img of this client")
    def _():
        out = {}

        def run():
            out["r"] = api.txt2img(prompt="long", seed=9, width=128, height=128, steps=150, batch_size=2)

        t = threading.Thread(target=run)
        t.start()
        seen = False
        for _ in range(500):
            p = api.get_progress()
            if p["state"]["job_count"] == 1 and p["state"]["sampling_step"] > 0:
                assert 0.01 < p["progress"] <= 1.0, p
                seen = True
                break
            time.sleep(0.01)
        assert seen, "the job was never seen running"
        assert api.interrupt() == {}
        t.join(120)
        assert not t.is_alive()
        assert out["r"].images == [] and out["r"].info["interrupted"] is True, out["r"].info

    @check("skip answers null")
    def _():
        assert api.skip() is None

    @check("get_options / set_options")
    def _():
        opts = api.get_options()
        for key in ("sd_model_checkpoint", "sd_checkpoint_hash", "samples_format",
                    "CLIP_stop_at_last_layers"):
            assert key in opts, key
        assert opts["samples_format"] == "png"
        assert api.set_options({"CLIP_stop_at_last_layers": 2}) is None
        assert api.get_options()["CLIP_stop_at_last_layers"] == 2
        r = api.txt2img(prompt="clip", seed=3, width=64, height=64, steps=2)
        assert r.info["clip_skip"] == 2 and "Clip skip: 2" in r.info["infotexts"][0], r.info
        assert api.set_options({"CLIP_stop_at_last_layers": 1}) is None
        assert api.util_get_current_model() == opts["sd_model_checkpoint"]

    @check("get_samplers")
    def _():
        names = api.util_get_sampler_names()
        for n in ("Euler", "Euler a", "DPM++ 2M", "DDIM", "LMS", "PLMS"):
            assert n in names, names

    @check("get_schedulers")
    def _():
        assert api.util_get_scheduler_names() == ["automatic", "karras"]

    @check("get_sd_models")
    def _():
        models = api.get_sd_models()
        assert len(models) == 1 and models[0]["title"].endswith("]"), models
        assert api.util_get_model_names() == [models[0]["title"]]

    @check("png_info")
    def _():
        r = api.png_info(state["image"])
        assert r.info == state["infotext"], (r.info, state["infotext"])
        assert r.parameters["Seed"] == "1234" and r.parameters["Prompt"] == "a lighthouse"

    @check("misc endpoints")
    def _():
        assert api.get_scripts() == {"txt2img": [], "img2img": []}
        assert api.get_embeddings() == {"loaded": {}, "skipped": {}}
        assert api.get_sd_vae() == [] and api.get_loras() == [] and api.get_upscalers() == []
        assert "ram" in api.get_memory()
        assert isinstance(api.get_cmd_flags(), dict)

    @check("unknown sampler is a 400 in A1111's shape")
    def _():
        try:
            api.txt2img(prompt="x", sampler_name="Heun", width=64, height=64, steps=2)
        except RuntimeError as e:
            status, text = e.args
            assert status == 400, e.args
            assert set(json.loads(text)) >= {"error", "detail", "body", "errors"}
        else:
            raise AssertionError("no error")

    @check("fields asking for what is not implemented are a 422 naming them, not ignored")
    def _():
        for call, field in [
            (lambda: api.txt2img(prompt="x", enable_hr=True, width=64, height=64, steps=2), "enable_hr"),
            (lambda: api.txt2img(prompt="x", restore_faces=True, width=64, height=64, steps=2), "restore_faces"),
            (lambda: api.img2img(images=[state["image"]], mask_image=state["image"], prompt="x", steps=2), "mask"),
        ]:
            try:
                call()
            except RuntimeError as e:
                status, text = e.args
                assert status == 422, e.args
                locs = [d["loc"][-1] for d in json.loads(text)["detail"]]
                assert locs == [field], (field, text)
            else:
                raise AssertionError(f"{field} was accepted")

    passed = sum(1 for _, ok, _ in RESULTS if ok)
    failed = len(RESULTS) - passed
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
