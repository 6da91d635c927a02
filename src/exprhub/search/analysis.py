"""How words become index terms: British spellings made American, then English stemming.

Every backend indexes, and every query searches, the terms :func:`analyze` gives for the
tokens of :func:`exprhub.search.fields.tokenize`, so ``tumour``, ``tumours``, ``tumor`` and
``tumors`` are one term (``tumor``) everywhere, and results are the same on every backend.

1. Spelling (:func:`american`): a word in the British-to-American list of the ``breame``
   package (Apache-2.0, ~1,700 words: ``tumour``, ``organise``, ``centre``, ``oestrogen``,
   ``anaemia``, ``foetal``...) takes its American spelling; otherwise the rules of
   :data:`SPELLING_RULES` apply: word parts of medicine that the list lacks (``haem-``,
   ``-aemia``, ``oesoph-``, ``caec-``, ``-isation``...). Each rule rewrites a part no American
   word has, so an American word is never changed.
2. Stemming (:func:`stem`): the Snowball English stemmer (Porter2), as tantivy's ``en_stem``
   analyzer has it (``cancers`` -> ``cancer``, ``studies`` -> ``studi``), run from Python so
   that PostgreSQL stores the same terms. (PostgreSQL's own ``english`` configuration was not
   used: its stems differ from tantivy's in places, ``organize`` -> ``organ`` vs ``organiz``,
   and it drops stop words such as ``by``, so a backend would find what the other does not.)

Stop words are kept, and a quoted phrase matches words in order with any of these endings.
Changing anything here changes the index: bump :data:`ANALYZER_VERSION`, and indexes written
with another version are rebuilt (see :mod:`exprhub.search.hub_index`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

import tantivy
from breame.data.spelling_constants import BRITISH_ENGLISH_SPELLINGS

#: Version of the analysis below, stored with every index: an index written with another
#: version is rebuilt, never searched with terms it does not hold.
ANALYZER_VERSION = 1

#: British word parts the breame list lacks, as (pattern, American replacement). Each
#: pattern matches only British spellings (no American word contains it).
SPELLING_RULES: tuple[tuple[str, str], ...] = (
    (r"haem", "hem"),  # haematopoietic, haemolysis, haemangioma, oxyhaemoglobin
    (r"aemi", "emi"),  # ischaemia, hypoxaemia, septicaemia, leukaemic, uraemia
    (r"leukaem", "leukem"),  # leukaemogenesis
    (r"paed", "ped"),  # paediatric, orthopaedic, encyclopaedia
    (r"gynaec", "gynec"),
    (r"^caec", "cec"),  # caecum, caecal
    (r"^faec", "fec"),  # faecal
    (r"aetiol", "etiol"),
    (r"anaesth", "anesth"),
    (r"palaeo", "paleo"),
    (r"^oestr", "estr"),  # oestrogen, oestradiol, oestrous
    (r"^oesoph", "esoph"),  # oesophageal
    (r"^oedem", "edem"),  # oedema, oedematous
    (r"^foet", "fet"),  # foetal, foetus
    (r"^coeliac", "celiac"),
    (r"rrhoe", "rrhe"),  # diarrhoea, amenorrhoea, gonorrhoea
    (r"^(dysp|ap|hyp|tachyp|brady)noe", r"\1ne"),  # dyspnoea, apnoea
    (r"tumour", "tumor"),  # tumourigenic, tumourigenesis
    (r"^leuco", "leuko"),  # leucocyte, leucopenia (not leucine)
    (r"^sulph", "sulf"),  # sulphonamide
    (r"isation", "ization"),  # characterisation, lyophilisation
    (r"metre(s?)$", r"meter\1"),  # micrometre, nanometre
    (r"^(lyophil|anonym)is(e|ed|es|ing)$", r"\1iz\2"),
)

_RULES = tuple((re.compile(pattern), replacement) for pattern, replacement in SPELLING_RULES)
# letters that every rule's pattern needs, to skip most words without running the rules
_RULE_HINTS = ("ae", "oe", "eu", "ph", "isation", "metre", "is", "tumour")

_local = threading.local()
#: Words analyzed so far (a corpus has far fewer distinct words than tokens).
_cache: dict[str, str] = {}
_CACHE_LIMIT = 1_000_000


def american(word: str) -> str:
    """The American spelling of a lower-case word (the word itself when it has no other).

    Examples
    --------
    >>> american("tumours"), american("haematopoietic"), american("tumor")
    ('tumors', 'hematopoietic', 'tumor')
    """
    found = BRITISH_ENGLISH_SPELLINGS.get(word)
    if found is not None:
        return found
    if not any(hint in word for hint in _RULE_HINTS):
        return word
    for pattern, replacement in _RULES:
        word = pattern.sub(replacement, word)
    return word


def stem(word: str) -> str:
    """The Snowball English stem of a lower-case word (``cancers`` -> ``cancer``)."""
    analyzer = getattr(_local, "analyzer", None)
    if analyzer is None:  # a tantivy analyzer per thread: it is not shared across threads
        builder = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace())
        analyzer = _local.analyzer = builder.filter(tantivy.Filter.stemmer("english")).build()
    out = analyzer.analyze(word)
    return out[0] if out else word


def analyze(token: str) -> str:
    """The index term of one token of :func:`~exprhub.search.fields.tokenize`: its American
    spelling, stemmed. Tokens with digits (accessions such as ``gse781``) stay as they are."""
    term = _cache.get(token)
    if term is None:
        term = token if any(ch.isdigit() for ch in token) else stem(american(token))
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[token] = term
    return term


def analyze_all(tokens: Iterable[str]) -> list[str]:
    """:func:`analyze` of each token."""
    cache = _cache
    return [cache.get(t) or analyze(t) for t in tokens]


def analyze_prefix(prefix: str) -> str:
    """The term prefix a wildcard ``prefix*`` matches: the prefix in American spelling, or its
    stem when that is shorter and starts it (``studie*`` -> ``studi``, as ``studies`` is
    indexed)."""
    spelled = american(prefix)
    stemmed = analyze(spelled)
    return stemmed if len(stemmed) < len(spelled) and spelled.startswith(stemmed) else spelled
