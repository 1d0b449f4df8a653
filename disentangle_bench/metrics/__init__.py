"""Disentanglement metrics: plain functions on arrays or on ``(dataset, represent)``, a
registry with the published protocols, and :func:`evaluate`.

Sample-based metrics take ground truth first, as in scikit-learn: ``mig(factors, codes)``,
``dci(factors_train, codes_train, factors_test, codes_test)``. Each returns a dict of named
floats; an uncomputable score is NaN with a ``"reason"`` string. See docs/metrics.md.
"""

from .beta_vae import beta_vae_score
from .dci import completeness, dci, dci_fast, disentanglement
from .factor_vae import factor_vae_score
from .mig import mig
from .modularity import modularity, modularity_explicitness
from .registry import (
    PROTOCOLS,
    check_metric_names,
    default_protocol,
    evaluate,
    list_metrics,
    metric_spec,
    metric_version,
    register_metric,
    resolve_protocol,
    unregister_metric,
    validate_protocol,
)
from .sap import sap
from .spec import MetricInputs, MetricSpec, ProtocolError, Rule, choice, factor_list, integer, real
from .unsupervised import (
    gaussian_total_correlation,
    gaussian_wasserstein_correlation,
    kl_to_standard_normal,
    unsupervised,
    unsupervised_scores,
)
from .utils import (
    MetricInputError,
    discrete_entropy,
    discrete_mutual_info,
    histogram_discretize,
)

__all__ = [
    "PROTOCOLS",
    "MetricInputError",
    "MetricInputs",
    "MetricSpec",
    "ProtocolError",
    "Rule",
    "choice",
    "factor_list",
    "integer",
    "metric_spec",
    "metric_version",
    "real",
    "register_metric",
    "unregister_metric",
    "validate_protocol",
    "beta_vae_score",
    "check_metric_names",
    "completeness",
    "dci",
    "dci_fast",
    "default_protocol",
    "discrete_entropy",
    "discrete_mutual_info",
    "disentanglement",
    "evaluate",
    "factor_vae_score",
    "gaussian_total_correlation",
    "gaussian_wasserstein_correlation",
    "histogram_discretize",
    "kl_to_standard_normal",
    "list_metrics",
    "mig",
    "modularity",
    "modularity_explicitness",
    "resolve_protocol",
    "sap",
    "unsupervised",
    "unsupervised_scores",
]
