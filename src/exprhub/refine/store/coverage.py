"""Which of a record's samples have refined values: what a refined export holds and what
the pages and ``exprhub show`` say about a record's refinement."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from exprhub.hub import Hub
from exprhub.hub.refinery_tables import refine_states
from exprhub.records import normalize_accession

__all__ = ["RefinedCoverage", "refined_coverage"]

#: Characters of a failure reason repeated in the one-line summary.
REASON_EXCERPT = 80


@dataclass(frozen=True)
class RefinedCoverage:
    """Which of a record's samples have refined values.

    Attributes
    ----------
    accession
        The record (sample, series, platform or DataSet).
    refined
        Samples refined (status ``done``): what a refined export holds.
    not_refined
        Samples refine has not finished: never refined, or a run stopped before normalizing
        them. Running ``exprhub refine ACCESSION`` refines them.
    failed
        Samples refine failed on, with the reason (running it again does not help until the
        reason is fixed).
    waiting
        Samples waiting for something the hub lacks (a platform record, its GEO annotation,
        an organism's gene reference), with the reason and the command that fetches it.
    skipped
        Samples with no values to refine (no data table, counts table or reads), with the
        reason: not failures, nothing refine can do until values are attached.
    """

    accession: str
    refined: tuple[str, ...]
    not_refined: tuple[str, ...]
    failed: dict[str, str] = field(default_factory=dict)
    waiting: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def samples(self) -> int:
        """All samples the record stands for."""
        return (
            len(self.refined)
            + len(self.not_refined)
            + len(self.failed)
            + len(self.waiting)
            + len(self.skipped)
        )

    @property
    def complete(self) -> bool:
        """Every sample is refined."""
        return not self.not_refined and not self.failed and not self.waiting and not self.skipped

    @property
    def command(self) -> str:
        """The command that refines what is missing."""
        return f"exprhub refine {self.accession}"

    def summary(self) -> str:
        """One line: how many samples are refined, how many not and why, what to run."""
        parts = [f"{self.accession}: {len(self.refined)} of {self.samples} samples are refined"]
        if self.not_refined:
            parts.append(f"{len(self.not_refined)} not refined yet (`{self.command}` refines them)")
        for samples, what in (
            (self.waiting, "waiting"),
            (self.skipped, "skipped (no values)"),
            (self.failed, "failed to refine"),
        ):
            if samples:
                key, reason = sorted(samples.items())[0]
                reason = " ".join(reason.split())
                if len(reason) > REASON_EXCERPT and what != "waiting":
                    reason = reason[: REASON_EXCERPT - 3] + "..."
                parts.append(f"{len(samples)} {what} (first: {key}: {reason})")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts and the samples missing from a refined export."""
        return {
            "samples": self.samples,
            "refined": len(self.refined),
            "not_refined": len(self.not_refined),
            "failed": len(self.failed),
            "waiting": len(self.waiting),
            "skipped": len(self.skipped),
            "complete": self.complete,
            "command": None if not self.not_refined else self.command,
            "not_refined_samples": list(self.not_refined),
            "failed_samples": dict(sorted(self.failed.items())),
            "waiting_samples": dict(sorted(self.waiting.items())),
            "skipped_samples": dict(sorted(self.skipped.items())),
        }


def refined_coverage(hub: Hub, accession: str) -> RefinedCoverage:
    """How many of ``accession``'s samples are refined, not refined yet, or failed.

    Raises
    ------
    RecordNotFound
        When the accession is unknown.
    """
    samples = hub.samples_of(accession)
    states = refine_states(hub, samples)
    refined: list[str] = []
    pending: list[str] = []
    failed: dict[str, str] = {}
    waiting: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for key in samples:
        state = states.get(key)
        if state is not None and state.status == "done":
            refined.append(key)
        elif state is not None and state.status == "failed":
            failed[key] = state.message or "failed"
        elif state is not None and state.status == "waiting":  # refine.pipeline.WAITING
            waiting[key] = state.message or "waiting"
        elif state is not None and state.status == "skipped":  # refine.pipeline.SKIPPED
            skipped[key] = state.message or "skipped: no values"
        else:
            pending.append(key)
    return RefinedCoverage(
        normalize_accession(accession), tuple(refined), tuple(pending), failed, waiting, skipped
    )
