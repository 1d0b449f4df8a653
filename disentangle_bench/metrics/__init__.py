"""Disentanglement metrics: plain functions on arrays or on ``(dataset, represent)``, a
registry with the published protocols, and :func:`evaluate`.

Sample-based metrics take ground truth first, as in scikit-learn: ``mig(factors, codes)``,
``dci(factors_train, codes_train, factors_test, codes_test)``. Each returns a dict of named
floats; an uncomputable score is NaN with a ``"reason"`` string. See docs/metrics.md.
"""

from .beta_vae import beta_vae_score
from .dci import completeness, dci, dci_fast, disentanglement
from .dci_es import dci_es
from .dcimig import dcimig
from .downstream import downstream_task
from .factor_vae import factor_vae_score
from .fairness import fairness
from .infomec import infomec
from .irs import irs
from .jemmig import jemmig
from .mig import mig
from .mig_sup import mig_sup
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
from .udr import udr
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
    "MetricInputError",
    "MetricInputs",
    "MetricSpec",
    "PROTOCOLS",
    "ProtocolError",
    "Rule",
    "beta_vae_score",
    "check_metric_names",
    "choice",
    "completeness",
    "dci",
    "dci_es",
    "dci_fast",
    "dcimig",
    "default_protocol",
    "discrete_entropy",
    "discrete_mutual_info",
    "disentanglement",
    "downstream_task",
    "evaluate",
    "factor_list",
    "factor_vae_score",
    "fairness",
    "gaussian_total_correlation",
    "gaussian_wasserstein_correlation",
    "histogram_discretize",
    "infomec",
    "integer",
    "irs",
    "jemmig",
    "kl_to_standard_normal",
    "list_metrics",
    "metric_spec",
    "metric_version",
    "mig",
    "mig_sup",
    "modularity",
    "modularity_explicitness",
    "real",
    "register_metric",
    "resolve_protocol",
    "sap",
    "udr",
    "unregister_metric",
    "unsupervised",
    "unsupervised_scores",
    "validate_protocol",
]
