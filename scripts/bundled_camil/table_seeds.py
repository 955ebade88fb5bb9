"""The Table I analog over seeds (markdown) from table1_v3.sh's runs: table_seeds.py RUNS_DIR [EVAL_SUBDIR]

Runs are named CONDITION-sSEED (full data) and CONDITION-half-sSEED; each row gives the
mean ± the sample standard deviation of macro F1 and accuracy over the seeds that
finished (n), the seeds' values, and the steps actually trained (wall-clock caps may stop
a stage early). EVAL_SUBDIR (default ``eval``) picks which test set's eval to read.
"""
import json
import re
import statistics
import sys
from pathlib import Path

PAPER = {("aic", "100 %"): 0.9613, ("sic", "100 %"): 0.6008, ("camil", "100 %"): 0.6236,
         ("camil-finetune", "100 %"): 0.6270, ("unsupervised", "100 %"): 0.6086, ("sic", "50 %"): 0.5573,
         ("camil", "50 %"): 0.5772, ("unsupervised", "50 %"): 0.5768}
ORDER = ("aic", "sic", "camil", "camil-finetune", "unsupervised")


def steps(path: Path):
    p = path / "checkpoint" / "trainer.json"
    return json.loads(p.read_text())["step"] if p.exists() else None


def main(runs: Path, sub: str = "eval") -> None:
    rows = {}
    for d in sorted(runs.iterdir()):
        m = re.fullmatch(r"(aic|sic|camil|camil-finetune|unsupervised)(-half)?-s(\d+)", d.name)
        ev = d / sub / "camil_eval.json"
        if not m or not ev.exists():
            continue
        r = json.loads(ev.read_text())
        cond = json.loads((d / "condition.json").read_text())
        pre = cond.get("pretrained")
        pre_steps = steps(Path(pre).parent) if pre else None
        key = (m.group(1), "50 %" if m.group(2) else "100 %")
        rows.setdefault(key, []).append((int(m.group(3)), r["macro_f1"], r["accuracy"], pre_steps,
                                         steps(d / "classifier")))
    print("| condition | data | macro F1 (mean ± sd) | accuracy (mean ± sd) | n | seeds: macro F1 "
          "| pretraining steps | classifier steps | paper F1 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for data in ("100 %", "50 %"):
        for c in ORDER:
            v = sorted(rows.get((c, data), []))
            paper = PAPER.get((c, data), "-")
            if not v:
                if (c, data) in PAPER:
                    print(f"| {c} | {data} | not run | | 0 | | | | {paper} |")
                continue
            f1 = [x[1] for x in v]
            acc = [x[2] for x in v]
            sd = (lambda a: f" ± {statistics.stdev(a):.3f}" if len(a) > 1 else "")
            pre = sorted({x[3] for x in v if x[3] is not None})
            cls = sorted({x[4] for x in v if x[4] is not None})
            print(f"| {c} | {data} | {statistics.mean(f1):.3f}{sd(f1)} | {statistics.mean(acc):.3f}{sd(acc)} | "
                  f"{len(v)} | {', '.join(f's{x[0]} {x[1]:.3f}' for x in v)} | "
                  f"{'/'.join(map(str, pre)) or '-'} | {'/'.join(map(str, cls))} | {paper} |")


if __name__ == "__main__":
    main(Path(sys.argv[1]), *(sys.argv[2:3]))
