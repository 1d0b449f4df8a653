"""UDR as model selection: Spearman's rank correlation between each model's UDR (stored by
``sweep/udr.py``, column ``udr.model_score``) and each supervised score, across models (Duan et
al. 2020, Table 1 / Fig. 3: the paper's headline result is that UDR ranks models as the
supervised metrics do).

Each model counts once (its mean over evaluation seeds, ``sweep.model_means``), over the
finished models with both values finite. ρ is scipy's ``spearmanr`` (average ranks) and p its
two-sided test of ρ = 0 (the t approximation). With fewer than :data:`MIN_CONCLUSIVE` models the
verdict is ``inconclusive`` whatever p says.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..sweep.results import model_means
from .stats import ALPHA
from .tables import value_columns

UDR_COLUMN = "udr.model_score"
#: Models below which a correlation is called inconclusive (Duan et al. rank hundreds).
MIN_CONCLUSIVE = 10
COLUMNS = ["score", "rho", "p", "n", "verdict"]

NEEDS_SEEDS = ("UDR (Duan et al. 2020) compares models of one configuration trained with "
               "different seeds, so it needs `--num-seeds` ≥ 2; this sweep has no "
               "configuration with 2 trained seeds, so no UDR was computed.")
ALL_UNDEFINED = ("UDR was computed for each configuration with 2 or more trained seeds, but it "
                 "is undefined (NaN) for every model; each model's reason (e.g. no active "
                 "latent, or no posterior for the AE) is listed under the undefined scores.")
NOTE = ("UDR (Duan et al. 2020): each model's median agreement with the other seeds of its "
        "configuration (lasso on shared observations; protocol in the Metric protocols table, "
        "definition in docs/metrics.md). Spearman's ρ "
        "between UDR and each supervised score across models (each model once, averaged over "
        f"evaluation seeds), two-sided p; below {MIN_CONCLUSIVE} models, or p ≥ {ALPHA}, "
        "inconclusive.")


def supervised_columns(results: pd.DataFrame) -> list[str]:
    """Score columns of registered metrics that use ground-truth factors (not the
    ``unsupervised`` kind, not UDR)."""
    from ..metrics import list_metrics, metric_spec

    known = set(list_metrics())
    return [c for c in value_columns(results)
            if (metric := c.partition(".")[0]) in known
            and metric_spec(metric).kind != "unsupervised"]


def udr_correlations(results: pd.DataFrame) -> pd.DataFrame:
    """One row per supervised score: ``rho``, ``p``, ``n`` (models with both finite) and
    ``verdict`` (``positive`` / ``negative`` when p < 0.05 with n ≥ :data:`MIN_CONCLUSIVE`,
    else ``inconclusive``; ``undefined (...)`` with n < 3 or a constant side). Empty without UDR."""
    if UDR_COLUMN not in results.columns:
        return pd.DataFrame(columns=COLUMNS)
    import scipy.stats

    means = model_means(results)
    means = means[means["status"] == "finished"]
    udr = pd.to_numeric(means[UDR_COLUMN], errors="coerce")
    rows = []
    for column in supervised_columns(results):
        other = pd.to_numeric(means[column], errors="coerce")
        keep = np.isfinite(udr.to_numpy(float)) & np.isfinite(other.to_numpy(float))
        n = int(keep.sum())
        rho = p = math.nan
        if n >= 3 and udr[keep].nunique() > 1 and other[keep].nunique() > 1:
            result = scipy.stats.spearmanr(udr[keep], other[keep])
            rho, p = float(result.statistic), float(result.pvalue)
        if math.isnan(rho):
            verdict = "undefined (n < 3)" if n < 3 else "undefined (a constant side)"
        elif n >= MIN_CONCLUSIVE and p < ALPHA:
            verdict = "positive" if rho > 0 else "negative"
        else:
            verdict = "inconclusive"
        rows.append({"score": column, "rho": rho, "p": p, "n": n, "verdict": verdict})
    return pd.DataFrame(rows, columns=COLUMNS)


def udr_markdown(results: pd.DataFrame) -> str:
    """The report's UDR section body (Markdown): the note and the table, or why there is none."""
    if UDR_COLUMN not in results.columns:
        return NEEDS_SEEDS
    if not pd.to_numeric(results[UDR_COLUMN], errors="coerce").notna().any():
        return ALL_UNDEFINED
    table = udr_correlations(results)
    lines = [NOTE, "", "| score | Spearman ρ with UDR | p | n models | verdict |",
             "|---|---:|---:|---:|---|"]
    for row in table.itertuples(index=False):
        rho = "–" if math.isnan(row.rho) else f"{row.rho:.2f}"
        p = "–" if math.isnan(row.p) else f"{row.p:.3g}"
        lines.append(f"| {row.score} | {rho} | {p} | {row.n} | {row.verdict} |")
    return "\n".join(lines)
