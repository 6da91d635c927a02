"""An optional labeller that asks a large language model, off by default: any
OpenAI-compatible chat endpoint (``POST {url}/chat/completions``), configured by
``EXPRHUB_LLM_URL``, ``EXPRHUB_LLM_MODEL`` and ``EXPRHUB_LLM_KEY``.

Samples go in batches, each answer constrained by a JSON schema (``response_format``); answers
are cached by the hash of the request (model, prompt, schema), so labelling the same metadata
again asks nothing; requests are spaced by ``min_interval`` seconds. A value counts only with
evidence: the model must quote the text it read, and a quote that is not in the sample's
texts drops the value. Its labels have method ``llm`` and are stored beside the rule labels
(:func:`exprhub.hub.labels.write_labels` with ``methods=("llm",)``), never over them.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exprhub.curate.labels.model import Label
from exprhub.curate.labels.ontology import cache_dir
from exprhub.curate.labels.sources import SourceText, sample_sources
from exprhub.records import Sample, Series

#: Fields the model is asked for.
LLM_FIELDS: tuple[str, ...] = (
    "tissue",
    "cell_type",
    "cell_line",
    "disease",
    "sex",
    "age",
    "specimen_type",
    "experimental_setting",
    "genotype",
    "perturbation",
)
#: Confidence of an LLM label (below every keyed rule label).
LLM_CONFIDENCE = 0.5


class LLMError(RuntimeError):
    """The endpoint could not be reached or gave no usable answer (one readable line)."""


@dataclass(frozen=True)
class LLMConfig:
    """Where and how to ask: endpoint base URL (``.../v1``), model, key, samples per request,
    seconds between requests, request timeout."""

    url: str
    model: str
    api_key: str | None = None
    batch_size: int = 8
    min_interval: float = 1.0
    timeout: float = 60.0

    @classmethod
    def from_env(cls) -> LLMConfig | None:
        """The configuration in the environment, or None when no endpoint is set (off)."""
        url = os.environ.get("EXPRHUB_LLM_URL")
        model = os.environ.get("EXPRHUB_LLM_MODEL")
        if not url or not model:
            return None
        return cls(url.rstrip("/"), model, os.environ.get("EXPRHUB_LLM_KEY"))


def _schema() -> dict[str, Any]:
    value = {
        "type": "object",
        "properties": {"value": {"type": "string"}, "quote": {"type": "string"}},
        "required": ["value", "quote"],
        "additionalProperties": False,
    }
    sample = {
        "type": "object",
        "properties": {"sample": {"type": "string"}, **{f: value for f in LLM_FIELDS}},
        "required": ["sample"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"samples": {"type": "array", "items": sample}},
        "required": ["samples"],
        "additionalProperties": False,
    }


def _prompt(batch: Sequence[tuple[Sample, list[SourceText]]]) -> str:
    lines = [
        "For each sample, give the fields you can read from its texts: "
        + ", ".join(LLM_FIELDS)
        + ". For each field give the value and the exact quote of the text it rests on. "
        "Leave out a field the texts do not speak to; never guess.",
    ]
    for sample, texts in batch:
        lines.append(f"Sample {sample.key}:")
        lines += [f"  {t.source}: {t.text}" for t in texts]
    return "\n".join(lines)


class LLMLabeller:
    """Labels samples through the endpoint of ``config``."""

    def __init__(self, config: LLMConfig, *, cache: Path | None = None) -> None:
        self.config = config
        self.cache = cache or cache_dir() / "llm"
        self._last = 0.0

    def _ask(self, prompt: str) -> dict[str, Any]:
        body = {
            "model": self.config.model,
            "messages": [
                {"role": "system", "content": "You label gene expression samples."},
                {"role": "user", "content": prompt},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "sample_labels", "strict": True, "schema": _schema()},
            },
        }
        data = json.dumps(body, sort_keys=True).encode()
        digest = hashlib.sha256(data).hexdigest()
        cached = self.cache / f"{digest}.json"
        if cached.exists():
            answer: dict[str, Any] = json.loads(cached.read_text(encoding="utf-8"))
            return answer
        wait = self._last + self.config.min_interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        import urllib.error  # only when a model is asked: not on every import's path
        import urllib.request

        request = urllib.request.Request(
            f"{self.config.url}/chat/completions",
            data=data,
            headers={"Content-Type": "application/json"}
            | ({"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}),
        )
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout) as response:
                reply = json.loads(response.read())
            answer = json.loads(reply["choices"][0]["message"]["content"])
        except (urllib.error.URLError, OSError, KeyError, IndexError, ValueError) as exc:
            raise LLMError(f"LLM endpoint {self.config.url}: no usable answer ({exc})") from None
        finally:
            self._last = time.monotonic()
        self.cache.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(answer), encoding="utf-8")
        return answer

    def label(self, samples: Sequence[tuple[Sample, Sequence[Series]]]) -> dict[str, list[Label]]:
        """LLM labels of each sample (by key); values without a quote found in the sample's
        texts are dropped."""
        out: dict[str, list[Label]] = {}
        prepared = [(s, sample_sources(s, series)) for s, series in samples]
        for i in range(0, len(prepared), self.config.batch_size):
            batch = prepared[i : i + self.config.batch_size]
            answer = self._ask(_prompt(batch))
            given = {str(a.get("sample")): a for a in answer.get("samples", [])}
            for sample, texts in batch:
                out[sample.key] = _evidenced(given.get(sample.key, {}), texts)
        return out


def _evidenced(answer: dict[str, Any], texts: list[SourceText]) -> list[Label]:
    labels = []
    for field_name in LLM_FIELDS:
        item = answer.get(field_name)
        if not isinstance(item, dict):
            continue
        value, quote = str(item.get("value", "")).strip(), str(item.get("quote", "")).strip()
        if not value or not quote:
            continue
        for text in texts:
            if text.source.startswith("description:"):
                continue  # a part of a description line: the whole line is searched
            start = text.text.lower().find(quote.lower())
            if start >= 0:
                end = start + len(quote)
                labels.append(
                    Label(
                        field_name,
                        value,
                        None,
                        text.source,
                        text.text[start:end],
                        start,
                        end,
                        "llm",
                        LLM_CONFIDENCE,
                    )
                )
                break
    return labels
