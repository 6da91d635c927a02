"""Errors and warnings raised by file readers.

Every problem names the file, the line (when there is one) and what was expected, so the CLI
can print it as one readable line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class FormatError(ValueError):
    """A file cannot be read as the format it claims to be.

    Parameters
    ----------
    path
        The file being read.
    line
        1-based line number of the problem, or None when it concerns the whole file.
    message
        What was found and what was expected.
    """

    def __init__(self, path: str | Path | None, line: int | None, message: str) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path or "<input>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.message}"


class LimitExceeded(FormatError):
    """A file holds more than a reader limit allows (see :mod:`exprhub.formats.limits`).

    Raised where the file or line may not be known yet; readers fill them in with
    :meth:`located`.
    """

    def located(self, path: str | Path | None, line: int | None = None) -> LimitExceeded:
        """This error with the file (and line, unless already known) filled in."""
        return LimitExceeded(
            self.path or path, self.line if self.line is not None else line, self.message
        )


@dataclass(frozen=True)
class ParseWarning:
    """A recoverable problem: the reader kept what it could and reports what was odd."""

    path: str | None
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.path or "<input>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.message}"
