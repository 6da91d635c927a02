"""Stored label models (0013): a hub made before them upgrades; a version is stored once;
its document may be updated, its payload not; the newest is the current one."""

from __future__ import annotations

import pytest
from alembic import command

from exprhub.hub import Hub
from exprhub.hub.label_models import (
    StoredModel,
    current_label_model,
    label_model,
    label_models,
    store_label_model,
    update_model_document,
)
from exprhub.hub.migrate import alembic_config, current_revision, head_revision


def _model(version: str, tax_id: int = 10090, payload: bytes = b"\x00\x01") -> StoredModel:
    return StoredModel(
        version,
        "tissue",
        tax_id,
        "logistic regression on within-sample ranks",
        "a" * 64,
        "1.0",
        3,
        2,
        {"classes": {"UBERON:0001264": {"name": "pancreas"}}, "training": {"samples": []}},
        payload,
    )


def test_hub_made_before_label_models_upgrades(tmp_path, database_url):
    home = tmp_path / "old"
    with Hub.init(home, database_url=database_url) as hub:
        with hub.engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0010")
        assert current_revision(hub.engine) == "0010"
    with Hub(home, database_url=database_url) as hub:
        assert current_revision(hub.engine) == head_revision()
        assert label_models(hub) == []
        with hub.writer() as writer:
            assert store_label_model(writer, _model("tissue-10090-aaaaaaaaaaaa"))
        assert label_model(hub, "tissue-10090-aaaaaaaaaaaa").payload == b"\x00\x01"


def test_versions_are_stored_once_and_the_newest_is_current(make_hub):
    hub = make_hub()
    with hub.writer() as writer:
        assert store_label_model(writer, _model("tissue-10090-000000000001"))
    with hub.writer() as writer:
        assert not store_label_model(writer, _model("tissue-10090-000000000001", payload=b"x"))
        assert store_label_model(writer, _model("tissue-9606-000000000002", tax_id=9606))
    with hub.writer() as writer:
        assert store_label_model(writer, _model("tissue-10090-000000000003"))
    first = label_model(hub, "tissue-10090-000000000001")
    assert first is not None and first.payload == b"\x00\x01" and first.trained_at
    listed = label_models(hub, "tissue", 10090)
    assert [m.version for m in listed] == ["tissue-10090-000000000003", "tissue-10090-000000000001"]
    assert all(m.payload == b"" for m in listed)  # summaries leave the payload out
    current = current_label_model(hub, "tissue", 10090)
    assert current is not None and current.version == "tissue-10090-000000000003"
    assert current.payload == b"\x00\x01"
    assert current_label_model(hub, "tissue", 10116) is None
    assert "training" not in first.summary() and first.summary()["classes"]
    with hub.writer() as writer:
        update_model_document(writer, first.version, {**first.document, "evaluation": {"a": 1}})
    assert label_model(hub, first.version).document["evaluation"] == {"a": 1}
    with pytest.raises(KeyError, match="no label model"), hub.writer() as writer:
        update_model_document(writer, "missing", {})


def test_a_model_of_one_field_leaves_another_fields_model_labels(make_hub):
    from exprhub.hub.labels import StoredLabel, sample_labels, write_labels

    def label(field: str, value: str) -> StoredLabel:
        return StoredLabel(
            "GSM1", field, value, None, "refined expression", "m", 0, 1, "expression model", 0.9
        )

    hub = make_hub()
    methods = ("expression model",)
    with hub.writer() as writer:
        write_labels(writer, {"GSM1": [label("sex", "male")]}, version="sex-1", methods=methods)
    with hub.writer() as writer:
        write_labels(
            writer,
            {"GSM1": [label("tissue", "liver")]},
            version="t-1",
            methods=methods,
            fields=("tissue",),
        )
        with pytest.raises(ValueError, match="not one of"):
            write_labels(
                writer,
                {"GSM1": [label("sex", "x")]},
                version="t",
                methods=methods,
                fields=("tissue",),
            )
    stored = sample_labels(hub, ["GSM1"])["GSM1"]
    assert sorted((x.field, x.value, x.labeller_version) for x in stored) == [
        ("sex", "male", "sex-1"),
        ("tissue", "liver", "t-1"),
    ]
