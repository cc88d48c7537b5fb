"""Exception and warning classes.

Every exception raised for bad input derives from :class:`DidstudyError`. Messages name the
file, the column, the rows and the fix, so that the command-line interface can print them as they
are, without a traceback (exit code 2).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "CollinearityWarning",
    "ConvergenceError",
    "DataError",
    "DidstudyError",
    "DidstudyWarning",
    "EstimationError",
    "MissingDependencyError",
    "PanelRequiredError",
    "PanelWarning",
    "SingletonWarning",
    "SpecError",
    "SwitchingTreatmentError",
    "ValidationError",
    "format_rows",
]


def format_rows(rows: Iterable[object], limit: int = 10) -> str:
    """Render row labels for a message: ``"3, 7, 12 (and 5 more)"``."""
    items = list(rows)
    shown = ", ".join(str(r) for r in items[:limit])
    if len(items) > limit:
        shown += f" (and {len(items) - limit} more)"
    return shown


class DidstudyError(Exception):
    """Base class of every error didstudy raises for bad input or an impossible request.

    Parameters
    ----------
    message
        What is wrong, in one sentence.
    file, column, rows
        Where it is wrong, when known.
    fix
        What the user can do about it.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        column: str | None = None,
        rows: Sequence[object] | None = None,
        fix: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.column = column
        self.rows = list(rows) if rows is not None else None
        #: ``rows`` are file line numbers (:func:`rows_to_file_lines`), not data-frame labels
        self.rows_are_lines = False
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        parts = []
        where = []
        if self.file:
            where.append(f"file '{self.file}'")
        if self.column:
            where.append(f"column '{self.column}'")
        if self.rows:
            kind = "lines" if self.rows_are_lines else "rows"
            where.append(f"{kind} {format_rows(self.rows)}")
        prefix = (", ".join(where) + ": ") if where else ""
        parts.append(prefix + self.message)
        if self.fix:
            parts.append(f"Fix: {self.fix}")
        return "\n".join(parts)


def rows_to_file_lines(exc: DidstudyError, lines: Mapping[object, int]) -> None:
    """Rewrite the row labels of ``exc`` (and ``row N`` in its message) as file line numbers.

    ``lines`` maps a data frame's row labels to the line of the file they were read from (the
    header is line 1). Labels without a line are left as they are; the rendered message then
    says ``lines`` instead of ``rows`` and its fix notes the numbering.
    """
    if not exc.rows or not all(r in lines for r in exc.rows):
        return
    exc.rows = [lines[r] for r in exc.rows]
    exc.rows_are_lines = True

    def line(match: re.Match[str]) -> str:
        label = int(match.group(1))
        return f"line {lines[label]}" if label in lines else match.group(0)

    exc.message = re.sub(r"\brow (\d+)\b", line, exc.message)
    note = "(file line numbers; the header is line 1)"
    exc.fix = f"{exc.fix} {note}" if exc.fix else note
    exc.args = (exc.render(),)


class DataError(DidstudyError):
    """A data file cannot be read or a column is missing or of the wrong type."""


class ValidationError(DidstudyError):
    """The panel breaks a rule an estimator relies on (duplicates, switching treatment, ...)."""


class EstimationError(DidstudyError):
    """An estimator cannot run on this input (no controls left, singular design, ...)."""


class SwitchingTreatmentError(ValidationError):
    """The 0/1 treatment switches off within a unit where an absorbing one is required."""


class PanelRequiredError(ValidationError, EstimationError):
    """An estimator was given a plain DataFrame without its unit and time roles.

    Estimators take a :class:`didstudy.Panel`; ``didstudy.as_panel(df, unit=..., time=...,
    treat=...)`` builds one (decision record 0020).
    """


class ConvergenceError(EstimationError):
    """An iterative algorithm did not reach its tolerance."""


class SpecError(DidstudyError):
    """A study file is invalid (unknown key, wrong type, impossible rule)."""


class MissingDependencyError(DidstudyError, ImportError):
    """An optional dependency is needed; the message names the extra to install."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the optional package '{package}', which is not installed.",
            fix=f"pip install 'didstudy[{extra}]'",
        )


class DidstudyWarning(UserWarning):
    """Base class of didstudy's warnings."""


class PanelWarning(DidstudyWarning):
    """Something about the panel the user should know (imbalance, always-treated units)."""


class SingletonWarning(DidstudyWarning):
    """Singleton observations were dropped from a fixed-effects regression."""


class CollinearityWarning(DidstudyWarning):
    """Regressors collinear with the fixed effects or each other were dropped."""


class InferenceWarning(DidstudyWarning):
    """A test or interval was computed under a fallback (singular covariance, few clusters)."""
