"""The tissue model's mechanics on simulated matrices: within-sample ranks, fitting, the
version as a content hash, the payload round trip and the evaluation grouped by series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from exprhub.analysis.tissue_model import (
    TissueModel,
    TrainingSet,
    covered_genes,
    fit_model,
    grouped_evaluation,
    within_sample_ranks,
)

TISSUES = {"UBERON:0002107": "liver", "UBERON:0002113": "kidney", "UBERON:0000955": "brain"}


def simulated(series_per_tissue: int = 2, samples: int = 4, genes: int = 60, seed: int = 1):
    """Samples x genes of three tissues, each with its own 8 marker genes, in series that
    differ in scale (log2 intensities, linear counts) and in the genes they lack."""
    rng = np.random.default_rng(seed)
    terms = list(TISSUES)
    base = rng.normal(8, 2, genes)
    rows, keys, labels, groups = [], [], [], []
    n = 0
    for t, term in enumerate(terms):
        for s in range(series_per_tissue):
            series = f"GSE{100 + t * 10 + s}"
            shift = rng.normal(0, 0.3, genes)  # the series' own batch effect
            for _ in range(samples):
                level = base + shift + rng.normal(0, 0.4, genes)
                level[t * 8 : t * 8 + 8] += 4
                values = 2**level if s % 2 else level  # counts-like or log2
                values[rng.choice(genes, 3, replace=False)] = np.nan
                rows.append(values)
                keys.append(f"GSM{n}")
                labels.append(term)
                groups.append(series)
                n += 1
    training = TrainingSet(
        9606,
        tuple(keys),
        tuple(labels),
        tuple(TISSUES[t] for t in labels),
        tuple(groups),
        tuple(f"d{i}" for i in range(n)),
    )
    return training, np.array(rows), [str(g) for g in range(genes)]


def test_ranks_are_pandas_percentile_ranks_and_missing_is_the_middle():
    values = np.array([[3.0, 1.0, np.nan, 1.0, 10.0], [np.nan, np.nan, np.nan, np.nan, 2.0]])
    ranks = within_sample_ranks(values)
    expected = pd.DataFrame(values).rank(axis=1, pct=True).fillna(0.5).to_numpy()
    assert np.allclose(ranks, expected)
    assert ranks[0, 4] == 1.0 and ranks[0, 2] == 0.5
    # a monotone transform of a sample (log vs linear) leaves its ranks as they are
    assert np.allclose(within_sample_ranks(np.log2(values[:1])), ranks[:1])


def test_covered_genes():
    counts = np.array([2, 1, 0])  # samples (of 2) measuring each gene
    assert covered_genes(counts, 2, 1.0).tolist() == [0]
    assert covered_genes(counts, 2, 0.5).tolist() == [0, 1]
    with pytest.raises(ValueError, match="coverage"):
        covered_genes(counts, 2, 0)


def test_held_out_series_are_recognised_by_tissue():
    training, values, _ = simulated()
    result = grouped_evaluation(training, values)
    assert result.scheme == "leave-one-group-out" and result.folds == result.groups == 6
    assert all(len(f["held_out"]) == 1 for f in result.fold_results)
    assert result.accuracy == 1.0 and result.macro_f1 == 1.0
    assert result.accuracy_evaluable == 1.0 and result.evaluable_samples == 24
    assert {c["series_groups"] for c in result.classes.values()} == {2}
    assert all(c["evaluable"] for c in result.classes.values())
    k_fold = grouped_evaluation(training, values, folds=3)
    assert k_fold.scheme == "GroupKFold(3)" and len(k_fold.fold_results) == 3
    # no fold splits a series: each series is held out whole, once
    held = [g for f in k_fold.fold_results for g in f["held_out"]]
    assert sorted(held) == sorted(set(training.groups))
    counts = pd.Series(training.groups).value_counts()
    assert all(f["samples"] == sum(counts[g] for g in f["held_out"]) for f in k_fold.fold_results)


def test_a_tissue_of_one_series_is_not_evaluable_and_never_right():
    training, values, _ = simulated(series_per_tissue=1)
    result = grouped_evaluation(training, values)
    assert result.groups == 3 and result.evaluable_samples == 0
    assert result.accuracy == 0.0 and result.accuracy_evaluable is None
    assert not any(c["evaluable"] for c in result.classes.values())
    assert "no tissue spans two series groups" in result.note
    with pytest.raises(ValueError, match="two series groups"):
        one = TrainingSet(9606, ("a", "b"), ("x", "y"), ("x", "y"), ("G", "G"))
        grouped_evaluation(one, values[:2])


def test_model_version_is_its_content_and_payload_round_trips():
    training, values, genes = simulated()
    model = fit_model(training, values, genes)
    again = fit_model(training, values.copy(), list(genes))
    assert again.version == model.version and np.array_equal(again.coef, model.coef)
    assert model.version.startswith("tissue-9606-") and len(model.version) <= 32
    assert set(model.classes) == set(TISSUES)
    relabelled = TrainingSet(
        training.tax_id,
        training.samples,
        ("UBERON:0000955", *training.terms[1:]),
        ("brain", *training.names[1:]),
        training.groups,
        training.value_digests,
    )
    assert fit_model(relabelled, values, genes).version != model.version
    rerefined = TrainingSet(
        training.tax_id,
        training.samples,
        training.terms,
        training.names,
        training.groups,
        ("changed", *training.value_digests[1:]),
    )
    assert fit_model(rerefined, values, genes).version != model.version
    assert fit_model(training, values, genes, c=0.1).version != model.version
    loaded = TissueModel.from_payload(
        model.to_payload(),
        version=model.version,
        digest=model.digest,
        tax_id=9606,
        library_version=model.library_version,
        params=model.params,
    )
    assert loaded.genes == model.genes and loaded.class_names == model.class_names
    proba = loaded.probabilities(values)
    assert np.allclose(proba, model.probabilities(values))
    predicted = np.asarray(loaded.classes)[proba.argmax(axis=1)]
    assert (predicted == np.asarray(training.terms)).all()


def test_fit_needs_two_tissues_and_matching_values():
    training, values, genes = simulated()
    with pytest.raises(ValueError, match="expected"):
        fit_model(training, values[:, :5], genes)
    only = TrainingSet(9606, ("a", "b"), ("t", "t"), ("t", "t"), ("G1", "G2"))
    with pytest.raises(ValueError, match="two tissues"):
        fit_model(only, values[:2], genes)
