"""The house rules of the layout: every module says in its first line what it holds."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("survey", "analysis")


def modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_every_module_opens_with_a_one_line_summary():
    missing = []
    for path in modules():
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        first = (doc or "").splitlines()[0] if doc else ""
        if not first.strip():
            missing.append(str(path.relative_to(ROOT)))
    assert missing == [], "each module's docstring says what it holds"


def public_functions(tree: ast.Module):
    """Yield the module's public functions and its public classes' public methods."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            yield from (
                n for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            )


def test_every_public_function_has_a_docstring():
    missing = []
    for path in modules():
        for node in public_functions(ast.parse(path.read_text(encoding="utf-8"))):
            if not node.name.startswith("_") and not ast.get_docstring(node):
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert missing == []
