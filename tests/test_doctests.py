"""The Examples sections of these modules' docstrings run (the API reference shows them)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = (
    "didstudy.study.toml_text",
    "didstudy.study.docgen",
    "didstudy.study.detect",
    "didstudy.study.init_template",
    "didstudy.study.builder",
    "didstudy.results.protocol",
    "didstudy.lights.demo_rasters",
    "didstudy.data.datasets",
    "didstudy.data.panel",
    "didstudy.data.simulate",
    "didstudy.estimation.twfe",
    "didstudy.estimation.event_study",
    "didstudy.estimation.bacon",
    "didstudy.estimation.psm",
    "didstudy.estimation.robustness",
    "didstudy.estimation.heterogeneity",
    "didstudy.estimation.mechanisms",
    "didstudy.inference.placebo",
    "didstudy.kernels.vcov",
    "didstudy.results.regression",
    "didstudy.measure.gini",
    "didstudy.measure.theil",
    "didstudy.measure.transform",
    "didstudy.data.treatment",
)


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    outcome = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert outcome.attempted > 0, f"{name} has no example"
    assert outcome.failed == 0
