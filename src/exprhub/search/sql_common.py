"""SQL compilation helpers (used by the PostgreSQL backend): AST -> WHERE clause."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from exprhub.search.fields import SearchSchema
from exprhub.search.query import And, FacetFilter, MatchAll, Node, Not, Or, Range, Term


class Params:
    """Collects bind parameters as ``:p0, :p1, ...`` for SQLAlchemy ``text()``."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def __call__(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return ":" + name


def compile_where(
    node: Node,
    params: Params,
    *,
    text_ok: Callable[[Node], bool],
    text_sql: Callable[[Node], str],
    facet_sql: Callable[[FacetFilter], str],
    schema: SearchSchema,
    alias: str = "d",
) -> str:
    """SQL boolean expression for ``node``.

    Maximal subtrees accepted by ``text_ok`` become one full-text predicate (``text_sql``);
    ranges become column comparisons that are never NULL, so NOT behaves as in set algebra.
    """

    def walk(n: Node) -> str:
        if text_ok(n):
            return text_sql(n)
        if isinstance(n, MatchAll):
            return "(1=1)"
        if isinstance(n, FacetFilter):
            return facet_sql(n)
        if isinstance(n, Range):
            spec = schema.resolve(n.field)
            assert spec is not None
            col = f"{alias}.{spec.key}"
            parts = [f"{col} IS NOT NULL"]
            if n.low is not None:
                parts.append(f"{col} >= {params(n.low)}")
            if n.high is not None:
                parts.append(f"{col} <= {params(n.high)}")
            return "(" + " AND ".join(parts) + ")"
        if isinstance(n, Not):
            return f"(NOT {walk(n.item)})"
        if isinstance(n, And):
            return "(" + " AND ".join(walk(i) for i in n.items) + ")"
        if isinstance(n, Or):
            return "(" + " OR ".join(walk(i) for i in n.items) + ")"
        raise AssertionError(f"term not compiled as text: {n!r}")

    return walk(node)


def positive_scored_terms(node: Node, schema: SearchSchema) -> list[Term]:
    """Terms that contribute to the score: not negated, on a scored field (or ALL)."""
    out: list[Term] = []

    def walk(n: Node, negated: bool) -> None:
        if isinstance(n, Term):
            spec = schema.resolve(n.field) if n.field else None
            if not negated and (n.field is None or (spec is not None and spec.scored)):
                out.append(n)
        elif isinstance(n, And | Or):
            for i in n.items:
                walk(i, negated)
        elif isinstance(n, Not):
            walk(n.item, not negated)

    walk(node, False)
    return out


def only_terms(node: Node) -> bool:
    """True when the subtree holds terms and Boolean operators only (no ranges, no MatchAll)."""
    if isinstance(node, Term):
        return True
    if isinstance(node, And | Or):
        return all(only_terms(i) for i in node.items)
    if isinstance(node, Not):
        return only_terms(node.item)
    return False
