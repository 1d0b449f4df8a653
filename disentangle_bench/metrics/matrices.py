"""The matrices behind the scalar scores, as plain JSON records.

MIG's mutual-information matrix, DCI's importance matrix and SAP's score matrix are all
(n_codes × n_scored_factors). A record keeps the values, the factor column each matrix column
belongs to, and what a cell means; :func:`name_factors` adds the factor names once the dataset
is known (the metric functions only see arrays).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MATRICES_KEY = "matrices"


def matrix_record(values: np.ndarray, factors: Sequence[int], meaning: str,
                  **extra: list[float]) -> dict:
    """``{"values": [[...] per code], "factors": [factor column per matrix column],
    "meaning": str, **extra}``."""
    values = np.asarray(values, dtype=np.float64)
    return {"values": values.tolist(), "factors": [int(k) for k in factors], "meaning": meaning,
            **{key: [float(v) for v in value] for key, value in extra.items()}}


def name_factors(matrices: dict, factor_names: Sequence[str]) -> dict:
    """Each record of ``matrices`` with ``factor_names``: the names of its columns."""
    return {name: {**record, "factor_names": [str(factor_names[k]) for k in record["factors"]]}
            for name, record in matrices.items()}
