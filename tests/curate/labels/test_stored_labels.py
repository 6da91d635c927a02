"""Labels in a hub: labelled on import, read back, relabelled (changes reported and kept),
filtered on by listings, and a hub made before labels existed upgraded."""

from __future__ import annotations

from alembic import command

from exprhub.curate.labels import LABELLER_VERSION
from exprhub.curate.labels.store import relabel
from exprhub.curate.sample_filter import listing_filter
from exprhub.hub import Hub
from exprhub.hub.labels import (
    StoredLabel,
    label_changes,
    label_versions,
    sample_labels,
    samples_with_label,
    write_labels,
)
from exprhub.hub.listing import list_records
from exprhub.hub.migrate import alembic_config, current_revision, head_revision
from exprhub.ingest.importer import import_file
from exprhub.records import RecordType

GSM11805 = "geoquery/GSM11805.txt.gz"
GSE2870 = "gemma/GSE2870_family.soft.gz"


def _listed(hub, **labels):
    flt = listing_filter(hub, labels=list(labels.items()))
    _, rows = list_records(hub, RecordType.SAMPLE, flt)
    return [r.key for r in rows]


def test_import_labels_samples_and_listings_use_them(make_hub, geo_fixtures):
    hub = make_hub()
    result = import_file(hub, geo_fixtures / GSM11805)
    assert result.labelled == 1 and result.label_changes == []
    stored = sample_labels(hub, ["GSM11805"])["GSM11805"]
    sex = next(label for label in stored if label.field == "sex")
    assert (sex.value, sex.source, sex.evidence, sex.labeller_version) == (
        "female",
        "description:gender",
        "Female",
        LABELLER_VERSION,
    )
    import_file(hub, geo_fixtures / GSE2870)
    # the examples: "Gender = Female" in a description; kidney
    assert _listed(hub, sex="female") == ["GSM11805"]
    assert _listed(hub, gender="F") == ["GSM11805"]
    assert _listed(hub, tissue="kidney") == ["GSM11805"]
    # the source names all say "brain, amygdala"; titles and descriptions name the region
    assert _listed(hub, organ="amygdala") == [
        f"GSM{n}" for n in (*range(53299, 53302), *range(53305, 53308))
    ]
    # a parent term finds its descendants: amygdala, hippocampus and cortex are in the brain
    assert len(_listed(hub, tissue="brain")) == 18
    assert _listed(hub, specimen_type="primary tissue")[0] == "GSM11805"
    assert _listed(hub, disease="normal") == ["GSM11805"]
    assert samples_with_label(hub, "organism", ontology_ids=["NCBITaxon:10116"])[0] == "GSM53299"
    assert label_versions(hub) == {LABELLER_VERSION: 19}


def test_reimport_and_relabel_change_nothing_silently(make_hub, geo_fixtures):
    hub = make_hub()
    import_file(hub, geo_fixtures / GSE2870)
    again = import_file(hub, geo_fixtures / GSE2870)
    assert again.labelled == 0  # unchanged records keep their labels
    report = relabel(hub, ["GSE2870"])
    assert (report.samples, report.changes, report.missing) == (18, [], [])
    # a stored value that the rules no longer give: the relabel reports and records it
    with hub.writer() as writer:
        old = sample_labels(hub, ["GSM53299"])["GSM53299"]
        edited = [
            StoredLabel(**{**label.as_dict(), "value": "hippocampus"})
            if label.field == "tissue"
            else label
            for label in old
        ]
        write_labels(writer, {"GSM53299": edited}, version="0")
    report = relabel(hub, ["GSM53299", "GSM0"])
    assert report.missing == ["GSM0"]
    assert [(c.field, c.old_value, c.new_value, c.old_version) for c in report.changes] == [
        ("tissue", "hippocampus", "amygdala", "0")
    ]
    assert label_changes(hub, ["GSM53299"])[-1].new_value == "amygdala"


def test_rule_relabel_keeps_other_labellers_labels(make_hub, geo_fixtures):
    hub = make_hub()
    import_file(hub, geo_fixtures / GSM11805)
    predicted = StoredLabel(
        "GSM11805", "sex", "female", None, "expression", "XIST", 0, 4, "expression model", 0.99
    )
    with hub.writer() as writer:
        write_labels(writer, {"GSM11805": [predicted]}, version="m1", methods=["expression model"])
    relabel(hub, ["GSM11805"])
    sexes = [lab for lab in sample_labels(hub, ["GSM11805"])["GSM11805"] if lab.field == "sex"]
    assert sorted(lab.method for lab in sexes) == ["expression model", "rule"]


def test_hub_made_before_labels_upgrades_and_relabels(tmp_path, database_url, geo_fixtures):
    home = tmp_path / "old"
    with Hub.init(home, database_url=database_url) as hub:
        import_file(hub, geo_fixtures / GSM11805)
        with hub.engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0009")
    with Hub(home, database_url=database_url) as hub:
        assert current_revision(hub.engine) == head_revision()
        assert sample_labels(hub, ["GSM11805"]) == {}
        report = relabel(hub)
        assert report.samples == 1 and report.changes == []
        assert _listed(hub, sex="female") == ["GSM11805"]


def test_a_newer_series_relabels_its_stored_samples(make_hub, geo_fixtures, tmp_path):
    """A series record updated after its samples were labelled (its summary is a label
    source) relabels them, though the file's samples are unchanged."""
    import gzip

    hub = make_hub()
    import_file(hub, geo_fixtures / "gemma/GSE1623_family.soft.txt.gz")
    with gzip.open(geo_fixtures / "gemma/GSE1623_family.soft.txt.gz", "rt", newline="") as f:
        text = f.read()
    newer = text.replace(
        "^series = GSE1623\r\n", "^series = GSE1623\r\n!Series_last_update_date = Jan 01 2030\r\n"
    )
    assert newer != text
    path = tmp_path / "GSE1623_newer.soft"
    path.write_text(newer, newline="")
    result = import_file(hub, path)
    assert result.by_type["GSE"] == {"updated": 1}
    assert result.by_type["GSM"] == {"unchanged": 8}
    assert result.labelled == 8 and result.label_changes == []
