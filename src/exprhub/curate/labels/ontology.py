"""Ontology terms by name: an index of the labels and synonyms of the ontologies that
``cellxgene-ontology-guide`` ships (UBERON, CL, MONDO, Cellosaurus, HANCESTRO), built on first
use and kept as a memory-mapped lookup file in the user cache directory (keyed by the
package's version, see :mod:`~exprhub.curate.labels.term_file`), so that labelling a sample
costs a few look-ups, not ontology loading, and opening the index costs nothing.

:func:`find_terms` scans a text for term names, longest first, on word boundaries; names
shorter than :data:`MIN_NAME` letters, generic terms (``tissue``, ``organ``, ``disease``)
and short synonyms (abbreviations such as ``AD``) are matched only as a whole keyed value.
:func:`match_value` matches a whole value, exactly or (for longer values) fuzzily with
rapidfuzz.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

#: Ontologies indexed, as cellxgene-ontology-guide names them.
ONTOLOGIES: tuple[str, ...] = ("UBERON", "CL", "MONDO", "CVCL", "HANCESTRO")
#: Shortest term name (letters and digits) matched inside free text.
MIN_NAME = 4
#: Shortest synonym matched inside free text (abbreviations are left to keyed values).
MIN_SYNONYM = 6
#: Version of the index layout (part of the cache file's name).
_INDEX_FORMAT = 7
# Terms too generic to be a sample's label, by label.
_GENERIC = frozenset(
    {
        "anatomical entity",
        "anatomical structure",
        "material anatomical entity",
        "tissue",
        "organ",
        "organ part",
        "cell",
        "native cell",
        "disease",
        "disorder",
        "syndrome",
        "multicellular organism",
        "whole organism",
        "organism",
        "body",
        "system",
        "region",
        "segment",
        "layer",
        "part",
        "portion of tissue",
        "entire",
        "structure",
        "stage",
        "cell culture",
        "cultured cell",
        "primary",
        "normal",
        "control",
        "sample",
        "donor",
        "individual",
        "population",
        "ancestry category",
        "human",
        "mouse",
        "male",
        "female",
        "total",
        "lead",
        "cancer cell",
        "stem cell",
        "progenitor cell",
        "blood cell",
        "experimental",
        "cell line cell",
        "reference",
        "standard",
        "pool",
        "mixed",
        "other",
        "embryo",
        "head",
        "trunk",
        "side",
        "surface",
        "wall",
        "line",
        "base",
        "tip",
        "core",
        "fluid",
        "duct",
        "gland",
        "vessel",
        "nerve",
        "joint",
        "bone",
        "muscle",
        "fat",
        "skin",
        "hair",
        "nail",
        "scale",
        "wing",
        "leg",
        "arm",
        "hand",
        "foot",
        "back",
        "neck",
        "face",
        "mouth",
        "nose",
        "eye",
        "ear",
        "lip",
        "tooth",
    }
)
# Body parts above that are still useful as a whole keyed value (``tissue: skin``).
_KEYED_ONLY = frozenset(
    {"skin", "bone", "muscle", "fat", "embryo", "eye", "nerve", "head", "neck", "tooth"}
)
_WORD = re.compile(r"[A-Za-z0-9]+(?:[+][A-Za-z0-9]*)?")
#: Relational adjectives of organs (UBERON's "has relational adjective" annotations are not
#: in the shipped release): in free text an adjective that starts no longer name stands for
#: its organ ("bronchial brushings": bronchus), and a part named alone takes its organ's
#: adjective ("cortex" of a brain sample: "cerebral cortex", see ``organ_part``).
RELATIONAL_ADJECTIVES: dict[str, str] = {
    "adrenal": "adrenal gland",
    "bronchial": "bronchus",
    "cardiac": "heart",
    "cerebral": "brain",
    "colonic": "colon",
    "cortical": "cortex",
    "gastric": "stomach",
    "hepatic": "liver",
    "hippocampal": "hippocampal formation",
    "intestinal": "intestine",
    "mammary": "mammary gland",
    "ovarian": "ovary",
    "pancreatic": "pancreas",
    "placental": "placenta",
    "pulmonary": "lung",
    "renal": "kidney",
    "retinal": "retina",
    "splenic": "spleen",
    "testicular": "testis",
    "thymic": "thymus",
    "uterine": "uterus",
}
_BRITISH = (
    ("tumour", "tumor"),
    ("haem", "hem"),
    ("oesophag", "esophag"),
    ("oestr", "estr"),
    ("leukaem", "leukem"),
    ("anaem", "anem"),
    ("foetus", "fetus"),
    ("foetal", "fetal"),
)


def _american(text: str) -> str:
    for british, american in _BRITISH:
        if british in text:
            text = text.replace(british, american)
    return text


def normalize(text: str) -> str:
    """Lower case, words only (hyphens and punctuation as spaces), American spelling."""
    return _american(" ".join(_WORD.findall(text.lower())))


@dataclass(frozen=True)
class Term:
    """One ontology term: id, label, and its ancestors (is_a and part_of)."""

    id: str
    label: str
    ancestors: frozenset[str] = frozenset()

    @property
    def ontology(self) -> str:
        """The ontology prefix (``UBERON``, ``CL``, ``MONDO``, ``CVCL``, ``HANCESTRO``)."""
        return re.split(r"[:_]", self.id, maxsplit=1)[0]


@dataclass
class TermIndex:
    """Term names to term ids, per ontology: ``free`` holds names safe inside free text,
    ``keyed`` also short synonyms and generic terms, for whole keyed values; ``starts`` the
    most words of a free name beginning with a word. Labels and ancestors by id are kept as
    plain strings and tuples; :meth:`term` builds terms. Built as dictionaries, read back as
    mappings over the lookup file (:func:`term_index`)."""

    labels: Mapping[str, str] = field(default_factory=dict)
    ancestors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    free: dict[str, Mapping[str, str]] = field(default_factory=dict)
    keyed: dict[str, Mapping[str, str]] = field(default_factory=dict)
    starts: dict[str, Mapping[str, int]] = field(default_factory=dict)

    def term(self, term_id: str) -> Term | None:
        """The term of this id, if indexed."""
        return _term(self, term_id)

    def __hash__(self) -> int:
        return id(self)


@functools.lru_cache(maxsize=65536)
def _term(index: TermIndex, term_id: str) -> Term | None:
    label = index.labels.get(term_id)
    if label is None:
        return None
    return Term(term_id, label, frozenset(index.ancestors.get(term_id, ())))


def _ontology_data(name: str) -> dict[str, dict[str, object]]:
    from cellxgene_ontology_guide.supported_versions import CXGSchema

    data: dict[str, dict[str, object]] = CXGSchema().ontology(name)
    return data


def _add(index: dict[str, str], name: str, term_id: str, labels: set[str] | None = None) -> None:
    """Index ``name``; a term's own label wins over another term's synonym (``cortex`` is
    the term "cortex", not a synonym of "adrenal cortex"), otherwise the first term."""
    if labels is None:
        index.setdefault(name, term_id)
    elif name not in labels:
        labels.add(name)
        index[name] = term_id


def build_index() -> TermIndex:
    """Read the ontologies and index their current (not deprecated) terms."""
    index = TermIndex()
    labels: dict[str, str] = {}
    ancestry: dict[str, tuple[str, ...]] = {}
    ids: dict[str, str] = {}  # one string object per id, so the pickle refers, not repeats
    for ontology in ONTOLOGIES:
        free: dict[str, str] = {}
        keyed: dict[str, str] = {}
        starts: dict[str, int] = {}
        keyed_labels: set[str] = set()
        free_labels: set[str] = set()
        for raw_id, entry in _ontology_data(ontology).items():
            term_id = ids.setdefault(raw_id, raw_id)
            label = str(entry.get("label") or "")
            if entry.get("deprecated") or not label or label.startswith("obsolete"):
                continue
            ancestors = entry.get("ancestors") or {}
            assert isinstance(ancestors, dict)
            labels[term_id] = label
            if ancestors:
                ancestry[term_id] = tuple(ids.setdefault(a, a) for a in ancestors)
            # roots (disease, cell, anatomical entity) say nothing inside free text
            root = not ancestors and ontology in ("UBERON", "CL", "MONDO")
            synonyms = entry.get("synonyms") or []
            assert isinstance(synonyms, list)
            if ontology == "CVCL":
                # cell line names are case-sensitive identifiers: kept as written, squashed
                for name in (label, *synonyms):
                    key = re.sub(r"[\s\-_]", "", str(name))
                    _add(keyed, key, term_id)
                    if len(key) >= MIN_NAME and any(c.isdigit() for c in key):
                        _add(free, key, term_id)
                continue
            # "hippocampus (Crosby)": the name without its qualifier too
            given = [label, *(str(x) for x in synonyms)]
            given += [re.sub(r"\s*\([^)]*\)\s*$", "", x) for x in given if x.endswith(")")]
            names = [(normalize(x), x == label) for x in given]
            for name, is_label in names:
                if not name:
                    continue
                _add(keyed, name, term_id, keyed_labels if is_label else None)
                shortest = MIN_NAME if is_label else MIN_SYNONYM
                if len(name) >= shortest and name not in _GENERIC and not root:
                    _add(free, name, term_id, free_labels if is_label else None)
                    words = name.split(" ")
                    starts[words[0]] = max(starts.get(words[0], 0), len(words))
        index.free[ontology] = free
        index.keyed[ontology] = keyed
        index.starts[ontology] = starts
    index.labels, index.ancestors = labels, ancestry
    return index


def cache_dir() -> Path:
    """Where exprhub keeps derived files: ``$EXPRHUB_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/exprhub`` or ``~/.cache/exprhub``."""
    given = os.environ.get("EXPRHUB_CACHE_DIR")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "exprhub"


def index_version() -> str:
    """The ontology release the index is built from (the package's version)."""
    return f"cellxgene-ontology-guide-{version('cellxgene-ontology-guide')}"


@functools.lru_cache(maxsize=1)
def term_index() -> TermIndex:
    """The term index: the cache file opened (memory-mapped), or built and cached on first
    use."""
    from exprhub.curate.labels.term_file import read_term_file, write_term_file
    from exprhub.storage.lookup_file import LookupFileError

    release = index_version()
    path = cache_dir() / f"terms-{release}-v{_INDEX_FORMAT}.lookup"
    try:
        return read_term_file(path, release)
    except LookupFileError:
        pass
    index = build_index()
    try:
        write_term_file(index, path, release)
        return read_term_file(path, release)
    except (OSError, LookupFileError):
        return index  # a read-only home still labels, only slower at start


@dataclass(frozen=True)
class TermMatch:
    """A term named in a text, at ``text[start:end]``."""

    term: Term
    start: int
    end: int
    exact: bool = True


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 4:
        return word[:-1]
    return word


def find_terms(text: str, ontology: str, *, index: TermIndex | None = None) -> list[TermMatch]:
    """Terms of ``ontology`` named in ``text``, longest names first, not overlapping, in
    text order; a name counts only on word boundaries (plural forms too; for UBERON, an
    organ's relational adjective: :data:`RELATIONAL_ADJECTIVES`)."""
    return list(_found(index or term_index(), text, ontology))


@functools.lru_cache(maxsize=8192)
def _found(index: TermIndex, text: str, ontology: str) -> tuple[TermMatch, ...]:
    # the texts of a series (its summary) come back for each of its samples: kept
    if ontology == "CVCL":
        return tuple(_find_cell_lines(text, index))
    names = index.free.get(ontology, {})
    starts = index.starts.get(ontology, {})
    words = [(m.start(), m.end(), _american(m.group(0).lower())) for m in _WORD.finditer(text)]
    found: list[TermMatch] = []
    i = 0
    while i < len(words):
        first = words[i][2]
        most = max(starts.get(first, 0), starts.get(_singular(first), 0))
        hit = None
        for n in range(min(most, len(words) - i), 0, -1):
            span = [w for _, _, w in words[i : i + n]]
            phrase = " ".join(span)
            term_id = names.get(phrase)
            if term_id is None:
                term_id = names.get(" ".join([*span[:-1], _singular(span[-1])]))
            if term_id is not None:
                hit = (n, term_id)
                break
        exact = True
        if hit is None and ontology == "UBERON" and first in RELATIONAL_ADJECTIVES:
            organ = names.get(RELATIONAL_ADJECTIVES[first])
            hit, exact = ((1, organ) if organ is not None else None), False
        if hit is None:
            i += 1
            continue
        n, term_id = hit
        term = index.term(term_id)
        if term is not None:  # an adjective's organ is marked inexact: weaker than a name
            found.append(TermMatch(term, words[i][0], words[i + n - 1][1], exact))
        i += n
    return tuple(found)


_CELL_LINE_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-_.]*[A-Za-z0-9]|[A-Za-z0-9]")


