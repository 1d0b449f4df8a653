"""Papers' claims side by side with the runs of a results directory.

The claims table (``claims.csv`` next to this file, documented in docs/claims.md) holds one row
per published statement: a *value* claim (a number, e.g. β-VAE score 99.23 ± 0.1 % for β = 4 on
dSprites, Higgins et al. 2017, Fig. 6) or a *trend* claim (e.g. reconstruction error rises with β).

Value claims are matched to runs with the same model, hyperparameters, dataset and metric.
Measured mean ± std over the matching seeds is put next to the claimed value and judged:

* ``consistent`` when |measured mean − claimed| ≤ ``CONSISTENT_WITHIN`` · s, where
  s = sqrt(std_measured² + std_claimed²) is the seed spread of both sides (the claimed std is 0
  when the paper gives none);
* ``higher`` / ``lower`` otherwise;
* ``not comparable`` with every reason that applies: the claim is not verified (RECALL / NOT
  RETRIEVED, never asserted), the model or dataset is not in the suite, no run matches, the
  metric definition or training protocol differs from the paper's, the dataset is a stand-in
  (procedural replica), fewer than two seeds (no spread).

Trend claims are checked over the sweep (``check`` column, see :data:`TREND_CHECKS`), each with
a test over training seeds (Welch's t for a difference of means, permutation tests on the
per-seed values for trends; :mod:`.stats`). The p-values of one report are Holm-adjusted as one
family, and a claim ``holds`` / ``does not hold`` only when its adjusted p < α = 0.05 and every
side has :data:`MIN_SEEDS` seeds; otherwise it is ``inconclusive (p = …, n = …)``, or ``not
enough data`` when there is nothing to test. The thresholds are module constants, stated in
docs/claims.md.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .locatello import rank_correlations, variance_decomposition
from .stats import (
    ALPHA,
    dominance_matrix,
    dominance_statistic,
    format_p,
    holm,
    peak_statistic,
    permutation_test,
    ranks,
    spearman_statistic,
    spread_ratio,
    welch_test,
)

CLAIMS_CSV = Path(__file__).with_name("claims.csv")

CLAIM_COLUMNS = [
    "claim_id", "paper", "arxiv", "kind", "model", "hyperparams", "dataset", "metric",
    "metric_definition", "training_protocol", "value", "std", "seeds", "location",
    "read_off_plot", "provenance", "source", "check", "notes", "verification",
]
KINDS = ("value", "trend")
PROVENANCES = ("CODE", "QUOTE", "SECONDARY", "RECALL", "NOT RETRIEVED")
#: Provenance tags whose numbers may be asserted; RECALL and NOT RETRIEVED never are.
ASSERTABLE = ("CODE", "QUOTE", "SECONDARY")

#: The metric definitions the suite implements (disentanglement_lib's protocols).
SUITE_METRIC_DEFINITIONS = ("dlib", "any")
#: preset -> the published training protocol it reproduces (the paper preset = Locatello/dlib).
PRESET_PROTOCOLS = {"paper": "dlib"}
#: A claim's dataset -> suite datasets that stand in for it (usable for trends only).
DATASET_STAND_INS = {"dsprites": ("dsprites-procedural",)}
#: Run model -> (claim model, hyperparameters) it equals: the VAE is the β-VAE with β = 1.
MODEL_ALIASES = {"vae": ("beta_vae", {"beta": 1.0})}
#: Headline columns of a results frame that are not ``<metric>.<score>``.
SUMMARY_METRICS = ("reconstruction", "kl", "active_units")
#: Config columns that, with the hyperparameters, define a configuration (seeds vary within).
CONFIG_COLUMNS = ("dataset", "preset", "steps", "batch_size", "lr", "latent_dim", "architecture")

CONSISTENT_WITHIN = 2.0   # value claims: |difference| ≤ 2 · combined seed spread
SPREAD_RATIO = 0.5        # seed spread at least half the spread between hyperparameter values
MIN_LEVELS = 3            # hyperparameter values needed for a monotone or peak trend
MIN_RANK_RUNS = 5         # runs needed before a rank correlation between two metrics is judged
MIN_SEEDS = 3             # seeds per side (per hyperparameter value) before a trend is judged
BOOTSTRAP_TEST_RESAMPLES = 4999  # stratified bootstrap of the seed-spread ratio

VALUE_COLUMNS = ["claim_id", "paper", "model", "hyperparams", "dataset", "metric", "claimed",
                 "measured", "n", "verdict", "reason", "provenance", "location",
                 "claimed_value", "claimed_std", "measured_mean", "measured_std", "run_dataset",
                 "run_preset", "run_steps"]
TREND_COLUMNS = ["claim_id", "paper", "model", "dataset", "metric", "check", "verdict",
                 "evidence", "provenance", "location", "run_dataset", "run_preset", "run_steps",
                 "p", "n", "supports", "enough", "p_holm"]


# --- the claims table ----------------------------------------------------------------------
def load_claims(path: Path | str | None = None) -> pd.DataFrame:
    """The claims table at ``path`` (default: the shipped ``claims.csv``), validated.

    Raises ``ValueError`` with one line naming the row and column when a row is malformed
    (missing column, unknown kind or provenance, a value claim without a number, a trend claim
    with an unknown check).
    """
    frame = pd.read_csv(path or CLAIMS_CSV, dtype=str, keep_default_na=False)
    missing = [c for c in CLAIM_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"claims table {path or CLAIMS_CSV} lacks column(s) {', '.join(missing)}")
    frame = frame[CLAIM_COLUMNS].copy()
    for column in ("value", "std"):
        frame[column] = pd.to_numeric(frame[column].replace("", np.nan), errors="raise")
    for _, claim in frame.iterrows():
        _validate(claim)
    if frame["claim_id"].duplicated().any():
        duplicated = sorted(set(frame.loc[frame["claim_id"].duplicated(), "claim_id"]))
        raise ValueError(f"claims table: duplicate claim_id {', '.join(duplicated)}")
    return frame.reset_index(drop=True)


def _validate(claim: pd.Series) -> None:
    where = f"claims table row {claim['claim_id']!r}"
    if claim["kind"] not in KINDS:
        raise ValueError(f"{where}: kind must be one of {', '.join(KINDS)}, got {claim['kind']!r}")
    if claim["provenance"] not in PROVENANCES:
        raise ValueError(f"{where}: provenance must be one of {', '.join(PROVENANCES)}, "
                         f"got {claim['provenance']!r}")
    assertable = claim["provenance"] in ASSERTABLE
    if claim["kind"] == "value" and assertable and not math.isfinite(claim["value"]):
        raise ValueError(f"{where}: a {claim['provenance']} value claim needs a number in 'value'")
    if claim["kind"] == "trend":
        name = claim["check"].partition(":")[0]
        if name not in TREND_CHECKS:
            raise ValueError(f"{where}: unknown check {claim['check']!r}; known checks: "
                             f"{', '.join(TREND_CHECKS)}")
    parse_hyperparams(claim["hyperparams"], where=where)


def parse_hyperparams(text: str, *, where: str = "hyperparams") -> dict[str, float]:
    """``"beta=4, latent_dim=10"`` → ``{"beta": 4.0, "latent_dim": 10.0}`` (empty → ``{}``)."""
    params: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in str(text).split(","))):
        name, sep, value = item.partition("=")
        try:
            params[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"{where}: hyperparams must read NAME=NUMBER[, ...], "
                             f"got {text!r}") from None
        if not sep or not name.strip():
            raise ValueError(f"{where}: hyperparams must read NAME=NUMBER[, ...], got {text!r}")
    return params


# --- matching runs to claims ----------------------------------------------------------------
def finished_runs(results: pd.DataFrame) -> pd.DataFrame:
    """The finished runs of a ``load_results`` frame, with the VAE also seen as β-VAE β = 1
    (column ``claim_model``) so that β sweeps include it."""
    runs = results[results["status"] == "finished"] if "status" in results else results
    runs = runs.copy()
    runs["claim_model"] = runs["model"]
    for model, (alias, params) in MODEL_ALIASES.items():
        is_alias = runs["model"] == model
        runs.loc[is_alias, "claim_model"] = alias
        for name, value in params.items():
            column = f"hparams.{name}"
            if column not in runs:
                runs[column] = np.nan
            runs.loc[is_alias, column] = value
    return runs.reset_index(drop=True)


def _claim_model_runs(runs: pd.DataFrame, model: str) -> pd.DataFrame:
    """Runs of ``model`` (``*``: every model); ``vae`` also finds β-VAE runs at β = 1."""
    if model == "*":
        return runs
    if model in MODEL_ALIASES:
        alias, params = MODEL_ALIASES[model]
        return _with_params(runs[runs["claim_model"] == alias], params)
    return runs[runs["claim_model"] == model]


def _with_params(runs: pd.DataFrame, params: dict[str, float]) -> pd.DataFrame:
    keep = pd.Series(True, index=runs.index)
    for name, value in params.items():
        column = f"hparams.{name}" if f"hparams.{name}" in runs else name
        if column not in runs:  # e.g. latent_dim is a config column, beta a hyperparameter
            return runs.iloc[0:0]
        keep &= np.isclose(pd.to_numeric(runs[column], errors="coerce"), value)
    return runs[keep]


def _dataset_runs(runs: pd.DataFrame, dataset: str) -> tuple[pd.DataFrame, bool]:
    """Runs on ``dataset`` itself, else on a stand-in for it (second value True)."""
    exact = runs[runs["dataset"] == dataset]
    if len(exact) or dataset not in DATASET_STAND_INS:
        return exact, False
    return runs[runs["dataset"].isin(DATASET_STAND_INS[dataset])], True


def _metric_column(runs: pd.DataFrame, metric: str) -> str | None:
    """The results column holding ``metric`` (None when no run scored it)."""
    if metric not in runs or pd.to_numeric(runs[metric], errors="coerce").isna().all():
        return None
    return metric


def _config_groups(runs: pd.DataFrame) -> list[pd.DataFrame]:
    """Runs split into configurations (same config and hyperparameters, any seed)."""
    keys = [c for c in (*CONFIG_COLUMNS, "claim_model") if c in runs]
    keys += sorted(c for c in runs if c.startswith("hparams."))
    if runs.empty:
        return []
    filled = _as_text(runs[keys])
    return [runs.loc[index] for _, index in filled.groupby(keys, sort=True).groups.items()]


def _setting_groups(runs: pd.DataFrame) -> list[pd.DataFrame]:
    """Runs split by everything but model, hyperparameters and seed (one sweep setting)."""
    keys = [c for c in CONFIG_COLUMNS if c in runs]
    if runs.empty:
        return []
    filled = _as_text(runs[keys])
    return [runs.loc[index] for _, index in filled.groupby(keys, sort=True).groups.items()]


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Group keys as plain strings, missing values as "" (groupby drops NaN keys)."""
    return frame.map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v))
                     else str(v))


