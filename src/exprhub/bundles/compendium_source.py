"""The refined samples of one organism as a lazy Dask array over the hub's matrix store.

The refinery keeps refined values in one matrix per organism and value kind
(``refined/<tax_id>/<value kind>``, :mod:`exprhub.refine.store.refined`). A compendium joins
them on the gene: a :class:`CompendiumSource` lists the samples (in accession order), the union
of their genes (numeric order) and where each sample's column is; :meth:`CompendiumSource.array`
turns a selection of genes and samples into a ``dask.array`` of genes x samples, chunked by
sample, whose blocks read only their columns from the store when computed (in this process or
on a ``dask.distributed`` worker, which opens the hub itself).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from exprhub.hub import Hub, HubError
from exprhub.hub.joined_columns import (
    ColumnPlan,
    JoinedColumns,
    JoinedPart,
    joined_columns,
    read_plan,
)
from exprhub.hub.refinery_tables import refine_states
from exprhub.refine.store.genes import ORGANISM_TAX_IDS, organism_name, tax_id_for
from exprhub.refine.store.refined import GENE_LEVEL_KIND, REFINED_KIND

if TYPE_CHECKING:
    import dask.array as da

__all__ = ["CompendiumSource", "resolve_organism", "sample_sort_key"]


def resolve_organism(organism: str | int) -> tuple[int, str]:
    """``(tax id, organism name)`` of an organism name (``"Homo sapiens"``) or NCBI tax id.

    Raises
    ------
    HubError
        When the name is not one the refinery knows.
    """
    text = str(organism).strip()
    if text.isdigit():
        tax = int(text)
        return tax, organism_name(tax) or f"taxon {tax}"
    tax_id = tax_id_for(text)
    if tax_id is None:
        known = ", ".join(sorted(n[0].upper() + n[1:] for n in ORGANISM_TAX_IDS))
        raise HubError(f"unknown organism {text!r}; give an NCBI tax id or one of: {known}")
    return tax_id, organism_name(tax_id) or text


_NUMBER = re.compile(r"(\d+)")


def sample_sort_key(key: str) -> tuple[Any, ...]:
    """Accessions in natural order (``GSM9`` before ``GSM10``)."""
    return tuple(int(p) if p.isdigit() else p for p in _NUMBER.split(key))


def _gene_order(genes: list[str]) -> list[str]:
    if all(g.isdigit() for g in genes):
        return sorted(genes, key=int)
    return sorted(genes)


@dataclass(frozen=True)
class CompendiumSource:
    """What a compendium is built from: the organism, its refined samples and their genes.

    Attributes
    ----------
    home, database_url
        The hub (workers open it again from these).
    tax_id, organism
        The organism.
    stage
        ``"refined"`` (normalized values) or ``"genes"`` (gene-level before normalization).
    samples
        Sample accessions in natural order.
    genes
        The union of the samples' genes (Entrez Gene IDs), numeric order.
    parts
        The matrices holding the samples' current columns, by name.
    value_kinds
        Sample -> value kind (``intensity``, ``log-ratio``, ``rna-seq`` ...).
    joined
        The join of those matrices on the gene (:func:`exprhub.hub.joined_columns.
        joined_columns`), genes in :attr:`genes` order.
    """

    home: str
    database_url: str
    tax_id: int
    organism: str
    stage: str
    samples: tuple[str, ...]
    genes: tuple[str, ...]
    parts: tuple[JoinedPart, ...]
    value_kinds: dict[str, str]
    joined: JoinedColumns

    @classmethod
    def of(cls, hub: Hub, organism: str | int, *, stage: str = "refined") -> CompendiumSource:
        """The refined samples of ``organism`` in ``hub`` (status ``done``).

        Raises
        ------
        HubError
            When the organism is unknown or has no refined samples.
        """
        if stage not in ("refined", "genes"):
            raise HubError(f"stage must be 'refined' or 'genes', got {stage!r}")
        tax_id, name = resolve_organism(organism)
        states = {
            k: st
            for k, st in refine_states(hub).items()
            if st.tax_id == tax_id and st.status == "done"
        }
        kind = REFINED_KIND if stage == "refined" else GENE_LEVEL_KIND
        prefix = ("refined" if stage == "refined" else "genes") + f"/{tax_id}/"
        joined = joined_columns(hub, list(states), kind, prefix=prefix)
        if not joined.samples:
            raise HubError(f"{name} has no refined samples in the hub (run `exprhub refine` first)")
        joined = joined.reordered(_gene_order(list(joined.features)))
        return cls(
            home=str(hub.home),
            database_url=hub.database_url,
            tax_id=tax_id,
            organism=name,
            stage=stage,
            samples=tuple(sorted(joined.samples, key=sample_sort_key)),
            genes=joined.features,
            parts=joined.parts,
            value_kinds={k: str(states[k].value_kind) for k in joined.samples},
            joined=joined,
        )

    def read_block(self, gene_rows: np.ndarray, samples: list[str]) -> np.ndarray:
        """Values of ``samples`` at compendium genes ``gene_rows``, float64 genes x samples
        (NaN where a sample has no value), read from the hub's matrix store."""
        return self.joined.read(
            _open_hub(self.home, self.database_url), samples, rows=gene_rows, dtype=np.float64
        )

    def array(self, gene_rows: np.ndarray, samples: list[str], chunk: int) -> da.Array:
        """A lazy genes x samples float64 array of the genes ``gene_rows`` (positions in
        :attr:`genes`) and ``samples``, ``chunk`` samples per block.

        Each block is one task that reads only its samples' columns; the row maps are one
        shared task, so a block's task stays small when shipped to a cluster."""
        import dask
        import dask.array as da

        rows = np.asarray(gene_rows, dtype=np.int64)
        token = dask.base.tokenize(self.home, self.database_url, self.stage, rows, samples, chunk)
        shared = dask.delayed(self.joined.row_targets(rows), pure=True)
        blocks = []
        for j, start in enumerate(range(0, len(samples), chunk)):
            part = samples[start : start + chunk]
            task = dask.delayed(read_planned_block, pure=True)(
                self.home,
                self.database_url,
                shared,
                len(part),
                self.joined.plan(part),
                dask_key_name=f"compendium-block-{token}-{j}",
            )
            blocks.append(da.from_delayed(task, shape=(rows.size, len(part)), dtype=np.float64))
        if not blocks:
            return da.zeros((rows.size, 0), dtype=np.float64)
        return da.concatenate(blocks, axis=1)


def read_planned_block(
    home: str,
    database_url: str,
    rows: tuple[int, tuple[np.ndarray, ...]],
    n_samples: int,
    plan: ColumnPlan,
) -> np.ndarray:
    """One block of a compendium source (see :meth:`CompendiumSource.array`): genes x
    samples float64, NaN where a sample has no value (:func:`exprhub.hub.joined_columns.
    read_plan` in the hub this process opened)."""
    return read_plan(_open_hub(home, database_url), plan, n_samples, rows, dtype=np.float64)


_hubs: dict[tuple[str, str], Hub] = {}
_hubs_lock = threading.Lock()


def _open_hub(home: str, database_url: str) -> Hub:
    """The hub at ``home``, opened once per process (a Dask worker opens it on its first
    block)."""
    key = (str(Path(home).resolve()), database_url)
    with _hubs_lock:
        hub = _hubs.get(key)
        if hub is None:
            hub = _hubs[key] = Hub(home, database_url=database_url)
        return hub
