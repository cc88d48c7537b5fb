"""Step kinds: the public function each ``[[steps]] kind`` stands for.

The registry maps a kind to the importable function (``"module:function"``), its role and what
the runner provides. Functions are imported lazily, so a kind whose module is missing from this
installation is reported as *unavailable* (with the import error) instead of breaking the study.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from didstudy.errors import SpecError
from didstudy.study.spec import closest

__all__ = ["REGISTRY", "StepKind", "resolve", "resolve_function", "step_kinds"]

Role = Literal["derive", "estimate", "render"]

# parameter names whose string (or list-of-string) values are column names of the step's data
COLUMN_PARAMETERS: frozenset[str] = frozenset(
    {
        "y", "treat", "controls", "cluster", "weights", "value", "group", "time", "unit",
        "covariates", "mediators", "outcome", "outcomes", "by", "columns", "variables",
        "policies", "services", "manufacturing", "total", "split", "splits", "column", "city",
    }
)  # fmt: skip


# parameters of figure functions that take an earlier step's result (named by its step name)
FIGURE_RESULT_PARAMETERS: tuple[str, ...] = (
    "result", "results", "res", "components", "summary", "draws", "estimates", "fit", "power",
)  # fmt: skip


@dataclass(frozen=True)
class StepKind:
    """One step kind.

    Attributes
    ----------
    kind
        The name used in study files.
    targets
        Candidate ``"module:function"`` paths; the first importable one is used.
    role
        ``derive`` (adds a column to the panel data), ``estimate`` (returns a result) or
        ``render`` (a table or figure of earlier steps' results or of the data).
    summary
        One line for ``didstudy validate`` and the docs.
    data_parameter
        The parameter the runner fills with the data (a Panel, or a frame for derive steps).
    requires_controls
        ``"never"`` / ``"not_yet"`` when the step needs untreated comparison units.
    injected
        Parameters the runner fills unless the step gives them (e.g. ``seed``).
    """

    kind: str
    targets: tuple[str, ...]
    role: Role
    summary: str
    data_parameter: str | None = "data"
    requires_controls: Literal["never", "not_yet"] | None = None
    injected: tuple[str, ...] = ()
    column_parameters: frozenset[str] = field(default=COLUMN_PARAMETERS)
    result_parameters: tuple[str, ...] = ()
    output: Literal["table", "figure"] | None = None


def _k(kind: str, role: Role, summary: str, *targets: str, **options: Any) -> tuple[str, StepKind]:
    return kind, StepKind(kind, targets, role, summary, **options)


REGISTRY: dict[str, StepKind] = dict(
    [
        _k(
            "dagum_panel", "derive", "Dagum Gini per group and period (INDG) + decomposition",
            "didstudy.measure.inequality:dagum_panel",
        ),
        _k(
            "lights", "derive", "night-time light rasters -> county light -> INDG per city-year",
            "didstudy.study.lights_step:lights", data_parameter=None, injected=("base_dir",),
            column_parameters=frozenset(),
        ),
        _k(
            "coagglomeration", "derive", "co-agglomeration index (services x manufacturing)",
            "didstudy.measure.agglomeration:coagglomeration", data_parameter="employment",
        ),
        _k("twfe", "estimate", "two-way fixed-effects DiD", "didstudy.estimation.twfe:twfe"),
        _k(
            "stepwise", "estimate", "TWFE adding controls one at a time",
            "didstudy.estimation.twfe:stepwise",
        ),
        _k(
            "event_study", "estimate", "event study by relative year",
            "didstudy.estimation.event_study:event_study", requires_controls="not_yet",
        ),
        _k(
            "callaway_santanna", "estimate",
            "Callaway-Sant'Anna group-time effects ATT(g,t) (aggregated by later steps)",
            "didstudy.estimation.robust.callaway_santanna:callaway_santanna",
            data_parameter="panel", injected=("seed",),
        ),
        _k(
            "placebo", "estimate", "placebo: random pseudo-treated units and years",
            "didstudy.inference.placebo:placebo", injected=("seed",),
        ),
        _k(
            "bacon", "estimate", "Goodman-Bacon decomposition", "didstudy.estimation.bacon:bacon",
        ),
        _k(
            "psm_did", "estimate", "propensity-score matching DiD (year by year)",
            "didstudy.estimation.psm:psm_did", "didstudy.estimation.robustness:psm_did",
            requires_controls="never", injected=("seed",),
        ),
        _k(
            "robustness_winsorized", "estimate", "baseline on winsorised variables",
            "didstudy.estimation.robustness:robustness_winsorized",
        ),
        _k(
            "robustness_drop", "estimate", "baseline dropping some units",
            "didstudy.estimation.robustness:robustness_drop",
        ),
        _k(
            "anticipation", "estimate", "baseline with a pre-adoption (anticipation) term",
            "didstudy.estimation.robustness:anticipation",
        ),
        _k(
            "concurrent_policies", "estimate", "baseline controlling for concurrent policies",
            "didstudy.estimation.robustness:concurrent_policies",
        ),
        _k(
            "heterogeneity", "estimate", "split-sample estimates with difference tests",
            "didstudy.estimation.heterogeneity:heterogeneity",
        ),
        _k(
            "mechanisms", "estimate", "mechanism regressions (mediator; interaction)",
            "didstudy.estimation.mechanisms:mechanisms",
        ),
        # inference on an earlier step's result (named by its step name)
        _k(
            "wild_bootstrap", "estimate", "wild cluster bootstrap p-value and interval (WCR)",
            "didstudy.inference.wild_bootstrap:wild_bootstrap", injected=("seed",),
            result_parameters=("result",),
            column_parameters=frozenset(
                {"cluster", "bootstrap_cluster", "unit", "time", "cohort", "treat",
                 "regression_weights", "fe"}
            ),
        ),
        _k(
            "honest_did", "estimate", "HonestDiD sensitivity of an event study (Rambachan-Roth)",
            "didstudy.inference.honest:honest_did", data_parameter=None,
            result_parameters=("result",), column_parameters=frozenset(),
        ),
        _k(
            "pretrend_power", "estimate", "power of the pre-trend test (Roth 2022)",
            "didstudy.inference.pretrends:pretrend_power", data_parameter=None,
            result_parameters=("result",), column_parameters=frozenset(),
        ),
        _k(
            "sun_abraham", "estimate", "Sun-Abraham interaction-weighted event study",
            "didstudy.estimation.robust.sun_abraham:sun_abraham", data_parameter="panel",
        ),
        _k(
            "imputation", "estimate", "imputation event study (Borusyak, Jaravel & Spiess)",
            "didstudy.estimation.robust.imputation:imputation", data_parameter="panel",
        ),
        _k(
            "did2s", "estimate", "two-stage DiD (Gardner) with GMM standard errors",
            "didstudy.estimation.robust.did2s:did2s", data_parameter="panel",
        ),
        _k(
            "etwfe", "estimate", "extended TWFE (Wooldridge) with emfx aggregations",
            "didstudy.estimation.robust.etwfe:etwfe", data_parameter="panel",
        ),
        _k(
            "stacked_did", "estimate", "stacked DiD with corrective weights (WFH 2024)",
            "didstudy.estimation.robust.stacked:stacked_did", data_parameter="panel",
        ),
        _k(
            "dcdh", "estimate", "de Chaisemartin-D'Haultfoeuille DID_l (switching allowed)",
            "didstudy.estimation.robust.dcdh:dcdh", data_parameter="panel",
        ),
        _k(
            "compare_estimators", "estimate", "event studies of all robust estimators side by side",
            "didstudy.estimation.robust.compare:compare_estimators", data_parameter="panel",
        ),
        # render steps: tables and figures of earlier steps' results
        _k(
            "definitions_table", "render", "variables and their definitions (Table 1)",
            "didstudy.report.tables:definitions_table", data_parameter=None, output="table",
            column_parameters=frozenset(),
        ),
        _k(
            "placebo_table", "render", "placebo draws summarised (Figure 2 in numbers)",
            "didstudy.report.tables:placebo_table", data_parameter=None, output="table",
            result_parameters=("draws",), column_parameters=frozenset(),
        ),
        _k(
            "descriptive_table", "render", "descriptive statistics table (N, mean, SD, min, max)",
            "didstudy.report.tables:descriptive_table", output="table",
            column_parameters=frozenset({"variables"}),
        ),
        _k(
            "regression_table", "render", "regression table of earlier steps (one column each)",
            "didstudy.report.tables:regression_table", data_parameter=None, output="table",
            result_parameters=("columns",), column_parameters=frozenset(),
        ),
        _k(
            "bacon_table", "render", "Goodman-Bacon decomposition table",
            "didstudy.report.tables:bacon_table", data_parameter=None, output="table",
            result_parameters=("summary",), column_parameters=frozenset(),
        ),
        _k(
            "dagum_table", "render", "Dagum decomposition by period (G, Gw, Gnb, Gt, shares)",
            "didstudy.study.tables:dagum_table", data_parameter=None, output="table",
            result_parameters=("result",), column_parameters=frozenset(),
        ),
        _k(
            "balance_table", "render", "covariate balance table (a PSM-DID step or a frame)",
            "didstudy.study.tables:balance_table", "didstudy.report.tables:balance_table",
            data_parameter=None, output="table",
            result_parameters=("balance",), column_parameters=frozenset(),
        ),
        _k(
            "event_study_figure", "render", "event-study coefficient plot",
            "didstudy.report.figures.event_study:event_study_figure",
            "didstudy.report.figures.event_study:plot_event_study",
            data_parameter=None, output="figure", result_parameters=FIGURE_RESULT_PARAMETERS,
            column_parameters=frozenset(),
        ),
        _k(
            "group_time_table", "render", "ATT(g,t) table of a callaway_santanna step",
            "didstudy.report.tables.group_time:group_time_table", data_parameter=None,
            output="table", result_parameters=("result",), column_parameters=frozenset(),
        ),
        _k(
            "aggregation_table", "render",
            "aggregated group-time effects (simple, group, calendar, dynamic)",
            "didstudy.report.tables.group_time:aggregation_table", data_parameter=None,
            output="table", result_parameters=("result",), column_parameters=frozenset(),
        ),
        _k(
            "cs_event_study_figure", "render",
            "event study of group-time effects with pointwise and uniform bands",
            "didstudy.report.figures.group_time:cs_event_study_figure", data_parameter=None,
            output="figure", result_parameters=("result",), column_parameters=frozenset(),
        ),
        _k(
            "comparison_table", "render", "event studies by estimator (one column each)",
            "didstudy.report.tables.comparison:comparison_table", data_parameter=None,
            output="table", result_parameters=("result",), column_parameters=frozenset(),
        ),
        _k(
            "comparison_figure", "render", "event studies by estimator, overlaid and dodged",
            "didstudy.report.figures.comparison:comparison_figure", data_parameter=None,
            output="figure", result_parameters=FIGURE_RESULT_PARAMETERS,
            column_parameters=frozenset(),
        ),
        _k(
            "placebo_figure", "render", "placebo distribution plot",
            "didstudy.report.figures.placebo:placebo_figure",
            "didstudy.report.figures.placebo:plot_placebo",
            data_parameter=None, output="figure", result_parameters=FIGURE_RESULT_PARAMETERS,
            column_parameters=frozenset(),
        ),
        _k(
            "bacon_figure", "render", "Goodman-Bacon scatter plot",
            "didstudy.report.figures.bacon:bacon_figure",
            "didstudy.report.figures.bacon:plot_bacon",
            data_parameter=None, output="figure", result_parameters=FIGURE_RESULT_PARAMETERS,
            column_parameters=frozenset(),
        ),
        _k(
            "dagum_figure", "render", "Dagum decomposition over time",
            "didstudy.report.figures.dagum:dagum_figure",
            "didstudy.report.figures.dagum:plot_dagum",
            data_parameter=None, output="figure", result_parameters=FIGURE_RESULT_PARAMETERS,
            column_parameters=frozenset(),
        ),
        _k(
            "honest_table", "render", "HonestDiD robust intervals by M-bar (or M)",
            "didstudy.report.tables.honest:honest_table", data_parameter=None, output="table",
            result_parameters=("result",), column_parameters=frozenset(),
        ),
        _k(
            "honest_figure", "render", "HonestDiD sensitivity plot",
            "didstudy.report.figures.inference:honest_figure",
            data_parameter=None, output="figure", result_parameters=FIGURE_RESULT_PARAMETERS,
            column_parameters=frozenset(),
        ),
        _k(
            "wild_bootstrap_figure", "render", "wild bootstrap distribution of the t statistic",
            "didstudy.report.figures.inference:wild_bootstrap_figure",
            data_parameter=None, output="figure", result_parameters=FIGURE_RESULT_PARAMETERS,
            column_parameters=frozenset(),
        ),
        _k(
            "treatment_timing_figure", "render",
            "treatment timing (cohorts by period, never treated collapsed, cohort sizes)",
            "didstudy.report.figures.timing:treatment_timing_figure",
            output="figure", column_parameters=frozenset(),
        ),
        _k(
            "rollout_figure", "render", "treatment roll-out (units treated by period)",
            "didstudy.report.figures.rollout:rollout_figure",
            "didstudy.report.figures.rollout:plot_rollout",
            output="figure", column_parameters=frozenset(),
        ),
    ]
)  # fmt: skip


def step_kinds() -> list[str]:
    """Every registered kind, sorted."""
    return sorted(REGISTRY)


def resolve(kind: str) -> StepKind:
    """The :class:`StepKind` for ``kind``; unknown kinds raise ``SpecError`` with a suggestion."""
    try:
        return REGISTRY[kind]
    except KeyError:
        near = closest(kind, REGISTRY)
        raise SpecError(
            f"unknown step kind '{kind}'",
            fix=(f"did you mean '{near}'? " if near else "")
            + f"valid kinds: {', '.join(step_kinds())}",
        ) from None


def resolve_function(step: StepKind) -> tuple[Callable[..., Any] | None, str]:
    """Import the step's function: ``(function, "module:function")`` or ``(None, reason)``."""
    reasons = []
    for target in step.targets:
        module_name, _, attribute = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            reasons.append(f"{module_name} cannot be imported ({exc})")
            continue
        function = getattr(module, attribute, None)
        if callable(function):
            return function, target
        reasons.append(f"{target} is not defined")
    return None, "; ".join(dict.fromkeys(reasons))
