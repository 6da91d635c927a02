"""Scoring predicted labels against a gold set: figures worked out by hand, the long form of
stored labels, ontology ids, and the committed gold set itself."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from exprhub.curate.evaluation import (
    GOLD_FIELDS,
    UNKNOWN,
    evaluate,
    normalize_label,
    predictions_frame,
    read_gold,
)

GOLD_CSV = Path(__file__).resolve().parents[1] / "data" / "labels_gold.csv"


def _gold() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "accession": ["S1", "S2", "S3", "S4"],
            "sex": ["male", "female", "unknown", "female"],
            "organ_tissue": ["kidney", "liver", "liver", "kidney"],
            "organ_tissue_id": ["UBERON:0002113", "UBERON:0002107", "UBERON:0002107", ""],
        }
    )


def test_hand_worked_figures_count_unknown_as_a_class():
    predicted = pd.DataFrame(
        {"sex": ["male", "male", "female", None]}, index=pd.Index(["S1", "S2", "S3", "S4"])
    )
    result = evaluate(_gold(), predicted, ["sex"])
    sex = result.fields["sex"]
    # S1 right; S2 wrong (female -> male); S3 a guess where gold is unknown; S4 a miss
    assert (sex.n, sex.n_known, sex.correct, sex.correct_known) == (4, 3, 1, 1)
    assert sex.accuracy == pytest.approx(1 / 4)
    assert sex.accuracy_known == pytest.approx(1 / 3)
    assert sex.predicted_unknown == 1
    # male: P 1/2, R 1 -> F1 2/3; female: F1 0; unknown: F1 0
    assert sex.per_class["male"]["f1"] == pytest.approx(2 / 3)
    assert sex.per_class["female"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    assert sex.macro_f1 == pytest.approx((2 / 3) / 3)
    assert sex.macro_f1_known == pytest.approx((2 / 3) / 2)
    assert sex.confusion == {
        "male": {"male": 1},
        "female": {"male": 1, UNKNOWN: 1},
        UNKNOWN: {"female": 1},
    }
    table = sex.confusion_frame()
    assert table.loc["female", "male"] == 1 and table.loc["male", "female"] == 0
    assert sex.target == 0.97 and sex.meets_target is False


def test_missing_samples_are_unknown_and_listed():
    predicted = pd.DataFrame({"accession": ["S1"], "sex": ["Male "]})
    result = evaluate(_gold(), predicted, ["sex"])
    assert result.missing == ["S2", "S3", "S4"]
    # S1 right (case and space ignored), S3 right (unknown both)
    assert result.fields["sex"].correct == 2
    assert result.to_dict()["fields"]["sex"]["accuracy"] == pytest.approx(0.5)


def test_ontology_ids_decide_where_both_have_one():
    predicted = pd.DataFrame(
        {
            "accession": ["S1", "S2", "S3", "S4"],
            "organ_tissue": ["renal organ", "hepar", "liver", "kidney"],
            "organ_tissue_id": ["UBERON:0002113", "UBERON:0002113", "", ""],
        }
    )
    score = evaluate(_gold(), predicted, ["organ_tissue"]).fields["organ_tissue"]
    # S1 id match despite the label; S2 ids differ; S3 and S4 compare labels
    assert score.correct == 3
    assert score.confusion["liver"] == {"liver": 1, "hepar": 1}


def test_long_form_keeps_the_most_confident_value():
    long = pd.DataFrame(
        {
            "sample": ["S1", "S1", "S2", "S4"],
            "field": ["sex", "sex", "sex", "organ_tissue"],
            "value": ["female", "male", "female", "kidney"],
            "ontology_id": ["", "", "", "UBERON:0002113"],
            "confidence": [0.4, 0.9, 1.0, 0.8],
        }
    )
    wide = predictions_frame(long)
    assert wide.loc["S1", "sex"] == "male"
    assert wide.loc["S4", "organ_tissue_id"] == "UBERON:0002113"
    result = evaluate(_gold(), long, ["sex", "organ_tissue"])
    assert result.fields["sex"].correct == 3  # S1, S2, S3 (unknown = unknown)
    assert result.fields["organ_tissue"].correct == 1


def test_values_compare_as_sets_and_missing_text_is_unknown():
    assert normalize_label(" Male ; female") == normalize_label("female;male") == "female; male"
    assert normalize_label(float("nan")) == normalize_label("") == normalize_label(None) == UNKNOWN


def test_repeated_samples_and_absent_fields_are_errors():
    with pytest.raises(ValueError, match="S1 more than once"):
        evaluate(_gold(), pd.DataFrame({"accession": ["S1", "S1"], "sex": ["m", "f"]}))
    with pytest.raises(ValueError, match="no column age"):
        evaluate(_gold(), pd.DataFrame({"accession": ["S1"]}), ["age"])


def test_gold_set_is_complete_and_scores_itself_perfectly():
    gold = read_gold(GOLD_CSV)
    assert len(gold) == 159 and gold["accession"].is_unique
    assert set(GOLD_FIELDS) <= set(gold.columns)
    assert (gold["note"].str.len() > 20).all()
    assert set(gold["sex"]) <= {"male", "female", "mixed", "unknown"}
    assert set(gold["experimental_setting"]) <= {"in vivo", "ex vivo", "in vitro", "unknown"}
    perfect = evaluate(gold, gold)
    assert all(s.accuracy == 1.0 and s.macro_f1 == 1.0 for s in perfect.fields.values())
    # abstaining everywhere scores exactly the share of unknown in the gold set
    nothing = evaluate(gold, pd.DataFrame(index=pd.Index([], name="accession")))
    sex = nothing.fields["sex"]
    assert sex.accuracy == pytest.approx((gold["sex"] == UNKNOWN).mean())
    assert sex.accuracy_known == 0.0 and sex.n_known == 41
    assert len(nothing.missing) == 159


def test_gold_ontology_ids_name_the_labels_given():
    from cellxgene_ontology_guide.ontology_parser import OntologyParser

    gold = read_gold(GOLD_CSV)
    parser = OntologyParser()
    pairs = set()
    for field in ("organ_tissue", "cell_type", "disease"):
        for label, term in zip(gold[field], gold[f"{field}_id"], strict=True):
            assert (label == UNKNOWN) == (term == ""), (field, label, term)
            if term and not term.startswith("PATO:"):
                pairs.add((term, label))
    assert len(pairs) == 29
    for term, label in sorted(pairs):
        assert parser.get_term_label(term) == label
    assert set(gold.loc[gold["disease"] == "normal", "disease_id"]) == {"PATO:0000461"}


def test_gold_values_are_the_labellers_vocabulary():
    from exprhub.curate.labels.age import HUMAN_GROUPS, RODENT_GROUPS, parse_age
    from exprhub.curate.labels.fields_specimen import SETTING_OF
    from exprhub.curate.labels.fields_subject import GENOTYPES

    gold = read_gold(GOLD_CSV)
    groups = {g for _, g in HUMAN_GROUPS + RODENT_GROUPS} | {"embryonic", "fetal", UNKNOWN}
    assert set(gold["age_group"]) <= groups
    assert set(gold["specimen_type"]) <= set(SETTING_OF) | {UNKNOWN}
    kinds = {kind for kind, _ in GENOTYPES} | {UNKNOWN}
    assert {k.strip() for v in gold["genotype"] for k in v.split(";")} <= kinds
    # every age with a number is written as the labeller writes it
    for age in gold["age"]:
        parsed = parse_age(age.removesuffix(" (mean)"))
        if parsed is not None:
            assert parsed.text == age.removesuffix(" (mean)"), age
