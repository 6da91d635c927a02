"""Organism names to NCBI Taxonomy ids, from the NCBITaxon release that
``cellxgene-ontology-guide`` ships.

That ontology has 1.3 million terms; loading it as JSON takes tens of seconds and gigabytes,
so the scientific names are read with one streaming scan of the compressed file, the first
time a record names an organism without a tax id, and kept as a pickle next to the term index.
"""

from __future__ import annotations

import functools
import json
import os
import pickle
import re

from exprhub.curate.labels.ontology import cache_dir, index_version

#: A term's ancestors and label; its id is the ``"NCBITaxon:N":`` key just before. (Starting
#: the expression at the id tried it at every ancestor too, named the same way: 40 % slower.)
_ENTRY = re.compile(rb'\{"ancestors":\{[^}]*\},"label":"((?:[^"\\]|\\.)*)"')
_ID = re.compile(rb'"NCBITaxon:(\d+)":$')

_CHUNK = 1 << 22


def _scan() -> dict[str, int]:
    import zstandard
    from cellxgene_ontology_guide._constants import DATA_ROOT
    from cellxgene_ontology_guide.supported_versions import CXGSchema

    release = CXGSchema().supported_ontologies["NCBITaxon"]["version"]
    path = os.path.join(DATA_ROOT, f"NCBITaxon-ontology-{release}.json.zst")
    names: dict[str, int] = {}
    with open(path, "rb") as raw:
        stream = zstandard.ZstdDecompressor().stream_reader(raw)
        tail = b""
        while True:
            chunk = stream.read(_CHUNK)
            data = tail + chunk
            last = 0
            for match in _ENTRY.finditer(data):
                key = _ID.search(data, max(0, match.start() - 40), match.start())
                if key is None:
                    continue
                quoted = match.group(1)
                label = json.loads(b'"' + quoted + b'"') if b"\\" in quoted else quoted.decode()
                names.setdefault(label.lower(), int(key.group(1)))
                last = match.end()
            if not chunk:
                break
            tail = data[max(last, len(data) - (1 << 16)) :]
    return names


@functools.lru_cache(maxsize=1)
def taxon_names() -> dict[str, int]:
    """Lower-cased scientific names to tax ids (built on first use, then cached)."""
    path = cache_dir() / f"taxa-{index_version()}.pickle"
    try:
        with path.open("rb") as stream:
            loaded = pickle.load(stream)
        if isinstance(loaded, dict):
            return loaded
    except (OSError, EOFError, pickle.UnpicklingError):
        pass
    names = _scan()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        with partial.open("wb") as stream:
            pickle.dump(names, stream, protocol=pickle.HIGHEST_PROTOCOL)
        partial.replace(path)
    except OSError:
        pass
    return names


#: The organisms of most GEO samples, so that labelling them never waits for the scan.
COMMON_TAXA: dict[str, int] = {
    "homo sapiens": 9606,
    "mus musculus": 10090,
    "rattus norvegicus": 10116,
    "danio rerio": 7955,
    "drosophila melanogaster": 7227,
    "caenorhabditis elegans": 6239,
    "gallus gallus": 9031,
    "sus scrofa": 9823,
    "bos taurus": 9913,
    "macaca mulatta": 9544,
}


@functools.lru_cache(maxsize=1024)
def tax_id(organism: str) -> int | None:
    """The NCBI Taxonomy id of a scientific name, or None."""
    name = " ".join(organism.lower().split())
    return COMMON_TAXA.get(name) or taxon_names().get(name)


#: Common names of the organisms of most GEO samples, as series texts name them ("founder
#: mice"); the shipped NCBITaxon release has scientific names only.
COMMON_NAMES: dict[str, str] = {
    "human": "Homo sapiens",
    "humans": "Homo sapiens",
    "patients": "Homo sapiens",
    "mouse": "Mus musculus",
    "mice": "Mus musculus",
    "murine": "Mus musculus",
    "rat": "Rattus norvegicus",
    "rats": "Rattus norvegicus",
    "zebrafish": "Danio rerio",
}
_NAMED = re.compile(
    r"\b(?:" + "|".join(sorted(COMMON_NAMES, key=len, reverse=True)) + r")\b", re.IGNORECASE
)


def organism_named(text: str) -> tuple[str, str, int, int] | None:
    """The one organism a text names by a scientific name of :data:`COMMON_TAXA` or a common
    name (``mice``): ``(scientific name, evidence, start, end)``; None when it names none or
    several."""
    found: dict[str, tuple[str, int, int]] = {}
    for name in COMMON_TAXA:
        at = text.lower().find(name)
        if at >= 0:
            found.setdefault(name.capitalize(), (text[at : at + len(name)], at, at + len(name)))
    for match in _NAMED.finditer(text):
        scientific = COMMON_NAMES[match.group(0).lower()]
        found.setdefault(scientific, (match.group(0), match.start(), match.end()))
    if len(found) != 1:
        return None
    name, (evidence, start, end) = next(iter(found.items()))
    return name, evidence, start, end
