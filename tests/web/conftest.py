"""Shared by the API and web tests: a small hub of hand-made records (two platforms, 32
samples, a series with a subseries, a curated DataSet), a test client and error assertions."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from exprhub.hub import Hub
from exprhub.records import DataSet, Platform, Record, Sample, Series, Subset, Table
from exprhub.web import create_app
from tests.web.browser import launched_browser, page  # noqa: F401  (fixture of the browser tests)

N_HUMAN = 30
N_MOUSE = 2


def make_platform(acc: str, organism: str, probes: list[str]) -> Platform:
    return Platform(
        acc,
        [
            ("Platform_title", f"Test array {acc}"),
            ("Platform_geo_accession", acc),
            ("Platform_status", "Public on Jan 02 2004"),
            ("Platform_submission_date", "Jan 01 2004"),
            ("Platform_last_update_date", "Jan 03 2004"),
            ("Platform_technology", "in situ oligonucleotide"),
            ("Platform_distribution", "commercial"),
            ("Platform_organism", organism),
            ("Platform_manufacturer", "Acme"),
            ("Platform_description", "An array made for tests."),
        ],
        [("ID", "probe id"), ("Gene Symbol", "symbol")],
        Table(["ID", "Gene Symbol"], [probes, [f"G{p}" for p in probes]]),
    )


def make_sample(i: int, platform: str, organism: str, series: str) -> Sample:
    acc = f"GSM{i}"
    tissue = "liver" if i % 2 else "lung"
    probes = ["p1", "p2", "p3"]
    values = [f"{i}.5", f"{i * 2}", "null" if i % 5 == 0 else f"{i + 1}"]
    return Sample(
        acc,
        [
            ("Sample_title", f"{tissue} sample {i}"),
            ("Sample_geo_accession", acc),
            ("Sample_status", "Public on Jan 02 2004"),
            ("Sample_submission_date", "Jan 01 2004"),
            ("Sample_last_update_date", "Jan 05 2004"),
            ("Sample_type", "RNA"),
            ("Sample_channel_count", "1"),
            ("Sample_source_name_ch1", f"{tissue} tissue"),
            ("Sample_organism_ch1", organism),
            ("Sample_characteristics_ch1", f"tissue: {tissue}"),
            ("Sample_characteristics_ch1", f"age: {20 + i} years"),
            ("Sample_growth_protocol_ch1", "Grown at 37 C."),
            ("Sample_molecule_ch1", "total RNA"),
            ("Sample_extract_protocol_ch1", "Trizol."),
            ("Sample_label_ch1", "biotin"),
            ("Sample_description", "Hand-made test sample."),
            ("Sample_data_processing", "MAS5."),
            ("Sample_platform_id", platform),
            ("Sample_series_id", series),
        ],
        [("ID_REF", ""), ("VALUE", "MAS5 signal")],
        Table(["ID_REF", "VALUE"], [probes, values]),
    )


def make_series(acc: str, samples: list[str], platforms: list[str], **extra: str) -> Series:
    attributes = [
        ("Series_title", f"Liver and lung study {acc}"),
        ("Series_geo_accession", acc),
        ("Series_status", "Public on Jan 02 2004"),
        ("Series_submission_date", "Jan 01 2004"),
        ("Series_last_update_date", "Jan 06 2004"),
        ("Series_summary", "We compared liver and lung."),
        ("Series_summary", ""),
        ("Series_summary", "Second paragraph."),
        ("Series_overall_design", "Thirty human and two mouse samples."),
        ("Series_type", "Expression profiling by array"),
        ("Series_contributor", "Jane,,Doe"),
        ("Series_contributor", "John,Q,Public"),
        ("Series_pubmed_id", "123456"),
    ]
    attributes += [("Series_relation", v) for v in extra.values()]
    attributes += [("Series_sample_id", s) for s in samples]
    attributes += [("Series_platform_id", p) for p in platforms]
    return Series(acc, attributes)


def make_dataset() -> tuple[DataSet, list[Subset]]:
    gds = DataSet(
        "GDS900",
        [
            ("dataset_title", "Liver versus lung (curated)"),
            ("dataset_description", "Curated comparison of liver and lung."),
            ("dataset_platform", "GPL900"),
            ("dataset_platform_organism", "Homo sapiens"),
            ("dataset_reference_series", "GSE900"),
            ("dataset_value_type", "count"),
            ("dataset_update_date", "Mar 04 2004"),
            ("dataset_sample_count", "4"),
        ],
        [("ID_REF", ""), ("IDENTIFIER", "")] + [(f"GSM{i}", "") for i in (1, 2, 3, 4)],
        Table(
            ["ID_REF", "IDENTIFIER", "GSM1", "GSM2", "GSM3", "GSM4"],
            [["p1", "p2"], ["A", "B"], ["1", "2"], ["3", "4"], ["5", "6"], ["7", "null"]],
        ),
    )
    subsets = [
        Subset(
            "GDS900_1",
            [
                ("subset_dataset_id", "GDS900"),
                ("subset_description", "liver"),
                ("subset_sample_id", "GSM1,GSM3"),
                ("subset_type", "tissue"),
            ],
        ),
        Subset(
            "GDS900_2",
            [
                ("subset_dataset_id", "GDS900"),
                ("subset_description", "lung"),
                ("subset_sample_id", "GSM2,GSM4"),
                ("subset_type", "tissue"),
            ],
        ),
        Subset(
            "GDS900_3",
            [
                ("subset_dataset_id", "GDS900"),
                ("subset_description", "control"),
                ("subset_sample_id", "GSM1,GSM2,GSM3,GSM4"),
                ("subset_type", "protocol"),
            ],
        ),
    ]
    return gds, subsets


def all_records() -> list[Record]:
    human = [make_sample(i, "GPL900", "Homo sapiens", "GSE900") for i in range(1, N_HUMAN + 1)]
    mouse = [
        make_sample(i, "GPL901", "Mus musculus", "GSE900")
        for i in range(N_HUMAN + 1, N_HUMAN + N_MOUSE + 1)
    ]
    samples = [s.key for s in human + mouse]
    series = make_series("GSE900", samples, ["GPL900", "GPL901"], sub="SuperSeries of: GSE901")
    subseries = make_series("GSE901", ["GSM1", "GSM2"], ["GPL900"], sup="SubSeries of: GSE900")
    gds, subsets = make_dataset()
    return [
        make_platform("GPL900", "Homo sapiens", ["p1", "p2", "p3"]),
        make_platform("GPL901", "Mus musculus", ["p1", "p2", "p3"]),
        series,
        subseries,
        *human,
        *mouse,
        gds,
        *subsets,
    ]


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One Chromium for all browser tests of this package (each test gets its own context, see
    :func:`tests.web.browser.page`): starting Playwright and Chromium costs seconds a module."""
    with launched_browser() as b:
        yield b


@pytest.fixture(scope="module")
def small_hub(tmp_path_factory) -> Iterator[Hub]:
    """A hub holding :func:`all_records` (module-scoped: tests must not change it)."""
    hub = Hub.init(Path(tmp_path_factory.mktemp("api")) / "hub")
    hub.put_records(all_records())
    yield hub
    hub.close()


@pytest.fixture(scope="module")
def client(small_hub):
    """A test client of the app serving :func:`small_hub`."""
    with TestClient(create_app(small_hub)) as c:
        yield c


def assert_error(response, status: int, code: str | None = None) -> dict:
    """Check ``response`` is an error of ``status`` in the one error shape; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "detail"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


def wait_for_job(client, job_id: str, timeout: float = 60) -> dict:
    """Poll a job until it is done or failed (or ``timeout`` seconds pass)."""
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/api/v1/jobs/{job_id}").json()
        if status["status"] in ("done", "failed") or time.monotonic() > deadline:
            return status
        time.sleep(0.05)
