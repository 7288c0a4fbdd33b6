"""Function and class sizes across the shipped and dev-kit code, for the closing note of a redesign.

Counts lines from a definition's first line to its last (decorators excluded), the way a
reader scrolls through it. Nested functions count on their own and inside their parent.
Usage: python tools/bench/size_report.py [ROOT ...]  (default: the three source trees).
"""

from __future__ import annotations

import ast
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ROOTS = (
    "operator/src",
    "miner_runtime/src",
    "tools/local_services/src",
    "tools/local_validator/src",
    "tools/local_cluster/src",
    "tools/pricing_eval/src",
    "tools/testkit/src",
    "tools/kits",
)


@dataclass(frozen=True)
class Definition:
    kind: str  # "function" or "class"
    name: str
    path: str
    lines: int
    methods: int


def definitions(path: Path) -> list[Definition]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[Definition] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append(Definition("function", node.name, str(path), _span(node), 0))
        elif isinstance(node, ast.ClassDef):
            methods = sum(
                isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) for child in node.body
            )
            found.append(Definition("class", node.name, str(path), _span(node), methods))
    return found


def _span(node: ast.AST) -> int:
    end = getattr(node, "end_lineno", None) or node.lineno  # type: ignore[attr-defined]
    return int(end) - int(node.lineno) + 1  # type: ignore[attr-defined]


def percentile(values: list[int], fraction: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(roots: list[str]) -> str:
    found = [
        d
        for root in roots
        if Path(root).exists()
        for path in sorted(Path(root).rglob("*.py"))
        for d in definitions(path)
    ]
    functions = [d.lines for d in found if d.kind == "function"]
    classes = sorted((d for d in found if d.kind == "class"), key=lambda d: -d.lines)
    out = [
        f"roots: {' '.join(r for r in roots if Path(r).exists())}",
        f"functions: {len(functions)}  median {statistics.median(functions):g}  "
        f"p90 {percentile(functions, 0.9)}  max {max(functions)}",
        f"classes: {len(classes)}  median {statistics.median(d.lines for d in classes):g}  "
        f"p90 {percentile([d.lines for d in classes], 0.9)}  max {classes[0].lines}",
        "five biggest classes:",
    ]
    out += [
        f"  {d.lines:4d} lines {d.methods:3d} methods  {d.name}  ({d.path})" for d in classes[:5]
    ]
    biggest = sorted((d for d in found if d.kind == "function"), key=lambda d: -d.lines)[:5]
    out.append("five biggest functions:")
    out += [f"  {d.lines:4d} lines  {d.name}  ({d.path})" for d in biggest]
    return "\n".join(out)


if __name__ == "__main__":
    print(report(sys.argv[1:] or list(DEFAULT_ROOTS)))
