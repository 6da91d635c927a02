"""What differs between two bundles, and why: options, exprhub and layout versions, the
selection, each aggregate's samples and genes, the samples left out, QN target versions and
digests, processor and tool versions, gene references and each common sample's refinement;
and whether an aggregate's values differ, with the differences above that explain it.

Reads any bundle :func:`exprhub.bundles.bundle.write_bundle` writes (TSV or Parquet zip,
h5ad file, zip of h5ad files).
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from exprhub.bundles.bundle import file_sha256
from exprhub.bundles.selection import BundleError

#: Fields of a sample's refinement record compared between bundles.
SAMPLE_FIELDS = (
    "processor",
    "processor_version",
    "platform",
    "value_kind",
    "input_sha256",
    "values_sha256",
    "qn_target_version",
    "qn_target_sha256",
)
#: Most ids listed per difference (the counts are always complete).
SHOWN = 20


def read_bundle(path: str | Path) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """A bundle's aggregated metadata and each aggregate's gene ids.

    Raises
    ------
    BundleError
        When the file is not a bundle.
    """
    path = Path(path)
    try:
        head = path.open("rb").read(8)
    except OSError as exc:
        raise BundleError(f"cannot read {path}: {exc.strerror}") from None
    if head.startswith(b"\x89HDF"):
        return _read_h5ad(path)
    if not head.startswith(b"PK"):
        raise BundleError(f"{path} is not an exprhub bundle (neither a zip nor an h5ad file)")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        if "aggregated_metadata.json" not in names:
            raise BundleError(f"{path} is not an exprhub bundle (no aggregated_metadata.json)")
        metadata = json.loads(archive.read("aggregated_metadata.json"))
        genes: dict[str, list[str]] = {}
        if "genes.parquet" in names:
            import pyarrow.parquet as pq

            table = pq.read_table(io.BytesIO(archive.read("genes.parquet"))).to_pydict()
            for key, gene in zip(table["aggregate"], table["gene_id"], strict=True):
                genes.setdefault(key, []).append(gene)
        for key in metadata["aggregates"]:
            if f"{key}/genes_{key}.tsv" in names:
                text = archive.read(f"{key}/genes_{key}.tsv").decode()
                genes[key] = [line.split("\t", 1)[0] for line in text.splitlines()[1:]]
            elif f"{key}.h5ad" in names:
                with tempfile.TemporaryDirectory() as work:
                    part = Path(archive.extract(f"{key}.h5ad", work))
                    genes[key] = _read_h5ad(part)[1][key]
    return metadata, genes


def _read_h5ad(path: Path) -> tuple[dict[str, Any], dict[str, list[str]]]:
    from exprhub.bundles.layout_h5ad import require_anndata

    ad = require_anndata()
    adata = ad.read_h5ad(path, backed="r")
    try:
        metadata = json.loads(str(adata.uns["aggregated_metadata"]))
        return metadata, {str(adata.uns["aggregate"]): [str(g) for g in adata.var_names]}
    finally:
        adata.file.close()


def _listed(items: list[str]) -> dict[str, Any]:
    return {"count": len(items), "first": items[:SHOWN]}


def diff_bundles(a: str | Path, b: str | Path) -> dict[str, Any]:
    """The differences between bundles ``a`` and ``b`` (JSON-ready): ``identical`` (same
    bytes), then one entry per kind of difference found (absent when none): ``options``,
    ``versions``, ``selection``, ``aggregates``, ``samples``, ``filtered``, ``genes``,
    ``qn_targets``, ``processors``, ``gene_references``, ``refinement`` and ``values`` (each
    aggregate whose values differ, with ``why``: the kinds of difference above that touch it).
    """
    meta_a, genes_a = read_bundle(a)
    meta_b, genes_b = read_bundle(b)
    out: dict[str, Any] = {"a": str(a), "b": str(b)}
    out["identical"] = file_sha256(Path(a)) == file_sha256(Path(b))
    options = {
        k: {"a": meta_a["options"].get(k), "b": meta_b["options"].get(k)}
        for k in sorted({*meta_a["options"], *meta_b["options"]})
        if meta_a["options"].get(k) != meta_b["options"].get(k)
    }
    if options:
        out["options"] = options
    versions = {
        k: {"a": meta_a.get(k), "b": meta_b.get(k)}
        for k in ("exprhub_version", "layout_version")
        if meta_a.get(k) != meta_b.get(k)
    }
    if versions:
        out["versions"] = versions
    if meta_a["selection"] != meta_b["selection"]:
        out["selection"] = {"a": meta_a["selection"], "b": meta_b["selection"]}
    keys_a, keys_b = set(meta_a["aggregates"]), set(meta_b["aggregates"])
    if keys_a != keys_b:
        out["aggregates"] = {
            "only_in_a": sorted(keys_a - keys_b),
            "only_in_b": sorted(keys_b - keys_a),
        }
    common = sorted(keys_a & keys_b)
    samples = {}
    genes = {}
    for key in common:
        sa = set(meta_a["aggregates"][key]["samples"])
        sb = set(meta_b["aggregates"][key]["samples"])
        if sa != sb:
            samples[key] = {
                "only_in_a": _listed(sorted(sa - sb)),
                "only_in_b": _listed(sorted(sb - sa)),
            }
        ga, gb = genes_a.get(key, []), genes_b.get(key, [])
        if ga != gb:
            set_a, set_b = set(ga), set(gb)
            genes[key] = {
                "a": len(ga),
                "b": len(gb),
                "only_in_a": _listed(sorted(set_a - set_b)),
                "only_in_b": _listed(sorted(set_b - set_a)),
            }
    if samples:
        out["samples"] = samples
    if genes:
        out["genes"] = genes
    filtered = _changed(meta_a["filtered_samples"], meta_b["filtered_samples"])
    if filtered:
        out["filtered"] = filtered
    targets = _by_id(meta_a, meta_b, "qn_targets")
    if targets:
        out["qn_targets"] = targets
    processors = _by_id(meta_a, meta_b, "processors")
    if processors:
        out["processors"] = processors
    references = _changed(meta_a["gene_references"], meta_b["gene_references"])
    if references:
        out["gene_references"] = references
    refinement = {}
    for sample in sorted(set(meta_a["samples"]) & set(meta_b["samples"])):
        ra, rb = meta_a["samples"][sample], meta_b["samples"][sample]
        fields = {
            f: {"a": ra.get(f), "b": rb.get(f)} for f in SAMPLE_FIELDS if ra.get(f) != rb.get(f)
        }
        if fields:
            refinement[sample] = fields
    if refinement:
        out["refinement"] = {
            "count": len(refinement),
            "samples": dict(list(refinement.items())[:SHOWN]),
        }
    values = {}
    for key in common:
        da = meta_a["aggregates"][key].get("values_sha256")
        db = meta_b["aggregates"][key].get("values_sha256")
        if da != db:
            members = set(meta_a["aggregates"][key]["samples"]) | set(
                meta_b["aggregates"][key]["samples"]
            )
            why: list[str] = [k for k in ("options", "versions") if k in out]
            why += [k for k in ("samples", "genes") if key in out.get(k, {})]
            why += [k for k in ("qn_targets", "processors", "gene_references") if k in out]
            if any(s in refinement for s in members):
                why.append("refinement")
            values[key] = {"a": da, "b": db, "why": why or ["unexplained"]}
    if values:
        out["values"] = values
    return out


def _targets(meta: dict[str, Any]) -> dict[str, Any]:
    return {
        f"{t['organism']} {t['value_kind']} v{t['version']}": t
        for t in meta["quantile_normalization"]["targets"]
    }


def _by_id(meta_a: dict[str, Any], meta_b: dict[str, Any], what: str) -> dict[str, Any]:
    if what == "qn_targets":
        items_a, items_b = _targets(meta_a), _targets(meta_b)
        fields: tuple[str, ...] = ("sha256", "n_samples", "created_at")
    else:
        items_a = {f"{p['name']} {p['version']}": p for p in meta_a["processors"]}
        items_b = {f"{p['name']} {p['version']}": p for p in meta_b["processors"]}
        fields = ("tools",)
    out: dict[str, Any] = {}
    only_a = sorted(set(items_a) - set(items_b))
    only_b = sorted(set(items_b) - set(items_a))
    if only_a:
        out["only_in_a"] = only_a
    if only_b:
        out["only_in_b"] = only_b
    for ident in sorted(set(items_a) & set(items_b)):
        changed = {
            f: {"a": items_a[ident].get(f), "b": items_b[ident].get(f)}
            for f in fields
            if items_a[ident].get(f) != items_b[ident].get(f)
        }
        if changed:
            out.setdefault("changed", {})[ident] = changed
    return out


def _changed(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in sorted({*a, *b}):
        if a.get(key) != b.get(key):
            out[key] = {"a": a.get(key), "b": b.get(key)}
    return out


def diff_lines(result: dict[str, Any]) -> list[str]:
    """The differences as lines of text (``exprhub bundle diff`` without ``--json``)."""
    if result["identical"]:
        return ["the bundles are identical (same bytes)"]
    lines: list[str] = []
    for key, change in result.get("options", {}).items():
        lines.append(f"option {key}: {change['a']} -> {change['b']}")
    for key, change in result.get("versions", {}).items():
        lines.append(f"{key}: {change['a']} -> {change['b']}")
    if "selection" in result:
        lines.append("selection differs (series, samples or query asked for)")
    if "aggregates" in result:
        change = result["aggregates"]
        lines.append(
            f"aggregates only in A: {', '.join(change['only_in_a']) or '-'}; "
            f"only in B: {', '.join(change['only_in_b']) or '-'}"
        )
    for key, change in result.get("samples", {}).items():
        lines.append(
            f"{key}: samples only in A: {change['only_in_a']['count']} "
            f"{' '.join(change['only_in_a']['first'])}; only in B: {change['only_in_b']['count']} "
            f"{' '.join(change['only_in_b']['first'])}".rstrip()
        )
    for key, change in result.get("genes", {}).items():
        lines.append(
            f"{key}: genes {change['a']} -> {change['b']} "
            f"({change['only_in_a']['count']} only in A, {change['only_in_b']['count']} only in B)"
        )
    for sample, change in result.get("filtered", {}).items():
        lines.append(
            f"{sample} left out: {change['a'] or 'no (delivered)'} -> "
            f"{change['b'] or 'no (delivered)'}"
        )
    for what, label in (("qn_targets", "QN target"), ("processors", "processor")):
        change = result.get(what, {})
        for ident in change.get("only_in_a", []):
            lines.append(f"{label} {ident} only in A")
        for ident in change.get("only_in_b", []):
            lines.append(f"{label} {ident} only in B")
        for ident, fields in change.get("changed", {}).items():
            lines.append(f"{label} {ident}: {', '.join(fields)} differ")
    for tax in result.get("gene_references", {}):
        lines.append(f"gene reference {tax} differs")
    if "refinement" in result:
        refinement = result["refinement"]
        lines.append(f"{refinement['count']} samples were refined differently:")
        for sample, fields in refinement["samples"].items():
            lines.append(
                f"  {sample}: " + ", ".join(f"{f} {v['a']} -> {v['b']}" for f, v in fields.items())
            )
    for key, change in result.get("values", {}).items():
        lines.append(f"{key}: values differ because of: {', '.join(change['why'])}")
    return lines or ["the files differ in bytes only (same metadata and values)"]
