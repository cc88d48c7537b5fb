"""Every public name documents every argument (the API reference is generated from these)."""

from __future__ import annotations

import importlib
import inspect

import pytest

import didstudy
from didstudy.study.docgen import parse_parameters

PUBLIC = sorted(didstudy._API.items())


@pytest.mark.parametrize(("name", "module"), PUBLIC, ids=[n for n, _ in PUBLIC])
def test_every_argument_is_documented(name: str, module: str) -> None:
    obj = getattr(importlib.import_module(module), name)
    signature = inspect.signature(obj.__init__ if isinstance(obj, type) else obj)
    arguments = [
        n for n, p in signature.parameters.items()
        if n != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]  # fmt: skip
    doc = inspect.getdoc(obj) or ""
    documented = parse_parameters(doc)
    assert [a for a in arguments if a not in documented] == []
    if not isinstance(obj, type):
        assert "Returns\n-------" in doc, f"{name} has no Returns section"


@pytest.mark.parametrize(("name", "module"), PUBLIC, ids=[n for n, _ in PUBLIC])
def test_every_public_name_has_an_example(name: str, module: str) -> None:
    doc = inspect.getdoc(getattr(importlib.import_module(module), name)) or ""
    examples = doc.partition("Examples\n--------\n")[2]
    assert ">>> " in examples, f"{name} has no Examples section"
