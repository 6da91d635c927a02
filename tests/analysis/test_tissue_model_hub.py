"""The tissue model on real GEO series (tests/analysis/tissue_fixtures.py): training with
series groups, held-out evaluation, versions, predictions, QC and stored labels."""

from __future__ import annotations

import numpy as np
import pytest

from exprhub.api import Hub
from exprhub.hub.label_models import label_models
from exprhub.hub.labels import sample_labels
from tests.analysis.tissue_fixtures import (
    CILIARY,
    MISLABELLED,
    OVARY,
    PANCREAS,
    UNLABELLED,
)
from tests.conftest import copy_hub


@pytest.fixture(scope="module")
def tissue_hub(tmp_path_factory, tissue_home):
    hub = Hub(copy_hub(tissue_home, tmp_path_factory.mktemp("tissuehub") / "hub"))
    yield hub
    hub.close()


@pytest.fixture(scope="module")
def trained(tissue_hub):
    return tissue_hub.train_tissue_model("Mus musculus")


def test_training_set_groups_series_and_counts_them_per_tissue(tissue_hub, trained):
    assert trained.skipped == {}
    (report,) = trained.models
    model = report.model
    assert report.new and model.tax_id == 10090 and model.field == "tissue"
    assert model.version.startswith("tissue-10090-") and model.library_version
    classes = model.document["classes"]
    assert classes[PANCREAS] == {"name": "pancreas", "samples": 6, "series_groups": 1}
    assert classes[CILIARY] == {"name": "ciliary epithelium", "samples": 6, "series_groups": 1}
    # GSE11897 and its SubSeries share samples: one group; the mislabelled sample adds GSE1623
    assert classes[OVARY] == {"name": "ovary", "samples": 12, "series_groups": 2}
    rows = {r["sample"]: r for r in tissue_hub.tissue_model(model.version)["training"]["samples"]}
    assert UNLABELLED not in rows and rows[MISLABELLED]["ontology_id"] == OVARY
    assert {r["group"] for r in rows.values()} == {"GSE1623", "GSE3791", "GSE7774"}
    assert all(r["values_sha256"] for r in rows.values())
    assert model.document["genes"] >= 10 and model.document["params"]["gene_coverage"] == 1.0


def test_held_out_evaluation_is_by_series_group_and_says_what_it_cannot_show(trained):
    evaluation = trained.models[0].evaluation
    assert evaluation is not None and evaluation.scheme == "leave-one-group-out"
    assert evaluation.groups == evaluation.folds == 3 and evaluation.samples == 24
    assert [len(f["held_out"]) for f in evaluation.fold_results] == [1, 1, 1]
    # pancreas and ciliary epithelium are each one group: held out, nothing in training knows them
    for term in (PANCREAS, CILIARY):
        assert not evaluation.classes[term]["evaluable"]
        assert evaluation.classes[term]["recall"] == 0.0
    assert evaluation.classes[OVARY]["evaluable"] and evaluation.evaluable_samples == 12
    assert evaluation.accuracy_evaluable is not None and "1 of 3 tissues" in evaluation.note
    stored = trained.models[0].model.document["evaluation"]
    assert stored["accuracy"] == evaluation.accuracy and "predictions" not in stored


def test_same_data_same_version(tissue_hub, trained):
    again = tissue_hub.train_tissue_model(10090, evaluate=False)
    assert again.models[0].model.version == trained.models[0].model.version
    assert not again.models[0].new
    assert len(label_models(tissue_hub, "tissue", 10090)) == 1
    listed = tissue_hub.tissue_models()
    assert [m["version"] for m in listed] == [trained.models[0].model.version]
    assert listed[0]["current"] and listed[0]["evaluation"]["scheme"] == "leave-one-group-out"
    with pytest.raises(KeyError, match="no tissue model"):
        tissue_hub.tissue_model("tissue-10090-000000000000")


def test_predictions_on_real_series(tissue_hub, trained):
    version = trained.models[0].model.version
    frame = tissue_hub.predict_tissue(["GSE1623", "GSE3791"])
    assert frame.loc[UNLABELLED, "tissue"] == "pancreas"
    assert frame.loc[UNLABELLED, "ontology_id"] == PANCREAS
    assert frame.loc[UNLABELLED, "model_version"] == version
    assert 0.5 < frame.loc[UNLABELLED, "confidence"] <= 1
    assert frame.loc[MISLABELLED, "tissue"] == "pancreas"  # its expression, not its label
    mouse = frame[frame["tax_id"] == 10090]
    assert set(mouse.loc[[k for k in mouse.index if k.startswith("GSM871")], "tissue"]) == {
        "ciliary epithelium"
    }
    human = frame[frame["tax_id"] == 9606]
    assert len(human) == 6 and set(human["tissue"]) == {"uncertain"}
    assert human["reason"].str.contains("no tissue model for tax id 9606").all()


def test_qc_flags_the_mislabelled_sample(tissue_hub, trained):
    qc = tissue_hub.tissue_qc("GSE1623")
    assert list(qc.index[qc["flag"]]) == [MISLABELLED]
    row = qc.loc[MISLABELLED]
    assert row["annotated"] == "ovary" and row["predicted"] == "pancreas"
    assert row["status"] == "disagree" and bool(row["in_training"])
    assert qc.loc[UNLABELLED, "status"] == "not annotated"
    assert set(qc.drop([MISLABELLED, UNLABELLED])["status"]) == {"agree"}
    flagged = tissue_hub.tissue_qc(flagged_only=True)
    assert list(flagged.index) == [MISLABELLED]


def test_stored_predictions_sit_beside_rule_labels(tissue_hub, trained):
    version = trained.models[0].model.version
    before = sample_labels(tissue_hub, [MISLABELLED], methods=("rule", "ontology"))
    report = tissue_hub.store_tissue_predictions("GSE1623")
    assert report.stored == 1 and report.skipped == 7 and report.changes == []
    (label,) = [x for x in tissue_hub.sample_labels(UNLABELLED) if x.field == "tissue"]
    assert (label.value, label.ontology_id, label.method) == (
        "pancreas",
        PANCREAS,
        "expression model",
    )
    assert label.evidence == version and label.source == "refined expression"
    (row,) = [x for x in sample_labels(tissue_hub, [UNLABELLED])[UNLABELLED] if x.field == "tissue"]
    assert row.labeller_version == version
    assert np.isclose(
        label.confidence, tissue_hub.predict_tissue(UNLABELLED)["confidence"].iloc[0], atol=1e-4
    )
    assert tissue_hub.samples(labels=["tissue=pancreas"]).index.tolist().count(UNLABELLED) == 1
    # all samples: the mislabelled one gets the model's label beside its rule label, untouched
    report = tissue_hub.store_tissue_predictions("GSE1623", all_samples=True)
    assert report.stored == 8 and report.changes == []
    tissues = [x for x in tissue_hub.sample_labels(MISLABELLED) if x.field == "tissue"]
    assert sorted((x.value, x.method) for x in tissues) == [
        ("ovary", "ontology"),
        ("pancreas", "expression model"),
    ]
    assert sample_labels(tissue_hub, [MISLABELLED], methods=("rule", "ontology")) == before
    # a relabel by the rules leaves the model's labels alone
    tissue_hub.relabel("GSE1623")
    assert [x.method for x in tissue_hub.sample_labels(UNLABELLED) if x.field == "tissue"] == [
        "expression model"
    ]
