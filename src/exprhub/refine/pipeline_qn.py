"""Phases 2 and 3 of the refinery: quantile-normalization targets and normalization, under the
rule that a delivered value never changes because of something else the user did.

The rule (docs/refine.md, "Values that never change silently"):

* Target versions are immutable and all kept (values, digest, version, samples, time).
* The first target of an organism and value kind is built when enough reference samples
  exist. Later refines never build another one: new samples are normalized to the current
  version.
* A delivered sample keeps the version it was normalized to (or none, when it was delivered
  without a target), also when its own gene-level values are computed again. Only
  ``retarget`` (``exprhub refine --retarget``) moves samples to the current version, building
  a new version first when the reference samples changed; ``skip_qn`` moves the requested
  samples to no target. Every move is reported (``RefineReport.moves``), recorded per sample
  (``qn_target_moves``) and named in the sample's provenance.
* Each run says, per organism and value kind, when a newer target would differ or samples are
  not on the current version (``RefineReport.target_notices``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from exprhub.hub import Hub
from exprhub.records import normalize_accession
from exprhub.refine import store
from exprhub.refine.executor import Executor
from exprhub.refine.pipeline_plan import chunks
from exprhub.refine.pipeline_work import (
    COUNTS_PROCESSOR,
    QN_KINDS,
    TARGET_LABEL,
    QNJob,
    RefineOptions,
    compute_normalized,
)
from exprhub.refine.qn import build_target
from exprhub.refine.store import QNAssignment, RefineState, StoredTarget

if TYPE_CHECKING:
    import pandas as pd

    from exprhub.refine.pipeline import RefineReport

__all__ = ["RETARGET_COMMAND", "phase_normalize", "refined_with_target"]

Progress = Callable[[str, int, int], None]

#: The command that moves samples to the current target (building a new version if needed).
RETARGET_COMMAND = "exprhub refine --retarget"

#: Destination of a block of samples: a stored target, or None (delivered without QN).
_Work = tuple[int, str, StoredTarget | None, list[RefineState]]


def _reference_set(states: list[RefineState]) -> tuple[str | None, list[RefineState]]:
    """Reference samples of a target: those of the most-sampled platform, by accession."""
    platforms = Counter(st.platform_key for st in states)
    if not platforms:
        return None, []
    top = sorted(platforms.items(), key=lambda kv: (-kv[1], kv[0] or ""))[0][0]
    return top, sorted(
        (st for st in states if st.platform_key == top), key=lambda st: st.sample_key
    )


def _build_and_store(
    hub: Hub,
    tax: int,
    organism: str,
    kind: str,
    platform: str | None,
    reference: list[RefineState],
    opts: RefineOptions,
) -> StoredTarget:
    """Build a target from ``reference`` and make it current: a new version, or the stored
    version with the same digest when there is one (versions are never changed)."""
    ids = [st.sample_key for st in reference]
    name = store.gene_matrix_name(tax, kind)
    length = max(st.genes_observed or 0 for st in reference)

    def columns() -> Iterator[np.ndarray]:
        for block in chunks(ids, 256):
            _, found, values = hub.read_columns(name, list(block))
            if list(found) != list(block):
                raise ValueError(f"gene-level values missing for {sorted(set(block) - set(found))}")
            for j in range(values.shape[1]):
                yield values[:, j]

    target = build_target(
        columns(),
        opts.min_target_samples,
        length=length,
        sample_ids=ids,
        organism=organism,
        value_kind=kind,
        version=TARGET_LABEL,
    )
    same = store.target_by_digest(hub, tax, kind, target.sha256)
    with hub.writer() as writer:
        if same is not None:
            store.make_target_current(writer, tax, kind, same.version)
        else:
            store.store_target(
                writer,
                tax_id=tax,
                organism=organism,
                value_kind=kind,
                sha256=target.sha256,
                values=target.values,
                sample_ids=ids,
                platform_key=platform,
            )
    current = store.current_target(hub, tax, kind)
    assert current is not None
    return current


def _label(version: int | None) -> str:
    return "none" if version is None else f"v{version}"


def _notice(
    tax: int,
    organism: str,
    kind: str,
    current: StoredTarget,
    reference: list[RefineState],
    members: list[RefineState],
    assignments: dict[str, QNAssignment],
) -> dict[str, Any] | None:
    """What a retarget would change for one organism and value kind (None: nothing)."""
    ids = [st.sample_key for st in reference]
    new = sorted(set(ids) - set(current.sample_ids))
    differs = ids != list(current.sample_ids)
    behind: Counter[str] = Counter()
    for st in members:
        a = assignments.get(st.sample_key)
        if a is not None and a.target_version != current.version:
            behind[_label(a.target_version)] += 1
    if not differs and not behind:
        return None
    return {
        "tax_id": tax,
        "organism": organism,
        "value_kind": kind,
        "current_version": current.version,
        "target_samples": current.n_samples,
        "reference_samples": len(ids),
        "samples_refined_since": len(new),
        "newer_target_differs": differs,
        "samples_not_on_current": dict(sorted(behind.items())),
        "samples": len(members),
        "command": RETARGET_COMMAND,
    }


def phase_normalize(
    hub: Hub,
    keys: Sequence[str],
    touched: set[tuple[int | None, str]],
    ex: Executor,
    opts: RefineOptions,
    report: RefineReport,
    progress: Progress | None,
) -> None:
    """Phases 2 and 3 for the organisms in ``touched`` (see the module docs); ``keys`` are the
    requested samples (the only ones ``retarget`` and ``skip_qn`` move)."""
    requested = set(keys)
    all_states = store.refine_states(hub)
    organisms = {tax: org for tax, org in touched if tax is not None}
    groups: dict[tuple[int, str], list[RefineState]] = {}
    for st in all_states.values():
        if st.status in ("gene-level", "done") and st.tax_id is not None and st.value_kind:
            groups.setdefault((st.tax_id, st.value_kind), []).append(st)
    work: list[_Work] = []
    run_id = uuid.uuid4().hex
    moves: dict[str, tuple[int | None, str]] = {}  # sample -> (version it leaves, reason)
    for (tax, kind), members in sorted(groups.items()):
        if tax not in organisms:
            continue
        if kind not in QN_KINDS:
            pending = [
                st
                for st in members
                if st.sample_key in requested
                and (st.status == "gene-level" or st.qn_target_sha256 is not None)
            ]
            _count_current(report, members, pending, requested)
            work += _blocks(tax, kind, None, pending, opts)
            continue
        assignments = store.qn_assignments(hub, tax_id=tax, value_kind=kind)
        destinations = _destinations(
            hub, tax, organisms[tax], kind, members, assignments, requested, opts, report, moves
        )
        pending = [st for st, _ in destinations]
        _count_current(report, members, pending, requested)
        by_target: dict[int | None, tuple[StoredTarget | None, list[RefineState]]] = {}
        for st, target in destinations:
            version = target.version if target is not None else None
            by_target.setdefault(version, (target, []))[1].append(st)
        for version in sorted(by_target, key=lambda v: -1 if v is None else v):
            target, block = by_target[version]
            work += _blocks(tax, kind, target, block, opts)
    total = sum(len(w[3]) for w in work)
    if progress:
        progress("normalize", 0, total)

    def jobs() -> Iterator[QNJob]:
        for tax, kind, target, block in work:
            _, found, values = hub.read_columns(
                store.gene_matrix_name(tax, kind), [st.sample_key for st in block]
            )
            assert found == [st.sample_key for st in block]
            yield QNJob(target.values if target is not None else None, values)

    features: dict[str, list[str]] = {}
    moved: Counter[tuple[int, str, int | None, int | None, str]] = Counter()
    for index, outcome in ex.map_unordered(compute_normalized, jobs()):
        tax, kind, target, block = work[index]
        if isinstance(outcome, BaseException):
            for st in block:
                report.failed[st.sample_key] = f"normalization failed: {outcome}"
            continue
        name = store.gene_matrix_name(tax, kind)
        if name not in features:
            features[name] = hub.matrix_features(name)
        to_version = target.version if target is not None else None
        block_moves = {
            st.sample_key: moves[st.sample_key] for st in block if st.sample_key in moves
        }
        _write_normalized(
            hub, tax, kind, target, block, features[name], outcome, opts, block_moves, run_id
        )
        for from_version, reason in block_moves.values():
            moved[(tax, kind, from_version, to_version, reason)] += 1
        report.normalized += len(block)
        if progress:
            progress("normalize", len(block), total)
    for (tax, kind, from_version, to_version, reason), n in sorted(
        moved.items(), key=lambda kv: tuple(str(x) for x in kv[0])
    ):
        report.moves.append(
            {
                "tax_id": tax,
                "organism": organisms.get(tax, ""),
                "value_kind": kind,
                "from_version": from_version,
                "to_version": to_version,
                "samples": n,
                "reason": reason,
                "run_id": run_id,
            }
        )


def _count_current(
    report: RefineReport,
    members: list[RefineState],
    pending: list[RefineState],
    requested: set[str],
) -> None:
    report.current += sum(1 for st in members if st.sample_key in requested) - sum(
        1 for st in pending if st.sample_key in requested
    )


def _blocks(
    tax: int,
    kind: str,
    target: StoredTarget | None,
    pending: list[RefineState],
    opts: RefineOptions,
) -> list[_Work]:
    size = max(opts.batch_size, opts.commit_size)
    ordered = sorted(pending, key=lambda st: st.sample_key)
    return [(tax, kind, target, list(block)) for block in chunks(ordered, size)]


def _destinations(
    hub: Hub,
    tax: int,
    organism: str,
    kind: str,
    members: list[RefineState],
    assignments: dict[str, QNAssignment],
    requested: set[str],
    opts: RefineOptions,
    report: RefineReport,
    moves: dict[str, tuple[int | None, str]],
) -> list[tuple[RefineState, StoredTarget | None]]:
    """The samples of one organism and normalized kind to (re)write, each with its target."""
    if opts.skip_qn:
        out: list[tuple[RefineState, StoredTarget | None]] = []
        for st in members:
            if st.sample_key not in requested:
                continue
            if st.status == "gene-level" or st.qn_target_sha256 is not None:
                a = assignments.get(st.sample_key)
                if a is not None and a.target_version is not None:
                    moves[st.sample_key] = (a.target_version, "skip-qn")
                out.append((st, None))
        return out
    current = store.current_target(hub, tax, kind)
    platform, reference = _reference_set(members)
    enough = len(reference) >= max(opts.min_target_samples, 1)
    built = False
    if enough and (current is None or opts.retarget):
        before = current.version if current is not None else None
        current = _build_and_store(hub, tax, organism, kind, platform, reference, opts)
        built = current.version != before
    if current is not None:
        report.targets.append({**current.as_dict(), "built": built})
    versions: dict[int, StoredTarget | None] = {}

    def stored(version: int) -> StoredTarget | None:
        if version not in versions:
            versions[version] = store.target_version(hub, tax, kind, version)
        return versions[version]

    out = []
    for st in members:
        a = assignments.get(st.sample_key)
        if (
            opts.retarget
            and st.sample_key in requested
            and current is not None
            and a is not None
            and a.target_version != current.version
        ):
            moves[st.sample_key] = (a.target_version, "retarget")
            out.append((st, current))
            continue
        if a is None:
            if st.status == "gene-level":  # never delivered: the current target, if any
                out.append((st, current))
            continue
        # delivered: stays on its version, also when its gene-level values were recomputed
        if st.status == "gene-level" or st.qn_target_sha256 != a.target_sha256:
            out.append((st, stored(a.target_version) if a.target_version is not None else None))
    if current is not None:
        after = dict(assignments)  # as they will be once ``out`` is written
        for st, target in out:
            after[st.sample_key] = QNAssignment(
                st.sample_key, tax, kind, target.version if target else None, None, ""
            )
        notice = _notice(tax, organism, kind, current, reference, members, after)
        if notice is not None:
            report.target_notices.append(notice)
    return out


def _qn_document(kind: str, target: StoredTarget | None, opts: RefineOptions) -> dict[str, Any]:
    if target is not None:
        return {
            "applied": True,
            "target_version": target.version,
            "target_sha256": target.sha256,
            "target_samples": target.n_samples,
            "target_platform": target.platform_key,
            "target_created_at": target.created_at,
        }
    if opts.skip_qn:
        return {"applied": False, "reason": "--skip-qn"}
    if kind not in QN_KINDS:
        return {"applied": False, "reason": f"{kind} values are not quantile-normalized"}
    return {
        "applied": False,
        "reason": f"fewer than {opts.min_target_samples} reference samples for a QN target",
    }


def _write_normalized(
    hub: Hub,
    tax: int,
    kind: str,
    target: StoredTarget | None,
    block: list[RefineState],
    features: list[str],
    values: np.ndarray,
    opts: RefineOptions,
    moves: dict[str, tuple[int | None, str]],
    run_id: str,
) -> None:
    qn = _qn_document(kind, target, opts)
    if kind == "rna-seq" and target is None and opts.skip_qn:
        values = np.exp2(values.astype(np.float64)) - 1.0  # deliver lengthScaledTPM
        qn["delivered"] = "lengthScaledTPM"
    documents = store.refine_documents(hub, [st.sample_key for st in block])
    states: list[tuple[RefineState, dict[str, Any]]] = []
    to_version = target.version if target is not None else None
    with hub.writer() as writer:
        for j, st in enumerate(block):
            store.write_sample_column(
                writer,
                store.refined_matrix_name(tax, kind),
                store.REFINED_KIND,
                st.sample_key,
                features,
                values[:, j],
            )
            doc = documents.get(st.sample_key, {})
            doc["qn"] = dict(qn)
            if "delivered" in qn and st.processor == COUNTS_PROCESSOR:
                quantity = doc.get("parameters", {}).get("quantity")
                doc["qn"]["delivered"] = "CPM" if quantity == "counts" else "TPM"
            if st.sample_key in moves:
                from_version, reason = moves[st.sample_key]
                doc["qn"]["moved_from_version"] = from_version
                doc["qn"]["moved_by"] = reason
            doc["refined_sha256"] = hashlib.sha256(
                np.ascontiguousarray(values[:, j], dtype="<f4").tobytes()
            ).hexdigest()
            new = dataclasses.replace(
                st, status="done", qn_target_sha256=target.sha256 if target else None
            )
            states.append((new, doc))
        store.put_refine_states(writer, states)
        if kind in QN_KINDS:
            store.assign_targets(
                writer, [st.sample_key for st in block], tax_id=tax, value_kind=kind, target=target
            )
            for reason in sorted({r for _, r in moves.values()}):
                store.record_target_moves(
                    writer,
                    run_id,
                    [(key, v) for key, (v, r) in sorted(moves.items()) if r == reason],
                    tax_id=tax,
                    value_kind=kind,
                    to_version=to_version,
                    reason=reason,
                )


def refined_with_target(hub: Hub, samples: Sequence[str], version: int) -> pd.DataFrame:
    """The refined values ``samples`` have, or had, when normalized to QN target ``version``
    of their organism and value kind: their stored gene-level values normalized to that stored
    target exactly as the refinery does (so a value delivered under that version is
    regenerated bit for bit, as long as the sample's gene-level values are unchanged; compare
    ``provenance(...)["refined_sha256"]``).

    Returns
    -------
    pandas.DataFrame
        Genes x samples, float32.

    Raises
    ------
    ValueError
        When a sample has no gene-level values, or its organism and value kind have no such
        target version.
    """
    import pandas as pd

    keys = [normalize_accession(k) for k in samples]
    states = store.refine_states(hub, keys)
    frames = []
    for key in keys:
        st = states.get(key)
        if st is None or st.tax_id is None or not st.value_kind:
            raise ValueError(f"{key} has no gene-level values (run `exprhub refine {key}`)")
        target = store.target_version(hub, st.tax_id, st.value_kind, version)
        if target is None:
            raise ValueError(
                f"{key}: no QN target v{version} for tax {st.tax_id} {st.value_kind} values "
                "(`exprhub qn-targets --all` lists them)"
            )
        features, found, values = hub.read_columns(
            store.gene_matrix_name(st.tax_id, st.value_kind), [key]
        )
        if found != [key]:
            raise ValueError(f"{key} has no gene-level values (run `exprhub refine {key}`)")
        out = compute_normalized(QNJob(target.values, values))
        frames.append(pd.DataFrame(out, index=pd.Index(features, name="gene_id"), columns=[key]))
    if not frames:
        return pd.DataFrame(index=pd.Index([], name="gene_id"), dtype=np.float32)
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, axis=1, join="outer")
    return frame.dropna(how="all")
