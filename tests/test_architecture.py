"""The package structure of ``docs/architecture.md``, enforced.

Every ``import`` in ``src/exprhub`` (module level, inside functions and under ``TYPE_CHECKING``
alike) is checked against four rules:

1. A module imports only its own package or a package of a lower layer (:data:`LAYERS`);
   packages sharing a layer are independent of each other.
2. Only the hub imports the hub's schema (``exprhub.hub.schema``).
3. Only the storage engine, the hub and the PostgreSQL search backend use SQL libraries.
4. Nothing outside the hub uses a private member (``_name``) that a hub module defines.

Each rule is also run on a planted violation, so that a checker that finds nothing cannot pass.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: Bottom to top. A package may import its own layer's package and lower layers only.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"records", "paging"}),
    frozenset({"formats"}),
    frozenset({"storage"}),
    frozenset({"hub", "transfer"}),
    frozenset({"curate"}),
    frozenset({"ingest", "refine", "simulate"}),
    frozenset({"search", "analysis", "bundles"}),
    frozenset({"api", "demo"}),
    frozenset({"web"}),
    frozenset({"cli"}),
    frozenset({"__main__"}),
)
#: Modules that may talk SQL (rule 3), by dotted prefix below the top package.
SQL_OWNERS = ("storage", "hub", "search.postgres_index", "search.sql_common")
SQL_LIBRARIES = ("sqlalchemy", "alembic", "psycopg", "sqlite3")
#: Modules that may use the hub's private members (rule 4).
HUB_PACKAGES = ("hub", "storage")
#: Most lines in one module ("past ~600 lines, split or move").
MAX_MODULE_LINES = 650


@dataclass(frozen=True)
class ImportEdge:
    module: str  # importing module, dotted
    target: str  # imported module or name, dotted
    line: int


@dataclass(frozen=True)
class Module:
    name: str  # dotted, e.g. "exprhub.hub.writer"
    path: Path
    tree: ast.Module


def modules(root: Path, package: str) -> list[Module]:
    """Every module of ``package`` under ``root`` (a ``src`` directory), parsed."""
    found = []
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found.append(Module(".".join(parts), path, ast.parse(path.read_text(), str(path))))
    return found


def import_edges(module: Module) -> list[ImportEdge]:
    """Every import of ``module``, wherever it appears, with relative imports resolved."""
    edges = []
    package_parts = module.name.split(".")
    if module.path.name != "__init__.py":
        package_parts = package_parts[:-1]
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            edges += [ImportEdge(module.name, a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            edges += [
                ImportEdge(module.name, f"{source}.{a.name}", node.lineno) for a in node.names
            ]
    return edges


def _package(dotted: str, top: str) -> str | None:
    """The first-level package of ``dotted`` inside ``top`` (None outside ``top``)."""
    parts = dotted.split(".")
    if parts[0] != top or len(parts) < 2:
        return None
    return parts[1]


def _layer(package: str) -> int | None:
    for index, members in enumerate(LAYERS):
        if package in members:
            return index
    return None


def layer_violations(all_modules: list[Module], top: str) -> list[str]:
    """Rule 1: imports of a higher layer or of a sibling package."""
    problems = []
    for module in all_modules:
        source = _package(module.name, top)
        if source is None:
            continue  # the top package's __init__: lazy re-exports of the public API
        source_layer = _layer(source)
        if source_layer is None:
            problems.append(f"{module.path}: package {source!r} is in no layer of LAYERS")
            continue
        for edge in import_edges(module):
            target = _package(edge.target, top)
            if target is None or target == source or target == "__version__":
                continue
            target_layer = _layer(target)
            if target_layer is None:
                continue  # a name re-exported by the top package, e.g. `from exprhub import Hub`
            if target_layer > source_layer:
                problems.append(
                    f"{module.path}:{edge.line}: {source} (layer {source_layer + 1}) imports "
                    f"{edge.target} (layer {target_layer + 1}, higher)"
                )
            elif target_layer == source_layer:
                problems.append(
                    f"{module.path}:{edge.line}: {source} imports its sibling {edge.target} "
                    f"(packages of one layer are independent)"
                )
    return problems


def _within(dotted: str, top: str, prefixes: tuple[str, ...]) -> bool:
    inner = dotted.removeprefix(f"{top}.")
    return any(inner == p or inner.startswith(f"{p}.") for p in prefixes)


def schema_violations(all_modules: list[Module], top: str) -> list[str]:
    """Rule 2: the hub's schema imported from outside the hub."""
    return [
        f"{m.path}:{e.line}: imports {e.target}; only {top}.hub may use the hub's schema"
        for m in all_modules
        if not _within(m.name, top, ("hub",))
        for e in import_edges(m)
        if e.target == f"{top}.hub.schema" or e.target.startswith(f"{top}.hub.schema.")
    ]


def sql_violations(all_modules: list[Module], top: str) -> list[str]:
    """Rule 3: SQL libraries used outside the storage engine, the hub and the SQL search
    backend."""
    return [
        f"{m.path}:{e.line}: imports {e.target}; only the hub talks SQL"
        for m in all_modules
        if m.name != top and not _within(m.name, top, SQL_OWNERS)
        for e in import_edges(m)
        if e.target.split(".")[0] in SQL_LIBRARIES
    ]


