"""Schema migrations: the packaged migrations build exactly the declared schema, and a hub
made by an older schema is migrated (with its data) when opened."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from exprhub.hub import Hub
from exprhub.hub.hub import MARKER, SQLITE_NAME
from exprhub.hub.migrate import (
    HEAD_REVISION,
    current_revision,
    head_revision,
    migrate,
    upgrade_with_alembic,
)
from exprhub.hub.schema import listing_sort_key, metadata
from exprhub.storage.database import connect, sqlite_url


def _schema_differences(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, metadata)


def _old_hub(tmp_path, database_url, revision):
    """A hub directory whose database stands at ``revision``: ``(home, url, engine)``."""
    home = tmp_path / "old"
    home.mkdir()
    (home / MARKER).write_text('{"format": 1}')
    url = database_url or sqlite_url(home / SQLITE_NAME)
    engine = connect(url)
    migrate(engine, revision)
    assert current_revision(engine) == revision
    return home, url, engine


def test_migrations_match_declared_schema(tmp_path, database_url):
    engine = connect(database_url or sqlite_url(tmp_path / "db.sqlite"))
    upgrade_with_alembic(engine)
    diff = _schema_differences(engine)
    engine.dispose()
    assert diff == []


def test_head_revision_constant_is_alembics_head():
    """A new migration must update HEAD_REVISION, or new hubs would be stamped too old."""
    assert head_revision() == HEAD_REVISION


def test_new_database_gets_declared_schema_stamped_at_head(tmp_path, database_url):
    """migrate() builds an empty database from the declared schema (no Alembic run): the
    result is what the migrations build, at the newest revision, and Alembic agrees."""
    engine = connect(database_url or sqlite_url(tmp_path / "db.sqlite"))
    migrate(engine)
    assert _schema_differences(engine) == []
    assert current_revision(engine) == head_revision()
    upgrade_with_alembic(engine)  # nothing left to do
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_opening_hubs_does_not_load_alembic(tmp_path):
    """Creating a hub and opening an up-to-date one skip Alembic's start-up cost."""
    code = (
        "import sys\n"
        "from exprhub.hub import Hub\n"
        "Hub.init(sys.argv[1]).close()\n"
        "Hub(sys.argv[1]).close()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "hub")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"


def test_old_hub_is_migrated_with_its_data(tmp_path, database_url):
    home, _, engine = _old_hub(tmp_path, database_url, "0001")
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO records (type, key, accession, title, version, created_at, updated_at)"
                " VALUES ('GSM', 'GSM1', 'GSM1', 'old sample', 1, :now, :now)"
            ),
            {"now": now},
        )
        record_id = connection.execute(text("SELECT id FROM records")).scalar_one()
        connection.execute(  # a submission-style name, not ASCII: lengths count characters
            text(
                "INSERT INTO records (type, key, accession, title, version, created_at, updated_at)"
                " VALUES ('GSM', 'naïve sample 10', NULL, 'named', 1, :now, :now)"
            ),
            {"now": now},
        )
        connection.execute(
            text(
                "INSERT INTO attributes (record_id, position, key, value) VALUES "
                "(:r, 0, 'Sample_title', 'old sample'),"
                "(:r, 1, 'Sample_characteristics_ch1', 'tissue: liver'),"
                "(:r, 2, 'Sample_characteristics_ch2', 'no colon here')"
            ),
            {"r": record_id},
        )
    engine.dispose()

    hub = Hub(home, database_url=database_url)
    assert current_revision(hub.engine) == head_revision()
    assert hub.record("GSM1").title == "old sample"
    assert hub.summary("GSM1")["characteristics"] == {
        "ch1": [["tissue", "liver"]],
        "ch2": [["", "no colon here"]],
    }
    with hub.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT channel, key, value FROM characteristics ORDER BY channel")
        ).fetchall()
    assert [tuple(r) for r in rows] == [(1, "tissue", "liver"), (2, "", "no colon here")]
    assert hub.history("GSM1") == []
    # 0006 computed the listing order in SQL as the writer does in Python
    with hub.engine.connect() as connection:
        sort_keys = connection.execute(
            text("SELECT key, sort_key FROM records ORDER BY id")
        ).fetchall()
    assert [tuple(r) for r in sort_keys] == [
        (key, listing_sort_key(key)) for key in ("GSM1", "naïve sample 10")
    ]
    hub.close()


