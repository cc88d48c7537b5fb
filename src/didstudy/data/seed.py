"""The one seed rule of didstudy (decision record 0022).

Every random procedure (placebo draws, permutation tests, random matching order, a study) takes
``seed: int | None = None``. An integer is used as given; ``None`` draws fresh entropy from the
operating system (:class:`numpy.random.SeedSequence`) and the seed actually used is recorded on
the result, in ``results.json`` and in ``manifest.json``, so that passing the recorded seed
reproduces the run exactly.
"""

from __future__ import annotations

import numpy as np

from didstudy.errors import ValidationError

__all__ = ["resolve_seed"]


def resolve_seed(seed: int | None) -> int:
    """The seed a random procedure runs with: ``seed`` itself, or fresh entropy for ``None``.

    Parameters
    ----------
    seed
        A non-negative integer, or ``None`` for a fresh, recorded seed.

    Returns
    -------
    int
        The seed to pass to :func:`numpy.random.default_rng` and to record.

    Raises
    ------
    ValidationError
        ``seed`` is negative or not an integer.

    Examples
    --------
    >>> from didstudy.data.seed import resolve_seed
    >>> resolve_seed(7)
    7
    >>> resolve_seed(None) >= 0
    True
    """
    if seed is None:
        return int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or int(seed) < 0:
        raise ValidationError(
            f"the seed must be a non-negative integer or None, not {seed!r}.",
            fix="pass seed=1 (any non-negative integer), or seed=None for a fresh seed that "
            "the result records.",
        )
    return int(seed)
