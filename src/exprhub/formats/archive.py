"""Reading tar archives (MINiML family bundles) member by member, within limits.

The archive is read as a stream, never seeked or loaded whole. A member whose header declares
more bytes than ``Limits.member_bytes`` (extended pax and GNU long-name headers included, which
:mod:`tarfile` would otherwise read into memory whole) and an archive of more than
``Limits.archive_members`` members are refused with a
:class:`~exprhub.formats.errors.LimitExceeded` naming the file and the member.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from exprhub.formats.errors import FormatError, LimitExceeded
from exprhub.formats.limits import Limits

__all__ = ["iter_members"]


class _CheckedTarInfo(tarfile.TarInfo):
    """A tar header whose declared size is checked before tarfile reads anything it announces."""

    limits: Limits = Limits()

    def _proc_member(self, tarfile: Any) -> Any:
        limit = self.limits.member_bytes
        if self.size > limit:
            raise LimitExceeded(
                None,
                None,
                f"archive member {self.name[:200]!r} holds {self.size} bytes, more than "
                f"{limit} (limit {self.limits.describe('member_bytes')})",
            )
        return super()._proc_member(tarfile)  # type: ignore[misc]


def iter_members(
    stream: IO[bytes], path: str | Path, limits: Limits, what: str = "tar archive"
) -> Iterator[tuple[tarfile.TarInfo, IO[bytes] | None]]:
    """Yield each member of the tar archive in ``stream`` with a reader of its bytes.

    Parameters
    ----------
    stream
        The archive's bytes (already decompressed), read once from start to end.
    path
        The archive's file, named in errors.
    limits
        Member count and member size limits.
    what
        How the archive is called in errors ("tar archive", "tar bundle").

    Yields
    ------
    tuple[tarfile.TarInfo, IO[bytes] | None]
        The member's header and, for a regular file, a stream of its bytes (valid until the
        next member is asked for); None for directories, links and the like.

    Raises
    ------
    FormatError
        If the archive is not a readable tar archive.
    LimitExceeded
        If it holds more members, or a larger one, than ``limits`` allow.
    """
    checked = type("_Limited", (_CheckedTarInfo,), {"limits": limits})
    count = 0
    try:
        with tarfile.open(fileobj=stream, mode="r|", tarinfo=checked) as archive:
            for member in archive:
                count += 1
                if count > limits.archive_members:
                    raise LimitExceeded(
                        path,
                        None,
                        f"archive has more than {limits.archive_members} members "
                        f"(limit {limits.describe('archive_members')})",
                    )
                handle = archive.extractfile(member) if member.isfile() else None
                yield member, handle
    except LimitExceeded as error:
        raise error.located(path) from None
    except tarfile.TarError as error:
        raise FormatError(path, None, f"unreadable {what} ({error})") from None
