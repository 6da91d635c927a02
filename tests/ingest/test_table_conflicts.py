"""An incomplete table never replaces a complete one (issue #15), on real GEO files.

``geoquery/GPL96.txt.gz`` holds GPL96 complete (22,283 of 22,283 rows, last update 2009);
``gemma/GSE3791_family.soft.gz`` holds GPL96 chopped (a few hundred of 22,283 declared rows,
last update 2006). The issue measured a family file whose chopped GPL96 was *newer* (2012):
the test makes that file from GSE3791's real bytes by changing only GPL96's last update date.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from exprhub.cli import main
from exprhub.hub import Hub
from exprhub.hub.hub import MARKER, SQLITE_NAME
from exprhub.hub.migrate import current_revision, head_revision, migrate
from exprhub.ingest.importer import import_file
from exprhub.storage.database import connect, sqlite_url

GPL96_ROWS = 22283
GPL96_COMPLETE = "geoquery/GPL96.txt.gz"
GSE3791 = "gemma/GSE3791_family.soft.gz"


def newer_chopped_gpl96(geo_fixtures: Path, folder: Path) -> Path:
    """GSE3791's family file with its (chopped) GPL96 dated Jun 01 2012, newer than the
    complete GPL96.txt.gz (Jun 03 2009)."""
    lines = gzip.decompress((geo_fixtures / GSE3791).read_bytes()).split(b"\n")
    in_gpl96, changed = False, 0
    for i, line in enumerate(lines):
        if line.startswith(b"^"):
            in_gpl96 = line.strip() == b"^PLATFORM = GPL96"
        elif in_gpl96 and line.startswith(b"!Platform_last_update_date"):
            lines[i] = b"!Platform_last_update_date = Jun 01 2012"
            changed += 1
    assert changed == 1
    out = folder / "GSE3791_family_gpl96_2012.soft.gz"
    out.write_bytes(gzip.compress(b"\n".join(lines)))
    return out


def gpl96_facts(hub: Hub) -> tuple[int, str | None, int]:
    """GPL96's stored table rows, last update date and version."""
    data = hub.summary("GPL96")
    return data["table"]["rows"], data["last_update_date"], data["version"]


def test_newer_incomplete_table_keeps_the_complete_one(make_hub, geo_fixtures, tmp_path):
    hub = make_hub()
    import_file(hub, geo_fixtures / GPL96_COMPLETE)
    assert gpl96_facts(hub) == (GPL96_ROWS, "2009-06-03", 1)
    probes_before = hub.record("GPL96").table.column("ID").tolist()

    newer = newer_chopped_gpl96(geo_fixtures, tmp_path)
    result = import_file(hub, newer)

    # the metadata is the newer version's, the table is the complete one
    assert dict(result.by_type["GPL"]) == {"updated": 1, "added": 3}  # GPL97/339/340 new
    assert gpl96_facts(hub) == (GPL96_ROWS, "2012-06-01", 2)
    assert hub.record("GPL96").table.column("ID").tolist() == probes_before
    # said in the import summary and recorded with the record
    assert len(result.conflicts) == 1
    assert result.conflicts[0].startswith("GPL96: the newer version's table has ")
    assert f"of {GPL96_ROWS} declared rows" in result.conflicts[0]
    assert f"kept the stored table of version 1 ({GPL96_ROWS} rows)" in result.conflicts[0]
    assert result.to_dict()["conflicts"] == result.conflicts
    conflicts = hub.summary("GPL96")["conflicts"]
    assert [(c["version"], c["kind"], c["message"]) for c in conflicts] == [
        (2, "incomplete-table", result.conflicts[0])
    ]
    assert conflicts[0]["source_sha256"] == result.sha256
    assert [h["version"] for h in hub.history("GPL96")] == [1]
    # the other platforms of the file had nothing stored: their chopped tables are kept
    assert hub.summary("GPL97")["conflicts"] == []
    assert hub.summary("GPL97")["table"]["rows"] < 22645


def test_complete_table_replaces_an_incomplete_one(make_hub, geo_fixtures):
    hub = make_hub()
    import_file(hub, geo_fixtures / GSE3791)
    chopped, date, version = gpl96_facts(hub)
    assert chopped < GPL96_ROWS and date == "2006-07-28" and version == 1

    result = import_file(hub, geo_fixtures / GPL96_COMPLETE)
    assert dict(result.outcomes) == {"updated": 1}
    assert result.conflicts == []
    assert gpl96_facts(hub) == (GPL96_ROWS, "2009-06-03", 2)
    assert hub.summary("GPL96")["conflicts"] == []


def test_older_incomplete_file_changes_nothing(make_hub, geo_fixtures):
    hub = make_hub()
    import_file(hub, geo_fixtures / GPL96_COMPLETE)
    result = import_file(hub, geo_fixtures / GSE3791)
    assert result.by_type["GPL"]["older-kept-newer"] == 1
    assert result.conflicts == []
    assert gpl96_facts(hub) == (GPL96_ROWS, "2009-06-03", 1)


def test_cli_reports_the_conflict_on_import_and_show(tmp_path, geo_fixtures, capsys):
    home = tmp_path / "hub"
    assert main(["init", "--home", str(home)]) == 0
    newer = newer_chopped_gpl96(geo_fixtures, tmp_path)
    assert main(["import", "--home", str(home), str(geo_fixtures / GPL96_COMPLETE)]) == 0
    capsys.readouterr()
    assert main(["import", "--home", str(home), str(newer)]) == 0
    out = capsys.readouterr().out
    assert "(1 kept the stored table, see below)" in out
    assert "  conflict: GPL96: the newer version's table has " in out
    assert main(["show", "--home", str(home), "GPL96"]) == 0
    out = capsys.readouterr().out
    assert "conflict          version 2: GPL96: the newer version's table has" in out
    assert main(["show", "--home", str(home), "GPL96", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["conflicts"][0]["version"] == 2


def test_migration_adds_the_conflicts_table_to_an_existing_hub(
    tmp_path, database_url, geo_fixtures
):
    home = tmp_path / "old"
    home.mkdir()
    (home / MARKER).write_text('{"format": 1}')
    engine = connect(database_url or sqlite_url(home / SQLITE_NAME))
    migrate(engine, "0007")
    engine.dispose()
    with Hub(home, database_url=database_url) as hub:
        assert current_revision(hub.engine) == head_revision()
        import_file(hub, geo_fixtures / GPL96_COMPLETE)
        result = import_file(hub, newer_chopped_gpl96(geo_fixtures, tmp_path))
        assert len(hub.conflicts("GPL96")) == len(result.conflicts) == 1
