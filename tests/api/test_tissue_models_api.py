"""The tissue model's Python API on a hub with nothing to train on: every method answers, the
errors are readable, and ``json_rows`` makes frames JSON-ready. (Training, prediction and QC
on real series: tests/analysis/test_tissue_model_hub.py.)"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import exprhub
from exprhub.api.tissue_models import json_rows, organisms_to_model


@pytest.fixture
def empty_hub(tmp_path):
    hub = exprhub.Hub.init(tmp_path / "hub")
    yield hub
    hub.close()


def test_nothing_to_train_on(empty_hub):
    training = empty_hub.train_tissue_model()
    assert training.models == [] and training.skipped == {}
    assert training.as_dict() == {"models": [], "skipped": {}}
    with pytest.raises(ValueError, match=r"tax id 10090: 0 refined samples .* needs two or more"):
        empty_hub.train_tissue_model("Mus musculus")
    with pytest.raises(ValueError, match="tax id 9606"):
        empty_hub.evaluate_tissue_model(9606)
    assert empty_hub.evaluate_tissue_model() == {}
    assert empty_hub.tissue_models() == []
    with pytest.raises(KeyError, match="no tissue model"):
        empty_hub.tissue_model("tissue-9606-000000000000")
    with pytest.raises(exprhub.HubError, match="unknown organism"):
        empty_hub.tissue_models("unicorn")
    assert organisms_to_model(empty_hub, "Homo sapiens") == [9606]


def test_nothing_to_predict(empty_hub):
    frame = empty_hub.predict_tissue()
    assert frame.empty and frame.index.name == "sample"
    assert list(frame.columns) == [
        "tax_id",
        "tissue",
        "ontology_id",
        "confidence",
        "model_version",
        "genes_measured",
        "reason",
    ]
    assert empty_hub.tissue_qc().empty
    stored = empty_hub.store_tissue_predictions()
    assert (stored.stored, stored.cleared, stored.skipped, stored.changes) == (0, 0, 0, [])
    with pytest.raises(exprhub.RecordNotFound):
        empty_hub.predict_tissue("GSE1")


def test_json_rows_are_plain_python():
    frame = pd.DataFrame(
        {"confidence": [np.float64(0.5), np.nan], "flag": [np.bool_(True), np.bool_(False)]},
        index=pd.Index(["GSM1", "GSM2"], name="sample"),
    )
    rows = json_rows(frame)
    assert rows == [
        {"sample": "GSM1", "confidence": 0.5, "flag": True},
        {"sample": "GSM2", "confidence": None, "flag": False},
    ]
    assert json.loads(json.dumps(rows)) == rows
    assert not any(isinstance(v, float) and math.isnan(v) for r in rows for v in r.values())
