"""The Python examples of the documentation: fenced ``python`` blocks of Markdown pages, run in
order in one namespace per page.

A block preceded by a line ``<!-- not run: REASON -->`` is shown but not run (the marker says
why); every other block is run. Where a comment shows an expression's result as a Python
literal (``frame.shape  # (12488, 8)``), the result is checked.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
_NOT_RUN = re.compile(r"<!--\s*not run:\s*(.+?)\s*-->\s*\Z", re.S)


@dataclass(frozen=True)
class Example:
    """One fenced python block of a page."""

    page: Path
    line: int
    code: str
    not_run: str | None

    @property
    def where(self) -> str:
        return f"{self.page.name}:{self.line}"


def examples(page: Path) -> list[Example]:
    """The python blocks of ``page``, in order."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()]
        marker = _NOT_RUN.search(before.rstrip() + "\n")
        found.append(
            Example(
                page,
                before.count("\n") + 2,
                match.group(1),
                marker.group(1) if marker else None,
            )
        )
    return found


@contextmanager
def working_directory(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


#: What :func:`_shown_result` gives for a comment that shows no literal result.
_NOTHING = object()


def _shown_result(lines: list[str], stmt: ast.stmt) -> Any:
    """The result a comment shows for an expression statement (``expr  # 42``, or comment lines
    right below it), as a Python literal; ``_NOTHING`` when the comment shows none (prose, a
    printed DataFrame). A literal followed by prose (``8: the whole record``, ``'x' (why)``)
    counts as the literal."""
    end = stmt.end_lineno or stmt.lineno
    after = lines[end - 1][stmt.end_col_offset or 0 :].strip()
    if after.startswith("#"):
        comment = after[1:].strip()
    else:
        below = []
        for line in lines[end:]:
            if not line.strip().startswith("#"):
                break
            below.append(line.strip()[1:].strip())
        comment = " ".join(below)
    if not comment:
        return _NOTHING
    candidates = [comment]
    for separator in (": ", " (", "  "):
        if separator in comment:
            candidates.append(comment.split(separator, 1)[0])
    for text in candidates:
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return _NOTHING


def run_page(page: Path, directory: Path) -> tuple[dict[str, Any], int]:
    """Run every block of ``page`` that is not marked, statement by statement in order, in
    ``directory``; where a comment shows an expression's result as a literal, check it.
    Return the namespace the blocks shared and how many shown results were checked. A
    failing statement or a result unlike the one shown fails naming the page and line."""
    namespace: dict[str, Any] = {"__name__": "__documented__"}
    checked = 0
    with working_directory(directory):
        for example in examples(page):
            if example.not_run:
                continue
            source = "\n" * (example.line - 1) + example.code
            lines = source.splitlines()
            for stmt in ast.parse(source, str(page)).body:
                where = f"{page.name}:{stmt.lineno}"
                shown = _shown_result(lines, stmt) if isinstance(stmt, ast.Expr) else _NOTHING
                try:
                    if isinstance(stmt, ast.Expr):
                        expression = ast.Expression(stmt.value)
                        value = eval(compile(expression, str(page), "eval"), namespace)
                    else:
                        module = ast.Module([stmt], type_ignores=[])
                        exec(compile(module, str(page), "exec"), namespace)
                except Exception as exc:
                    raise AssertionError(f"the example at {where} fails: {exc!r}") from exc
                if shown is not _NOTHING:
                    assert value == shown, f"{where} gives {value!r}; the page shows {shown!r}"
                    checked += 1
    return namespace, checked
