"""The refinery pipeline: every sample of the hub to a refined, gene-level vector with provenance.

Three phases (see docs/refine.md, "Pipeline"):

1. **Gene level** (per batch = one series on one platform, in workers): the platform's probe ->
   gene map (a gene column of the platform table or GEO ``.annot``, whichever maps more of the
   sample's probes, else GenBank accessions through gene2accession; gene ids resolved to NCBI
   Gene ids through the organism's gene reference when one is stored; samples whose platform,
   annotation or gene reference is missing wait, see ``RefineReport``),
   scale detection per series and per sample (GEO2R rule; the GDS value type when the sample is
   in a DataSet), log2, probes collapsed to genes by their mean. Stored in ``genes/<tax>/<kind>``.
2. **QN targets** (parent, :mod:`exprhub.refine.pipeline_qn`): per organism and value kind
   that is normalized (intensities and RNA-seq, never log ratios), the mean of the sorted
   gene-level vectors of the reference samples (those of the most-sampled platform, at least
   ``min_target_samples``). The first version is built when enough samples exist; later
   versions only on ``retarget``. Versions are immutable and all kept.
3. **Normalization** (per batch, in workers): new samples normalized to the current target,
   delivered samples to the version they were normalized to (``retarget`` moves them to the
   current one, announced), into ``refined/<tax>/<kind>``.

Each batch is committed on its own (``hub.writer()``), so a killed run resumes where it
stopped; a sample whose provenance is current (same processor version, input checksum and QN
target) is skipped. Only this process writes to the hub.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from exprhub.hub import Hub, HubWriter
from exprhub.records import normalize_accession
from exprhub.refine import store
from exprhub.refine.executor import Executor, SerialExecutor
from exprhub.refine.genes import GeneReference
from exprhub.refine.pipeline_counts import plan_digests, refine_counts
from exprhub.refine.pipeline_plan import (
    NO_VALUES,
    MissingInput,
    PlatformPlan,
    SampleInput,
    chunks,
    plan_platform,
    plan_samples,
    resolve_samples,
    table_ref,
)
from exprhub.refine.pipeline_qn import phase_normalize
from exprhub.refine.pipeline_work import (
    COUNTS_PROCESSOR,
    COUNTS_VERSION,
    PROCESSOR,
    PROCESSOR_VERSION,
    QN_KINDS,
    RNASEQ_PROCESSOR,
    SKIPPED,
    GeneJob,
    GeneResult,
    RefineOptions,
    compute_gene_level,
    tool_versions,
)
from exprhub.refine.store import RefineState
from exprhub.refine.store.genes import (
    gene_reference,
    import_gene_accessions,
    import_genes,
    ncbi_file_kind,
    reference_digest,
)

__all__ = [
    "PROCESSOR",
    "PROCESSOR_VERSION",
    "QN_KINDS",
    "SKIPPED",
    "WAITING",
    "RefineOptions",
    "RefineReport",
    "gene_reference",
    "import_gene_accessions",
    "import_genes",
    "ncbi_file_kind",
    "refine",
]

Progress = Callable[[str, int, int], None]

#: Status of a sample whose platform cannot be mapped yet for lack of a platform record, GEO
#: annotation or gene reference (not a failure: fetching what is missing refines it).
WAITING = "waiting"


@dataclass
class RefineReport:
    """What a refine run did.

    ``waiting`` holds the samples that wait for something the hub lacks (a platform record,
    its GEO annotation, an organism's gene reference), with the reason; ``missing`` says it
    once per platform: ``{"platform", "tax_id", "reason", "command", "samples"}``.

    ``targets`` are the QN targets of the organisms and value kinds the run touched
    (``built``: this run made the version current). ``moves`` says how many already delivered
    samples moved from one target version to another (``None``: no target) and why
    (``retarget``, ``skip-qn``): ``{"tax_id", "organism", "value_kind", "from_version",
    "to_version", "samples", "reason", "run_id"}``. ``target_notices`` says, per organism and
    value kind, when a newer target would differ from the current one or samples are not on it
    (the ``command`` that moves them).
    ``skipped`` holds the samples with no values to refine (no data table, counts table or
    reads; status ``skipped``, not a failure).
    ``flags`` says which stored profile flags of refined values ``exprhub.Hub.refine``
    computed afterwards (``exprhub.analysis.stored_flags.FlagUpdate.as_dict``).
    """

    samples: int = 0
    gene_level: int = 0
    normalized: int = 0
    current: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    targets: list[dict[str, Any]] = field(default_factory=list)
    executor: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    waiting: dict[str, str] = field(default_factory=dict)
    missing: list[dict[str, Any]] = field(default_factory=list)
    moves: list[dict[str, Any]] = field(default_factory=list)
    target_notices: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    flags: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return asdict(self)


# ------------------------------------------------------------------------------ the run


def _input_sha(smp: SampleInput, platform_ref: str, ref_digest: str, opts: RefineOptions) -> str:
    payload = {
        "processor": [PROCESSOR, PROCESSOR_VERSION],
        "source": smp.source_sha256,
        "version": smp.record_version,
        "matrix": smp.matrix,
        "platform": [smp.platform, platform_ref],
        "genes": ref_digest,
        "value_type": smp.value_type,
        "channel_count": smp.channel_count,
        "params": opts.params(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def refine(
    hub: Hub,
    accessions: Sequence[str] = (),
    *,
    executor: Executor | None = None,
    options: RefineOptions | None = None,
    progress: Progress | None = None,
) -> RefineReport:
    """Refine the samples of ``accessions`` (all samples when empty); see the module docs.

    Returns
    -------
    RefineReport
        Counts per phase, failures with their reasons, QN targets used.
    """
    opts = options or RefineOptions()
    ex: Executor = executor or SerialExecutor()
    report = RefineReport(executor=ex.describe())
    started = time.perf_counter()
    keys = resolve_samples(hub, [normalize_accession(a) for a in accessions])
    samples = plan_samples(hub, keys)
    report.samples = len(samples)
    states = store.refine_states(hub, keys)
    refs: dict[int, GeneReference | None] = {}
    ref_digests: dict[int, str] = {}
    platform_refs: dict[str, str] = {}
    for smp in samples:
        if smp.tax_id is not None and smp.tax_id not in refs:
            refs[smp.tax_id] = gene_reference(hub, smp.tax_id)
            ref_digests[smp.tax_id] = (
                reference_digest(refs[smp.tax_id]) + ":" + store.accession_digest(hub, smp.tax_id)
            )
        if smp.platform and smp.platform not in platform_refs:
            platform_refs[smp.platform] = table_ref(hub, smp.platform) or ""
        smp.input_sha256 = _input_sha(
            smp,
            platform_refs.get(smp.platform or "", ""),
            ref_digests.get(smp.tax_id or 0, ""),
            opts,
        )
    todo: list[SampleInput] = []
    counted = [s for s in samples if s.counts is not None and s.matrix is None and not s.problem]
    counts_digests = plan_digests(counted, ref_digests)
    counts_todo: list[SampleInput] = []
    for smp in samples:
        st = states.get(smp.key)
        if smp.key in counts_digests:
            if st is not None and st.processor == RNASEQ_PROCESSOR:
                continue  # refined from quant.sf files the user gave, which win
            current = (
                st is not None
                and st.processor == COUNTS_PROCESSOR
                and st.processor_version == COUNTS_VERSION
                and st.input_sha256 == counts_digests[smp.key]
            )
            if not current or opts.force or (st is not None and st.status == WAITING):
                counts_todo.append(smp)
            elif st is not None and st.status == "failed":
                report.failed[smp.key] = st.message or "failed"
            continue
        fresh = (
            st is not None
            and st.processor_version == PROCESSOR_VERSION
            and st.input_sha256 == smp.input_sha256
        )
        if st is not None and st.processor == RNASEQ_PROCESSOR and smp.matrix is None:
            continue  # refined from quant.sf files (refine_rnaseq), not from stored values
        # samples waiting for a platform or gene reference are planned again on every run, so
        # that the run says what they still wait for (planning costs one probe map per platform)
        if fresh and not opts.force and st is not None and st.status not in (WAITING, SKIPPED):
            if st.status == "failed":
                report.failed[smp.key] = st.message or "failed"
            continue
        todo.append(smp)
    _phase_gene_level(hub, todo, refs, ex, opts, report, progress)
    _phase_counts(hub, counts_todo, refs, counts_digests, report)
    touched = {(smp.tax_id, smp.organism) for smp in samples if smp.tax_id is not None}
    touched_: set[tuple[int | None, str]] = set(touched)
    phase_normalize(hub, keys, touched_, ex, opts, report, progress)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _phase_counts(
    hub: Hub,
    todo: list[SampleInput],
    refs: dict[int, GeneReference | None],
    digests: dict[str, str],
    report: RefineReport,
) -> None:
    """Phase 1 of samples with an attached counts table (:mod:`.pipeline_counts`)."""
    if not todo:
        return
    outcome = refine_counts(hub, todo, refs, digests)
    by_key = {s.key: s for s in todo}
    for status, messages in (("failed", outcome.failed), (WAITING, outcome.waiting)):
        failures = {k: (by_key[k], m) for k, m in messages.items()}
        for smp, _ in failures.values():
            smp.input_sha256 = digests[smp.key]
        _fail_states(hub, failures, status, COUNTS_PROCESSOR, COUNTS_VERSION)
    report.gene_level += outcome.gene_level
    report.failed.update(outcome.failed)
    report.waiting.update(outcome.waiting)
    report.missing += outcome.missing


def _fail_states(
    hub: Hub,
    failures: dict[str, tuple[SampleInput, str]],
    status: str = "failed",
    processor: str = PROCESSOR,
    version: str = PROCESSOR_VERSION,
) -> None:
    if not failures:
        return
    with hub.writer() as writer:
        store.put_refine_states(
            writer,
            [
                (
                    dataclasses.replace(
                        _state(smp, status, None, m), processor=processor, processor_version=version
                    ),
                    _error_doc(m),
                )
                for smp, m in failures.values()
            ],
        )


def _phase_gene_level(
    hub: Hub,
    todo: list[SampleInput],
    refs: dict[int, GeneReference | None],
    ex: Executor,
    opts: RefineOptions,
    report: RefineReport,
    progress: Progress | None,
) -> None:
    failures: dict[str, tuple[SampleInput, str]] = {}
    waiting: dict[str, tuple[SampleInput, str]] = {}
    missing: dict[tuple[str, int], dict[str, Any]] = {}
    plans: dict[tuple[str, str, int], PlatformPlan | str | MissingInput] = {}
    batches: dict[tuple[str, str], list[SampleInput]] = {}
    skipped: dict[str, tuple[SampleInput, str]] = {}
    for smp in todo:
        if smp.problem == NO_VALUES:
            skipped[smp.key] = (smp, smp.problem)
            continue
        if smp.problem:
            failures[smp.key] = (smp, smp.problem)
            continue
        assert smp.matrix is not None and smp.tax_id is not None
        pkey = (smp.platform or "", smp.matrix, smp.tax_id)
        if pkey not in plans:
            try:
                if not smp.platform:
                    raise ValueError("the sample names no platform")
                plans[pkey] = plan_platform(
                    hub, smp.platform, smp.matrix, refs.get(smp.tax_id), opts, tax_id=smp.tax_id
                )
            except MissingInput as exc:
                plans[pkey] = exc
            except (ValueError, KeyError) as exc:
                plans[pkey] = str(exc)
        plan = plans[pkey]
        if isinstance(plan, MissingInput):
            waiting[smp.key] = (smp, str(plan))
            notice = missing.setdefault(
                (smp.platform or "", smp.tax_id),
                {
                    "platform": smp.platform,
                    "tax_id": smp.tax_id,
                    "reason": plan.reason,
                    "command": plan.command,
                    "samples": 0,
                },
            )
            notice["samples"] += 1
            continue
        if isinstance(plan, str):
            failures[smp.key] = (smp, plan)
            continue
        batches.setdefault((smp.batch, smp.matrix), []).append(smp)
    _fail_states(hub, failures)
    _fail_states(hub, waiting, WAITING)
    _fail_states(hub, skipped, SKIPPED)
    for key, (_, message) in skipped.items():
        report.skipped[key] = message
    for key, (_, message) in failures.items():
        report.failed[key] = message
    for key, (_, message) in waiting.items():
        report.waiting[key] = message
    report.missing = sorted(missing.values(), key=lambda m: (m["platform"] or "", m["tax_id"]))
    total = sum(len(v) for v in batches.values())
    if progress:
        progress("gene-level", 0, total)
    jobs_meta: list[tuple[list[SampleInput], PlatformPlan]] = []
    for (_batch, matrix), members in sorted(batches.items()):
        for part in chunks(members, opts.batch_size):
            first = part[0]
            plan = plans[(first.platform or "", matrix, first.tax_id or 0)]
            assert isinstance(plan, PlatformPlan)
            jobs_meta.append((list(part), plan))

    slim: dict[int, PlatformPlan] = {}

    def jobs() -> Iterator[GeneJob]:
        for part, plan in jobs_meta:
            n_rows = len(plan.features)
            values = hub.store.open(plan.matrix).columns([p.column for p in part], n_rows)
            if id(plan) not in slim:  # workers need no gene annotations
                slim[id(plan)] = dataclasses.replace(plan, genes=[])
            yield GeneJob(part[0].batch, slim[id(plan)], part, values, opts)

    buffered: list[tuple[list[SampleInput], PlatformPlan, GeneResult]] = []
    n_buffered = 0
    for index, outcome in ex.map_unordered(compute_gene_level, jobs()):
        part, plan = jobs_meta[index]
        if isinstance(outcome, BaseException):
            message = f"batch {part[0].batch} failed: {type(outcome).__name__}: {outcome}"
            bad = {p.key: (p, message) for p in part}
            _fail_states(hub, bad)
            report.failed.update({k: m for k, (_, m) in bad.items()})
        else:
            buffered.append((part, plan, outcome))
            n_buffered += len(part)
            if n_buffered >= opts.commit_size:
                _write_gene_level(hub, buffered, report)
                buffered, n_buffered = [], 0
        if progress:
            progress("gene-level", len(part), total)
    if buffered:
        _write_gene_level(hub, buffered, report)


def _write_gene_level(
    hub: Hub,
    results: list[tuple[list[SampleInput], PlatformPlan, GeneResult]],
    report: RefineReport,
) -> None:
    """Store finished batches in one transaction."""
    with hub.writer() as writer:
        seen: set[tuple[int, str]] = set()
        for part, plan, res in results:
            for tax in {p.tax_id for p in part if p.tax_id is not None}:
                if (tax, plan.platform) in seen:
                    continue
                seen.add((tax, plan.platform))
                rows = [
                    store.GeneRow(
                        tax, g.gene_id, g.symbol, description=g.description, source=g.source
                    )
                    for g in plan.genes
                ]
                store.add_missing_genes(writer, tax, rows)
            _write_batch(writer, part, res, report)


def _write_batch(
    writer: HubWriter, part: list[SampleInput], res: GeneResult, report: RefineReport
) -> None:
    by_key = {p.key: p for p in part}
    states: list[tuple[RefineState, dict[str, Any]]] = []
    for j, key in enumerate(res.ok):
        smp = by_key[key]
        assert smp.tax_id is not None
        kind = res.kinds[key]
        store.write_sample_column(
            writer,
            store.gene_matrix_name(smp.tax_id, kind),
            store.GENE_LEVEL_KIND,
            key,
            res.genes,
            res.values[:, j],
        )
        state = dataclasses.replace(
            _state(smp, "gene-level", kind),
            values_sha256=res.values_sha[key],
            genes_observed=res.observed[key],
        )
        states.append((state, {**res.documents[key], "organism": smp.organism}))
    for key, message in res.failed.items():
        smp = by_key[key]
        states.append((_state(smp, "failed", None, message), _error_doc(message)))
    store.put_refine_states(writer, states)
    report.gene_level += len(res.ok)
    report.failed.update(res.failed)


def _state(
    smp: SampleInput, status: str, kind: str | None, message: str | None = None
) -> RefineState:
    return RefineState(
        smp.key,
        status,
        smp.batch,
        smp.tax_id,
        kind,
        smp.platform,
        PROCESSOR,
        PROCESSOR_VERSION,
        smp.input_sha256,
        None,
        None,
        None,
        message,
    )


def _error_doc(message: str) -> dict[str, Any]:
    return {"error": message, "tools": tool_versions()}


#: Phases 2 and 3 under their former name (``exprhub.refine.pipeline_rnaseq`` calls it).
_phase_normalize = phase_normalize