_CELL_WORDS = frozenset({"cell", "cells", "line", "lines"})


def _find_cell_lines(text: str, index: TermIndex) -> list[TermMatch]:
    names = index.free.get("CVCL", {})
    anywhere = index.keyed.get("CVCL", {})
    found = []
    tokens = list(_CELL_LINE_TOKEN.finditer(text))
    i = 0
    while i < len(tokens):
        hit = None
        for n in (2, 1):  # "HEK 293" as well as "HEK293"
            if i + n > len(tokens):
                continue
            start, end = tokens[i].start(), tokens[i + n - 1].end()
            if n == 2 and text[tokens[i].end() : tokens[i + 1].start()] not in (" ", "-"):
                continue
            key = re.sub(r"[\s\-_]", "", text[start:end])
            following = tokens[i + n].group(0).lower() if i + n < len(tokens) else ""
            # names without digits (HeLa, Jurkat) only when the text says "... cells"
            term_id = names.get(key) or (
                anywhere.get(key)
                if following in _CELL_WORDS and len(key) >= 3 and not key.islower()
                else None
            )
            term = index.term(term_id) if term_id is not None else None
            if term is not None:
                hit = (n, TermMatch(term, start, end))
                break
        if hit:
            found.append(hit[1])
            i += hit[0]
        else:
            i += 1
    return found


