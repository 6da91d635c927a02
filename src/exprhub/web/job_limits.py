"""Bounds of the job queue (:class:`JobLimits`), set by environment variables, and the error of
a submission beyond them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exprhub.web.errors import excerpt

#: Default most jobs queued or running at once (``EXPRHUB_MAX_ACTIVE_JOBS``).
DEFAULT_MAX_ACTIVE_JOBS = 16
#: Default most bytes of job results kept at once (``EXPRHUB_MAX_RESULT_BYTES``): 2 GiB.
DEFAULT_MAX_RESULT_BYTES = 2 * 1024**3
#: Default seconds a finished job and its results are kept (``EXPRHUB_JOB_TTL_SECONDS``): 1 day.
DEFAULT_RESULT_TTL_SECONDS = 24 * 3600


class JobQuotaExceeded(Exception):
    """A job cannot be queued now: too many are queued or running, or the kept results fill
    their quota.

    Parameters
    ----------
    code
        ``too_many_jobs`` or ``result_quota_exceeded``.
    message
        One readable line naming the limit.
    detail
        The limit and the current use.
    """

    def __init__(self, code: str, message: str, detail: dict[str, Any]) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail


def integer_setting(
    environ: Mapping[str, str], name: str, default: int, *, minimum: int = 0
) -> int:
    """The whole number an environment variable sets (``default`` when unset or empty).

    Raises
    ------
    ValueError
        When the value is not a whole number of at least ``minimum`` (one readable line).
    """
    raw = environ.get(name, "").strip().replace("_", "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {excerpt(raw)!r}")
    return value


@dataclass(frozen=True)
class JobLimits:
    """Bounds of the job queue.

    Attributes
    ----------
    max_active
        Most jobs queued or running at once; more answer 429.
    max_result_bytes
        Most bytes of result files kept; a submission while they are used up answers 429, and
        a job whose result would go past them fails (its files are removed).
    result_ttl
        Seconds a finished (done or failed) job and its files are kept; then it answers 410.
    """

    max_active: int = DEFAULT_MAX_ACTIVE_JOBS
    max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES
    result_ttl: float = DEFAULT_RESULT_TTL_SECONDS

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> JobLimits:
        """Limits from ``EXPRHUB_MAX_ACTIVE_JOBS``, ``EXPRHUB_MAX_RESULT_BYTES`` and
        ``EXPRHUB_JOB_TTL_SECONDS`` (defaults where unset).

        Raises
        ------
        ValueError
            For a value that is not a whole number (0 jobs or a 0 s time to live excluded).
        """
        env = os.environ if environ is None else environ
        return cls(
            max_active=integer_setting(
                env, "EXPRHUB_MAX_ACTIVE_JOBS", DEFAULT_MAX_ACTIVE_JOBS, minimum=1
            ),
            max_result_bytes=integer_setting(
                env, "EXPRHUB_MAX_RESULT_BYTES", DEFAULT_MAX_RESULT_BYTES, minimum=0
            ),
            result_ttl=integer_setting(
                env, "EXPRHUB_JOB_TTL_SECONDS", DEFAULT_RESULT_TTL_SECONDS, minimum=1
            ),
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready limits."""
        return {
            "max_active_jobs": self.max_active,
            "max_result_bytes": self.max_result_bytes,
            "result_ttl_seconds": self.result_ttl,
        }