def _suite_models() -> set[str]:
    from ..models import list_models

    return set(list_models())


def _suite_datasets() -> set[str]:
    from ..data import list_datasets

    return set(list_datasets())


# --- value claims ---------------------------------------------------------------------------
def compare_claims(results: pd.DataFrame, claims: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every value claim next to the runs it matches (one row per matching configuration, or
    one ``not comparable`` row when nothing matches); columns :data:`VALUE_COLUMNS`."""
    claims = load_claims() if claims is None else claims
    runs = finished_runs(_per_model(results))
    rows: list[dict[str, Any]] = []
    for _, claim in claims[claims["kind"] == "value"].iterrows():
        rows.extend(_value_rows(claim, runs))
    return pd.DataFrame(rows, columns=VALUE_COLUMNS)


def _value_rows(claim: pd.Series, runs: pd.DataFrame) -> list[dict[str, Any]]:
    blockers = _claim_blockers(claim)
    matched = _with_params(_claim_model_runs(runs, claim["model"]),
                           parse_hyperparams(claim["hyperparams"]))
    matched, stand_in = _dataset_runs(matched, claim["dataset"])
    column = _metric_column(matched, claim["metric"])
    if matched.empty or column is None:
        what = "no finished run" if matched.empty else f"no run scored {claim['metric']}"
        reasons = [*blockers, f"{what} matches (model {_claim_label(claim)}, dataset "
                              f"{claim['dataset']})"]
        return [_value_row(claim, None, None, reasons)]
    rows = []
    for group in _config_groups(matched):
        scores = pd.to_numeric(group[column], errors="coerce").dropna()
        reasons = blockers + _run_blockers(claim, group, stand_in, len(scores))
        row = _value_row(claim, group, scores, reasons)
        if len(scores) < len(group):  # an undefined score never leaves the mean silently
            row["measured"] += f", {len(group) - len(scores)} of {len(group)} runs undefined"
        rows.append(row)
    return rows


def _claim_blockers(claim: pd.Series) -> list[str]:
    """Reasons a value claim cannot be compared, whatever the runs."""
    reasons = []
    if claim["provenance"] not in ASSERTABLE:
        reasons.append(f"claimed value is {claim['provenance']}, not verified: never asserted")
    if claim["model"] not in _suite_models() | set(MODEL_ALIASES):
        reasons.append(f"model {claim['model']} is not in the suite")
    if claim["dataset"] not in _suite_datasets():
        reasons.append(f"dataset {claim['dataset']} is not in the suite")
    definition = claim["metric_definition"].partition(":")[0].strip()
    if definition not in SUITE_METRIC_DEFINITIONS:
        reasons.append(f"metric definition differs: the paper's is {claim['metric_definition']}, "
                       f"the suite's is disentanglement_lib's")
    return reasons


def _run_blockers(claim: pd.Series, group: pd.DataFrame, stand_in: bool, n: int) -> list[str]:
    """Reasons the matched runs cannot be compared with the claim."""
    first = group.iloc[0]
    reasons = []
    if stand_in:
        reasons.append(f"dataset {first['dataset']} stands in for {claim['dataset']} (not the "
                       f"same images)")
    protocol = claim["training_protocol"].partition(":")[0].strip()
    run_protocol = PRESET_PROTOCOLS.get(str(first.get("preset")))
    budget_changed = _budget_changed(first)
    if protocol != "any" and (protocol != run_protocol or budget_changed):
        reasons.append(f"training protocol differs: the paper's is {claim['training_protocol']}; "
                       f"the runs used preset {first.get('preset')} "
                       f"({_budget(first)}{budget_changed})")
    if n < 2:
        reasons.append(f"only {n} seed: no seed spread")
    return reasons


def _budget_changed(run: Any) -> str:
    """``", but steps 1,000 instead of 300,000"`` when a run overrode its preset's training
    budget (steps, batch size, learning rate); "" when it kept it or the preset is unknown."""
    from ..sweep.presets import PRESETS

    preset = PRESETS.get(str(run.get("preset")))
    if preset is None:
        return ""
    given = {name: run.get(name) for name in ("steps", "batch_size", "lr")}
    changed = preset.overrides(**{k: v for k, v in given.items() if _finite(v)})
    return (", but " + ", ".join(f"{name} {actual} instead of {expected}"
                                 for name, (actual, expected) in changed.items())
            if changed else "")


def _value_row(claim: pd.Series, group: pd.DataFrame | None, scores: pd.Series | None,
               reasons: list[str]) -> dict[str, Any]:
    mean = float(scores.mean()) if scores is not None and len(scores) else math.nan
    std = float(scores.std(ddof=1)) if scores is not None and len(scores) > 1 else math.nan
    n = 0 if scores is None else len(scores)
    verdict = "not comparable" if reasons else value_verdict(
        mean, std, float(claim["value"]), _nan_to_zero(claim["std"]))
    first = group.iloc[0] if group is not None else {}
    return {
        "claim_id": claim["claim_id"], "paper": claim["paper"], "model": _claim_label(claim),
        "hyperparams": claim["hyperparams"], "dataset": claim["dataset"],
        "metric": claim["metric"], "claimed": _claimed_text(claim),
        "measured": format_mean_std(mean, std, n) if n else "—", "n": n, "verdict": verdict,
        "reason": "; ".join(reasons) if reasons else _within_text(mean, std, claim),
        "provenance": claim["provenance"], "location": claim["location"],
        "claimed_value": claim["value"], "claimed_std": claim["std"], "measured_mean": mean,
        "measured_std": std, "run_dataset": first.get("dataset"), "run_preset": first.get("preset"),
        "run_steps": first.get("steps"),
    }


def value_verdict(mean: float, std: float, claimed: float, claimed_std: float = 0.0) -> str:
    """``consistent`` when |mean − claimed| ≤ CONSISTENT_WITHIN · sqrt(std² + claimed_std²),
    else ``higher`` or ``lower`` (the measured mean relative to the claim)."""
    spread = math.sqrt(_nan_to_zero(std) ** 2 + _nan_to_zero(claimed_std) ** 2)
    difference = mean - claimed
    if abs(difference) <= CONSISTENT_WITHIN * spread:
        return "consistent"
    return "higher" if difference > 0 else "lower"


def _within_text(mean: float, std: float, claim: pd.Series) -> str:
    spread = math.sqrt(_nan_to_zero(std) ** 2 + _nan_to_zero(claim["std"]) ** 2)
    difference = mean - float(claim["value"])
    ratio = abs(difference) / spread if spread > 0 else math.inf
    text = f"difference {difference:+.4g} = {ratio:.2g}× the combined seed spread {spread:.3g}"
    return text + ("; claimed value read off a plot" if claim["read_off_plot"] == "yes" else "")


# --- trend claims ---------------------------------------------------------------------------
@dataclass
class TrendTest:
    """What a trend check measured. ``p``: the two-sided p-value of its test over training
    seeds (NaN: no test possible); ``supports``: the observed effect points the claimed way
    (True), the opposite way (False) or neither (None: never a verdict); ``n``: the sample
    sizes for the verdict line; ``enough``: every side has :data:`MIN_SEEDS` seeds."""

    p: float
    supports: bool | None
    n: str
    enough: bool
    evidence: str


def check_trends(results: pd.DataFrame, claims: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every trend claim checked over the runs (one row per sweep setting, or one ``not enough
    data`` row when no run matches); columns :data:`TREND_COLUMNS`. The claims tested with
    enough seeds form one family for Holm's correction (:func:`judge_trends`)."""
    claims = load_claims() if claims is None else claims
    runs = finished_runs(_per_model(results))
    rows: list[dict[str, Any]] = []
    for _, claim in claims[claims["kind"] == "trend"].iterrows():
        rows.extend(_trend_rows(claim, runs))
    return judge_trends(pd.DataFrame(rows, columns=TREND_COLUMNS))


def _per_model(results: pd.DataFrame) -> pd.DataFrame:
    """One row per trained model (its evaluation seeds averaged): the tests are over training
    seeds, and evaluation seeds of one model must never count as more of them."""
    if "run_id" not in results or "eval_seed" not in results \
            or not results["run_id"].duplicated().any():
        return results
    from ..sweep.results import model_means

    return model_means(results)


def judge_trends(table: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """Holm-adjust the p-values of the rows tested with enough seeds (one family: every claim
    of one report) and give each tested row its verdict: ``holds`` / ``does not hold`` when the
    adjusted p < ``alpha`` and the effect points the claimed / the opposite way, else
    ``inconclusive (p = …, n = …)``. Rows without a test keep ``not enough data``."""
    table = table.copy()
    tested = table["verdict"].isna()
    p = pd.to_numeric(table["p"], errors="coerce").to_numpy(float)
    in_family = (tested & table["enough"].fillna(False).astype(bool)).to_numpy() & np.isfinite(p)
    table["p_holm"] = holm(np.where(in_family, p, np.nan))
    size = int(in_family.sum())
    for i in np.flatnonzero(tested.to_numpy()):
        row = table.iloc[i]
        adjusted = float(row["p_holm"])
        if in_family[i]:
            note = f"Holm-adjusted over the {size} claims tested here: p = {format_p(adjusted)}"
        else:
            note = (f"below the minimum sample ({MIN_SEEDS} seeds a side, {MIN_RANK_RUNS} "
                    f"runs for a rank correlation): shown, not judged"
                    if not row["enough"] else "no test possible")
        table.iat[i, table.columns.get_loc("evidence")] = f"{row['evidence']}; {note}"
        table.iat[i, table.columns.get_loc("verdict")] = trend_verdict(
            adjusted if in_family[i] else float(row["p"]), row["supports"],
            bool(in_family[i]), row["n"], alpha)
    return table


def trend_verdict(p: float, supports: bool | None, judged: bool, n: str,
                  alpha: float = ALPHA) -> str:
    """``holds`` / ``does not hold`` only for a judged test (enough seeds, in the Holm family)
    with p < alpha and a direction; otherwise ``inconclusive (p = …, n = …)``."""
    if judged and math.isfinite(p) and p < alpha and supports is not None:
        return "holds" if supports else "does not hold"
    return f"inconclusive (p = {format_p(p)}, n = {n})"


def _trend_rows(claim: pd.Series, runs: pd.DataFrame) -> list[dict[str, Any]]:
    on_dataset, stand_in = _dataset_runs(runs, claim["dataset"])
    column = _metric_column(on_dataset, claim["metric"])
    if on_dataset.empty or column is None:
        what = "no finished run on" if on_dataset.empty else f"no run scored {claim['metric']} on"
        where = " or ".join([claim["dataset"], *DATASET_STAND_INS.get(claim["dataset"], ())])
        present = ", ".join(sorted(set(runs["dataset"].astype(str)))) or "none"
        return [_trend_row(claim, None, ("not enough data",
                                         f"{what} {where} (datasets in these results: "
                                         f"{present})"))]
    name, _, argument = claim["check"].partition(":")
    rows = []
    for setting in _setting_groups(on_dataset):
        result = TREND_CHECKS[name](claim, setting, column, argument)
        notes = [f"on {setting.iloc[0]['dataset']}, a stand-in for {claim['dataset']}"] \
            if stand_in else []
        if claim["provenance"] not in ASSERTABLE:
            notes.append(f"claim is {claim['provenance']}: shown, never asserted")
        undefined = int(pd.to_numeric(_claim_model_runs(setting, claim["model"])[column],
                                      errors="coerce").isna().sum())
        if undefined:
            notes.append(f"{undefined} run(s) have an undefined {column} (NaN) and are left out")
        rows.append(_trend_row(claim, setting, result, notes))
    return rows


def _trend_row(claim: pd.Series, setting: pd.DataFrame | None,
               result: TrendTest | tuple[str, str], notes: list[str] = ()) -> dict[str, Any]:
    first = setting.iloc[0] if setting is not None else {}
    if isinstance(result, TrendTest):
        verdict, evidence = None, result.evidence  # judged with the whole family
        test = {"p": result.p, "n": result.n, "supports": result.supports,
                "enough": result.enough}
    else:
        (verdict, evidence), test = result, {"p": math.nan, "n": "", "supports": None,
                                             "enough": False}
    return {
        "claim_id": claim["claim_id"], "paper": claim["paper"], "model": _claim_label(claim),
        "dataset": claim["dataset"], "metric": claim["metric"], "check": claim["check"],
        "verdict": verdict, "evidence": "; ".join([evidence, *notes]),
        "provenance": claim["provenance"], "location": claim["location"],
        "run_dataset": first.get("dataset"), "run_preset": first.get("preset"),
        "run_steps": first.get("steps"), **test, "p_holm": math.nan,
    }


def _points(runs: pd.DataFrame, param: str, column: str) -> pd.DataFrame:
    """(x = hyperparameter, y = score) of the runs, finite values only."""
    hp = f"hparams.{param}"
    if hp not in runs:
        return pd.DataFrame(columns=["x", "y"])
    points = pd.DataFrame({"x": pd.to_numeric(runs[hp], errors="coerce"),
                           "y": pd.to_numeric(runs[column], errors="coerce")})
    return points[np.isfinite(points["x"]) & np.isfinite(points["y"])]


def _means_text(points: pd.DataFrame, param: str) -> str:
    means = points.groupby("x")["y"].agg(["mean", "count"])
    return ", ".join(f"{param}={_num(x)}: {row['mean']:.4g} (n={int(row['count'])})"
                     for x, row in means.iterrows())


def _levels_n(points: pd.DataFrame) -> tuple[str, bool]:
    """``"4 values × 3 seeds"`` and whether every value has :data:`MIN_SEEDS` seeds."""
    counts = points.groupby("x").size()
    low, high = int(counts.min()), int(counts.max())
    seeds = f"{low}" if low == high else f"{low}–{high}"
    return f"{len(counts)} values × {seeds} seeds", low >= MIN_SEEDS


def _few_levels(points: pd.DataFrame, param: str, column: str) -> tuple[str, str] | None:
    levels = points["x"].nunique()
    if levels >= MIN_LEVELS:
        return None
    return "not enough data", (f"{levels} value(s) of {param} with a finite {column}; "
                               f"need {MIN_LEVELS}")


def _monotone(sign: int) -> Callable[..., TrendTest | tuple[str, str]]:
    def check(claim: pd.Series, runs: pd.DataFrame, column: str,
              param: str) -> TrendTest | tuple[str, str]:
        points = _points(_claim_model_runs(runs, claim["model"]), param, column)
        few = _few_levels(points, param, column)
        if few:
            return few
        rho, p, _ = permutation_test(spearman_statistic(points["x"].to_numpy(float)),
                                     ranks(points["y"].to_numpy(float)))
        rho, p = float(rho), float(p)
        n, enough = _levels_n(points)
        evidence = (f"Spearman ρ({param}, {column}) = {rho:+.2f} over {len(points)} runs "
                    f"(each seed a point), permutation p = {format_p(p)}; means: "
                    f"{_means_text(points, param)}")
        supports = None if not math.isfinite(rho) or rho == 0 else bool(sign * rho > 0)
        return TrendTest(p, supports, n, enough, evidence)
    return check


def _less_than(claim: pd.Series, runs: pd.DataFrame, column: str,
               other: str) -> TrendTest | tuple[str, str]:
    """``greater_than`` with the claimed direction reversed (Welch's t over seeds)."""
    result = _greater_than(claim, runs, column, other)
    if isinstance(result, TrendTest) and result.supports is not None:
        return TrendTest(result.p, not result.supports, result.n, result.enough,
                         result.evidence)
    return result


def _greater_than(claim: pd.Series, runs: pd.DataFrame, column: str,
                  other: str) -> TrendTest | tuple[str, str]:
    mine = _with_params(_claim_model_runs(runs, claim["model"]),
                        parse_hyperparams(claim["hyperparams"]))
    theirs = _claim_model_runs(runs, other)
    a = pd.to_numeric(mine[column], errors="coerce").dropna()
    b = pd.to_numeric(theirs[column], errors="coerce").dropna()
    if a.empty or b.empty:
        return "not enough data", (f"{len(a)} run(s) of {_claim_label(claim)} and {len(b)} of "
                                   f"{other} with a finite {column}")
    difference = float(a.mean() - b.mean())
    t, df, p = (float(v) for v in welch_test(a.to_numpy(float), b.to_numpy(float)))
    test = (f"Welch t = {t:+.2f} (df {df:.1f}), p = {format_p(p)}" if math.isfinite(p)
            else "Welch's t needs 2 seeds a side with some spread")
    evidence = (f"{_claim_label(claim)} {format_mean_std(a.mean(), _std(a), len(a))} vs {other} "
                f"{format_mean_std(b.mean(), _std(b), len(b))}: difference {difference:+.4g}, "
                f"{test}")
    supports = None if difference == 0 else difference > 0
    return TrendTest(p, supports, f"{len(a)} vs {len(b)}",
                     min(len(a), len(b)) >= MIN_SEEDS, evidence)


def _greater_than_same(claim: pd.Series, runs: pd.DataFrame, column: str,
                       argument: str) -> TrendTest | tuple[str, str]:
    """Stratified permutation test: T = mean over the shared P values of (mean of the model −
    mean of OTHER); the model labels are permuted within each P value."""
    other, _, param = argument.partition(":")
    mine = _points(_claim_model_runs(runs, claim["model"]), param, column)
    theirs = _points(_claim_model_runs(runs, other), param, column)
    shared = sorted(set(mine["x"]) & set(theirs["x"]))
    if not shared:
        return "not enough data", f"no value of {param} run with both {claim['model']} and {other}"
    both = pd.concat([mine.assign(side=1), theirs.assign(side=0)])
    both = both[both["x"].isin(shared)].reset_index(drop=True)
    counts = both.groupby(["x", "side"]).size()
    weights = np.array([(1 if side else -1) / (len(shared) * counts[(x, side)])
                        for x, side in zip(both["x"], both["side"])])
    statistic, p, _ = permutation_test(lambda y: y @ weights, both["y"].to_numpy(float),
                                       strata=both["x"].to_numpy())
    statistic, p = float(statistic), float(p)
    wins = [(x, mine.loc[mine["x"] == x, "y"].mean(), theirs.loc[theirs["x"] == x, "y"].mean())
            for x in shared]
    count = sum(a > b for _, a, b in wins)
    evidence = (f"{claim['model']} above {other} at {count} of {len(wins)} shared {param} "
                f"values, mean difference {statistic:+.4g}, stratified permutation p = "
                f"{format_p(p)}: " + ", ".join(f"{param}={_num(x)}: {a:.4g} vs {b:.4g}"
                                               for x, a, b in wins))
    fewest = int(counts.min())
    supports = None if statistic == 0 else statistic > 0
    return TrendTest(p, supports, f"{len(shared)} values × ≥{fewest} seeds a side",
                     fewest >= MIN_SEEDS, evidence)


def _peaks_inside(claim: pd.Series, runs: pd.DataFrame, column: str,
                  param: str) -> TrendTest | tuple[str, str]:
    """Permutation test of T = (largest interior mean) − (larger edge mean) over the per-seed
    values: holds when T > 0 lies in the upper tail, does not hold in the lower tail."""
    points = _points(_claim_model_runs(runs, claim["model"]), param, column)
    few = _few_levels(points, param, column)
    if few:
        return few
    means = points.groupby("x")["y"].mean()
    statistic, p, upper = permutation_test(peak_statistic(points["x"].to_numpy(float)),
                                           points["y"].to_numpy(float))
    statistic, p = float(statistic), float(p)
    best = means.idxmax()
    inside = best not in (means.index.min(), means.index.max())
    evidence = (f"largest mean at {param}={_num(best)} ({'inside' if inside else 'at the edge of'} "
                f"{_num(means.index.min())}..{_num(means.index.max())}), interior peak − edge "
                f"= {statistic:+.4g}, permutation p = {format_p(p)}; means: "
                f"{_means_text(points, param)}")
    n, enough = _levels_n(points)
    supports = (True if upper and statistic > 0 else False if not upper else None)
    return TrendTest(p, supports, n, enough, evidence)


def _seed_spread_comparable(claim: pd.Series, runs: pd.DataFrame, column: str,
                            param: str) -> TrendTest | tuple[str, str]:
    """Ratio r = pooled within-P seed std / std of the per-P means against SPREAD_RATIO, with a
    stratified bootstrap over seeds (seeds resampled within each P value)."""
    points = _points(_claim_model_runs(runs, claim["model"]), param, column)
    points = points[points.groupby("x")["x"].transform("size") >= 2]
    levels = points["x"].nunique()
    if levels < 2:
        return "not enough data", (f"{levels} value(s) of {param} with ≥ 2 seeds; need 2")
    groups = [g["y"].to_numpy(float) for _, g in points.groupby("x")]
    ratio = float(spread_ratio(groups))
    resampled = spread_ratio(groups, resamples=BOOTSTRAP_TEST_RESAMPLES)
    resampled = resampled[~np.isnan(resampled)]
    below = (1 + (resampled <= SPREAD_RATIO).sum()) / (len(resampled) + 1)
    above = (1 + (resampled >= SPREAD_RATIO).sum()) / (len(resampled) + 1)
    p = float(min(1.0, 2 * min(below, above)))
    model_runs = _claim_model_runs(runs, claim["model"]).loc[points.index]
    shares = variance_decomposition(model_runs, [column]).iloc[0]  # the report's analysis
    evidence = (f"pooled seed std / std of the {levels} {param} means = {ratio:.2g} (claim: ≥ "
                f"{SPREAD_RATIO:g}), stratified bootstrap p = {format_p(p)}; {param} explains "
                f"{shares['hyperparameters']:.0%} of the variance, seeds {shares['seed']:.0%}")
    n, enough = _levels_n(points)
    supports = None if ratio == SPREAD_RATIO else ratio > SPREAD_RATIO
    return TrendTest(p, supports, n, enough, evidence)


def _rank_correlated(claim: pd.Series, runs: pd.DataFrame, column: str,
                     other: str) -> TrendTest | tuple[str, str]:
    other_column = _metric_column(runs, other)
    if other_column is None:
        return "not enough data", f"no run scored {other}"
    pair = runs[[column, other_column]].apply(pd.to_numeric, errors="coerce").dropna()
    if len(pair) < 3:
        return "not enough data", (f"{len(pair)} run(s) with both {column} and {other_column}; "
                                   f"need {MIN_RANK_RUNS}")
    _, p, _ = permutation_test(spearman_statistic(pair[other_column].to_numpy(float)),
                               ranks(pair[column].to_numpy(float)))
    # the report's rank-correlation matrix entry for these runs
    rho, p = float(rank_correlations(runs, [column, other_column]).iloc[0, 1]), float(p)
    evidence = (f"Spearman ρ({column}, {other_column}) = {rho:+.2f} over {len(pair)} runs, "
                f"permutation p = {format_p(p)} (needs {MIN_RANK_RUNS} runs)")
    supports = None if not math.isfinite(rho) or rho == 0 else rho > 0
    return TrendTest(p, supports, f"{len(pair)} runs", len(pair) >= MIN_RANK_RUNS, evidence)


def _tradeoff_better(claim: pd.Series, runs: pd.DataFrame, column: str,
                     argument: str) -> TrendTest | tuple[str, str]:
    """Runs (every seed a point) in the (cost, score) plane. T = P(a run of the model dominates
    a run of OTHER) − P(a run of OTHER dominates a run of the model), dominated = lower-or-equal
    cost and higher-or-equal score, one strictly; permutation test over the model labels of the
    runs. The configuration means are described in the evidence."""
    other, _, cost = argument.partition(":")
    mine = _run_points(_claim_model_runs(runs, claim["model"]), column, cost)
    theirs = _run_points(_claim_model_runs(runs, other), column, cost)
    mine_means = _config_means(_claim_model_runs(runs, claim["model"]), column, cost)
    their_means = _config_means(_claim_model_runs(runs, other), column, cost)
    if not len(mine) or not len(theirs):
        return "not enough data", (f"{len(mine)} {claim['model']} and {len(theirs)} {other} "
                                   f"run(s) with both {column} and {cost}")
    points = np.concatenate([mine, theirs])
    labels = np.r_[np.ones(len(mine)), np.zeros(len(theirs))]
    n_mine, n_theirs = len(mine), len(theirs)
    value, p, _ = permutation_test(dominance_statistic(dominance_matrix(points)), labels)
    value, p = float(value), float(p)
    free = [q for q in mine_means if not any(_dominates(r, q) for r in their_means)]
    beaten = [q for q in their_means if any(_dominates(r, q) for r in mine_means)]
    evidence = (f"P({claim['model']} run dominates {other} run) − P(reverse) = {value:+.2f} "
                f"over {n_mine} and {n_theirs} runs, permutation p = {format_p(p)} (dominated = "
                f"lower-or-equal {cost} and higher-or-equal {column}); configuration means: "
                f"{len(free)} of {len(mine_means)} {claim['model']} configurations not dominated "
                f"by any of the {len(their_means)} {other} ones, {len(beaten)} {other} "
                f"configuration(s) dominated in turn. Points ({cost}, {column}): "
                f"{claim['model']} " + _points_text(mine_means) + f"; {other} "
                + _points_text(their_means))
    supports = None if value == 0 else value > 0
    return TrendTest(p, supports, f"{n_mine} vs {n_theirs} runs",
                     min(n_mine, n_theirs) >= MIN_SEEDS, evidence)


def _run_points(runs: pd.DataFrame, column: str, cost: str) -> np.ndarray:
    """(cost, score) of every run with both finite, shape (n, 2)."""
    if cost not in runs or column not in runs:
        return np.zeros((0, 2))
    pair = np.c_[pd.to_numeric(runs[cost], errors="coerce"),
                 pd.to_numeric(runs[column], errors="coerce")]
    return pair[np.isfinite(pair).all(axis=1)]


def _config_means(runs: pd.DataFrame, column: str, cost: str) -> list[tuple[float, float]]:
    """(mean cost, mean score) per configuration, finite ones only."""
    if cost not in runs or column not in runs:
        return []
    points = []
    for group in _config_groups(runs):
        c = pd.to_numeric(group[cost], errors="coerce").mean()
        s = pd.to_numeric(group[column], errors="coerce").mean()
        if math.isfinite(c) and math.isfinite(s):
            points.append((float(c), float(s)))
    return points


def _dominates(p: tuple[float, float], q: tuple[float, float]) -> bool:
    """p = (cost, score) dominates q: no worse on both, better on one."""
    return p[0] <= q[0] and p[1] >= q[1] and (p[0] < q[0] or p[1] > q[1])


def _points_text(points: list[tuple[float, float]]) -> str:
    return " ".join(f"({c:.4g}, {s:.3g})" for c, s in sorted(points))


#: check name -> function(claim, runs of one sweep setting, score column, argument): a
#: :class:`TrendTest`, or ("not enough data", why) when there is nothing to test.
TREND_CHECKS: dict[str, Callable[..., TrendTest | tuple[str, str]]] = {
    "increases_with": _monotone(+1),
    "decreases_with": _monotone(-1),
    "greater_than": _greater_than,
    "less_than": _less_than,
    "greater_than_same": _greater_than_same,
    "peaks_inside": _peaks_inside,
    "seed_spread_comparable": _seed_spread_comparable,
    "rank_correlated": _rank_correlated,
    "tradeoff_better": _tradeoff_better,
}


def spearman(x: pd.Series, y: pd.Series) -> float:
    """Spearman rank correlation (average ranks for ties); NaN when either side is constant."""
    rx, ry = pd.Series(np.asarray(x)).rank(), pd.Series(np.asarray(y)).rank()
    if rx.nunique() < 2 or ry.nunique() < 2:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


# --- formatting -----------------------------------------------------------------------------
def format_mean_std(mean: float, std: float, n: int) -> str:
    """``0.812 ± 0.031 (n=3)``; ``0.812 (n=1)`` without a spread."""
    if not math.isfinite(std):
        return f"{mean:.4g} (n={n})"
    return f"{mean:.4g} ± {std:.2g} (n={n})"


def _claimed_text(claim: pd.Series) -> str:
    if not math.isfinite(claim["value"]):
        return claim["provenance"].lower()
    text = f"{claim['value']:.4g}"
    if math.isfinite(claim["std"]):
        text += f" ± {claim['std']:.2g}"
    seeds = claim["seeds"] or "not stated"
    return f"{text} (seeds: {seeds})"


def _claim_label(claim: pd.Series) -> str:
    return f"{claim['model']}({claim['hyperparams']})" if claim["hyperparams"] else claim["model"]


def _budget(run: Any) -> str:
    steps = run.get("steps")
    parts = [f"{int(steps):,} steps" if _finite(steps) else "steps unknown"]
    if run.get("architecture"):
        parts.append(f"{run.get('architecture')} architecture")
    return ", ".join(parts)


def _std(values: pd.Series) -> float:
    return float(values.std(ddof=1)) if len(values) > 1 else math.nan


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _nan_to_zero(value: Any) -> float:
    return float(value) if _finite(value) else 0.0


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


# --- outputs: terminal table, CSV/Markdown files, report section ----------------------------
PRINTED_VALUE_COLUMNS = ["claim_id", "model", "dataset", "metric", "claimed", "measured",
                         "verdict", "reason"]
PRINTED_TREND_COLUMNS = ["claim_id", "model", "metric", "check", "verdict", "evidence"]


def claims_tables(results: pd.DataFrame,
                  claims: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(value comparisons, trend checks) for a results frame (each model's values averaged
    over its evaluation seeds first: evaluation seeds are not training seeds)."""
    from ..sweep.results import model_means

    claims = load_claims() if claims is None else claims
    results = model_means(results)
    return compare_claims(results, claims), check_trends(results, claims)


def verdict_counts(table: pd.DataFrame) -> str:
    """``3 consistent, 30 not comparable``: the verdicts of a table, counted."""
    counts = table["verdict"].value_counts()
    return ", ".join(f"{count} {verdict}" for verdict, count in counts.items()) or "no claims"


TREND_RULE = (f"A trend verdict rests on a test over training seeds (Welch's t or a permutation "
              f"test on the per-seed values), Holm-corrected over the claims of this report: "
              f"holds / does not hold only at adjusted p < {ALPHA:g} with at least {MIN_SEEDS} "
              f"seeds a side, else inconclusive (p = adjusted p, n = seeds).")
NO_MATCH = "(no run in these results matches a value claim)"


def split_matched(values: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(value rows with measured runs, rows no run matched)."""
    matched = values["n"] > 0
    return values[matched], values[~matched]


def unmatched_line(unmatched: pd.DataFrame) -> str:
    """One line for the claims no run matched (their reasons are in claims_values.csv)."""
    if unmatched.empty:
        return ""
    return (f"{len(unmatched)} value claim(s) match no run here (other models, datasets or "
            f"metrics; reasons in claims_values.csv): {', '.join(unmatched['claim_id'])}")


def format_claims_text(values: pd.DataFrame, trends: pd.DataFrame) -> str:
    """Both tables as plain text for the terminal (value claims no run matched: one line)."""
    matched, unmatched = split_matched(values)
    parts = [f"Value claims ({verdict_counts(values)}):",
             _text_table(matched[PRINTED_VALUE_COLUMNS]) if len(matched) else NO_MATCH,
             unmatched_line(unmatched),
             "", f"Trend claims ({verdict_counts(trends)}):",
             _text_table(trends[PRINTED_TREND_COLUMNS])]
    return "\n".join(parts)


def _text_table(frame: pd.DataFrame) -> str:
    """Left-aligned plain-text columns (the last one unpadded)."""
    if frame.empty:
        return "(none)"
    cells = [[str(c) for c in frame.columns]]
    cells += [["" if v is None else str(v) for v in row] for row in frame.itertuples(index=False)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(frame.columns) - 1)]
    return "\n".join("  ".join([*(v.ljust(w) for v, w in zip(row, widths)), row[-1]]).rstrip()
                     for row in cells)


def claims_markdown(values: pd.DataFrame, trends: pd.DataFrame) -> str:
    """The report's claims section in Markdown (heading level 2)."""
    lines = ["## Papers' claims", "",
             "Claimed vs measured (mean ± std over seeds). A value verdict is given only when "
             "the runs follow the paper's protocol; otherwise the reason is stated. " + TREND_RULE
             + " Rules: docs/claims.md.",
             "", f"### Value claims ({verdict_counts(values)})", "",
             _markdown_table(split_matched(values)[0][PRINTED_VALUE_COLUMNS]), "",
             unmatched_line(split_matched(values)[1]), "",
             f"### Trend claims ({verdict_counts(trends)})", "",
             _markdown_table(trends[PRINTED_TREND_COLUMNS]), ""]
    return "\n".join(lines)


def _markdown_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "(none)"

    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def claims_html(values: pd.DataFrame, trends: pd.DataFrame) -> str:
    """The report's claims section as an HTML fragment (verdict cells carry a CSS class
    ``verdict-<word>`` for colouring)."""
    return "\n".join([
        "<section id=\"claims\"><h2>Papers' claims</h2>",
        "<p>Claimed vs measured (mean ± std over seeds). A value verdict is given only when the "
        "runs follow the paper's protocol; otherwise the reason is stated. "
        + html.escape(TREND_RULE) + "</p>",
        f"<h3>Value claims ({html.escape(verdict_counts(values))})</h3>",
        _html_table(split_matched(values)[0][PRINTED_VALUE_COLUMNS]),
        f"<p>{html.escape(unmatched_line(split_matched(values)[1]))}</p>",
        f"<h3>Trend claims ({html.escape(verdict_counts(trends))})</h3>",
        _html_table(trends[PRINTED_TREND_COLUMNS]), "</section>"])


def _html_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<p>(none)</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for row in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, row):
            verdict = str(value).partition(" (")[0].replace(" ", "-")
            css = f" class=\"verdict-{verdict}\"" if column == "verdict" else ""
            cells.append(f"<td{css}>{html.escape(str(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<table class=\"claims\"><thead><tr>{head}</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def claims_section(results: pd.DataFrame,
                   claims: pd.DataFrame | None = None) -> tuple[str, str]:
    """(Markdown, HTML) of the claims section for the report of ``results``."""
    values, trends = claims_tables(results, claims)
    return claims_markdown(values, trends), claims_html(values, trends)


def write_claims(results_dir: Path | str, results: pd.DataFrame | None = None,
                 claims: pd.DataFrame | None = None, *, dest: Path | str | None = None,
                 ) -> tuple[pd.DataFrame, pd.DataFrame, list[Path]]:
    """Compare the runs in ``results_dir`` with the claims and write, atomically,
    ``claims_values.csv``, ``claims_trends.csv`` and ``claims.md`` there (or in ``dest``).

    Returns (value comparisons, trend checks, written paths).
    """
    from ..atomic import write_text_atomic
    from ..sweep import RunStore, load_results

    root = Path(results_dir)
    if results is None:
        RunStore(root).check_layout()
        if not RunStore(root).model_ids():
            raise ValueError(f"no results store at {root} (no {root / 'models'}); run a sweep "
                             f"with --out {root} first")
    results = load_results(root) if results is None else results
    values, trends = claims_tables(results, claims)
    out = root if dest is None else Path(dest)
    paths = [write_text_atomic(out / "claims_values.csv", values.to_csv(index=False)),
             write_text_atomic(out / "claims_trends.csv", trends.to_csv(index=False)),
             write_text_atomic(out / "claims.md", claims_markdown(values, trends))]
    return values, trends, paths