def test_refined_samples_keep_their_qn_target_after_upgrade(tmp_path, database_url):
    """0008: every refined sample of a normalized kind is assigned the target version it was
    normalized to (by digest), a sample delivered without QN none, log ratios nothing."""
    from exprhub.hub.qn_history import qn_assignments

    home, _, engine = _old_hub(tmp_path, database_url, "0007")
    now = datetime.now(UTC)
    with engine.begin() as connection:
        for version, digest, current in ((1, "a" * 64, False), (2, "b" * 64, True)):
            connection.execute(
                text(
                    "INSERT INTO qn_targets (tax_id, organism, value_kind, version, sha256, "
                    "length, n_samples, platform_key, sample_ids, target_values, current, "
                    "created_at) VALUES (9606, 'Homo sapiens', 'intensity', :v, :d, 1, 1, "
                    "'GPL96', '[]', :values, :c, :t)"
                ),
                {"v": version, "d": digest, "values": b"\0" * 8, "c": current, "t": now},
            )
        rows = (
            ("GSM1", "intensity", "a" * 64),
            ("GSM2", "intensity", "b" * 64),
            ("GSM3", "intensity", None),
            ("GSM4", "log-ratio", None),
        )
        for key, kind, digest in rows:
            connection.execute(
                text(
                    "INSERT INTO refined_samples (sample_key, status, tax_id, value_kind, "
                    "processor, processor_version, input_sha256, qn_target_sha256, document, "
                    "refined_at) VALUES (:k, 'done', 9606, :kind, 'p', '1', 'x', :d, '{}', :t)"
                ),
                {"k": key, "kind": kind, "d": digest, "t": now},
            )
    engine.dispose()
    with Hub(home, database_url=database_url) as hub:
        assert current_revision(hub.engine) == head_revision()
        assigned = qn_assignments(hub)
    assert {k: (a.target_version, a.target_sha256) for k, a in assigned.items()} == {
        "GSM1": (1, "a" * 64),
        "GSM2": (2, "b" * 64),
        "GSM3": (None, None),
    }


def test_matrix_rows_become_feature_lists_stored_once(tmp_path, database_url):
    """0014: each matrix's ``matrix_rows`` become its feature list, in row order, stored once
    for matrices with equal lists; an empty matrix gets none; downgrading gives the rows
    back."""
    from alembic import command
    from sqlalchemy import select

    from exprhub.hub import schema as s
    from exprhub.hub.migrate import alembic_config

    home, url, engine = _old_hub(tmp_path, database_url, "0013")
    shared = ["p1", "naïve p2", "p3"]
    matrices = {
        1: ("submitted/GPL1", shared),
        2: ("counts/GSE1/counts/" + "a" * 64, shared),
        3: ("submitted/GPL2", ["b", "a"]),
        4: ("refined/9606/intensity", []),
    }
    with engine.begin() as connection:
        for matrix_id, (name, features) in matrices.items():
            connection.execute(
                text(
                    "INSERT INTO matrices (id, name, kind, dtype, n_rows, n_columns) "
                    "VALUES (:i, :n, 'submitted', 'float32', :r, 0)"
                ),
                {"i": matrix_id, "n": name, "r": len(features)},
            )
            connection.execute(
                text(
                    'INSERT INTO matrix_columns (matrix_id, "column", sample_key, active) '
                    "VALUES (:m, 0, 'GSM1', :a)"
                ),
                {"m": matrix_id, "a": True},
            )
            for row in reversed(range(len(features))):  # stored out of row order
                connection.execute(
                    text("INSERT INTO matrix_rows (matrix_id, row, feature) VALUES (:m, :r, :f)"),
                    {"m": matrix_id, "r": row, "f": features[row]},
                )
    engine.dispose()

    with Hub(home, database_url=database_url) as hub:
        assert current_revision(hub.engine) == head_revision()
        for name, features in matrices.values():
            assert hub.matrix_features(name) == features
        with hub.engine.connect() as connection:
            lists = connection.execute(select(s.feature_lists.c.n_features)).scalars().all()
            named = {
                i: f
                for i, f in connection.execute(select(s.matrices.c.id, s.matrices.c.feature_list))
            }
        assert hub.matrix_samples("submitted/GPL2") == [("GSM1", 0)]
    assert sorted(lists) == [2, 3]
    assert named[1] == named[2] != named[3] and named[4] is None

    engine = connect(url)
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0013")
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT matrix_id, row, feature FROM matrix_rows ORDER BY matrix_id, row")
        ).fetchall()
        columns = connection.execute(text("SELECT count(*) FROM matrix_columns")).scalar()
    engine.dispose()
    assert columns == len(matrices)  # kept both ways
    assert [tuple(r) for r in rows] == [
        (i, r, f) for i, (_, features) in matrices.items() for r, f in enumerate(features)
    ]
