"""Same-run A/B of the fused "cocola" frontend against another build (a developer's tool).

    python benchmarks/cocola_ab.py --baseline /path/to/other/python --rounds 5

Alternates fresh worker processes of benchmarks/frontends.py (this tree, then the baseline,
then the other way round) for B=32 clips at 1 and 2 threads and for one clip per call, and
prints the best ms/clip of each side and their ratio. Timings only; nothing is asserted.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", required=True, metavar="DIR", help="PYTHONPATH of the other build")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--single", action="store_true", help="also one clip per call")
    ap.add_argument("--no-batch", action="store_true", help="only one clip per call (with --single)")
    args = ap.parse_args()
    import frontends  # noqa: E402  (benchmarks/frontends.py)

    frontends.print_header(2)
    this_path = os.path.join(os.path.dirname(HERE), "python")
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "music.npy")
        frontends.render_music(args.batch, data)
        runs = [] if args.no_batch else [("tf_cocola", 2), ("tf_cocola", 1)]
        runs += [("tf_cocola_single", 2)] if args.single else []
        res = {(side, n, t): [] for side in ("this", "base") for n, t in runs}
        for r in range(args.rounds):
            for side in (("this", "base") if r % 2 == 0 else ("base", "this")):
                path = this_path if side == "this" else os.path.abspath(args.baseline)
                for name, t in runs:
                    env = dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS=str(t), OPENBLAS_NUM_THREADS="1",
                               TIMBREFAST_NUM_THREADS=str(t))
                    out = subprocess.run([sys.executable, os.path.join(HERE, "frontends.py"), "--worker", name,
                                          "--data", data, "--threads", str(t)],
                                         check=True, capture_output=True, text=True, env=env)
                    res[(side, name, t)].append(json.loads(out.stdout.strip().splitlines()[-1]))
        for name, t in runs:
            if name == "tf_cocola":
                a = [x["ms_per_clip"] for x in res[("this", name, t)]]
                b = [x["ms_per_clip"] for x in res[("base", name, t)]]
                print(f"B={args.batch}, {t} thread(s): this best {min(a):.3f} ms/clip, baseline best {min(b):.3f}: "
                      f"{min(b) / min(a):.3f}x   (this {' '.join(f'{v:.2f}' for v in a)} | "
                      f"base {' '.join(f'{v:.2f}' for v in b)})")
            else:
                for tt in (1, 2):
                    for mode in ("warm", "cold"):
                        a = min(x[f"{tt}:{mode}"][0] for x in res[("this", name, t)])
                        b = min(x[f"{tt}:{mode}"][0] for x in res[("base", name, t)])
                        print(f"one clip, {tt} thread(s), {mode}: p50 this {a:.3f} / baseline {b:.3f} ms "
                              f"({b / a:.3f}x)")


if __name__ == "__main__":
    main()
