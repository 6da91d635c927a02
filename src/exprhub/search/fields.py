"""The searchable fields: a data-driven registry shared by the query parser and every backend."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from exprhub.curate.harmonize import LABEL_ALIASES, LABELS

FieldKind = Literal["text", "int", "date"]

#: Sample labels indexed by default: the curate layer's one vocabulary of label names (every
#: harmonized field and its aliases, :data:`exprhub.curate.harmonize.LABELS`), so that a label
#: name means the same in search as in ``exprhub ls --label``. More can be registered by name
#: with ``SearchSchema(labels=...)``.
DEFAULT_LABELS: tuple[str, ...] = LABELS

#: Facets counted by default (each costs a pass over the matches; ask for others by name).
DEFAULT_FACETS: tuple[str, ...] = (
    "organism",
    "etype",
    "gtype",
    "platform",
    "ptype",
    "vtype",
    "sex",
    "tissue",
    "disease",
)

#: Ranking: a series or DataSet scores this many times what the same match scores in any other
#: record, so that a series comes above its own samples when both match the query about as
#: well (a sample's short text would otherwise outscore its series' long summary).
SERIES_BOOST = 2.0
#: Entry types whose score :data:`SERIES_BOOST` multiplies.
BOOSTED_TYPES: tuple[str, ...] = ("GSE", "GDS")

_TOKEN_RE = re.compile(r"[^\W_]+")
#: Longest token indexed or searched. Longer runs of letters and digits (sequences, hashes) are
#: left out of the index: PostgreSQL refuses lexemes over 2046 bytes, tantivy wildcard stems
#: over ~1000, and 200 characters stays below both in any script (at most 4 bytes a character).
MAX_TOKEN_LENGTH = 200
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")

#: Token inserted between the values of a multi-valued field so a phrase cannot span two values.
VALUE_SEPARATOR = "_"


def tokenize(text: str) -> list[str]:
    """Split text into tokens: lower-cased runs of letters and digits, accents removed.

    Every backend indexes these tokens (joined by spaces), so matching is the same everywhere.
    """
    if not text:
        return []
    if not text.isascii():
        text = "".join(
            ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
        )
    tokens: list[str] = _TOKEN_RE.findall(text.lower())
    return tokens


def index_tokens(text: str) -> list[str]:
    """The tokens of ``text`` that are indexed: :func:`tokenize`'s, less those longer than
    :data:`MAX_TOKEN_LENGTH` (which no query can search for)."""
    tokens = tokenize(text)
    if len(text) > MAX_TOKEN_LENGTH and any(len(tok) > MAX_TOKEN_LENGTH for tok in tokens):
        tokens = [tok for tok in tokens if len(tok) <= MAX_TOKEN_LENGTH]
    return tokens


def normalize_field_name(name: str) -> str:
    """Canonical lookup key of a field tag: lower case, spaces and hyphens as underscores."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


@dataclass(frozen=True)
class FieldSpec:
    """One searchable field.

    Attributes
    ----------
    name : canonical tag (``"ORGN"``) or label name (``"sex"``).
    kind : ``"text"`` (tokens; words, phrases, wildcards), ``"int"`` or ``"date"`` (ranges).
    aliases : other accepted tags (matched case-insensitively).
    facet : name of the facet counting this field's values, or None.
    boost : ranking weight of a match in this field (title > description).
    scored : False for filter-like fields (entry type, platform, ...): they restrict the match
        set but add nothing to the score.
    in_all : searched by untagged terms (``[ALL]``).
    """

    name: str
    kind: FieldKind = "text"
    aliases: tuple[str, ...] = ()
    facet: str | None = None
    boost: float = 1.0
    scored: bool = True
    in_all: bool = True
    label: bool = False
    #: identifier safe for column / field names in every backend (``l_`` + name for labels)
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", ("l_" if self.label else "") + self.name.lower())


