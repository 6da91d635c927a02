"""The optional LLM labeller against a local HTTP server that speaks the OpenAI chat
protocol: schema-constrained answers become ``llm`` labels with evidence, stored beside the
rule labels; answers are cached; a quote not in the sample's text is dropped."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from exprhub.api import Hub
from exprhub.curate.labels.llm import LLMConfig, LLMError, LLMLabeller
from exprhub.curate.labels.store import relabel
from exprhub.hub.labels import sample_labels
from exprhub.ingest.importer import import_file


class ChatServer:
    """Answers ``POST /v1/chat/completions`` with a fixed JSON document as the message."""

    def __init__(self, answer: dict) -> None:
        self.answer = answer
        self.requests: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                owner.requests.append(json.loads(self.rfile.read(length)))
                content = json.dumps(owner.answer)
                body = json.dumps({"choices": [{"message": {"content": content}}]}).encode()
                self.send_response(200 if self.path == "/v1/chat/completions" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"


ANSWER = {
    "samples": [
        {
            "sample": "GSM11805",
            "tissue": {"value": "kidney", "quote": "Right Kidney"},
            "disease": {"value": "clear cell renal carcinoma", "quote": "not in the record"},
            "sex": {"value": "female", "quote": "gender = female"},
        }
    ]
}


def test_llm_labels_are_stored_beside_rule_labels(make_hub, geo_fixtures, tmp_path):
    hub = make_hub()
    import_file(hub, geo_fixtures / "geoquery/GSM11805.txt.gz")
    with ChatServer(ANSWER) as server:
        config = LLMConfig(server.url, "test-model", "secret", min_interval=0)
        labeller = LLMLabeller(config, cache=tmp_path / "llm")
        report = relabel(hub, ["GSM11805"], llm=labeller)
        assert report.samples == 1
        request = server.requests[0]
        assert request["model"] == "test-model"
        assert request["response_format"]["type"] == "json_schema"
        assert "Gender = Female" in request["messages"][1]["content"]
        relabel(hub, ["GSM11805"], llm=labeller)
        assert len(server.requests) == 1  # the same question is answered from the cache
    stored = sample_labels(hub, ["GSM11805"])["GSM11805"]
    llm = {
        (lab.field, lab.value, lab.evidence, lab.source) for lab in stored if lab.method == "llm"
    }
    # the disease's quote is not in the record: no value without evidence
    assert llm == {
        ("tissue", "kidney", "Right Kidney", "description"),
        ("sex", "female", "Gender = Female", "description"),
    }
    rules = [lab for lab in stored if lab.method != "llm" and lab.field == "sex"]
    assert [lab.value for lab in rules] == ["female"]
    # a rule relabel keeps the LLM's labels
    relabel(hub, ["GSM11805"])
    assert sum(lab.method == "llm" for lab in sample_labels(hub, ["GSM11805"])["GSM11805"]) == 2


def test_llm_is_off_without_configuration_and_errors_are_one_line(
    tmp_path, geo_fixtures, monkeypatch
):
    monkeypatch.delenv("EXPRHUB_LLM_URL", raising=False)
    monkeypatch.delenv("EXPRHUB_LLM_MODEL", raising=False)
    assert LLMConfig.from_env() is None
    with Hub.init(tmp_path / "hub") as hub:
        import_file(hub, geo_fixtures / "geoquery/GSM11805.txt.gz")
        with pytest.raises(ValueError, match="EXPRHUB_LLM_URL"):
            hub.relabel(llm=True)
        monkeypatch.setenv("EXPRHUB_LLM_URL", "http://127.0.0.1:9/v1")
        monkeypatch.setenv("EXPRHUB_LLM_MODEL", "m")
        monkeypatch.setenv("EXPRHUB_CACHE_DIR", str(tmp_path / "cache"))
        with pytest.raises(LLMError, match="no usable answer"):
            hub.relabel(llm=True)
