"""Agreement of ``dci_fast`` (histogram GBT, split-gain importance) with the exact ``dci``
(sklearn GradientBoostingClassifier, disentanglement_lib's estimator).

Without arguments: synthetic representations of dSprites' factor grid (identity with noise,
rotations, dense entangled mixes, duplicated and dead codes, a nonlinear mix). With ``--runs``:
trained models saved by ``TrainedModel.save`` (each directory's dataset is taken from its
config; the representation is the posterior mean). Prints D, C, I_test of both estimators per
representation, the mean absolute differences and the correlation across representations, and
the time of each estimator.

    python benchmarks/dci_agreement.py [--num-train 10000 --num-test 5000] [--runs DIR ...]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from disentangle_bench.metrics import dci, dci_fast

try:  # the synthetic grid lives next to this script
    from metrics_speed import FactorVectors
except ImportError:  # run from the repository root as a module path
    from benchmarks.metrics_speed import FactorVectors


def synthetic_representations(num_codes: int = 10, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    n_factors = len(FactorVectors.factor_sizes)
    hashing = rng.normal(size=(n_factors, num_codes))

    def pseudo_noise(x):
        return np.sin(1e4 * x @ hashing)

    def flat(observations):
        return observations.reshape(len(observations), -1).astype(np.float64)

    def linear(mix, noise):
        return lambda obs: flat(obs) @ mix + noise * pseudo_noise(flat(obs))

    eye = np.eye(n_factors, num_codes)
    rotation = np.linalg.qr(rng.normal(size=(num_codes, num_codes)))[0]
    pairs = np.eye(num_codes)
    for a, b in ((1, 2), (3, 4)):
        half = np.sqrt(0.5)
        pairs[[a, a, b, b], [a, b, a, b]] = [half, half, -half, half]
    tanh_mix = eye + 0.3 * rng.normal(size=eye.shape)
    duplicated = np.zeros((n_factors, num_codes))
    duplicated[1:, 0:5] = np.eye(5)
    duplicated[1:, 5:10] = np.eye(5)
    return {
        "identity, noise 0.02": linear(eye, 0.02),
        "identity, noise 0.2": linear(eye, 0.2),
        "identity, noise 0.5": linear(eye, 0.5),
        "two rotated pairs": linear(eye @ pairs, 0.05),
        "random rotation": linear(eye @ rotation, 0.05),
        "dense mix + noise 0.2": linear(rng.normal(size=(n_factors, num_codes)), 0.2),
        "duplicated codes": linear(duplicated, 0.05),
        "half mix, half identity": linear(eye + 0.5 * rng.normal(size=eye.shape) * (
            np.arange(num_codes) < 5), 0.1),
        "nonlinear (tanh of mix)": lambda obs: np.tanh(3 * flat(obs) @ tanh_mix)
        + 0.05 * pseudo_noise(flat(obs)),
    }


def draws(dataset, represent, num_train, num_test):
    out = []
    for split, n in ((0, num_train), (1, num_test)):
        rng = np.random.default_rng([0, split])
        factors = dataset.sample_factors(n, rng)
        observations = dataset.sample_observations_from_factors(factors, rng)
        codes = np.concatenate([
            np.asarray(represent(observations[i:i + 8192])) for i in range(0, n, 8192)
        ])
        out += [factors, codes]
    return out


def trained_representations(run_dirs):
    from disentangle_bench.data import get_dataset
    from disentangle_bench.training import TrainedModel

    for run_dir in run_dirs:
        model = TrainedModel.load(run_dir)
        yield run_dir, get_dataset(model.config.dataset), model.encode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-train", type=int, default=10000)
    parser.add_argument("--num-test", type=int, default=5000)
    parser.add_argument("--runs", nargs="*", default=None, help="TrainedModel directories")
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()
    if args.runs:
        cases = list(trained_representations(args.runs))
    else:
        grid = FactorVectors()
        cases = [(name, grid, rep) for name, rep in synthetic_representations().items()]
    keys = ("disentanglement", "completeness", "informativeness_test")
    rows, seconds = [], {"exact": 0.0, "fast": 0.0}
    print(f"{'representation':<28}" + "".join(f"{k[:4] + ' ' + e:>12}" for k in keys
                                             for e in ("exact", "fast")))
    for name, dataset, represent in cases:
        arrays = draws(dataset, represent, args.num_train, args.num_test)
        started = time.perf_counter()
        exact = dci(*arrays, n_jobs=args.n_jobs)
        seconds["exact"] += time.perf_counter() - started
        started = time.perf_counter()
        fast = dci_fast(*arrays, n_jobs=args.n_jobs)
        seconds["fast"] += time.perf_counter() - started
        rows.append([[exact[k], fast[k]] for k in keys])
        print(f"{name[:27]:<28}" + "".join(f"{exact[k]:>12.3f}{fast[k]:>12.3f}" for k in keys),
              flush=True)
    values = np.asarray(rows)  # (cases, keys, 2)
    for i, key in enumerate(keys):
        diff = np.abs(values[:, i, 0] - values[:, i, 1])
        corr = np.corrcoef(values[:, i, 0], values[:, i, 1])[0, 1] if len(values) > 2 else np.nan
        print(f"{key}: mean |exact - fast| = {diff.mean():.3f}, max = {diff.max():.3f}, "
              f"Pearson r = {corr:.3f}")
    print(f"time: exact {seconds['exact']:.0f} s, fast {seconds['fast']:.0f} s "
          f"(ratio {seconds['exact'] / max(seconds['fast'], 1e-9):.1f}x), n={args.num_train}/"
          f"{args.num_test}, n_jobs={args.n_jobs}")


if __name__ == "__main__":
    main()
