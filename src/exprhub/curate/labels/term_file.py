"""The ontology term index on disk, as a memory-mapped lookup file
(:mod:`exprhub.storage.lookup_file`): opened in well under a millisecond, where unpickling the
same index (215,000 terms, 600,000 names) took 0.8-2 s of every process that labelled a
sample. Look-ups read only the pages they touch; the index answers exactly as the dictionaries
it is written from (same names, same ids, same iteration order for fuzzy matching).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exprhub.storage.lookup_file import LookupFile, LookupTable, write_lookup_file

if TYPE_CHECKING:
    from exprhub.curate.labels.ontology import TermIndex

_SEPARATOR = "\x1f"  # between ancestor ids in one value


class _Converted(Mapping[str, Any]):
    """A lookup table whose text values are read as another type."""

    def __init__(self, table: LookupTable) -> None:
        self._table = table

    def _read(self, value: str) -> Any:
        raise NotImplementedError

    def get(self, key: str, default: Any = None) -> Any:
        value = self._table.get(key)
        return default if value is None else self._read(value)

    def __getitem__(self, key: str) -> Any:
        return self._read(self._table[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]
        return [(k, self._read(v)) for k, v in self._table.items()]


class _Counts(_Converted):
    def _read(self, value: str) -> int:
        return int(value)


class _Ancestors(_Converted):
    def _read(self, value: str) -> tuple[str, ...]:
        return tuple(value.split(_SEPARATOR)) if value else ()


def write_term_file(index: TermIndex, path: Path, version: str) -> None:
    """Write ``index`` (built from the ontologies) to a lookup file at ``path``."""
    tables: dict[str, Any] = {
        "labels": index.labels.items(),
        "ancestors": ((k, _SEPARATOR.join(v)) for k, v in index.ancestors.items()),
    }
    for ontology, names in index.free.items():
        tables[f"free:{ontology}"] = names.items()
        tables[f"keyed:{ontology}"] = index.keyed[ontology].items()
        tables[f"starts:{ontology}"] = ((k, str(v)) for k, v in index.starts[ontology].items())
    write_lookup_file(path, tables, meta={"version": version})


def read_term_file(path: Path, version: str) -> TermIndex:
    """The term index in the lookup file at ``path``.

    Raises
    ------
    exprhub.storage.lookup_file.LookupFileError
        If the file is missing or damaged, or holds another ontology release than ``version``.
    """
    from exprhub.curate.labels.ontology import TermIndex
    from exprhub.storage.lookup_file import LookupFileError

    found = LookupFile(path)
    if found.meta.get("version") != version:
        raise LookupFileError(f"{path}: built from {found.meta.get('version')}, not {version}")
    names = found.names()
    ontologies = [n.split(":", 1)[1] for n in names if n.startswith("free:")]
    try:
        return TermIndex(
            labels=found.table("labels"),
            ancestors=_Ancestors(found.table("ancestors")),
            free={o: found.table(f"free:{o}") for o in ontologies},
            keyed={o: found.table(f"keyed:{o}") for o in ontologies},
            starts={o: _Counts(found.table(f"starts:{o}")) for o in ontologies},
        )
    except KeyError as exc:
        raise LookupFileError(f"{path}: no table {exc} (not a term index)") from None
