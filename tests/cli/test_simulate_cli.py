"""`exprhub simulate` writes files that the normal import path takes with the expected counts."""

from __future__ import annotations

import json

from exprhub.cli import main


def test_simulate_then_import(tmp_path, capsys):
    out = tmp_path / "sim"
    assert (
        main(
            [
                "simulate",
                "-o",
                str(out),
                "--series",
                "2",
                "--samples",
                "4",
                "--platforms",
                "1",
                "--probes",
                "300",
                "--seed",
                "3",
                "--json",
            ]
        )
        == 0
    )
    manifest = json.loads(capsys.readouterr().out)
    families = [f for f in manifest["files"] if f["kind"] == "family_soft"]
    assert families
    home = tmp_path / "hub"
    assert main(["init", "--home", str(home)]) == 0
    paths = [str(out / f["path"]) for f in families]
    assert main(["import", "--home", str(home), "--json", *paths]) == 0
    captured = capsys.readouterr().out
    results = json.loads(captured[captured.index("[") :])
    for result, expected in zip(results, families, strict=True):
        got = {t: sum(c.values()) for t, c in result["by_type"].items()}
        names = {"SERIES": "GSE", "SAMPLE": "GSM", "PLATFORM": "GPL", "DATASET": "GDS"}
        assert got == {names[k]: n for k, n in expected["records"].items() if k in names}
