"""Print the Table I analog (markdown) from the runs' eval JSONs: table.py RUNS_DIR"""
import json
import sys
from pathlib import Path

PAPER = {"aic": 0.9613, "sic": 0.6008, "camil": 0.6236, "camil-finetune": 0.6270, "unsupervised": 0.6086,
         "sic-half": 0.5573, "camil-half": 0.5772, "unsupervised-half": 0.5768}
runs = Path(sys.argv[1])
print("| condition | data | accuracy | macro F1 | weighted F1 | pretraining steps | classifier steps | paper F1 |")
print("|---|---|---|---|---|---|---|---|")
for name in ("aic", "sic", "camil", "camil-finetune", "unsupervised", "sic-half", "camil-half", "unsupervised-half"):
    ev = runs / name / "eval" / "camil_eval.json"
    if not ev.exists():
        print(f"| {name} | | not run | | | | | {PAPER[name]} |")
        continue
    d = json.loads(ev.read_text())
    steps = json.loads((runs / name / "classifier" / "checkpoint" / "trainer.json").read_text())["step"]
    pre = runs / name / "pretrain" / "checkpoint" / "trainer.json"
    pre_steps = json.loads(pre.read_text())["step"] if pre.exists() else ("95 (camil's)" if name == "camil-finetune" else "-")
    cond = name.replace("-half", "")
    print(f"| {cond} | {'50 %' if name.endswith('-half') else '100 %'} | {d['accuracy']:.4f} | {d['macro_f1']:.4f} | "
          f"{d['weighted_f1']:.4f} | {pre_steps} | {steps} | {PAPER[name]} |")
