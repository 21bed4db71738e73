"""Fine-tune the answer checker (askfront/answer/reader/check.py) on examples from training/check_data.py.

    python training/train_check.py --data training/check/data.jsonl --out training/check/run \
        --max-steps 3000 [--v2-repeat 2] [--device cpu|cuda] [--base FOLDER --no-export]

A cross-encoder on the packaged all-MiniLM-L6-v2: question and marked sentence in, one logit out, binary
cross-entropy against the label (the candidate is a right answer). Examples from SQuAD v2.0 dev-train (real
unanswerable questions) are seen --v2-repeat times. Checkpoints every --save-every steps into --out and
resumes from there when started again with the same arguments (the batch order is a function of --seed);
--time-limit stops cleanly (checkpoint written) after that many seconds, and a later start goes on. When
all steps are done it writes the fp16 checker (without the frozen word embeddings) to --out/check/, ready
to copy into src/askfront/models/reader/.

--base FOLDER trains on another sentence-transformers folder (the side-by-side comparison of bases in
benchmarks/check_bases.py); such a run is not exported as askfront's checker.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from train_reader import batches, save_checkpoint

from askfront.answer.reader import check
from askfront.index.embed import bf16_is_fast


def read_examples(path: Path, v2_repeat: int, limit: int = 0) -> list[dict]:
    rows = [json.loads(line) for line in path.open()]
    rows = rows[:limit] if limit else rows
    return [r for r in rows for _ in range(v2_repeat if r["source"] == "v2" else 1)]


def build(base: Path | None, device: str, lr: float, weight_decay: float):
    import torch

    model = check.base_model(base, check=base is None).to(device)
    model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    plain = ("bias", "LayerNorm.weight")
    optimizer = torch.optim.AdamW(
        [{"params": [p for n, p in named if not n.endswith(plain)], "weight_decay": weight_decay},
         {"params": [p for n, p in named if n.endswith(plain)], "weight_decay": 0.0}], lr=lr,
    )  # fmt: skip
    return model, optimizer


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--limit", type=int, default=0, help="use only the first N examples of --data")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many batches (0: one epoch)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--warmup", type=float, default=0.05)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--v2-repeat", type=int, default=2)
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"])
    p.add_argument("--base", type=Path, help="another base model folder (comparison only; not exported)")
    p.add_argument("--time-limit", type=float, default=0, help="stop (checkpointed) after this many seconds")
    p.add_argument("--save-every", type=int, default=100)
    p.add_argument("--log-every", type=int, default=20)
    p.add_argument("--export-checkpoint", action="store_true", help="only export --out/checkpoint.pt as it stands")
    args = p.parse_args(argv)

    import torch

    torch.manual_seed(args.seed)
    precision = args.precision
    if precision == "auto":
        precision = "bf16" if args.device == "cuda" or bf16_is_fast() else "fp32"
    dtype = torch.bfloat16 if precision == "bf16" else None
    args.out.mkdir(parents=True, exist_ok=True)
    ckpt = args.out / "checkpoint.pt"
    model, optimizer = build(args.base, args.device, args.lr, args.weight_decay)
    step = 0
    if ckpt.exists():
        state = torch.load(ckpt, map_location=args.device)
        model.load_state_dict(state["model"], strict=False)
        optimizer.load_state_dict(state["optimizer"])
        step = state["step"]
        print(f"resumed from {ckpt} at step {step}", flush=True)
    if args.export_checkpoint:
        print(f"wrote {check.export(model.float(), args.out / 'check', {'trained': {'steps': step}})}")
        return 0

    t0 = time.time()
    rng = random.Random(args.seed)
    rows = read_examples(args.data, args.v2_repeat, args.limit)
    tokenizer = check.load_tokenizer(args.base)
    lengths = [len(r["question"]) + len(r["text"]) for r in rows]
    plan = [b for _ in range(args.epochs) for b in batches(lengths, args.batch_size, rng)]
    total = min(args.max_steps or len(plan), len(plan))
    positives = sum(r["label"] for r in rows)
    print(f"{len(rows)} examples ({positives} right answers), {total} of {len(plan)} batches, {precision} on "
          f"{args.device}, prepared in {time.time() - t0:.0f} s", flush=True)  # fmt: skip
    warm = max(1, int(total * args.warmup))

    def lr_at(n: int) -> float:
        return args.lr * (n / warm if n < warm else max(0.0, (total - n) / max(1, total - warm)))

    model.train()
    seen, tick, losses, started = 0, time.time(), [], time.time()
    while step < total:
        idx = plan[step]
        batch = check.encode(tokenizer, [rows[i]["question"] for i in idx], [rows[i]["text"] for i in idx], args.device)
        labels = torch.tensor([float(rows[i]["label"]) for i in idx], device=args.device)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step)
        with torch.autocast(args.device, dtype=dtype, enabled=dtype is not None):
            logits = model(**batch)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        seen += len(idx)
        losses.append(float(loss.detach()))
        if step % args.log_every == 0 or step == total:
            print(f"step {step}/{total} loss {np.mean(losses):.4f} lr {lr_at(step):.2e} "
                  f"{seen / (time.time() - tick):.1f} examples/s", flush=True)  # fmt: skip
            losses = []
        out_of_time = args.time_limit and time.time() - started > args.time_limit
        if step % args.save_every == 0 or step == total or out_of_time:
            save_checkpoint(ckpt, model, optimizer, step, check.WORD_EMBEDDINGS)
        if out_of_time and step < total:
            print(f"time limit reached at step {step}; start again to go on", flush=True)
            return 0

    if args.base is None:
        meta = {"base": "sentence-transformers/all-MiniLM-L6-v2",
                "trained": {"data": args.data.name, "examples": len(rows), "right_answers": positives, "steps": total,
                            "batch_size": args.batch_size, "lr": args.lr, "warmup": args.warmup,
                            "v2_repeat": args.v2_repeat, "epochs": args.epochs, "seed": args.seed,
                            "precision": precision, "device": args.device,
                            "command": "python training/train_check.py " + " ".join(sys.argv[1:] if argv is None
                                                                                    else argv)}}  # fmt: skip
        weights = check.export(model.float(), args.out / "check", meta)
        print(f"wrote {weights} ({weights.stat().st_size / 1e6:.1f} MB) in {time.time() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