def _private_hub_members(all_modules: list[Module], top: str) -> set[str]:
    """Names of private functions, methods and attributes that hub modules define."""
    names: set[str] = set()
    for module in all_modules:
        if not _within(module.name, top, HUB_PACKAGES):
            continue
        for node in ast.walk(module.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def private_member_violations(all_modules: list[Module], top: str) -> list[str]:
    """Rule 4: a private member of a hub object used from outside the hub."""
    private = _private_hub_members(all_modules, top)
    problems = []
    for module in all_modules:
        if _within(module.name, top, HUB_PACKAGES):
            continue
        own: set[str] = set()
        for node in ast.walk(module.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                own.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                own.add(node.attr)
        for node in ast.walk(module.tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in private
                and node.attr not in own
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            ):
                problems.append(
                    f"{module.path}:{node.lineno}: uses the hub's private member {node.attr}"
                )
        for edge in import_edges(module):
            name = edge.target.rsplit(".", 1)[-1]
            if _within(edge.target, top, HUB_PACKAGES) and name in private:
                problems.append(f"{module.path}:{edge.line}: imports the hub's private {name}")
    return problems


def size_violations(all_modules: list[Module]) -> list[str]:
    """Modules past :data:`MAX_MODULE_LINES` lines."""
    return [
        f"{m.path}: {n} lines (split it: at most {MAX_MODULE_LINES})"
        for m in all_modules
        if (n := len(m.path.read_text().splitlines())) > MAX_MODULE_LINES
    ]


@pytest.fixture(scope="module")
def exprhub_modules() -> list[Module]:
    return modules(SRC, "exprhub")


def test_every_package_has_a_layer(exprhub_modules: list[Module]) -> None:
    packages = {p for m in exprhub_modules if (p := _package(m.name, "exprhub"))}
    assert {p for p in packages if _layer(p) is None} == set()


def test_no_module_imports_a_higher_layer_or_a_sibling(exprhub_modules: list[Module]) -> None:
    assert layer_violations(exprhub_modules, "exprhub") == []


def test_only_the_hub_imports_its_schema(exprhub_modules: list[Module]) -> None:
    assert schema_violations(exprhub_modules, "exprhub") == []


def test_only_the_hub_talks_sql(exprhub_modules: list[Module]) -> None:
    assert sql_violations(exprhub_modules, "exprhub") == []


def test_nothing_outside_the_hub_uses_its_private_members(
    exprhub_modules: list[Module],
) -> None:
    assert private_member_violations(exprhub_modules, "exprhub") == []


def test_modules_stay_small(exprhub_modules: list[Module]) -> None:
    assert size_violations(exprhub_modules) == []


# --------------------------------------------------------------------- planted violations
PLANTED = {
    "pkg/__init__.py": "",
    "pkg/records/__init__.py": "",
    "pkg/hub/__init__.py": "",
    "pkg/hub/schema.py": "import sqlalchemy\nrecords = None\n",
    "pkg/hub/writer.py": (
        "class HubWriter:\n"
        "    def _matrix(self):\n"
        "        self._cache = {}\n"
        "def _private_query():\n"
        "    pass\n"
    ),
    # a lower layer importing a higher one, lazily inside a function
    "pkg/records/model.py": "def f():\n    from pkg.web import app\n",
    "pkg/refine/__init__.py": "",
    # the schema and SQL from above the hub; a private member and a private function
    "pkg/refine/pipeline.py": (
        "from pkg.hub import schema as s\n"
        "from sqlalchemy import select\n"
        "from pkg.hub.writer import _private_query\n"
        "def run(writer):\n"
        "    return writer._matrix()\n"
    ),
    # siblings of one layer
    "pkg/ingest/__init__.py": "from ..refine import pipeline\n",
    "pkg/web/__init__.py": "",
    "pkg/web/app.py": "from pkg.hub import writer\n",
}


@pytest.fixture()
def planted(tmp_path: Path) -> list[Module]:
    for name, text in PLANTED.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return modules(tmp_path, "pkg")


def test_planted_layer_violations_are_found(planted: list[Module]) -> None:
    found = layer_violations(planted, "pkg")
    assert any("records" in p and "pkg.web.app" in p and "higher" in p for p in found), found
    assert any("ingest imports its sibling pkg.refine" in p for p in found), found
    assert not any("web/app.py" in p for p in found), found  # web may import the hub
    assert len(found) == 2, found


def test_planted_schema_and_sql_violations_are_found(planted: list[Module]) -> None:
    schema = schema_violations(planted, "pkg")
    assert len(schema) == 1 and "refine/pipeline.py:1" in schema[0], schema
    sql = sql_violations(planted, "pkg")
    assert len(sql) == 1 and "refine/pipeline.py:2" in sql[0], sql


def test_planted_private_member_violations_are_found(planted: list[Module]) -> None:
    found = private_member_violations(planted, "pkg")
    assert any("pipeline.py:5" in p and "_matrix" in p for p in found), found
    assert any("pipeline.py:3" in p and "_private_query" in p for p in found), found
    assert len(found) == 2, found


def test_planted_long_module_is_found(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    assert len(size_violations(modules(tmp_path, "pkg"))) == 1
