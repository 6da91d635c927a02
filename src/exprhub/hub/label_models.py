"""Stored label models (``label_models``): models that predict a label field (``tissue``)
from expression, one row per version.

Plain storage: what a model is and how it is trained is :mod:`exprhub.analysis.tissue_model`.
A version names the content a model was made from (its training set, genes and library
version), so storing the same version again is a no-op; a model's document may be updated
(an evaluation added) but never its parameters. The newest model of a field and organism is
its current one.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from exprhub.hub import schema as s
from exprhub.hub.refinery_tables import _timestamp

if TYPE_CHECKING:
    from exprhub.hub.hub import Hub
    from exprhub.hub.writer import HubWriter

__all__ = [
    "StoredModel",
    "current_label_model",
    "label_model",
    "label_models",
    "store_label_model",
    "update_model_document",
]


@dataclass(frozen=True)
class StoredModel:
    """One stored label model.

    Attributes
    ----------
    version
        Its name, derived from its content (at most 32 characters).
    field
        The label field it predicts (``tissue``).
    tax_id
        The organism (NCBI Taxonomy id) whose samples it reads.
    kind
        What kind of model it is (``logistic regression on within-sample ranks``).
    digest
        SHA-256 of its content (training samples, label values, genes, library version).
    library_version
        The version of the library that fitted it (scikit-learn).
    n_samples, n_classes
        Training samples and classes.
    document
        JSON-ready description: training set, classes, parameters, evaluation.
    payload
        The parameters (bytes; :mod:`exprhub.analysis.tissue_model` reads them).
    trained_at
        ISO time it was stored.
    """

    version: str
    field: str
    tax_id: int
    kind: str
    digest: str
    library_version: str
    n_samples: int
    n_classes: int
    document: dict[str, Any] = dataclasses.field(default_factory=dict)
    payload: bytes = b""
    trained_at: str = ""

    def summary(self) -> dict[str, Any]:
        """JSON-ready description without the payload and the training set."""
        out = {
            k: getattr(self, k)
            for k in (
                "version",
                "field",
                "tax_id",
                "kind",
                "digest",
                "library_version",
                "n_samples",
                "n_classes",
                "trained_at",
            )
        }
        out.update({k: v for k, v in self.document.items() if k != "training"})
        return out


def _model(row: Any, with_payload: bool = True) -> StoredModel:
    return StoredModel(
        row.version,
        row.field,
        int(row.tax_id),
        row.kind,
        row.digest,
        row.library_version,
        int(row.n_samples),
        int(row.n_classes),
        json.loads(row.document),
        bytes(row.payload) if with_payload and row.payload is not None else b"",
        _timestamp(row.trained_at),
    )


def store_label_model(writer: HubWriter, model: StoredModel) -> bool:
    """Store ``model`` in the writer's transaction, stamped now; False (nothing written) when
    its version is stored already."""
    table = s.label_models
    connection = writer.connection
    found = connection.execute(
        select(table.c.version).where(table.c.version == model.version)
    ).first()
    if found is not None:
        return False
    connection.execute(
        insert(table),
        [
            {
                "version": model.version,
                "field": model.field,
                "tax_id": model.tax_id,
                "kind": model.kind,
                "digest": model.digest,
                "library_version": model.library_version,
                "n_samples": model.n_samples,
                "n_classes": model.n_classes,
                "document": json.dumps(model.document, sort_keys=True),
                "payload": model.payload,
                "trained_at": writer.now,
            }
        ],
    )
    return True


def update_model_document(writer: HubWriter, version: str, document: dict[str, Any]) -> None:
    """Replace the document of the stored model ``version`` (its parameters stay).

    Raises
    ------
    KeyError
        If no model of that version is stored.
    """
    table = s.label_models
    done = writer.connection.execute(
        update(table)
        .where(table.c.version == version)
        .values(document=json.dumps(document, sort_keys=True))
    )
    if done.rowcount == 0:
        raise KeyError(f"no label model {version}")


def label_model(hub: Hub, version: str, *, payload: bool = True) -> StoredModel | None:
    """The stored model ``version`` (with its payload unless told not), or None."""
    table = s.label_models
    columns = [c for c in table.c if payload or c.name != "payload"]
    with hub.engine.connect() as connection:
        row = connection.execute(select(*columns).where(table.c.version == version)).first()
    return _model(row, payload) if row is not None else None


def label_models(
    hub: Hub, field: str | None = None, tax_id: int | None = None, *, payload: bool = False
) -> list[StoredModel]:
    """Stored models (of ``field`` and organism ``tax_id`` if given), newest first; their
    payload only if asked for."""
    table = s.label_models
    query = select(*[c for c in table.c if payload or c.name != "payload"])
    if field is not None:
        query = query.where(table.c.field == field)
    if tax_id is not None:
        query = query.where(table.c.tax_id == tax_id)
    with hub.engine.connect() as connection:
        rows = connection.execute(
            query.order_by(table.c.trained_at.desc(), table.c.version)
        ).fetchall()
    return [_model(row, payload) for row in rows]


def current_label_model(hub: Hub, field: str, tax_id: int) -> StoredModel | None:
    """The newest stored model of ``field`` for organism ``tax_id`` (with its payload)."""
    found = label_models(hub, field, tax_id)
    return label_model(hub, found[0].version) if found else None
