"""Contrasts of the coefficients: limma's ``makeContrasts`` and ``contrasts.fit``.

:func:`make_contrasts` turns expressions such as ``"B-A"``, ``"(A+B)/2-C"`` or ``"2*A - B"``
into a coefficients x contrasts matrix. An expression is a linear combination of coefficient
names with numbers, ``+ - * /`` and parentheses; names are matched longest first, so they may
contain characters such as ``.``, ``-`` or spaces when written inside backquotes
(```my group` - B``). A product or quotient of two names is an error (not linear).

:func:`contrasts_fit` re-expresses a fit in terms of contrasts ``C`` (coefficients x
contrasts):

* coefficients ``b_g' C``;
* unscaled standard deviations ``sqrt(c' D_g R D_g c)`` for each contrast column ``c``, where
  ``D_g = diag(stdev_unscaled_g)`` and ``R`` is the correlation matrix of the fit's common
  ``cov_coefficients``. For a complete gene this is exactly ``sqrt(c' (X'WX)^-1 c)``; for genes
  with missing values or their own weights in a non-orthogonal design it is the approximation
  R limma also makes (stated in its ``contrasts.fit`` documentation). When ``R`` is the
  identity (orthogonal design) it reduces to ``sqrt(stdev_unscaled^2 @ C^2)``;
* ``cov_coefficients`` becomes ``C' V C``; sigma, df and average expression are unchanged.

Coefficients a contrast gives zero weight do not take part, so a NaN (not estimable)
coefficient only spoils the contrasts that use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from exprhub.analysis.linear_models.fit import LinearModelFit

__all__ = ["contrasts_fit", "make_contrasts"]

_NUMBER = re.compile(r"\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?")


def _tokenize(text: str, levels: Sequence[str]) -> list[tuple[str, object]]:
    by_length = sorted(levels, key=len, reverse=True)
    tokens: list[tuple[str, object]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "+-*/()":
            tokens.append(("op", ch))
            i += 1
            continue
        if ch == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise ValueError(f"unclosed backquote in contrast {text!r}")
            name = text[i + 1 : end]
            if name not in levels:
                raise ValueError(f"unknown name {name!r} in contrast {text!r}")
            tokens.append(("name", name))
            i = end + 1
            continue
        for name in by_length:
            if text.startswith(name, i):
                after = text[i + len(name) : i + len(name) + 1]
                if not after or not (after.isalnum() or after in "._"):
                    tokens.append(("name", name))
                    i += len(name)
                    break
        else:
            number = _NUMBER.match(text, i)
            if number is None:
                raise ValueError(
                    f"cannot read contrast {text!r} at {text[i:]!r} (names: {', '.join(levels)})"
                )
            tokens.append(("num", float(number.group())))
            i = number.end()
    return tokens


class _Parser:
    """Recursive descent over tokens; a value is (coefficient vector or None, constant)."""

    def __init__(self, tokens: list[tuple[str, object]], levels: Sequence[str], text: str):
        self.tokens = tokens
        self.pos = 0
        self.levels = list(levels)
        self.text = text

    def fail(self, why: str) -> ValueError:
        return ValueError(f"contrast {self.text!r}: {why}")

    def peek(self) -> object:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def expression(self) -> tuple[np.ndarray | None, float]:
        vec, const = self.term()
        while self.peek() in ("+", "-"):
            sign = 1.0 if self.tokens[self.pos][1] == "+" else -1.0
            self.pos += 1
            v2, c2 = self.term()
            vec = _add(vec, v2, sign)
            const += sign * c2
        return vec, const

    def term(self) -> tuple[np.ndarray | None, float]:
        vec, const = self.factor()
        while self.peek() in ("*", "/"):
            op = self.tokens[self.pos][1]
            self.pos += 1
            v2, c2 = self.factor()
            if op == "*":
                if vec is not None and v2 is not None:
                    raise self.fail("a product of two names is not linear")
                if vec is None:
                    vec, const = (None if v2 is None else v2 * const), const * c2
                else:
                    vec, const = vec * c2, const * c2
            else:
                if v2 is not None:
                    raise self.fail("division by a name is not linear")
                if c2 == 0:
                    raise self.fail("division by zero")
                vec = None if vec is None else vec / c2
                const /= c2
        return vec, const

    def factor(self) -> tuple[np.ndarray | None, float]:
        if self.pos >= len(self.tokens):
            raise self.fail("ends too early")
        kind, value = self.tokens[self.pos]
        self.pos += 1
        if kind == "num":
            return None, float(value)  # type: ignore[arg-type]
        if kind == "name":
            unit = np.zeros(len(self.levels))
            unit[self.levels.index(str(value))] = 1.0
            return unit, 0.0
        if value == "-":
            inner, const = self.factor()
            return (None if inner is None else -inner), -const
        if value == "+":
            return self.factor()
        if value == "(":
            result = self.expression()
            if self.peek() != ")":
                raise self.fail("missing ')'")
            self.pos += 1
            return result
        raise self.fail(f"unexpected {value!r}")


def _add(a: np.ndarray | None, b: np.ndarray | None, sign: float) -> np.ndarray | None:
    if b is None:
        return a
    return sign * b if a is None else a + sign * b


def make_contrasts(
    contrasts: Sequence[str] | Mapping[str, str], levels: Sequence[str]
) -> pd.DataFrame:
    """A coefficients x contrasts matrix from expressions over the coefficient names.

    Parameters
    ----------
    contrasts
        Expressions (``"B-A"``), or a mapping of contrast name to expression.
    levels
        The coefficient (design column) names.

    Returns
    -------
    pandas.DataFrame
        Rows ``levels``, one column per contrast named by its expression or mapping key.
    """
    items = (
        list(contrasts.items())
        if isinstance(contrasts, Mapping)
        else [(str(c), str(c)) for c in contrasts]
    )
    if not items:
        raise ValueError("no contrasts given")
    levels = [str(v) for v in levels]
    columns: dict[str, np.ndarray] = {}
    for name, text in items:
        parser = _Parser(_tokenize(text, levels), levels, text)
        vec, const = parser.expression()
        if parser.pos != len(parser.tokens):
            raise parser.fail(f"unexpected {parser.peek()!r}")
        if const != 0:
            raise parser.fail("has a constant term")
        if vec is None or not np.any(vec):
            raise parser.fail("names no coefficient")
        if name in columns:
            raise ValueError(f"contrast {name!r} is given twice")
        columns[name] = vec
    return pd.DataFrame(columns, index=levels)


def _correlation(cov: np.ndarray) -> np.ndarray:
    sd = np.sqrt(np.diag(cov))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(sd, sd)
    return corr


def contrasts_fit(fit: LinearModelFit, contrasts: pd.DataFrame | np.ndarray) -> LinearModelFit:
    """Re-express a fit's coefficients as contrasts.

    Parameters
    ----------
    fit
        A :func:`~exprhub.analysis.linear_models.fit.lm_fit` result.
    contrasts
        Coefficients x contrasts matrix (e.g. from :func:`make_contrasts`); a DataFrame's rows
        are matched to the coefficient names.

    Returns
    -------
    LinearModelFit
        A fit whose coefficients are the contrasts.
    """
    if isinstance(contrasts, pd.DataFrame):
        missing = [str(r) for r in contrasts.index if str(r) not in fit.coefficient_names]
        if missing:
            raise ValueError(f"contrast rows not among the coefficients: {', '.join(missing)}")
        frame = contrasts.copy()
        frame.index = [str(r) for r in frame.index]
        frame = frame.reindex(fit.coefficient_names, fill_value=0.0).astype(np.float64)
    else:
        matrix = np.asarray(contrasts, dtype=np.float64)
        if matrix.ndim == 1:
            matrix = matrix[:, None]
        frame = pd.DataFrame(
            matrix,
            index=fit.coefficient_names,
            columns=[f"contrast{i + 1}" for i in range(matrix.shape[1])],
        )
    c = frame.to_numpy()
    if c.shape[0] != len(fit.coefficient_names):
        raise ValueError(f"the contrast matrix has {c.shape[0]} rows for {c.shape[1]} coefficients")
    used = (c != 0).astype(np.float64)
    spoiled = (np.isnan(fit.coefficients) | np.isnan(fit.stdev_unscaled)).astype(np.float64)
    spoiled = (spoiled @ used) > 0
    coefficients = np.nan_to_num(fit.coefficients, nan=0.0) @ c
    su = np.nan_to_num(fit.stdev_unscaled, nan=0.0)
    corr = _correlation(fit.cov_coefficients)
    corr = np.where(np.isnan(corr), 0.0, corr)
    np.fill_diagonal(corr, 1.0)
    off = corr - np.eye(corr.shape[0])
    if np.all(np.abs(off) < 1e-14):
        variance = (su**2) @ (c**2)
    else:
        scaled = su[:, :, None] * c[None, :, :]  # genes x coefficients x contrasts
        variance = np.einsum("gjq,jk,gkq->gq", scaled, corr, scaled, optimize=True)
    coefficients[spoiled] = np.nan
    variance[spoiled] = np.nan
    cov = np.nan_to_num(fit.cov_coefficients, nan=0.0)
    return fit.with_contrasts(
        coefficient_names=[str(col) for col in frame.columns],
        coefficients=coefficients,
        stdev_unscaled=np.sqrt(np.fmax(variance, 0.0)),
        cov_coefficients=c.T @ cov @ c,
        contrasts=frame,
    )
