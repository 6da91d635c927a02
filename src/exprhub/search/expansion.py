"""Query-time ontology expansion: a word or phrase naming an ontology term also finds records
that name the term's descendants (``kidney`` finds "renal cortex", ``kidney cancer`` finds
"renal cell carcinoma").

Ontologies: UBERON (anatomy), CL (cell types) and MONDO (diseases), as the
``cellxgene-ontology-guide`` package ships them (MIT; offline). A query part *names* a term
when its words are the term's label or one of its synonyms (the package's exact synonyms),
compared lower-case, letters and digits only, in American spelling, the last word also
without a plural ``s``. Descendants follow the package's ``is_a`` and ``part_of`` relations.

What is expanded (:func:`expand`): an untagged word or quoted phrase, the same in a label
field (``[tissue]``, ``[disease]``...), and a run of untagged words that together name a term
(``kidney cancer``, tried before its words one by one). Each becomes "the part OR the labels
and synonyms of its descendants", labels before synonyms, nearest descendants first (then
by term id), at most
:data:`MAX_EXPANSIONS` phrases a part and :data:`MAX_QUERY_EXPANSIONS` a query; phrases the
part already matches (those containing its words), the roots of the ontologies ("cell",
"disease", "anatomical entity": they name everything) and names of fewer than
:data:`MIN_NAME_LENGTH` letters or single words without a vowel (acronyms such as "nec",
"trcc") are not added. Wildcards, negated
parts and other fields (``[TITL]``, ``[ACCN]``...) are never expanded. Turn expansion off with
``expand=False`` (``exprhub search --no-expand``, ``expand=false`` over HTTP).

The names and the graph are read once per process; a compact copy is kept in the cache
directory (``$EXPRHUB_CACHE_DIR``, else ``$XDG_CACHE_HOME/exprhub`` or ``~/.cache/exprhub``)
so that later processes start in a fraction of a second.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import re
import threading
from collections import deque
from collections.abc import Iterable
from itertools import islice
from pathlib import Path

from exprhub.search.analysis import american, analyze_all
from exprhub.search.fields import SearchSchema, tokenize
from exprhub.search.query import And, Node, Not, Or, Query, Term

#: Ontologies searched for term names, in this order.
ONTOLOGIES: tuple[str, ...] = ("UBERON", "CL", "MONDO")
#: Most phrases one query part is expanded into.
MAX_EXPANSIONS = 64
#: Most phrases added to one query in all.
MAX_QUERY_EXPANSIONS = 192
#: Names shorter than this (letters and digits) are not added: mostly acronyms.
MIN_NAME_LENGTH = 4
_VOWEL = re.compile("[aeiouy]")
#: Version of the cached file's layout.
_CACHE_FORMAT = 1


class OntologyTerms:
    """Names and descendants of the terms of :data:`ONTOLOGIES`.

    Parameters
    ----------
    names : name key (lower-case words joined by spaces) -> term ids.
    labels : term id -> its label and synonyms.
    children : term id -> ids of its direct children (``is_a`` and ``part_of``).
    """

    def __init__(
        self,
        names: dict[str, list[str]],
        labels: dict[str, list[str]],
        children: dict[str, list[str]],
    ) -> None:
        self.names = names
        self.labels = labels
        self.children = children
        self.parented = {c for kids in children.values() for c in kids}

    def named(self, words: Iterable[str]) -> list[str]:
        """Ids of the terms that ``words`` (query tokens) name, or none."""
        words = list(words)
        if not words:
            return []
        spelled = [american(w) for w in words]
        candidates = [words, spelled]
        last = spelled[-1]
        if len(last) > 3 and last.endswith("s") and not last.endswith("ss"):
            candidates.append([*spelled[:-1], last[:-1]])
        found: list[str] = []
        for candidate in candidates:
            for term in self.names.get(" ".join(candidate), ()):
                if term not in found:
                    found.append(term)
        return found

    def descendants(self, term: str) -> Iterable[str]:
        """Descendants of ``term``, nearest first (breadth-first, children in id order)."""
        seen = {term}
        queue = deque(sorted(self.children.get(term, ())))
        while queue:
            child = queue.popleft()
            if child in seen:
                continue
            seen.add(child)
            yield child
            queue.extend(sorted(self.children.get(child, ())))

    def expansions(self, words: Iterable[str], most: int = MAX_EXPANSIONS) -> list[tuple[str, ...]]:
        """Token phrases (labels and synonyms of the descendants of the terms ``words``
        name) that the words themselves do not already match, at most ``most``."""
        words = tuple(words)
        own = tuple(analyze_all(words))
        out: list[tuple[str, ...]] = []
        seen: set[tuple[str, ...]] = set()
        named = [t for t in self.named(words) if t in self.parented]  # roots name everything
        # the nearest descendants (a few times the bound: most have synonyms); their labels
        # first (or their synonyms, when the words already match the label), then the other
        # synonyms, so that more terms fit within the bound
        found = list(islice((d for t in named for d in self.descendants(t)), 8 * most))
        firsts: list[tuple[str, ...]] = []
        rest: list[tuple[str, ...]] = []
        for term in found:
            usable = []
            for name in self.labels.get(term, ()):
                tokens = tuple(tokenize(name))
                if len("".join(tokens)) < MIN_NAME_LENGTH or (
                    len(tokens) == 1 and not _VOWEL.search(tokens[0])
                ):
                    continue  # an acronym ("nec", "trcc") would match unrelated words
                if _contains(tuple(analyze_all(tokens)), own):
                    continue  # the words already find it
                usable.append((name, tokens))
            if usable and usable[0][0] == self.labels[term][0]:
                firsts.append(usable[0][1])
                rest.extend(tokens for _, tokens in usable[1:])
            else:  # "cortex of kidney" for kidney: its synonyms (renal cortex) come first
                firsts.extend(tokens for _, tokens in usable)
        for tokens in firsts + rest:
            terms = tuple(analyze_all(tokens))
            if terms in seen:
                continue
            seen.add(terms)
            out.append(tokens)
            if len(out) >= most:
                break
        return out


def _contains(terms: tuple[str, ...], part: tuple[str, ...]) -> bool:
    n = len(part)
    return any(terms[i : i + n] == part for i in range(len(terms) - n + 1))


def _cache_file() -> Path:
    base = os.environ.get("EXPRHUB_CACHE_DIR")
    if base:
        root = Path(base)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg) if xdg else Path.home() / ".cache") / "exprhub"
    version = importlib.metadata.version("cellxgene-ontology-guide")
    return root / f"ontology-terms-{version}-{_CACHE_FORMAT}.json"


def _build() -> OntologyTerms:
    from cellxgene_ontology_guide.ontology_parser import OntologyParser

    schema = OntologyParser().cxg_schema
    names: dict[str, list[str]] = {}
    labels: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    for ontology in ONTOLOGIES:
        for term, entry in schema.ontology(ontology).items():
            if entry.get("deprecated"):
                continue
            own = [entry["label"], *entry.get("synonyms", [])]
            labels[term] = own
            for name in own:
                key = " ".join(tokenize(name))
                ids = names.setdefault(key, [])
                if term not in ids:
                    ids.append(term)
            for parent, distance in entry.get("ancestors", {}).items():
                if distance == 1:
                    children.setdefault(parent, []).append(term)
    return OntologyTerms(names, labels, children)


_lock = threading.Lock()


@functools.cache
def _loaded() -> OntologyTerms:
    path = _cache_file()
    try:
        data = json.loads(path.read_text())
        return OntologyTerms(data["names"], data["labels"], data["children"])
    except (OSError, ValueError, KeyError):
        pass
    terms = _build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        body = {"names": terms.names, "labels": terms.labels, "children": terms.children}
        tmp.write_text(json.dumps(body, separators=(",", ":")))
        tmp.replace(path)
    except OSError:
        pass  # a read-only cache directory: build again next time
    return terms


def ontology_terms() -> OntologyTerms:
    """The terms of :data:`ONTOLOGIES`, loaded once per process (from the cache file when
    there is one)."""
    with _lock:
        return _loaded()


def expand(query: Query, terms: OntologyTerms | None = None) -> Query:
    """``query`` with each part naming an ontology term ORed with its descendants' names (see
    the module docstring); the query itself when nothing names a term."""
    candidates = _candidates(query.root, query.schema)
    if not candidates:
        return query
    budget = [MAX_QUERY_EXPANSIONS]
    root = _expand(query.root, query.schema, terms or ontology_terms(), budget)
    return query if root == query.root else Query(query.text, root, query.schema)


def _expandable(node: Node, schema: SearchSchema) -> bool:
    if not isinstance(node, Term) or node.prefix:
        return False
    if node.field is None:
        return True
    spec = schema.resolve(node.field)
    return spec is not None and spec.label


def _candidates(node: Node, schema: SearchSchema) -> bool:
    if isinstance(node, Term):
        return _expandable(node, schema)
    if isinstance(node, And | Or):
        return any(_candidates(i, schema) for i in node.items)
    return False  # negated parts stay as written


def _with(node: Term, phrases: list[tuple[str, ...]]) -> Node:
    if not phrases:
        return node
    return Or((node, *(Term(node.field, p) for p in phrases)))


def _expand(node: Node, schema: SearchSchema, terms: OntologyTerms, budget: list[int]) -> Node:
    if budget[0] <= 0:
        return node
    if isinstance(node, Term):
        if not _expandable(node, schema):
            return node
        phrases = terms.expansions(node.tokens, min(MAX_EXPANSIONS, budget[0]))
        budget[0] -= len(phrases)
        return _with(node, phrases)
    if isinstance(node, And):
        words = [i for i in node.items if isinstance(i, Term) and i.field is None and not i.prefix]
        if len(words) == len(node.items) and all(len(w.tokens) == 1 for w in words):
            together = tuple(w.tokens[0] for w in words)
            phrases = terms.expansions(together, min(MAX_EXPANSIONS, budget[0]))
            if phrases or terms.named(together):
                budget[0] -= len(phrases)
                return Or((node, *(Term(None, p) for p in phrases))) if phrases else node
        return And(tuple(_expand(i, schema, terms, budget) for i in node.items))
    if isinstance(node, Or):
        return Or(tuple(_expand(i, schema, terms, budget) for i in node.items))
    if isinstance(node, Not):
        return node
    return node
