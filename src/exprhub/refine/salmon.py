"""Running Salmon: index building and quantification, refine.bio's way.

* k-mer size: 31 when the mean read length is above 75 bp, else 23.
* ``salmon quant -l A --seqBias`` (library type detected automatically), plus ``--gcBias`` for
  paired-end reads.
* An index directory carries ``exprhub_index.json`` (transcriptome SHA-256, k, Salmon version);
  :func:`build_index` reuses a directory whose stamp matches and rebuilds otherwise. Builds go to
  a temporary sibling directory first, so a failed build never leaves a half index.
* Of a quantification, ``quant.sf``, ``lib_format_counts.json`` and ``aux_info/meta_info.json``
  are kept; Salmon's other outputs are discarded.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "SalmonError",
    "SalmonIndex",
    "SalmonQuant",
    "build_index",
    "kmer_for_read_length",
    "quant",
    "salmon_version",
]

STAMP = "exprhub_index.json"
KEPT_FILES = ("quant.sf", "lib_format_counts.json", "aux_info/meta_info.json")


class SalmonError(RuntimeError):
    """Salmon is missing or failed; the message carries the tail of its log."""


def _executable(executable: str) -> str:
    found = shutil.which(executable)
    if found is None:
        raise SalmonError(f"salmon executable {executable!r} not found on PATH")
    return found


def salmon_version(executable: str = "salmon") -> str:
    """The version of Salmon (e.g. ``"1.10.1"``)."""
    proc = subprocess.run(
        [_executable(executable), "--version"], capture_output=True, text=True, check=False
    )
    text = proc.stdout + proc.stderr
    match = re.search(r"salmon\s+v?(\d+\.\d+\.\d+\S*)", text)
    if proc.returncode != 0 or match is None:
        raise SalmonError(f"could not read the salmon version from: {text.strip()!r}")
    return match.group(1)


def kmer_for_read_length(mean_length: float) -> int:
    """Index k-mer size for reads of this mean length: 31 if > 75 bp, else 23."""
    return 31 if mean_length > 75 else 23


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _run(command: list[str], what: str) -> None:
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise SalmonError(f"{what} failed (exit {proc.returncode}): {' '.join(command)}\n{tail}")


@dataclass(frozen=True)
class SalmonIndex:
    """A Salmon index directory and what made it."""

    path: Path
    k: int
    transcripts_sha256: str
    salmon_version: str
    reused: bool = False


def _read_stamp(out_dir: Path) -> dict[str, object] | None:
    try:
        return json.loads((out_dir / STAMP).read_text())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


def build_index(
    transcripts_fasta: str | Path,
    out_dir: str | Path,
    k: int = 31,
    *,
    threads: int = 1,
    executable: str = "salmon",
    extra_args: Sequence[str] = (),
) -> SalmonIndex:
    """Build (or reuse) a Salmon index of a transcriptome FASTA (plain or gzip).

    Reused when ``out_dir`` holds an index stamped with the same FASTA SHA-256, ``k`` and Salmon
    version; rebuilt otherwise.
    """
    fasta = Path(transcripts_fasta)
    out = Path(out_dir)
    if not fasta.is_file():
        raise FileNotFoundError(f"transcriptome FASTA not found: {fasta}")
    if k % 2 == 0 or not 1 < k < 32:
        raise ValueError(f"k must be odd and at most 31, got {k}")
    version = salmon_version(executable)
    digest = _sha256(fasta)
    stamp = {
        "transcripts_sha256": digest,
        "k": k,
        "salmon_version": version,
        "transcripts": fasta.name,
    }
    old = _read_stamp(out)
    if old is not None and all(
        old.get(key) == stamp[key] for key in ("transcripts_sha256", "k", "salmon_version")
    ):
        return SalmonIndex(out, k, digest, version, reused=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _run(
            [
                _executable(executable),
                "index",
                "-t",
                str(fasta),
                "-i",
                str(tmp / "index"),
                "-k",
                str(k),
                "-p",
                str(threads),
                *extra_args,
            ],
            "salmon index",
        )
        (tmp / "index" / STAMP).write_text(json.dumps(stamp, indent=2, sort_keys=True))
        if out.exists():
            shutil.rmtree(out)
        (tmp / "index").rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return SalmonIndex(out, k, digest, version)


@dataclass(frozen=True)
class SalmonQuant:
    """Where a quantification's kept files are, and how it was made."""

    out_dir: Path
    quant_sf: Path
    lib_format_counts: Path
    meta_info: Path
    salmon_version: str
    paired: bool
    command: tuple[str, ...]
    index: SalmonIndex | None = None

    def meta(self) -> dict[str, object]:
        """Salmon's ``meta_info.json`` (mapping rate, library types, ...)."""
        return json.loads(self.meta_info.read_text())  # type: ignore[no-any-return]


def quant(
    index: SalmonIndex | str | Path,
    reads: str | Path | tuple[str | Path, str | Path] | Sequence[str | Path],
    out_dir: str | Path,
    *,
    threads: int = 1,
    executable: str = "salmon",
    extra_args: Sequence[str] = (),
) -> SalmonQuant:
    """Quantify one sample's reads against an index.

    Parameters
    ----------
    index
        A :class:`SalmonIndex` or an index directory.
    reads
        One FASTQ (single-end) or a pair ``(mate1, mate2)`` (paired-end).
    out_dir
        Receives ``quant.sf``, ``lib_format_counts.json`` and ``aux_info/meta_info.json``.
    """
    index_path = index.path if isinstance(index, SalmonIndex) else Path(index)
    files = [Path(reads)] if isinstance(reads, (str, Path)) else [Path(r) for r in reads]
    if len(files) not in (1, 2):
        raise ValueError(f"expected one FASTQ or a pair, got {len(files)} files")
    for f in files:
        if not f.is_file():
            raise FileNotFoundError(f"reads not found: {f}")
    paired = len(files) == 2
    version = salmon_version(executable)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".salmon.", dir=out) as work:
        reads_args = ["-1", str(files[0]), "-2", str(files[1])] if paired else ["-r", str(files[0])]
        command = [
            _executable(executable),
            "quant",
            "-i",
            str(index_path),
            "-l",
            "A",
            *reads_args,
            "--seqBias",
            *(["--gcBias"] if paired else []),
            "-p",
            str(threads),
            "-o",
            str(Path(work) / "out"),
            *extra_args,
        ]
        _run(command, "salmon quant")
        for name in KEPT_FILES:
            source = Path(work) / "out" / name
            if not source.is_file():
                raise SalmonError(f"salmon quant did not write {name} in {out}")
            target = out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    return SalmonQuant(
        out_dir=out,
        quant_sf=out / "quant.sf",
        lib_format_counts=out / "lib_format_counts.json",
        meta_info=out / "aux_info" / "meta_info.json",
        salmon_version=version,
        paired=paired,
        command=tuple(str(out) if c == str(Path(work) / "out") else c for c in command),
        index=index if isinstance(index, SalmonIndex) else None,
    )
