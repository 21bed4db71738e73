"""Reader vs rule answerer on questions nobody on the project wrote (SQuAD), plus eval/demo.jsonl.

    python benchmarks/reader.py --qa ../shared/qa --workdir /tmp/askfront-reader-bench [--rules-every 5]
        [--write-verifier src/askfront/models/reader/verifier.json]

1. Calibration (the only place anything is fitted or a threshold chosen): SQuAD v2.0 dev-calib (5 articles,
   1,206 questions), read twice: with the question's own paragraph (reading) and with open retrieval over
   the calib and dev-train paragraphs (the reader reads the top ``reader_read_k``). For each question the
   reader's right-typed best span and its evidence (``verify.evidence``) are kept; the answerability
   verifier, a logistic model, is fitted on them (label: the span is a right answer, F1 >= 0.5), and its
   threshold is the one with the best mean of answerable F1 and SQuAD v2.0 F1-all over both readings.
   ``--write-verifier`` saves it beside the reader.
2. Report, with that verifier: SQuAD v2.0 dev-test (reading), SQuAD v1.1 dev-test (reading, and open
   retrieval over its 1,219 paragraphs), eval/demo.jsonl; the test parts share no article with the calib
   and train parts. The rule answerer runs on every --rules-every'th question of each set (it is ~3x
   slower); the reader is also scored on that sample.

Prints one Markdown table and writes results.json to --workdir. Name the CPU beside the figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from askfront.answer.reader import verify
from askfront.answer.reader.model import META_FILE
from askfront.answer.reader.reader import Candidate, Passage, ReaderAnswerer
from askfront.answer.registry import load_answerer
from askfront.core.config import Settings
from askfront.evaluate import question_files, runner, scoring
from askfront.index.build import build_index
from askfront.index.embed import Embedder, bf16_is_fast, file_sha256

ROOT = Path(__file__).resolve().parents[1]
OBJECTIVE_TIE = 0.005  # objectives this close to the best count as equal (see fit_verifier)


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        name = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        name = platform.processor() or "unknown CPU"
    return f"{name}, family {_family()}, {len(_cpus())} CPUs, native bf16: {bf16_is_fast()}"


def _family() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu family"):
                return line.split(":")[1].strip()
    except OSError:
        pass
    return "?"


def _cpus() -> list[int]:
    import os

    return sorted(os.sched_getaffinity(0))


class CachedChecker:
    """The answer checker with its logits remembered per (question, marked sentence): the calibration
    decides each question once per margin weight tried, reading each candidate once."""

    def __init__(self, checker) -> None:
        self.checker, self.seen = checker, {}

    def logits(self, question: str, candidates) -> list[float]:
        keys = [(question, self.checker.text(c)) for c in candidates]
        todo = [c for c, k in zip(candidates, keys, strict=True) if k not in self.seen]
        for c, value in zip(todo, self.checker.logits(question, todo), strict=True):
            self.seen[(question, self.checker.text(c))] = value
        return [self.seen[k] for k in keys]


# Weights of the reader's margin in the checker's pick (verify.checked) tried on the calib questions.
MARGIN_WEIGHTS = [0.0, 0.1, 0.25, 0.5, 1.0]


def calibration_rows(conversation, questions: list[question_files.Question], mode: str) -> dict[float, list[dict]]:
    """For every question and margin weight, the reader's decision before any threshold: its evidence,
    text and whether it is a right answer (the rows the verifier is fitted on and its threshold chosen
    with). Without the answer checker, one weight (unused)."""
    reader: ReaderAnswerer = conversation.answerer
    checker = CachedChecker(reader.checker) if reader.checker is not None else None
    weights = MARGIN_WEIGHTS if checker else [0.0]
    rows: dict[float, list[dict]] = {w: [] for w in weights}
    for n, q in enumerate(questions, 1):
        if mode == "open":
            hits = conversation.retriever.search(q.question, top_k=conversation.read_k)
        else:
            hits = [runner.whole_report(conversation.retriever.index, q)]
        found = reader.candidates(q.question, hits) if hits else []
        for w in weights:
            d = verify.decide(q.question, found, None, -np.inf, checker=checker, margin_weight=w)
            f1 = scoring.f1(d.text, q.answers) if q.answers and d.evidence else 0.0
            rows[w].append({"answerable": bool(q.answers), "f1": f1, "text": d.text,
                            "article": q.source.rsplit("-", 1)[0],
                            "x": d.evidence.vector().tolist() if d.evidence else None,
                            "group": verify.group_of(d.evidence) if d.evidence else None,
                            "mode_group": "one" if mode == "reading" else "many"})  # fmt: skip
        if n % 300 == 0:
            print(f"calibration ({mode}): {n}/{len(questions)} questions read", file=sys.stderr, flush=True)
    return rows


def choose_weight(rows: dict[float, list[dict]]) -> float:
    """The margin weight whose picks have the best F1 on the answerable calib questions."""

    def answerable_f1(w: float) -> float:
        return float(np.mean([r["f1"] for r in rows[w] if r["answerable"]]))

    return max(rows, key=answerable_f1)


RIGHT = 0.5  # F1 at which a span counts as a right answer for the verifier's label
THRESHOLDS = [round(x, 3) for x in np.arange(0.05, 0.951, 0.025)]
# Feature sets tried, smallest first; the one with the best leave-one-article-out log loss on the calib
# questions is kept (more features only where they help on articles the fit did not see).
_SCORES = ["margin", "span_score", "null_score", "null_max"]
_SPAN = [*_SCORES, "gap_to_other", "behind_untyped", "type_asked", "answer_words"]
_READ = [*_SPAN, "agree", "agree_share", "log_rank", "passages"]
_CHECK = ["check", "check_gap"]
FEATURE_SETS = {"margin": ["margin"], "scores": _SCORES, "span": _SPAN, "reading": _READ,
                "all": [f for f in verify.FEATURES if f not in _CHECK]}  # fmt: skip
CHECK_SETS = {"check": ["margin", *_CHECK], "check+scores": [*_SCORES, *_CHECK], "check+span": [*_SPAN, *_CHECK],
              "check+reading": [*_READ, *_CHECK], "check+all": list(verify.FEATURES)}  # fmt: skip
L2 = [1.0, 10.0, 100.0]


def _log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def choose_model(rows: list[dict], sets: dict[str, list[str]]) -> tuple[verify.Logistic, dict]:
    """The feature set and L2 strength with the best leave-one-article-out log loss, fitted on all rows."""
    x = np.array([r["x"] for r in rows])
    y = np.array([float(r["answerable"] and r["f1"] >= RIGHT) for r in rows])
    articles = np.array([r["article"] for r in rows])
    scores = []
    for name, used in sets.items():
        for l2 in L2:
            p = np.zeros(len(rows))
            for article in sorted(set(articles)):
                held = articles == article
                p[held] = verify.Logistic.fit(x[~held], y[~held], used, l2).probabilities(x[held])
            scores.append({"features": name, "l2": l2, "cv_log_loss": _log_loss(p, y)})
    best = min(scores, key=lambda c: c["cv_log_loss"])
    return verify.Logistic.fit(x, y, sets[best["features"]], best["l2"]), {"chosen": best, "tried": scores}


def threshold_grid(rows: list[dict], p: np.ndarray) -> list[dict]:
    """For each threshold: F1 over all questions (v2.0), answerable F1, abstention precision and recall."""
    grid = []
    unanswerable = sum(not r["answerable"] for r in rows)
    for t in THRESHOLDS:
        every, answerable, abstained, right_abstained = [], [], 0, 0
        for r, prob in zip(rows, p, strict=True):
            answers = r["x"] is not None and prob >= t
            abstained += not answers
            if r["answerable"]:
                answerable.append(r["f1"] if answers else 0.0)
                every.append(answerable[-1])
            else:
                every.append(float(not answers))
                right_abstained += not answers
        grid.append({"threshold": t, "f1_all": float(np.mean(every)), "f1_answerable": float(np.mean(answerable)),
                     "abstention_precision": right_abstained / abstained if abstained else None,
                     "abstention_recall": right_abstained / unanswerable if unanswerable else None})  # fmt: skip
        grid[-1]["objective"] = (grid[-1]["f1_all"] + grid[-1]["f1_answerable"]) / 2
    return grid


def fit_verifier(rows: list[dict], with_check: bool) -> tuple[verify.Verifier, dict]:
    """One model per group (one passage read / several), each on its own rows; its threshold has the best
    mean of answerable F1 and v2.0 F1-all on those rows. The objective is flat near its top, so within
    OBJECTIVE_TIE of it the highest threshold wins (a wrong figure costs a journalist more than "the
    reports don't say")."""
    models, report = {}, {}
    for group in verify.GROUPS:
        mine = [r for r in rows if r["group"] == group or (r["group"] is None and r.get("mode_group") == group)]
        kept = [r for r in mine if r["x"] is not None]
        model, choice = choose_model(kept, CHECK_SETS if with_check else FEATURE_SETS)
        p = np.array([model.probabilities(np.array([r["x"]]))[0] if r["x"] is not None else 0.0 for r in mine])
        grid = threshold_grid(mine, p)
        top = max(g["objective"] for g in grid)
        model.threshold = max((g for g in grid if g["objective"] >= top - OBJECTIVE_TIE), key=lambda g: g["threshold"])[
            "threshold"
        ]
        models[group] = model
        report[group] = {**choice, "rows": len(mine), "grid": grid,
                         "at_threshold": next(g for g in grid if g["threshold"] == model.threshold)}  # fmt: skip
    return verify.Verifier(models, {}), report


COLD = """
import sys, time
t0 = time.perf_counter()
from pathlib import Path
from askfront.answer.registry import load_answerer
from askfront.core.config import Settings
conversation = load_answerer(Settings(index=Path(sys.argv[1]), answerer=sys.argv[2], reader=sys.argv[3]))
conversation.retriever.embedder.model
getattr(conversation.answerer, 'model', None)  # the reader loads here; the rules load spaCy on first use
ready = time.perf_counter() - t0
answer = conversation.ask('How far is Abu Grain from Sirte?')
print(ready, time.perf_counter() - t0, answer.short_answer)
"""


def cold_start(index: Path, answerer: str, reader: str, runs: int = 3) -> dict:
    """Medians over fresh processes: seconds until ready (imports, models, index) and to a first answer."""
    ready, first = [], []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", COLD, str(index), answerer, reader], capture_output=True, text=True, check=True
        )
        r, f = done.stdout.strip().splitlines()[-1].split(" ", 2)[:2]  # then the answer (empty: abstained)
        ready.append(float(r))
        first.append(float(f))
    return {"ready_s": float(np.median(ready)), "first_answer_s": float(np.median(first))}


