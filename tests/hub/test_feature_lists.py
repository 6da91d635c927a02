"""Feature lists (exprhub.hub.feature_lists): stored once, read back in order, and the row of
one feature found in the stored text as in the list."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, insert, select

from exprhub.hub import schema as s
from exprhub.hub.errors import HubError
from exprhub.hub.feature_lists import (
    FeatureListCache,
    drop_if_unused,
    encode_features,
    matrix_features,
    matrix_row_of,
    store_features,
)

FEATURES = st.lists(
    st.text(st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)), max_size=12),
    unique=True,
    min_size=1,
    max_size=40,
)


@pytest.fixture(scope="module")
def engine():
    engine = create_engine("sqlite://")
    s.metadata.create_all(engine)
    yield engine
    engine.dispose()


@settings(max_examples=150, deadline=None)
@given(features=FEATURES, probe=st.text(max_size=12))
def test_lists_read_back_and_rows_match_the_list(engine, features, probe) -> None:
    cache = FeatureListCache()
    with engine.begin() as connection:
        digest = store_features(connection, features)
        assert store_features(connection, list(features)) == digest  # stored once
        assert cache.features(connection, digest) == features
        for row, feature in enumerate(features):
            assert cache.row_of(connection, digest, feature) == row
        expected = features.index(probe) if probe in features else None
        assert cache.row_of(connection, digest, probe) == expected
        connection.rollback()


def test_a_matrix_reads_its_list_and_unused_lists_go(engine) -> None:
    cache = FeatureListCache()
    with engine.begin() as connection:
        short = store_features(connection, ["p1", "naïve p2"])
        longer = store_features(connection, ["p1", "naïve p2", "p3"])
        connection.execute(
            insert(s.matrices).values(
                id=1, name="submitted/GPL1", kind="submitted", dtype="float32", feature_list=short
            )
        )
        assert matrix_features(connection, cache, "submitted/GPL1")[1] == ["p1", "naïve p2"]
        assert matrix_row_of(connection, cache, "submitted/GPL1", "naïve p2")[1] == 1
        assert matrix_row_of(connection, cache, "submitted/GPL1", "p3")[1] is None
        assert matrix_features(connection, cache, "nothing") is None
        drop_if_unused(connection, short)  # still the matrix's
        connection.execute(s.matrices.update().values(feature_list=longer))
        drop_if_unused(connection, short)
        names = connection.execute(select(s.feature_lists.c.sha256)).scalars().all()
        assert names == [longer]
        # read again, the matrix gives its new list
        assert matrix_features(connection, cache, "submitted/GPL1")[1] == ["p1", "naïve p2", "p3"]
        with pytest.raises(
            KeyError
        ):  # gone from SQL (a cache keeps what it read: lists never change)
            FeatureListCache().features(connection, short)
        assert cache.features(connection, short) == ["p1", "naïve p2"]
        connection.rollback()
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(s.feature_lists)).scalar() == 0


def test_a_line_break_in_a_feature_is_refused() -> None:
    with pytest.raises(HubError, match="line break"):
        encode_features(["p1", "two\nlines"])


def test_no_list_is_stored_for_no_features(engine) -> None:
    with engine.begin() as connection, pytest.raises(ValueError, match="empty"):
        store_features(connection, [])
