"""Training examples for the answer checker (askfront/answer/reader/check.py), from data nobody on the
project wrote, with the span reader's own candidates as the hard negatives.

    python training/check_data.py --squad ../shared/qa/squad-v1.1-train.json.gz --questions 20000 \
        --v2 ../shared/qa/squad-v2.0-dev-train.json --out training/check-data.jsonl

For each question the shipped reader reads its paragraph; its first --per-question distinct right-typed
candidates become examples (label 1 when the candidate's F1 with a gold answer is at least 0.5). A question
whose candidates are all wrong gets its gold answer as a positive too. Besides:
- other paragraph (--other share): the reader reads another paragraph of the same article for the
  question; its best candidates are negatives (the same kind of figure, for another event);
- SQuAD v2.0 dev-train (--v2, each question --v2-repeat times... once here, weighted in training): real
  unanswerable questions, every candidate the reader proposes for them is a negative;
- made-up near misses of a right candidate (--near share): the question with a word swapped for its
  opposite (killed/wounded, first/last, north/south ...) or with one of its names that the sentence
  holds swapped for a name it does not (another place or event): the same sentence no longer answers.

Writes one JSON line per example: question, text (title | sentence with « candidate »), label, source.
Resumes: questions already written (by their id) are skipped when started again.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from train_reader import answer_span, load_squad, swap_pools, swap_question

from askfront.answer.reader import check, kinds, verify
from askfront.answer.reader.reader import SPANS_PER_WINDOW, Candidate, Passage, ReaderAnswerer
from askfront.evaluate.scoring import f1 as f1_score
from askfront.language.text import normalize

RIGHT = 0.5  # F1 at which a candidate counts as a right answer (as in benchmarks/reader.py)
OPPOSITES = [
    ("killed", "wounded"), ("dead", "injured"), ("died", "survived"), ("first", "last"), ("largest", "smallest"),
    ("north", "south"), ("east", "west"), ("before", "after"), ("most", "least"), ("men", "women"),
    ("won", "lost"), ("highest", "lowest"), ("increase", "decrease"), ("earliest", "latest"), ("oldest", "newest"),
    ("maximum", "minimum"), ("total", "remaining"), ("born", "buried"), ("bought", "sold"), ("entered", "left"),
]  # fmt: skip
_SWAPS = {a: b for a, b in OPPOSITES} | {b: a for a, b in OPPOSITES}
_SWAP_WORD = re.compile(r"\b(" + "|".join(sorted(_SWAPS, key=len, reverse=True)) + r")\b", re.IGNORECASE)


def opposite_question(question: str, sentence: str) -> str | None:
    """The question with one word swapped for its opposite, when the sentence lacks the opposite."""
    m = _SWAP_WORD.search(question)
    if not m:
        return None
    new = _SWAPS[m.group(1).lower()]
    if re.search(rf"\b{new}\b", sentence, re.IGNORECASE):
        return None
    return question[: m.start()] + new + question[m.end() :]


def questions_of(data: list[dict], source: str) -> list[dict]:
    out = []
    for a, article in enumerate(data):
        for p, para in enumerate(article["paragraphs"]):
            for qa in para["qas"]:
                out.append({"id": f"{source}:{qa['id']}", "question": qa["question"], "title": article["title"],
                            "article": a, "paragraph": p, "answers": [x["text"] for x in qa["answers"]],
                            "gold": qa["answers"][0] if qa["answers"] else None, "source": source})  # fmt: skip
    return out


def candidates(reader: ReaderAnswerer, items: list[tuple[dict, str]], per: int) -> list[list[tuple[Candidate, str]]]:
    """The first ``per`` distinct right-typed candidates (best margin first) of each (question, paragraph)."""
    passages = [Passage(0, (0,), 0, ctx) for _, ctx in items]
    guesses = reader.read([q["question"] for q, _ in items], [p.text for p in passages], spans=SPANS_PER_WINDOW)
    found: list[list[Candidate]] = [[] for _ in items]
    for g in guesses:
        found[g.example].append(Candidate(passages[g.example], g.start, g.end, g.margin, g.score, g.null_score))
    out = []
    for (q, _), cands in zip(items, found, strict=True):
        _, typed = verify.typed_pool(kinds.expected_type(q["question"]), verify.usable_spans(cands))
        seen, mine = set(), []
        for c, text in typed:
            key = normalize(text)
            if key not in seen:
                seen.add(key)
                mine.append((c, text))
            if len(mine) == per:
                break
        out.append(mine)
    return out


def example(q: dict, ctx: str, a: int, b: int, label: int, source: str, question: str = "") -> dict:
    s, e = verify.sentence_bounds(ctx, a, b)
    return {"id": q["id"], "question": question or q["question"],
            "text": check.marked(ctx[s:e], a - s, b - s, q["title"]), "label": label, "source": source}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--squad", type=Path, required=True, help="SQuAD v1.1 train (json or json.gz)")
    parser.add_argument("--questions", type=int, default=20000, help="v1.1 questions drawn (seeded)")
    parser.add_argument("--v2", type=Path, help="squad-v2.0-dev-train.json (only that part may be trained on)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--per-question", type=int, default=4)
    parser.add_argument("--other", type=float, default=0.35)
    parser.add_argument("--near", type=float, default=0.3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reader", type=Path, help="reader folder (default: the shipped one)")
    args = parser.parse_args(argv)
    if args.v2 and args.v2.name != "squad-v2.0-dev-train.json":
        parser.error("--v2 takes squad-v2.0-dev-train.json only (the calib and test parts are never trained on)")
    rng = random.Random(args.seed)
    data = load_squad(args.squad)
    todo = questions_of(data, "v1.1")
    rng.shuffle(todo)
    todo = todo[: args.questions]
    sets = {"v1.1": data}
    if args.v2:
        sets["v2"] = load_squad(args.v2)
        todo += questions_of(sets["v2"], "v2")
        rng.shuffle(todo)
    pools = {name: swap_pools(d) for name, d in sets.items()}
    done = set()
    if args.out.is_file():
        done = {json.loads(line)["id"] for line in args.out.open()}
    todo = [q for q in todo if q["id"] not in done]
    print(f"{len(todo)} questions to read ({len(done)} done)", file=sys.stderr, flush=True)
    reader = ReaderAnswerer(index=None, folder=args.reader, use_verifier=False)  # type: ignore[arg-type]
    reader.warm_up()
    with args.out.open("a") as out:
        for lo in range(0, len(todo), args.batch):
            batch = todo[lo : lo + args.batch]
            items, others = [], []
            for q in batch:
                paras = sets[q["source"]][q["article"]]["paragraphs"]
                items.append((q, paras[q["paragraph"]]["context"]))
                if len(paras) > 1 and rng.random() < args.other:
                    p = rng.choice([i for i in range(len(paras)) if i != q["paragraph"]])
                    others.append((q, paras[p]["context"]))
            rows = []
            for (q, ctx), mine in zip(items, candidates(reader, items, args.per_question), strict=True):
                right = False
                for c, text in mine:
                    a, b, _ = c.span()
                    label = int(bool(q["answers"]) and f1_score(text, q["answers"]) >= RIGHT)
                    right |= bool(label)
                    rows.append(example(q, ctx, a, b, label, q["source"]))
                    if label and rng.random() < args.near:
                        s, e = verify.sentence_bounds(ctx, a, b)
                        sentence = ctx[s:e]
                        made = opposite_question(q["question"], sentence) or swap_question(
                            q["question"], sentence, pools[q["source"]], rng
                        )
                        if made:
                            rows.append(example(q, ctx, a, b, 0, "near", made))
                if q["gold"] and not right and (span := answer_span(ctx, q["gold"])):
                    rows.append(example(q, ctx, *span, 1, "gold"))
            for (q, ctx), mine in zip(others, candidates(reader, others, 2), strict=True):
                for c, text in mine:
                    if not (q["answers"] and f1_score(text, q["answers"]) >= RIGHT):
                        a, b, _ = c.span()
                        rows.append(example(q, ctx, a, b, 0, "other"))
            for r in rows:
                out.write(json.dumps(r) + "\n")
            out.flush()
            print(f"{lo + len(batch)}/{len(todo)} questions", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
