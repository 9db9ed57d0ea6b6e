"""The house's rules, checked on the tree: one namespace, SQL only in the store package,
rooms of one idea."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STORE = ROOT / "ronda" / "store"
# What reads as a statement (upper-case keywords, as the store writes them), not prose.
SQL = re.compile(
    r"\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+(OR\s+\w+\s+)?INTO\b|\bUPDATE\s+\w+\s+SET\b|"
    r"\bDELETE\s+FROM\b|\bCREATE\s+(UNIQUE\s+)?(TABLE|INDEX|TRIGGER|VIEW)\b|\bALTER\s+TABLE\b|"
    r"\bDROP\s+(TABLE|INDEX|TRIGGER)\b|\bPRAGMA\s+\w+|\bBEGIN(\s+IMMEDIATE)?\s*$|^\s*COMMIT\b"
)
MAX_LINES = 700


def _python_files() -> list[Path]:
    files = [*(ROOT / "ronda").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]
    files += [*(ROOT / "scripts").glob("*.py")]
    return sorted(files)


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string literal, f-strings as their literal parts joined."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                v.value
                for v in node.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
            out.append((node.lineno, text))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append((node.lineno, node.value))
    return out


def test_no_sql_outside_the_store_package() -> None:
    found = []
    for path in _python_files():
        if STORE in path.parents:
            continue
        for line, text in _strings(ast.parse(path.read_text(), str(path))):
            if SQL.search(text):
                found.append(f"{path.relative_to(ROOT)}:{line}: {text.strip()[:60]!r}")
    assert found == []


def test_the_sql_check_sees_sql() -> None:
    """The check above would see the statements the store writes."""
    hits = [
        text
        for path in STORE.glob("*.py")
        for _, text in _strings(ast.parse(path.read_text()))
        if SQL.search(text)
    ]
    assert len(hits) > 30
    assert SQL.search("SELECT id FROM tickets") and SQL.search("PRAGMA user_version")
    assert not SQL.search("Select a ticket from the queue")


def test_one_top_level_package() -> None:
    """Every module imports as `ronda.…`: no other package sits next to it."""
    packages = sorted(p.parent.name for p in ROOT.glob("*/__init__.py"))
    assert packages == ["ronda"]


def test_no_room_over_700_lines() -> None:
    long = [
        f"{p.relative_to(ROOT)}: {n}"
        for p in (ROOT / "ronda").rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    ]
    assert long == []
