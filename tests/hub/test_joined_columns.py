"""hub.joined_columns: samples of one kind across matrices, joined on the feature id, equal
to pandas' outer join of the matrices read one by one (what its callers did before)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from exprhub.hub import Hub
from exprhub.hub.joined_columns import joined_columns
from exprhub.refine.store import write_sample_column


def _hub(tmp_path) -> Hub:
    hub = Hub.init(tmp_path / "hub")
    first = ["5", "1", "3"]
    second = ["2", "1", "9", "3"]
    with hub.writer() as writer:
        write_sample_column(writer, "refined/9606/a", "refined", "GSM1", first, [1.0, 2, 3])
        write_sample_column(writer, "refined/9606/a", "refined", "GSM2", first, [4.0, np.nan, 6])
        write_sample_column(writer, "refined/9606/b", "refined", "GSM3", second, [7.0, 8, 9, 10])
        write_sample_column(writer, "refined/10090/a", "refined", "GSM4", ["1"], [11.0])
    return hub


def _pandas_join(hub: Hub, samples: list[str]) -> pd.DataFrame:
    parts = []
    for name, found in sorted(hub.sample_matrices(samples, "refined").items()):
        features, got, values = hub.read_columns(name, found)
        parts.append(pd.DataFrame(values, index=pd.Index(features, name="gene_id"), columns=got))
    frame = pd.concat(parts, axis=1, join="outer")
    return frame[[k for k in samples if k in frame.columns]].dropna(how="all")


def test_join_equals_pandas_outer_join(tmp_path):
    hub = _hub(tmp_path)
    samples = ["GSM3", "GSM9", "GSM1", "GSM4", "GSM2"]
    joined = joined_columns(hub, samples, "refined")
    assert joined.matrices == ["refined/10090/a", "refined/9606/a", "refined/9606/b"]
    assert joined.samples == ("GSM3", "GSM1", "GSM4", "GSM2")
    frame = joined.frame(hub, list(joined.samples))
    expected = _pandas_join(hub, samples)
    pd.testing.assert_frame_equal(frame, expected)
    assert frame.dtypes.unique().tolist() == [np.float32]
    hub.close()


def test_prefix_rows_and_reorder(tmp_path):
    hub = _hub(tmp_path)
    joined = joined_columns(
        hub, ["GSM1", "GSM2", "GSM3", "GSM4"], "refined", prefix="refined/9606/"
    )
    assert joined.samples == ("GSM1", "GSM2", "GSM3")
    assert joined.features == ("5", "1", "3", "2", "9")
    ordered = joined.reordered(sorted(joined.features, key=int))
    rows = np.array([0, 2])  # genes 1 and 3
    got = ordered.read(hub, ["GSM3", "GSM2"], rows=rows, dtype=np.float64)
    np.testing.assert_array_equal(got, [[8.0, np.nan], [10.0, 6.0]])
    assert got.dtype == np.float64
    hub.close()