_CORE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("ACCN", aliases=("accession", "accn", "uid"), boost=2.0),
    FieldSpec("TITL", aliases=("title",), boost=3.0),
    FieldSpec("DESC", aliases=("description", "summary", "overall design"), boost=1.0),
    FieldSpec("ORGN", aliases=("organism", "species"), facet="organism", scored=False),
    FieldSpec("ETYP", aliases=("entry type", "etype"), facet="etype", scored=False),
    FieldSpec(
        "GTYP", aliases=("dataset type", "series type", "gtype"), facet="gtype", scored=False
    ),
    FieldSpec("VTYP", aliases=("value type", "vtype"), facet="vtype", scored=False),
    FieldSpec("PTYP", aliases=("platform technology type", "ptype"), facet="ptype", scored=False),
    FieldSpec("PLAT", aliases=("platform", "gpl"), facet="platform", scored=False),
    FieldSpec("AUTH", aliases=("author", "authors", "contributor"), boost=1.0),
    FieldSpec("PDAT", kind="date", aliases=("publication date", "pdat", "date"), in_all=False),
    FieldSpec("NSAM", kind="int", aliases=("number of samples", "nsam", "samples"), in_all=False),
)

#: Internal field holding SearchDocument.text (and unregistered labels): searched by ALL only.
EXTRA = FieldSpec("_EXTRA", boost=0.5)


@dataclass(frozen=True)
class SearchSchema:
    """The set of fields an index holds: the core GEO fields plus registered label fields.

    Parameters
    ----------
    labels : label field names (lower case, ``[a-z][a-z0-9_]*``); each is searchable as
        ``value[name]`` and counted as a facet of the same name.
    """

    labels: tuple[str, ...] = DEFAULT_LABELS
    fields: tuple[FieldSpec, ...] = field(init=False, repr=False, compare=False)
    _lookup: dict[str, FieldSpec] = field(init=False, repr=False, compare=False)
    _text_fields: tuple[FieldSpec, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        labels = tuple(dict.fromkeys(normalize_field_name(n) for n in self.labels))
        for name in labels:
            if not _NAME_RE.match(name):
                raise ValueError(f"invalid label field name {name!r}: use [a-z][a-z0-9_]*")
        object.__setattr__(self, "labels", labels)
        # an alias (tissue, organ, cell_type...) holds its field's values again: searched by
        # name only, so that untagged words do not count a sample's labels several times
        specs = list(_CORE_FIELDS) + [
            FieldSpec(
                n,
                facet=n,
                boost=0.5,
                label=True,
                aliases=(n.replace("_", " "),),
                in_all=n not in LABEL_ALIASES,
            )
            for n in labels
        ]
        lookup: dict[str, FieldSpec] = {}
        for spec in specs:
            for tag in (spec.name, *spec.aliases):
                lookup.setdefault(normalize_field_name(tag), spec)
        object.__setattr__(self, "fields", tuple(specs))
        object.__setattr__(self, "_lookup", lookup)
        text_fields = (*(f for f in specs if f.kind == "text"), EXTRA)
        object.__setattr__(self, "_text_fields", text_fields)

    def with_labels(self, labels: Iterable[str]) -> SearchSchema:
        """A schema with extra label fields registered."""
        return SearchSchema(labels=(*self.labels, *labels))

    def resolve(self, tag: str) -> FieldSpec | None:
        """The field a tag names (``"Organism"`` -> ORGN), or None; ``ALL`` is not a field."""
        return self._lookup.get(normalize_field_name(tag))

    @property
    def text_fields(self) -> tuple[FieldSpec, ...]:
        """Tokenized fields, plus the internal extra-text field."""
        return self._text_fields

    @property
    def all_fields(self) -> tuple[FieldSpec, ...]:
        """Fields searched by an untagged term."""
        return tuple(f for f in self._text_fields if f.in_all)

    @property
    def facet_names(self) -> tuple[str, ...]:
        """Names of every facet, in schema order."""
        return tuple(f.facet for f in self.fields if f.facet)

    def facet_field(self, facet: str) -> FieldSpec:
        """The field counted by a facet name; ValueError naming the known facets otherwise."""
        for spec in self.fields:
            if spec.facet == facet:
                return spec
        raise ValueError(f"unknown facet {facet!r}; known facets: {', '.join(self.facet_names)}")

    def known_tags(self) -> str:
        """Human-readable list of accepted field tags for error messages."""
        return ", ".join(["ALL", *(f.name for f in self.fields)])

    @property
    def default_facets(self) -> tuple[str, ...]:
        """Facets counted when a search does not name any (:data:`DEFAULT_FACETS`)."""
        return tuple(f for f in DEFAULT_FACETS if f in self.facet_names)

    def check_facets(self, facets: Sequence[str] | None) -> tuple[str, ...]:
        """Validate requested facet names (None means :attr:`default_facets`)."""
        if facets is None:
            return self.default_facets
        for name in facets:
            self.facet_field(name)
        return tuple(facets)


DEFAULT_SCHEMA = SearchSchema()
