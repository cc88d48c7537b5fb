"""The generated study-file reference documents every table key and every step argument.

The reference page is produced from the code at documentation build time; these checks make a
new step kind, argument or file key without a meaning or an example fail here, before the docs.
"""

from __future__ import annotations

import inspect

import pytest

from didstudy.study.docgen import (
    _tables,
    key_meaning,
    parameter_docs,
    parse_parameters,
    study_file_reference,
)
from didstudy.study.registry import REGISTRY, resolve_function


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_every_argument_is_documented(kind: str) -> None:
    step = REGISTRY[kind]
    function, target = resolve_function(step)
    assert function is not None, target
    docs = parameter_docs(step, function)
    names = [d.name for d in docs]
    expected = [
        n for n, p in inspect.signature(function).parameters.items()
        if n != step.data_parameter and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]  # fmt: skip
    assert names == expected
    assert [d.name for d in docs if not d.meaning] == []
    assert [d.name for d in docs if not d.example] == []
    assert "``" not in "".join(d.meaning for d in docs)


def test_every_file_key_is_documented() -> None:
    tables = _tables()
    assert {key for _, key, _ in tables} >= {"study", "data", "panel", "variables", "sample"}
    for _, key, model in tables:
        for name, info in model.model_fields.items():
            assert key_meaning(key, name, info.description), f"[{key}] {name}"


def test_page_lists_every_kind_and_argument() -> None:
    page = study_file_reference()
    for kind in REGISTRY:
        assert f"### `{kind}`" in page
    assert "| `window` | `tuple[int, int]` | `[-5, 5]` |" in page
    assert "| `reps` |" in page


def test_numpy_parameter_parsing() -> None:
    doc = """Summary.

    Parameters
    ----------
    a, b : int
        First line
        second line.
    *args
        Extra.

    Returns
    -------
    int
    """
    assert parse_parameters(inspect.cleandoc(doc)) == {
        "a": "First line second line.",
        "b": "First line second line.",
        "args": "Extra.",
    }
