"""The package's floor plan holds: imports run one way through the stages, every module opens with a
docstring saying its job, modules and functions stay short enough to read in one sitting."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "src" / "askfront"
# Lower stages never import higher ones; stages of one level do not import each other.
LEVELS = {"core": 0, "language": 1, "ingest": 1, "index": 2, "search": 3, "answer": 4, "analysis": 5,
          "evaluate": 5, "export": 5, "app": 6, "cli": 7}  # fmt: skip
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 80


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(PACKAGE.rglob("*.py"))]


def test_every_module_belongs_to_a_stage_and_imports_run_one_way() -> None:
    upward = []
    for path, tree in _modules():
        parts = path.relative_to(PACKAGE).parts
        if len(parts) == 1:
            assert parts[0] in ("__init__.py", "__main__.py"), f"{parts[0]}: a module outside every stage"
            continue
        stage = parts[0]
        assert stage in LEVELS, f"{path}: unknown stage {stage}"
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("askfront."):
                target = node.module.split(".")[1]
                if target in LEVELS and target != stage and LEVELS[target] >= LEVELS[stage]:
                    upward.append(f"{path.relative_to(PACKAGE)}:{node.lineno} imports {node.module}")
    assert upward == []


def test_modules_say_their_job_and_stay_short() -> None:
    problems = []
    for path, tree in _modules():
        name = path.relative_to(PACKAGE)
        if not ast.get_docstring(tree):
            problems.append(f"{name}: no opening docstring")
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            problems.append(f"{name}: {lines} lines")
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    problems.append(f"{name}: {node.name} is {length} lines")
    assert problems == []
