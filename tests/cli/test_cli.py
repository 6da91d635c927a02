"""The `exprhub` command: init, info, show, ls, their --json shapes and error handling."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from exprhub.cli import main
from exprhub.hub import Hub
from tests.hub.test_hub import all_records


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def filled_hub(tmp_path):
    home = tmp_path / "hub"
    with Hub.init(home) as hub:
        hub.put_records(all_records())
    return home


def test_init_then_info_json(tmp_path, capsys):
    home = tmp_path / "new"
    code, out, _ = run(capsys, "init", "--home", str(home))
    assert code == 0 and "hub ready" in out
    code, out, _ = run(capsys, "info", "--home", str(home), "--json")
    data = json.loads(out)
    assert code == 0
    assert list(data) == ["home", "database", "paths", "counts", "files", "matrices", "versions"]
    assert data["counts"] == {"GSE": 0, "GSM": 0, "GPL": 0, "GDS": 0, "SUBSET": 0}
    assert data["database"]["backend"] == "sqlite"


def test_show_json_is_stable(filled_hub, capsys):
    code, out, _ = run(capsys, "show", "GSM1", "--home", str(filled_hub), "--json")
    assert code == 0
    data = json.loads(out)
    for key in (
        "accession",
        "type",
        "title",
        "status",
        "submission_date",
        "last_update_date",
        "release_date",
        "key",
        "version",
        "organisms",
        "table",
        "relations",
        "attributes",
        "columns",
        "characteristics",
    ):
        assert key in data
    assert data["relations"]["platform"] == ["GPL900"]
    assert ["Sample_characteristics_ch1", "tissue: liver"] in data["attributes"]


def test_show_human(filled_hub, capsys):
    code, out, _ = run(capsys, "show", "gse900", "--home", str(filled_hub))
    assert code == 0 and "GSE900" in out and "GSM1, GSM2" in out


def test_ls_filters_by_type(filled_hub, capsys):
    code, out, _ = run(capsys, "ls", "--type", "gsm", "--home", str(filled_hub), "--json")
    assert code == 0
    assert [r["accession"] for r in json.loads(out)] == ["GSM1", "GSM2"]
    code, out, _ = run(capsys, "ls", "--home", str(filled_hub), "--json")
    assert len(json.loads(out)) == 7


def test_ls_filters_on_real_files(tmp_path, capsys, geo_fixtures):
    home = str(tmp_path / "hub")
    files = [
        str(geo_fixtures / "gemma" / f)
        for f in ("GSE3791_family.soft.gz", "GSE1623_family.soft.txt.gz")
    ]
    assert run(capsys, "init", "--home", home)[0] == 0
    assert run(capsys, "import", "--home", home, *files)[0] == 0

    def keys(*args: str) -> list[str]:
        code, out, err = run(capsys, "ls", "--home", home, "--json", *args)
        assert code == 0, err
        return [r["key"] for r in json.loads(out)]

    males = keys("--type", "gsm", "--label", "sex=M")
    assert males and set(males) <= set(keys("--type", "gsm", "--series", "GSE3791"))
    assert keys("--type", "gsm", "--label", "sex=male", "--organism", "danio rerio") == []
    assert keys("--type", "gse", "--organism", "Mus musculus") == ["GSE1623", "GSE3791"]
    assert len(keys("--type", "gsm", "--platform", "GPL81")) == 8
    code, _, err = run(capsys, "ls", "--home", home, "--type", "gsm", "--label", "colour=red")
    assert code == 1 and err.startswith("error: unknown label 'colour'")
    code, _, err = run(capsys, "ls", "--home", home, "--label", "sex=male")
    assert code == 1 and err.startswith("error: filters need --type")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "GSE424242"], "error: GSE424242 is not in the hub"),
        (["ls", "--type", "nope"], "error: unknown record type 'nope'"),
    ],
)
def test_errors_are_one_line(filled_hub, capsys, args, message):
    code, _, err = run(capsys, *args, "--home", str(filled_hub))
    assert code == 1
    assert err.startswith(message)
    assert err.count("\n") == 1 and "Traceback" not in err


def test_missing_hub_is_one_line(tmp_path, capsys):
    code, _, err = run(capsys, "info", "--home", str(tmp_path / "absent"))
    assert code == 1 and err.startswith("error: no hub at") and err.count("\n") == 1


def test_debug_shows_traceback(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from exprhub.cli import run; run()",
            "--debug",
            "info",
            "--home",
            str(tmp_path / "absent"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "HubNotFound" in result.stderr


def test_console_script_installed(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "exprhub", "init", "--home", str(tmp_path / "h"), "--json"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["counts"]["GSE"] == 0


def test_help_loads_no_hub_or_numerics():
    """The commands are registered without the hub, SQLAlchemy or NumPy: those load when a
    command runs (`exprhub --help` took ~0.6 s when a command module imported the API)."""
    code = (
        "import sys\n"
        "from exprhub.cli import main\n"
        "assert main(['--help']) == 0\n"
        "heavy = ('numpy', 'pandas', 'sqlalchemy', 'pyarrow', 'exprhub.api', 'exprhub.hub')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_compact_copies_every_column_and_is_repeatable(filled_hub, capsys):
    code, out, _ = run(capsys, "compact", "--home", str(filled_hub), "--json")
    assert code == 0
    assert json.loads(out) == {"compacted_columns": {"dataset/GDS900": 2, "submitted/GPL900": 2}}
    code, out, _ = run(capsys, "compact", "submitted/GPL900", "--home", str(filled_hub))
    assert code == 0 and "submitted/GPL900: 0 columns compacted" in out
    with Hub(filled_hub) as hub:
        _, row = hub.feature_values("GPL900", "p1")
    assert row.tolist() == [1.0, 5.0]
    code, _, err = run(capsys, "compact", "nope", "--home", str(filled_hub))
    assert code != 0 and "no matrix 'nope'" in err