def bands(results: list[scoring.Result]) -> dict[str, dict]:
    """Per "How sure" band (the words after "one passage, " / "found in N reports, "): how many answers
    it got and the share of them that were right (F1 >= RIGHT; any answer to an unanswerable question is
    wrong)."""
    out: dict[str, list[float]] = {}
    for r in results:
        if not r.abstained:
            word = r.confidence.split(", ", 1)[-1] or "(none)"
            out.setdefault(word, []).append(float(r.answerable and r.f1 >= RIGHT))
    return {w: {"answers": len(v), "right": float(np.mean(v))} for w, v in out.items()}


def score(conversation, questions: list[question_files.Question], mode: str, every: int = 1) -> tuple[dict, dict]:
    """Metrics over all ``questions`` and over every ``every``-th of them (the rule answerer's sample)."""
    started = time.perf_counter()
    results = runner.run(conversation, questions, mode=mode)
    metrics = scoring.summarize(results)
    metrics["seconds"] = time.perf_counter() - started
    metrics["bands"] = bands(results)
    return metrics, scoring.summarize(results[::every])


def never_abstaining(conversation, questions: list[question_files.Question]) -> dict:
    """Reading mode with abstention off: the reader's best span over its own paragraph, always given
    (batched; what the reader alone scores on answerable questions)."""
    reader: ReaderAnswerer = conversation.answerer
    index = conversation.retriever.index
    answerable = [q for q in questions if q.answers]
    texts = [runner.whole_report(index, q).record.text for q in answerable]
    best: dict[int, object] = {}
    for guess in reader.read([q.question for q in answerable], texts):
        if guess.example not in best or guess.score > best[guess.example].score:
            best[guess.example] = guess
    em = f1 = 0.0
    for i, q in enumerate(answerable):
        g = best[i]
        text = Candidate(Passage(0, (0,), 0, texts[i]), g.start, g.end, g.margin).span()[2]
        em += scoring.exact_match(text, q.answers)
        f1 += scoring.f1(text, q.answers)
    return {"answerable": len(answerable), "exact_match": em / len(answerable), "f1": f1 / len(answerable)}


