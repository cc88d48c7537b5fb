"""Every data error of a command that reads a data file names that file."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from didstudy.errors import DidstudyError

__all__ = ["names_file"]

F = TypeVar("F", bound=Callable[..., Any])


def names_file(command: F) -> F:
    """Decorate a command taking ``file``: errors without a file get that file named.

    Examples
    --------
    >>> @names_file
    ... def show(file: str) -> None:
    ...     raise DidstudyError("duplicated unit-period rows")
    >>> try:
    ...     show(file="panel.csv")
    ... except DidstudyError as exc:
    ...     print(exc.file)
    panel.csv
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except DidstudyError as exc:
            file = kwargs.get("file", args[0] if args else None)
            if exc.file or file is None:
                raise
            located = copy.copy(exc)
            located.file = str(file)
            located.args = (located.render(),)
            raise located from None

    return wrapper  # type: ignore[return-value]
