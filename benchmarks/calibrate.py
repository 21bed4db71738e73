"""Calibrate the rule answerer's abstention thresholds on a question file (the reader is calibrated by
benchmarks/reader.py, on SQuAD v2.0).

    python benchmarks/calibrate.py [--questions eval/demo.jsonl] [--corpus corpus]

For each pair (MIN_COVERAGE, MIN_SCORE) it prints exact match on answerable questions and the
precision/recall of abstaining (recall: unanswerable questions abstained; precision: abstentions that
were on unanswerable questions). The defaults in askfront/rules.py were chosen from this table.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

from askfront.answer.registry import load_answerer
from askfront.answer.rules import rules
from askfront.core.config import Settings
from askfront.evaluate import question_files, runner, scoring
from askfront.index.build import build_index
from askfront.index.embed import Embedder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=Path, default=Path("eval/demo.jsonl"))
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    args = parser.parse_args()
    questions = question_files.read_questions(args.questions)
    embedder = Embedder()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(corpus=args.corpus, index=Path(tmp) / "index")
        build_index(settings, embedder, progress=False)
        answerer = load_answerer(dataclasses.replace(settings, answerer="rules"), embedder)
        print(f"{len(questions)} questions from {args.questions}, corpus {args.corpus}")
        print(f"{'coverage':>8} {'score':>6} {'EM':>6} {'abst P':>7} {'abst R':>7}")
        for coverage in (0.4, 0.5, 0.6, 0.7, 0.8):
            for score in (0.45, 0.55, 0.65):
                rules.MIN_COVERAGE, rules.MIN_SCORE = coverage, score
                m = scoring.summarize(runner.run(answerer, questions))
                precision = "n/a" if m["abstention_precision"] is None else f"{m['abstention_precision']:.3f}"
                print(
                    f"{coverage:>8.2f} {score:>6.2f} {m['exact_match']:>6.3f} {precision:>7} "
                    f"{m['abstention_recall']:>7.3f}"
                )


if __name__ == "__main__":
    main()