def _f(metrics: dict, key: str) -> str:
    value = metrics.get(key)
    return "-" if value is None else f"{value:.3f}"


def squad_corpus(paths: list[Path], workdir: Path, embedder: Embedder, name: str) -> tuple[Settings, list]:
    """One index over the paragraphs of all ``paths``; the questions of the first."""
    corpus = workdir / f"{name}-corpus"
    questions = question_files.read_squad(paths[0], corpus)
    for extra in paths[1:]:
        question_files.read_squad(extra, corpus)  # distractors only
    settings = Settings(corpus=corpus, index=workdir / f"{name}-index")
    print(f"{name}: {build_index(settings, embedder, progress=False).summary()}", file=sys.stderr)
    return settings, questions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--qa", type=Path, default=ROOT.parent / "shared" / "qa")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/askfront-reader-bench"))
    parser.add_argument("--rules-every", type=int, default=5, help="rule answerer on every n-th question")
    parser.add_argument("--reader", default="", help="reader folder (default: the shipped one)")
    parser.add_argument("--only-calibrate", action="store_true")
    parser.add_argument("--write-verifier", type=Path, help="save the fitted verifier here (verifier.json)")
    parser.add_argument("--sets", default="demo,v2-reading,v1-reading,v1-open")
    parser.add_argument("--every", type=int, default=1, help="report on every n-th question only (a quick look)")
    parser.add_argument("--calib-every", type=int, default=1, help="calibrate on every n-th question (a quick look)")
    parser.add_argument("--compare", default="", help="also run this reader folder as it is (e.g. today's shipped one)")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"CPU: {cpu_name()}", flush=True)
    embedder = Embedder()
    calib_settings, calib = squad_corpus(
        [args.qa / "squad-v2.0-dev-calib.json", args.qa / "squad-v2.0-dev-train.json"], args.workdir, embedder, "calib"
    )
    conv = load_answerer(dataclasses.replace(calib_settings, reader=args.reader), embedder)
    conv.answerer.use_verifier = False
    conv.answerer.warm_up()  # loads the answer checker beside the reader, when the folder has one
    started = time.perf_counter()
    calib = calib[:: args.calib_every]
    reading, opened = calibration_rows(conv, calib, "reading"), calibration_rows(conv, calib, "open")
    by_weight = {w: reading[w] + opened[w] for w in reading}
    weight = choose_weight(by_weight)
    rows = by_weight[weight]
    with_check = conv.answerer.checker is not None
    ver, fitted = fit_verifier(rows, with_check)
    ver.meta = {"fitted_on": "squad-v2.0-dev-calib.json (1,206 questions, reading and open retrieval over "
                "calib + dev-train paragraphs)", "read_k": conv.read_k, "bands": [list(b) for b in verify.BANDS],
                "checker": with_check, "check_margin_weight": weight,
                "command": "python benchmarks/reader.py " + " ".join(sys.argv[1:])}  # fmt: skip
    if with_check:
        print("margin weight (answerable F1 of the pick on calib): " + ", ".join(
            f"{w}: {np.mean([r['f1'] for r in by_weight[w] if r['answerable']]):.4f}" for w in by_weight
        ) + f"; chosen {weight}", flush=True)  # fmt: skip
    print(f"calibration: {time.perf_counter() - started:.0f} s, {len(rows)} readings", flush=True)
    for group, model in ver.models.items():
        print(f"  {group}: {json.dumps(fitted[group]['chosen'])}; threshold {model.threshold}: "
              f"{json.dumps(fitted[group]['at_threshold'])}")  # fmt: skip
        print("  weights: " + ", ".join(f"{n} {w:+.2f}" for n, w in zip(verify.FEATURES, model.weights, strict=True)
                                        if w))  # fmt: skip
    out = {"cpu": cpu_name(), "calibration": {"questions": len(calib), "fitted": fitted}, "sets": {}}
    verifier_path = args.workdir / verify.VERIFIER_FILE
    ver.save(verifier_path)
    if args.write_verifier:
        ver.save(args.write_verifier)
        meta_path = args.write_verifier.parent / META_FILE
        if meta_path.is_file():  # a reader folder: record the verifier's sha256 beside the weights'
            meta = json.loads(meta_path.read_text())
            meta["verifier_sha256"] = file_sha256(args.write_verifier)
            meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    (args.workdir / "calibration.json").write_text(json.dumps(out, indent=1))
    if args.only_calibrate:
        return 0
    reader_dir = Path(args.reader) if args.reader else None
    if not args.write_verifier or (reader_dir and args.write_verifier.parent.resolve() != reader_dir.resolve()):
        # report with the verifier just fitted: a copy of the reader folder beside it
        import shutil

        from askfront.answer.reader.model import READER_DIR

        copy = args.workdir / "reader"
        shutil.copytree(reader_dir or READER_DIR, copy, dirs_exist_ok=True)
        shutil.copy(verifier_path, copy / verify.VERIFIER_FILE)
        args.reader = str(copy)

    def settings_for(base: Settings, answerer: str) -> Settings:
        return dataclasses.replace(base, answerer=answerer, reader=args.reader)

    sets: dict[str, tuple[Settings, list[question_files.Question]]] = {}
    wanted = args.sets.split(",")
    if any(s.startswith("v1") for s in wanted):
        sets["v1"] = squad_corpus([args.qa / "squad-v1.1-dev-test.json"], args.workdir, embedder, "v1test")
    if any(s.startswith("v2") for s in wanted):
        sets["v2"] = squad_corpus([args.qa / "squad-v2.0-dev-test.json"], args.workdir, embedder, "v2test")
    if "demo" in wanted:
        demo = Settings(corpus=ROOT / "corpus", index=args.workdir / "demo-index")
        build_index(demo, embedder, progress=False)
        sets["demo"] = (demo, question_files.read_questions(ROOT / "eval" / "demo.jsonl"))

    rows = []
    if "demo" in wanted:
        out["cold_start"] = {a: cold_start(sets["demo"][0].index, a, args.reader) for a in ("reader", "rules")}
        if args.compare:
            out["cold_start"]["compared"] = cold_start(sets["demo"][0].index, "reader", args.compare)
        print(f"cold start (median of 3 processes): {json.dumps(out['cold_start'])}", flush=True)
    for name in wanted:
        base_name, _, mode = name.partition("-")
        mode = mode or "open"
        base, questions = sets[base_name]
        if base_name != "demo":
            questions = questions[:: args.every]
        every = args.rules_every if base_name != "demo" else 1
        reader = load_answerer(settings_for(base, "reader"), embedder)
        rules = load_answerer(settings_for(base, "rules"), embedder)
        entry: dict = {"questions": len(questions), "mode": mode, "sample": len(questions[::every])}
        entry["reader"], sampled = score(reader, questions, mode, every)
        if every > 1:
            entry["reader_sample"] = sampled
        entry["rules_sample" if every > 1 else "rules"] = score(rules, questions[::every], mode)[0]
        if args.compare:
            compared = load_answerer(dataclasses.replace(base, answerer="reader", reader=args.compare), embedder)
            entry["compared"] = score(compared, questions, mode)[0]
        if mode == "reading":
            entry["reader_never_abstaining"] = never_abstaining(reader, questions)
            print(f"{name} reader, never abstaining: {json.dumps(entry['reader_never_abstaining'])}", flush=True)
        out["sets"][name] = entry
        for who, metrics in entry.items():
            if isinstance(metrics, dict) and "latency_p50_ms" in metrics:
                rows.append((name, who, entry["sample"] if "sample" in who else len(questions), metrics))
                if metrics.get("bands"):
                    print(f"{name} {who} bands: {json.dumps(metrics['bands'])}", flush=True)
                print(f"{name} {who}: " + json.dumps({k: round(v, 3) if isinstance(v, float) else v
                      for k, v in metrics.items()}), flush=True)  # fmt: skip
        (args.workdir / "results.json").write_text(json.dumps(out, indent=1))

    thresholds = ", ".join(f"{g} {m.threshold}" for g, m in ver.models.items())
    print(f"\nCPU: {out['cpu']}; verifier thresholds {thresholds}\n")
    print("| set | answerer | questions | EM | F1 | F1 all (v2) | abstention P / R | recall@5 | p50 / p95 ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, who, n, m in rows:
        print(
            f"| {name} | {who} | {n} | {_f(m, 'exact_match')} | {_f(m, 'f1')} | {_f(m, 'f1_all')} | "
            f"{_f(m, 'abstention_precision')} / {_f(m, 'abstention_recall')} | {_f(m, 'recall@5')} | "
            f"{m['latency_p50_ms']:.0f} / {m['latency_p95_ms']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
