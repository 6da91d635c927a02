"""Imports that fail leave the hub directory exactly as it was (no new folders either); a
directory imports the files inside it; value cells that are not numbers are reported."""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from pathlib import Path

import numpy as np
import pytest

from exprhub.cli import main
from exprhub.formats.soft import SoftReader
from exprhub.hub import Hub
from exprhub.ingest.importer import ImportFailed, files_in, import_file, import_files
from exprhub.ingest.labelling import ImportLabels
from exprhub.records import RecordType
from tests.hub.test_hub import hub_snapshot


@pytest.fixture
def hub(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Hub.init(tmp_path / "hub") as opened:
        yield opened


def hub_tree(hub: Hub) -> dict[str, str]:
    """Every folder and file under the hub (files by content), except the metadata database
    and the write lock, whose bytes change without changing what the hub holds."""
    tree: dict[str, str] = {}
    for path in sorted(hub.home.rglob("*")):
        if "sqlite" in path.name or path.suffix == ".lock":
            continue
        rel = str(path.relative_to(hub.home))
        tree[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return tree


def _sample(accession: str, values: list[str], platform: str = "GPL1") -> str:
    rows = "".join(f"p{i}\t{v}\n" for i, v in enumerate(values))
    return (
        f"^SAMPLE = {accession}\n!Sample_title = {accession}\n"
        f"!Sample_platform_id = {platform}\n!Sample_data_row_count = {len(values)}\n"
        "#ID_REF = probe\n#VALUE = signal\n!sample_table_begin\nID_REF\tVALUE\n"
        f"{rows}!sample_table_end\n"
    )


# --- item 12: a failed import leaves no trace, not even empty folders -------------------------
def test_failed_import_leaves_no_new_folders(geo_fixtures: Path, hub: Hub, tmp_path: Path) -> None:
    """The file fails after tables and the original file were written: their ``ab/`` folders
    go with them."""
    text = gzip.decompress((geo_fixtures / "gemma/GSE2870_family.soft.gz").read_bytes())
    lines = text.decode("latin-1").splitlines()
    samples = [i for i, line in enumerate(lines) if line.startswith("^SAMPLE")]
    lines.insert(samples[-1], "this line is not SOFT")  # after every other table was read
    bad = tmp_path / "bad_family.soft"
    bad.write_text("\n".join(lines) + "\n", encoding="latin-1")
    before_tree, before = hub_tree(hub), hub_snapshot(hub)
    with pytest.raises(ImportFailed, match=f"{bad}:{samples[-1] + 1}:"):
        import_file(hub, bad)
    assert hub_tree(hub) == before_tree
    assert hub_snapshot(hub) == before


def test_failed_import_into_a_used_hub_keeps_existing_folders(
    geo_fixtures: Path, hub: Hub, tmp_path: Path
) -> None:
    import_file(hub, geo_fixtures / "gemma/GDS1794.soft.gz")
    before = hub_tree(hub)
    bad = tmp_path / "bad.soft"
    bad.write_text(_sample("GSM9", ["1", "2"]) + "not SOFT\n")
    with pytest.raises(ImportFailed, match=f"{bad}:"):
        import_file(hub, bad)
    assert hub_tree(hub) == before


# --- item 12: directories ----------------------------------------------------------------------
def test_import_file_says_a_directory_is_a_directory(hub: Hub, tmp_path: Path) -> None:
    folder = tmp_path / "GSE1"
    folder.mkdir()
    before = hub_tree(hub)
    with pytest.raises(ImportFailed, match=r"GSE1: is a directory; expected a GEO file"):
        import_file(hub, folder)
    assert hub_tree(hub) == before


def test_a_directory_imports_each_file_in_name_order(hub: Hub, tmp_path: Path) -> None:
    folder = tmp_path / "download"
    (folder / "nested").mkdir(parents=True)
    (folder / "b_GSM2.soft").write_text(_sample("GSM2", ["2"]))
    (folder / "a_GSM1.soft").write_text(_sample("GSM1", ["1"]))
    (folder / ".hidden.soft").write_text(_sample("GSM3", ["3"]))
    (folder / "nested" / "c_GSM4.soft").write_text(_sample("GSM4", ["4"]))
    assert [p.name for p in files_in(folder)] == ["a_GSM1.soft", "b_GSM2.soft"]
    results = import_files(hub, [folder])
    assert [r.path.name for r in results] == ["a_GSM1.soft", "b_GSM2.soft"]
    assert hub.counts()["GSM"] == 2


def test_cli_import_of_a_directory(hub: Hub, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "download"
    folder.mkdir()
    (folder / "GSM1.soft").write_text(_sample("GSM1", ["1"]))
    (folder / "README.txt").write_text("files downloaded from GEO\n")
    code = main(["import", str(folder), "--home", str(hub.home), "--json"])
    captured = capsys.readouterr()
    assert code == 1  # README.txt is not a GEO file; each file its own transaction
    assert "no such file" not in captured.err
    assert f"error: {folder / 'README.txt'}: unrecognised content" in captured.err
    assert [Path(r["path"]).name for r in json.loads(captured.out)] == ["GSM1.soft"]
    assert hub.counts()["GSM"] == 1


def test_cli_import_of_an_empty_directory(hub: Hub, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "empty"
    folder.mkdir()
    assert main(["import", str(folder), "--home", str(hub.home)]) == 1
    assert f"error: {folder}: directory holds no files to import" in capsys.readouterr().err


# --- item 10: errors from the records of a file fail the import cleanly -----------------------
def test_annotation_without_platform_fails_the_import(hub: Hub, tmp_path: Path) -> None:
    annot = tmp_path / "GPLx.annot"
    annot.write_text(
        "^Annotation\n!Annotation_date = Jun 01 2020\n#ID = probe\n!platform_table_begin\n"
        "ID\tGene symbol\n1\tA\n!platform_table_end\n"
    )
    before = hub_tree(hub)
    with pytest.raises(ImportFailed, match=f"{annot}:1: the .Annotation block names no platform"):
        import_file(hub, annot)
    assert hub_tree(hub) == before


# --- item 11: value cells that are not numbers --------------------------------------------------
def test_unreadable_values_are_counted_and_reported_per_sample(hub: Hub, tmp_path: Path) -> None:
    source = tmp_path / "values.soft"
    source.write_text(
        _sample("GSM1", ["1.5", "abc", "1,234", "null", "", "NA", "NaN", "abc", "x", "y"])
        + _sample("GSM2", ["1e999", "-inf", "3e39", "2"])
        + _sample("GSM3", ["1", "null", "2"])
    )
    result = import_file(hub, source)
    unparseable = [w for w in result.warnings if "not a number" in w]
    beyond = [w for w in result.warnings if "beyond the float32 range" in w]
    assert unparseable == [
        f"{source}: GSM1: 5 of 10 value cells: not a number (e.g. 'abc', '1,234', 'x'); "
        "stored as missing (NaN)"
    ]
    assert beyond == [
        f"{source}: GSM2: 3 of 4 value cells: a number beyond the float32 range (3.4e38) "
        "(e.g. '1e999', '-inf', '3e39'); stored as missing (NaN)"
    ]
    assert not any("GSM3" in w for w in result.warnings)  # GEO's missing tokens are no news
    _, values = hub.sample_values("GSM2")
    assert np.isnan(values[:3]).all() and values[3] == 2  # no inf stored
    _, values = hub.sample_values("GSM1")
    assert values[0] == 1.5 and np.isnan(values[1:]).all()


def test_unreadable_dataset_values_name_the_sample_column(hub: Hub, tmp_path: Path) -> None:
    source = tmp_path / "GDS1.soft"
    source.write_text(
        "^DATASET = GDS1\n!dataset_title = t\n!dataset_platform = GPL1\n"
        "!dataset_value_type = count\n#ID_REF = probe\n#IDENTIFIER = gene\n"
        "#GSM1 = a\n#GSM2 = b\n!dataset_table_begin\nID_REF\tIDENTIFIER\tGSM1\tGSM2\n"
        "p1\tA\t1\toops\np2\tB\t2\t3\n!dataset_table_end\n"
    )
    result = import_file(hub, source)
    assert result.warnings == [
        f"{source}: GDS1 column GSM2: 1 of 2 value cells: not a number (e.g. 'oops'); "
        "stored as missing (NaN)"
    ]
    assert hub.record("GDS1", RecordType.DATASET) is not None


# --- the next file is read ahead while one is stored -------------------------------------------
def test_files_read_ahead_fail_as_their_own_import(
    geo_fixtures: Path, hub: Hub, tmp_path: Path
) -> None:
    """Each file is opened and inflated while the one before it is stored; a file that cannot
    be opened then, or turns out corrupt, still fails as its own import."""
    gemma = geo_fixtures / "gemma"
    truncated = tmp_path / "truncated_family.soft.gz"
    truncated.write_bytes((gemma / "GSE2870_family.soft.gz").read_bytes()[:20_000])
    missing = tmp_path / "gone_family.soft.gz"
    missing.write_bytes((gemma / "GSE2870_family.soft.gz").read_bytes())
    failures: list[tuple[str, str]] = []

    def remove_the_next_file(path: Path, records: int) -> None:
        missing.unlink(missing_ok=True)  # before GSE1623 is read through: not read ahead

    results = import_files(
        hub,
        [gemma / "GSE1623_family.soft.txt.gz", missing, gemma / "GDS1794.soft.gz", truncated],
        on_record=remove_the_next_file,
        on_error=lambda path, exc: failures.append((path.name, str(exc))),
    )
    assert [r.path.name for r in results] == ["GSE1623_family.soft.txt.gz", "GDS1794.soft.gz"]
    assert [name for name, _ in failures] == ["gone_family.soft.gz", "truncated_family.soft.gz"]
    assert "no such file" in failures[0][1]
    assert "truncated gzip file" in failures[1][1]  # found by the thread reading it ahead
    assert not [t for t in threading.enumerate() if t.name.startswith("exprhub-read-ahead")]
    assert hub.counts()["GSE"] == 1 and hub.counts()["GDS"] == 1


def test_an_import_stopped_midway_stops_reading_ahead(
    geo_fixtures: Path, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted once its file is read (the next one is being read ahead then): the next
    file's reader stops too, and the interrupted write is undone."""
    files = [
        geo_fixtures / "gemma/GSE1623_family.soft.txt.gz",
        geo_fixtures / "gemma/GSE432_family.soft.gz",
    ]
    calls: list[tuple[str, str]] = []
    read_ahead, close = SoftReader.read_ahead, SoftReader.close

    def reading_ahead(self: SoftReader, *args: int) -> None:
        calls.append(("read ahead", self.path.name))
        read_ahead(self, *args)

    def closing(self: SoftReader) -> None:
        calls.append(("closed", self.path.name))
        close(self)

    def interrupted(self: ImportLabels, hub: Hub, writer: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(SoftReader, "read_ahead", reading_ahead)
    monkeypatch.setattr(SoftReader, "close", closing)
    monkeypatch.setattr(ImportLabels, "write", interrupted)
    before = hub_snapshot(hub)
    with pytest.raises(KeyboardInterrupt):
        import_files(hub, files)
    assert calls == [("read ahead", files[1].name), ("closed", files[1].name)]
    assert not [t for t in threading.enumerate() if t.name.startswith("exprhub-read-ahead")]
    assert hub_snapshot(hub) == before
