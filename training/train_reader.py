"""Fine-tune the packaged all-MiniLM-L6-v2 as askfront's span reader on SQuAD v1.1.

    python training/train_reader.py --data ../shared/qa/squad-v1.1-train.json.gz --out training/run \
        --max-steps 2400 [--questions 40000] [--device cpu|cuda] [--precision auto|bf16|fp32|fp16]

Start/end logits over the passage, no answer at [CLS]. SQuAD v1.1 has no unanswerable questions, so some
are paired with a passage that cannot answer them: another paragraph of the same article that lacks the
answer text, or the question's own paragraph with the sentence holding the answer cut out (closer to what a
reader meets: a passage on the right topic that does not say), or the question with one of its names or
numbers that the paragraph holds swapped for one it does not ("... at Super Bowl 50?" -> "... at Super Bowl
37?": the paragraph is on topic but does not answer; the kind of unanswerable question SQuAD v2.0 asks).
Windows of a long paragraph that miss the answer also point at [CLS].

--mix FILE (with --mix-repeat N) adds the questions of another SQuAD-format file, each N times: a SQuAD
v2.0 file brings real unanswerable questions ("is_impossible", paired with their own paragraph), written
to be hard: on topic, with a plausible answer in the paragraph. Only ../shared/qa/squad-v2.0-dev-train.json
may be mixed in (its articles are kept out of the calibration and test parts).

--init FOLDER starts from an exported reader instead of the bare base model (a second, lower-rate pass; the
shipped reader's card names both commands).

It checkpoints every --save-every steps into --out and resumes from there when started again with the same
arguments (batches are a function of --seed, so a resumed run sees the same data in the same order). When
done it writes the fp16 reader (without the frozen word embeddings) to --out/reader/, ready to copy into
src/askfront/models/reader/.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import sys
import time
from pathlib import Path

import numpy as np

from askfront.answer.reader import decode as rdecode
from askfront.answer.reader import model as rmodel
from askfront.index.embed import bf16_is_fast

SENTENCE_END = re.compile(r"[.!?][\"')\]]?\s+")


def load_squad(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)["data"]


def cut_sentence(context: str, start: int, end: int) -> str | None:
    """``context`` without the sentence(s) that hold characters start..end."""
    s = 0
    for m in SENTENCE_END.finditer(context, 0, start):
        s = m.end()
    m = SENTENCE_END.search(context, end)
    e = m.end() if m else len(context)
    rest = (context[:s] + context[e:]).strip()
    return rest if len(rest) >= 100 else None


NAME = re.compile(r"(?<!^)\b[A-Z][a-zA-Z]{2,}\b")
NUMBER = re.compile(r"\b\d{1,4}\b")


def swap_pools(data: list[dict]) -> dict[str, list[str]]:
    """Capitalised words and numbers seen in the contexts, for swapping into questions."""
    names: set[str] = set()
    numbers: set[str] = set()
    for article in data:
        for para in article["paragraphs"]:
            names.update(NAME.findall(para["context"]))
            numbers.update(NUMBER.findall(para["context"]))
    return {"name": sorted(names), "number": sorted(numbers)}


def swap_question(question: str, ctx: str, pools: dict[str, list[str]], rng: random.Random) -> str | None:
    """``question`` with one name or number that ``ctx`` holds replaced by one of the same kind (numbers:
    same digit count) that ``ctx`` does not hold; None when the question has none to swap."""
    low = ctx.lower()
    spots = [("name", m) for m in NAME.finditer(question) if m.group().lower() in low]
    spots += [("number", m) for m in NUMBER.finditer(question) if m.group() in ctx]
    if not spots:
        return None
    kind, m = rng.choice(spots)
    for _ in range(20):
        new = rng.choice(pools[kind])
        if kind == "number" and len(new) != len(m.group()):
            continue
        if new.lower() not in low:
            return question[: m.start()] + new + question[m.end() :]
    return None


def answer_span(ctx: str, answer: dict) -> tuple[int, int] | None:
    """Characters of ``answer`` in its paragraph: at its answer_start, else its first occurrence (the copy's
    answer_start is guessed for some repeated answers); None when the text is not in the paragraph."""
    text, start = answer["text"], answer["answer_start"]
    if ctx[start : start + len(text)] != text:
        start = ctx.find(text)
        if start < 0:
            return None
    return start, start + len(text)


def make_examples(
    data: list[dict],
    rng: random.Random,
    questions: int,
    neg_other: float,
    neg_cut: float,
    neg_swap: float = 0.0,
) -> list[tuple[str, str, int, int]]:
    """(question, passage, answer start, answer end) with start = end = -1 for no answer."""
    pools = swap_pools(data) if neg_swap else {}
    pairs = [(a, p, qa) for a in data for p in range(len(a["paragraphs"])) for qa in a["paragraphs"][p]["qas"]]
    rng.shuffle(pairs)
    if questions:
        pairs = pairs[:questions]
    out: list[tuple[str, str, int, int]] = []
    for article, pi, qa in pairs:
        paras = article["paragraphs"]
        ctx = paras[pi]["context"]
        span = answer_span(ctx, qa["answers"][0])
        if span is None:
            continue
        start, end = span
        text = ctx[start:end]
        out.append((qa["question"], ctx, start, end))
        r = rng.random()
        if r < neg_other:
            others = [k for k in range(len(paras)) if k != pi and text.lower() not in paras[k]["context"].lower()]
            if others:
                out.append((qa["question"], paras[rng.choice(others)]["context"], -1, -1))
        elif r < neg_other + neg_cut:
            rest = cut_sentence(ctx, start, end)
            if rest and text.lower() not in rest.lower():
                out.append((qa["question"], rest, -1, -1))
        elif r < neg_other + neg_cut + neg_swap:
            swapped = swap_question(qa["question"], ctx, pools, rng)
            if swapped:
                out.append((swapped, ctx, -1, -1))
    return out


def mixed_examples(data: list[dict], repeat: int) -> list[tuple[str, str, int, int]]:
    """Every question of a SQuAD v1.1/v2.0 file with its own paragraph, ``repeat`` times; an unanswerable
    one ("is_impossible", no answers) points at no answer."""
    out: list[tuple[str, str, int, int]] = []
    for article in data:
        for para in article["paragraphs"]:
            ctx = para["context"]
            for qa in para["qas"]:
                if qa.get("is_impossible") or not qa.get("answers"):
                    out.extend([(qa["question"], ctx, -1, -1)] * repeat)
                    continue
                span = answer_span(ctx, qa["answers"][0])
                if span is not None:
                    out.extend([(qa["question"], ctx, *span)] * repeat)
    return out


def label(features: rdecode.Features, examples: list[tuple[str, str, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Token positions of each window's answer, or 0 ([CLS]) where the window does not hold it whole."""
    starts = np.zeros(len(features.example), dtype=np.int64)
    ends = np.zeros(len(features.example), dtype=np.int64)
    for f, ex in enumerate(features.example):
        a, b = examples[ex][2], examples[ex][3]
        if a < 0:
            continue
        offs = features.offsets[f]
        toks = [i for i, o in enumerate(offs) if o is not None]
        if not toks or offs[toks[0]][0] > a or offs[toks[-1]][1] < b:
            continue
        ts = next(i for i in toks if offs[i][1] > a)
        te = next(i for i in reversed(toks) if offs[i][0] < b)
        if ts <= te:
            starts[f], ends[f] = ts, te
    return starts, ends


def batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Length-bucketed batches: shuffle, sort each pool of 50 batches by length, cut, shuffle the batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 50
    out = []
    for lo in range(0, len(order), pool):
        chunk = sorted(order[lo : lo + pool], key=lambda i: lengths[i])
        out.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(out)
    return out


def save_checkpoint(path: Path, model, optimizer, step: int, frozen: str = rmodel.WORD_EMBEDDINGS) -> None:
    """Trainable weights (all but the ``frozen`` word embeddings), optimiser state and step, written aside
    then renamed (also used by train_check.py)."""
    import torch

    trainable = {k: v for k, v in model.state_dict().items() if k != frozen}
    tmp = path.with_suffix(".tmp")
    torch.save({"model": trainable, "optimizer": optimizer.state_dict(), "step": step}, tmp)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path("../shared/qa/squad-v1.1-train.json.gz"))
    p.add_argument("--out", type=Path, default=Path("training/run"))
    p.add_argument("--questions", type=int, default=0, help="use this many questions (0: all)")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many batches (0: one epoch)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--warmup", type=float, default=0.06, help="share of steps with a rising learning rate")
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--stride", type=int, default=64)
    p.add_argument(
        "--neg-other", type=float, default=0.15, help="share of questions also paired with another paragraph"
    )
    p.add_argument("--neg-cut", type=float, default=0.15, help="share paired with their paragraph minus the answer")
    p.add_argument(
        "--neg-swap", type=float, default=0.0, help="share also asked with a name or number swapped, unanswerable"
    )
    p.add_argument("--mix", type=Path, help="also train on this SQuAD-format file (e.g. SQuAD v2.0 dev-train)")
    p.add_argument("--mix-repeat", type=int, default=1, help="how many times each --mix question is seen")
    p.add_argument("--init", type=Path, help="start from this exported reader folder instead of the base model")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp16", "fp32"])
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    p.add_argument("--save-every", type=int, default=100)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument(
        "--export-checkpoint",
        action="store_true",
        help="only write --out/reader/ from --out/checkpoint.pt as it stands (to try a run that is still going)",
    )
    args = p.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    precision = args.precision
    if precision == "auto":
        precision = (
            ("bf16" if torch.cuda.is_bf16_supported() else "fp16")
            if args.device == "cuda"
            else ("bf16" if bf16_is_fast() else "fp32")
        )
    args.out.mkdir(parents=True, exist_ok=True)

    if args.export_checkpoint:
        model = rmodel.base_model()
        state = torch.load(args.out / "checkpoint.pt", map_location="cpu")
        model.load_state_dict(state["model"], strict=False)
        meta = {"max_length": args.max_length, "stride": args.stride, "trained": {"steps": state["step"]}}
        print(f"wrote {rmodel.export(model, args.out / 'reader', meta)} from step {state['step']}")
        return 0

    t0 = time.time()
    rng = random.Random(args.seed)
    examples = make_examples(load_squad(args.data), rng, args.questions, args.neg_other, args.neg_cut, args.neg_swap)
    mixed = mixed_examples(load_squad(args.mix), args.mix_repeat) if args.mix else []
    examples += mixed
    tokenizer = rmodel.load_tokenizer()
    features = rdecode.tokenize(
        tokenizer, [e[0] for e in examples], [e[1] for e in examples], args.max_length, args.stride
    )
    starts, ends = label(features, examples)
    lengths = [len(x) for x in features.input_ids]
    plan = batches(lengths, args.batch_size, rng)
    total = min(args.max_steps or len(plan), len(plan))
    negatives = sum(1 for e in examples if e[2] < 0)
    print(
        f"{len(examples)} pairs ({negatives} without answer), {len(features.example)} windows "
        f"({int((starts == 0).sum())} at [CLS]), {total} of {len(plan)} batches, {precision} on {args.device}, "
        f"prepared in {time.time() - t0:.0f} s",
        flush=True,
    )

    model, init_meta = rmodel.load_model(args.init) if args.init else (rmodel.base_model(), None)
    model = model.to(args.device)  # put in training mode below, after a checkpoint is resumed
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    decay = [p for n, p in model.named_parameters() if p.requires_grad and not n.endswith(("bias", "LayerNorm.weight"))]
    no_decay = [p for n, p in model.named_parameters() if p.requires_grad and n.endswith(("bias", "LayerNorm.weight"))]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr
    )
    warm = max(1, int(total * args.warmup))

    def lr_at(step: int) -> float:
        return args.lr * (step / warm if step < warm else max(0.0, (total - step) / max(1, total - warm)))

    ckpt = args.out / "checkpoint.pt"
    step = 0
    if ckpt.exists():
        state = torch.load(ckpt, map_location=args.device)
        model.load_state_dict(state["model"], strict=False)
        optimizer.load_state_dict(state["optimizer"])
        step = state["step"]
        print(f"resumed from {ckpt} at step {step}", flush=True)

    scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    model.train()
    seen, tick, losses = 0, time.time(), []
    while step < total:
        idx = plan[step]
        batch = rdecode.batch_tensors(features, idx, args.device, pad_rows=False)
        s_pos = torch.from_numpy(starts[idx]).to(args.device)
        e_pos = torch.from_numpy(ends[idx]).to(args.device)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step)
        with torch.autocast(args.device, dtype=dtype, enabled=dtype is not None):
            out = model(**batch)
        loss = (
            torch.nn.functional.cross_entropy(out.start_logits.float(), s_pos)
            + torch.nn.functional.cross_entropy(out.end_logits.float(), e_pos)
        ) / 2
        optimizer.zero_grad(set_to_none=True)
        if scaler:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        step += 1
        seen += len(idx)
        losses.append(float(loss.detach()))
        if step % args.log_every == 0 or step == total:
            rate = seen / (time.time() - tick)
            print(
                f"step {step}/{total} loss {np.mean(losses):.3f} lr {lr_at(step):.2e} {rate:.1f} windows/s", flush=True
            )
            losses = []
        if step % args.save_every == 0 or step == total:
            save_checkpoint(ckpt, model, optimizer, step)

    meta = {
        "base": "sentence-transformers/all-MiniLM-L6-v2",
        "max_length": args.max_length,
        "stride": args.stride,
        "trained": {
            "data": args.data.name,
            "pairs": len(examples),
            "no_answer_pairs": negatives,
            "windows": len(features.example),
            "steps": total,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "warmup": args.warmup,
            "weight_decay": args.weight_decay,
            "neg_other": args.neg_other,
            "neg_cut": args.neg_cut,
            "neg_swap": args.neg_swap,
            "mix": args.mix.name if args.mix else None,
            "mix_repeat": args.mix_repeat if args.mix else 0,
            "mix_pairs": len(mixed),
            "seed": args.seed,
            "precision": precision,
            "device": args.device,
            "command": "python training/train_reader.py " + " ".join(sys.argv[1:] if argv is None else argv),
        },
    }
    if init_meta is not None:
        meta["trained"]["init"] = {"sha256": init_meta.get("sha256"), "trained": init_meta.get("trained")}
    weights = rmodel.export(model.float(), args.out / "reader", meta)
    print(f"wrote {weights} ({weights.stat().st_size / 1e6:.1f} MB) in {time.time() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