def match_value(value: str, ontology: str, *, index: TermIndex | None = None) -> TermMatch | None:
    """The term a whole value names: exactly (any synonym), else fuzzily (rapidfuzz, values of
    at least 8 letters, score >= 92), else None."""
    return _matched(index or term_index(), value, ontology)


@functools.lru_cache(maxsize=8192)
def _matched(index: TermIndex, value: str, ontology: str) -> TermMatch | None:
    text = value.strip()
    if not text:
        return None
    offset = value.index(text)
    names = index.keyed.get(ontology, {})
    if ontology == "CVCL":
        term_id = names.get(re.sub(r"[\s\-_]", "", text))
        found = index.term(term_id) if term_id else None
        return TermMatch(found, offset, offset + len(text)) if found else None
    key = normalize(text)
    if key in _GENERIC and key not in _KEYED_ONLY:
        return None
    for candidate in (key, _singular(key)):
        term_id = names.get(candidate)
        term = index.term(term_id) if term_id is not None else None
        if term is not None:
            return TermMatch(term, offset, offset + len(text))
    if len(key) < 8:
        return None
    from rapidfuzz import fuzz, process

    best = process.extractOne(key, index.free.get(ontology, {}).keys(), scorer=fuzz.ratio)
    if best is None or best[1] < 92:
        return None
    term = index.term(index.free[ontology][best[0]])
    return TermMatch(term, offset, offset + len(text), exact=False) if term else None


def most_specific(matches: list[TermMatch]) -> list[TermMatch]:
    """The matches whose term is not an ancestor of another match's term."""
    ids = {m.term.id for m in matches}
    covered: set[str] = set()
    for m in matches:
        covered |= m.term.ancestors & ids
    out: list[TermMatch] = []
    for m in matches:
        if m.term.id not in covered and all(o.term.id != m.term.id for o in out):
            out.append(m)
    return out


def organ_part(part: Term, organs: list[Term], *, index: TermIndex | None = None) -> Term | None:
    """The term for ``part`` of one of ``organs`` where UBERON names it by the organ or its
    adjective ("cortex" of the brain: "cerebral cortex"; of the kidney: "renal cortex")."""
    index = index or term_index()
    names = index.keyed.get("UBERON", {})
    adjectives: dict[str, list[str]] = {}
    for adjective, noun in RELATIONAL_ADJECTIVES.items():
        adjectives.setdefault(noun, []).append(adjective)
    for organ in organs:
        for word in (organ.label, *adjectives.get(organ.label, [])):
            found = names.get(f"{word} {part.label}")
            term = index.term(found) if found else None
            if term is not None and term.id != part.id:
                return term
    return None
