"""Batch-1, one-thread time of SmallEncoder variants through the inference fast path
(A/B in one run, interleaved): per-thread CPU (time.thread_time) and wall, best and p50.

    python scripts/bundled_cocola/time_encoders.py [--repeats 200]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from timbrefast.models import CocolaConfig, CocolaModel
from timbrefast.models.inference import fast_encoder

#: name -> CocolaConfig fields of the small encoder
VARIANTS = {
    "v1 (16,32,64,128)": dict(),
    "stem4x4/24 + (32,64,128)": dict(stem_width=24, stem_stride=(4, 4), widths=(32, 64, 128)),
    "stem4x4/24 + (32,64,96)": dict(stem_width=24, stem_stride=(4, 4), widths=(32, 64, 96)),
    "stem4x4/16 + (24,48,96)": dict(stem_width=16, stem_stride=(4, 4), widths=(24, 48, 96)),
    "stem2x4/16 + (24,48,96)": dict(stem_width=16, stem_stride=(2, 4), widths=(24, 48, 96)),
}


def macs(model: CocolaModel, x: torch.Tensor) -> int:
    total = 0
    hooks = []

    def hook(mod, inp, out):
        nonlocal total
        if isinstance(mod, torch.nn.Conv2d):
            total += out.numel() * mod.in_channels * mod.kernel_size[0] * mod.kernel_size[1] // mod.groups
        elif isinstance(mod, torch.nn.Linear):
            total += mod.in_features * mod.out_features * out.shape[0]

    for m in model.encoder.modules():
        hooks.append(m.register_forward_hook(hook))
    model.encoder(x)
    for h in hooks:
        h.remove()
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=200)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.rand(1, 2, 64, 501) * -80.0
    fasts, out = {}, {}
    with torch.no_grad():
        for name, kw in VARIANTS.items():
            m = CocolaModel(CocolaConfig(**kw)).eval()
            h = (x + 40) / 40
            if m.encoder.stem is not None:
                h = m.encoder.stem(h)
            h = m.encoder.stages(h)
            fasts[name] = fast_encoder(m.encoder)
            out[name] = dict(macs_M=round(macs(m, x) / 1e6, 1), params_M=round(sum(p.numel() for p in m.encoder.parameters()) / 1e6, 2),
                             last_map=list(h.shape[1:]), cpu=[], wall=[])
            for _ in range(20):
                fasts[name](x)
        for _ in range(args.repeats):
            for name, f in fasts.items():
                w, c = time.perf_counter(), time.thread_time()
                f(x)
                out[name]["cpu"].append(time.thread_time() - c)
                out[name]["wall"].append(time.perf_counter() - w)
    for name, r in out.items():
        cpu, wall = np.array(r.pop("cpu")) * 1e3, np.array(r.pop("wall")) * 1e3
        r.update(cpu_best_ms=round(cpu.min(), 3), cpu_p50_ms=round(float(np.median(cpu)), 3),
                 wall_best_ms=round(wall.min(), 3), wall_p50_ms=round(float(np.median(wall)), 3))
        print(json.dumps({name: r}))


if __name__ == "__main__":
    main()
