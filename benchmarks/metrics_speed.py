"""Speed of the metric suite at the standard protocol sizes on a cheap representation.

The dataset is a synthetic grid with dSprites' factor sizes (colour 1, shape 3, scale 6,
orientation 40, posX 32, posY 32) whose "image" is the normalised factor vector, and the
representation is a fixed noisy linear mix of it into 10 codes, so the encoder's own cost is
not counted. Prints each metric's seconds (``paper`` sizes; DCI with the fast estimator), the
seconds spent drawing and encoding the shared i.i.d. samples, and the total. Options:

    python benchmarks/metrics_speed.py            # suite with dci_fast
    python benchmarks/metrics_speed.py --exact    # + exact DCI (GBT) with n_jobs=2, and the ratio
    python benchmarks/metrics_speed.py --serial   # + exact DCI with n_jobs=1 (the dlib baseline)
    python benchmarks/metrics_speed.py --encoder  # + conv-encoder throughput (fp32 / bf16)
    python benchmarks/metrics_speed.py --udr      # + UDR of one configuration group (5 seeds,
                                                  #   1,000 points, 10 latents, lasso)
    python benchmarks/metrics_speed.py --cpu      # + CPU seconds per metric in one process
                                                  #   (n_jobs=1; robust on a loaded machine)
    python benchmarks/metrics_speed.py --cpu-preset [--metrics all]
        # the sweep's cpu preset sizes: CPU seconds of each metric of its default set (or of
        # every metric), and the ratio of the whole set to the seven metrics the suite had
        # before issue 15 (target: <= 1.5)
    python benchmarks/metrics_speed.py --model [DIR] [--sizes paper cpu]
        # only: the whole suite with a real trained conv encoder (a TrainedModel directory, or
        # one trained here for --train-steps on dsprites-procedural) at the paper sizes (preset
        # fast) and the cpu sweep preset's sizes, with the code cache and without, in one run;
        # prints the seconds, the ratios, whether the scores are identical, and the CPU type

disentanglement_lib's own code on an idle 2-core machine (issue 4): MIG 0.1 s, SAP 0.9 s,
DCI 258 s. Timings on a shared machine are noisy: compare the ratios printed in one run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from disentangle_bench.data import GroundTruthDataset
from disentangle_bench.metrics import dci, evaluate, list_metrics

DSPRITES_SIZES = (1, 3, 6, 40, 32, 32)
NAMES = ("color", "shape", "scale", "orientation", "posX", "posY")


class FactorVectors(GroundTruthDataset):
    """dSprites' factor grid; an observation is its factor vector scaled to [0, 1]."""

    name = "factor-vectors"
    factor_names = NAMES
    factor_sizes = DSPRITES_SIZES
    observation_shape = (len(DSPRITES_SIZES), 1, 1)

    def sample_observations_from_factors(self, factors, rng):
        factors = self._check_factors(factors)
        scale = np.maximum(np.asarray(self.factor_sizes) - 1, 1)
        return (factors / scale).astype(np.float32)[:, :, None, None]


def cheap_representation(num_codes: int = 10, noise: float = 0.05, seed: int = 0):
    rng = np.random.default_rng(seed)
    mix = np.eye(len(DSPRITES_SIZES), num_codes) + 0.3 * rng.normal(
        size=(len(DSPRITES_SIZES), num_codes)
    )
    hashing = rng.normal(size=(len(DSPRITES_SIZES), num_codes))

    def represent(observations):
        x = observations.reshape(len(observations), -1).astype(np.float64)
        return x @ mix + noise * np.sin(1e4 * x @ hashing)  # fixed pseudo-noise per image

    return represent


#: The suite before issue 15: the baseline of the cpu-preset budget (today's + 50 %).
BASELINE_METRICS = ("beta_vae", "factor_vae", "mig", "dci", "sap", "modularity_explicitness",
                    "unsupervised")


def run_suite(dataset, represent) -> float:
    started = time.perf_counter()
    result = evaluate(dataset, represent, BASELINE_METRICS, preset="fast")
    total = time.perf_counter() - started
    print(f"{'metric':<26}{'seconds':>9}")
    for name in BASELINE_METRICS:
        print(f"{name:<26}{result[name]['seconds']:>9.2f}")
    print(f"{'(shared i.i.d. draws)':<26}{result['_sampling']['seconds']:>9.2f}")
    print(f"{'total (dci_fast)':<26}{total:>9.2f}")
    print("dci_fast scores:", {k: round(v, 4) for k, v in result["dci"]["scores"].items()})
    return total


def cpu_seconds(dataset, represent) -> None:
    """CPU time of each metric computed in this process alone (n_jobs=1): on a shared machine
    this, not the wall time, says what an idle machine would take (divide the parallel parts,
    DCI, SAP and explicitness, by the number of cores)."""
    total = 0.0
    for name in BASELINE_METRICS:
        started = time.process_time()
        evaluate(dataset, represent, [name], preset="fast", n_jobs=1)
        seconds = time.process_time() - started
        total += seconds
        print(f"{name:<26}{seconds:>9.2f} CPU s")
    print(f"{'total (dci_fast), 1 core':<26}{total:>9.2f} CPU s")


def cpu_preset_budget(dataset, represent, every: bool) -> None:
    """CPU seconds (one process, n_jobs=1; the shared draws counted once, up front) of each
    metric at the sweep's cpu preset sizes, and the ratio of the set to the pre-issue-15 suite.
    The draws are not counted: this dataset's "encoder" is free."""
    from disentangle_bench.sweep.grid import resolve_metrics
    from disentangle_bench.sweep.presets import get_preset

    names = resolve_metrics(["all"] if every else None, get_preset("cpu"))
    seconds = {}
    for name in names:
        evaluate(dataset, represent, [name], preset="cpu", n_jobs=1)  # warm imports
        started = time.process_time()
        result = evaluate(dataset, represent, [name], preset="cpu", n_jobs=1)
        spent = time.process_time() - started
        seconds[name] = spent - min(spent, result["_sampling"]["seconds"])
        print(f"{name:<26}{seconds[name]:>9.2f} CPU s")
    baseline = sum(v for k, v in seconds.items() if k in BASELINE_METRICS)
    total = sum(seconds.values())
    print(f"{'pre-issue-15 suite':<26}{baseline:>9.2f} CPU s")
    print(f"{'this set (' + str(len(names)) + ' metrics)':<26}{total:>9.2f} CPU s")
    print(f"ratio {total / baseline:.2f} (target <= 1.50)")


def time_exact_dci(dataset, represent, n_jobs: int) -> float:
    rng_train, rng_test = np.random.default_rng([0, 0]), np.random.default_rng([0, 1])
    ftr = dataset.sample_factors(10000, rng_train)
    fte = dataset.sample_factors(5000, rng_test)
    ctr = represent(dataset.sample_observations_from_factors(ftr, rng_train))
    cte = represent(dataset.sample_observations_from_factors(fte, rng_test))
    started = time.perf_counter()
    scores = dci(ftr, ctr, fte, cte, n_jobs=n_jobs)
    seconds = time.perf_counter() - started
    print(f"dci exact, n_jobs={n_jobs}: {seconds:.1f} s;",
          {k: round(v, 4) for k, v in scores.items()})
    return seconds


def encoder_throughput(batch: int = 2048, seconds: float = 5.0) -> None:
    import torch

    from disentangle_bench.models import get_model

    model = get_model("vae", observation_shape=(1, 64, 64)).eval()
    x = torch.rand(batch, 1, 64, 64)
    for precision in ("fp32", "bf16"):
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16,
                                                    enabled=precision == "bf16"):
            model.posterior(x[:64])  # warm-up
            count, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:
                model.posterior(x)
                count += batch
        rate = count / (time.perf_counter() - started)
        print(f"conv encoder {precision}: {rate:,.0f} images/s; the β-VAE score's 1.92 M images "
              f"take {1.92e6 / rate / 60:.1f} min, the FactorVAE score's 0.97 M "
              f"{0.97e6 / rate / 60:.1f} min")


def cpu_description() -> str:
    """The CPU model, its vector/bf16 flags, torch's thread count and the load average."""
    import os

    import torch

    model, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
    except OSError:
        pass
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")
    present = [flag for flag in wanted if flag in flags] or ["no AVX2"]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{model} ({' '.join(present)}), {os.cpu_count()} cores, torch {torch.__version__} "
            f"with {torch.get_num_threads()} thread(s), load average {load}")


def trained_conv_model(directory: str | None, steps: int):
    from disentangle_bench.training import TrainConfig, TrainedModel, train

    if directory:
        return TrainedModel.load(directory)
    config = TrainConfig(model="beta_vae", dataset="dsprites-procedural", architecture="conv",
                         steps=steps, batch_size=64, lr=1e-3, device="cpu", precision="fp32",
                         checkpoint_every=0, log_every=max(1, steps // 5))
    started = time.perf_counter()
    model = train(config, progress=False)
    print(f"trained a conv beta_vae for {steps} steps in {time.perf_counter() - started:.0f} s")
    return model


def suite_sizes(name: str) -> tuple[str, dict]:
    """(metric preset, overrides) of ``paper`` (the published sizes, fast DCI) or ``cpu``."""
    if name == "paper":
        return "fast", {}
    from disentangle_bench.sweep.presets import get_preset

    preset = get_preset(name)
    return preset.metric_preset, preset.protocol


def time_model_suite(model, sizes: str, n_jobs: int, modes=("on", "off"),
                     metrics=BASELINE_METRICS) -> None:
    """The suite on dsprites-procedural with the code cache (``on``: taken even where ``auto``
    would see no saving, to check the scores) and without (``off``)."""
    from disentangle_bench.data import get_dataset

    dataset = get_dataset("dsprites-procedural")
    preset, overrides = suite_sizes(sizes)
    results, totals = {}, {}
    for mode in modes:
        started = time.perf_counter()
        results[mode] = evaluate(
            dataset, model.encode, list(metrics), preset=preset, overrides=overrides, n_jobs=n_jobs,
            posterior=model.posterior, reconstruction_nll=model.reconstruction_nll,
            code_cache=mode,
        )
        totals[mode] = time.perf_counter() - started
        print(f"  [{sizes}] code_cache={mode}: {totals[mode]:.1f} s", flush=True)
    if set(modes) != {"on", "off"}:
        mode = modes[0]
        print(f"{sizes}: code_cache={mode} only, {totals[mode]:.1f} s;",
              {n: round(results[mode][n]["seconds"], 1) for n in metrics},
              results[mode]["_code_cache"], flush=True)
        return
    cache = results["on"]["_code_cache"]
    auto = "cached" if cache["encoded_images"] < cache["drawn_images"] else "direct"
    print(f"{sizes} sizes (preset {preset}): code cache {cache['path']} ({cache['reason']}); "
          f"encoded {cache['encoded_images']:,} images, {cache['bytes'] / 2**20:.1f} MiB, "
          f"{cache['misses']} misses; code_cache='auto' takes the {auto} path")
    print(f"{'metric':<26}{'cached s':>10}{'direct s':>10}")
    for name in metrics:
        print(f"{name:<26}{results['on'][name]['seconds']:>10.1f}"
              f"{results['off'][name]['seconds']:>10.1f}")
    print(f"{'(shared i.i.d. draws)':<26}{results['on']['_sampling']['seconds']:>10.1f}"
          f"{results['off']['_sampling']['seconds']:>10.1f}")
    print(f"{'(code cache: plan+encode)':<26}{cache['seconds']:>10.1f}{0.0:>10.1f}")
    print(f"{'total':<26}{totals['on']:>10.1f}{totals['off']:>10.1f}")
    identical = all(results["on"][n]["scores"] == results["off"][n]["scores"]
                    for n in metrics)
    print(f"{sizes}: direct / cached = {totals['off'] / totals['on']:.2f}x; "
          f"scores identical: {identical}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exact", action="store_true", help="also time exact DCI, n_jobs=2")
    parser.add_argument("--serial", action="store_true", help="also time exact DCI, n_jobs=1")
    parser.add_argument("--encoder", action="store_true", help="also time a conv encoder")
    parser.add_argument("--cpu", action="store_true", help="also CPU seconds per metric")
    parser.add_argument("--udr", action="store_true",
                        help="also UDR of a 5-seed group (sweep/udr.py), vs the suite")
    parser.add_argument("--cpu-preset", action="store_true",
                        help="only: CPU seconds at the cpu preset sizes and the budget ratio")
    parser.add_argument("--metrics", choices=["default", "all"], default="default",
                        help="with --cpu-preset: the preset's default set or every metric; "
                             "with --model: the unsupervised study's 7 metrics or every one")
    parser.add_argument("--model", nargs="?", const="", default=None, metavar="DIR",
                        help="only: the suite with a trained conv encoder (DIR, or train one)")
    parser.add_argument("--train-steps", type=int, default=300)
    parser.add_argument("--sizes", nargs="+", choices=("paper", "cpu"),
                        default=["paper", "cpu"])
    parser.add_argument("--jobs", type=int, default=1, help="n_jobs of the classifiers")
    parser.add_argument("--modes", nargs="+", choices=("on", "off"), default=["on", "off"],
                        help="with --model: code_cache modes to time (default both)")
    args = parser.parse_args()
    if args.model is not None:
        print(cpu_description(), flush=True)
        model = trained_conv_model(args.model, args.train_steps)
        for sizes in args.sizes:
            metrics = list_metrics() if args.metrics == "all" else BASELINE_METRICS
            time_model_suite(model, sizes, args.jobs, tuple(args.modes), tuple(metrics))
        print(cpu_description())
        return
    dataset, represent = FactorVectors(), cheap_representation()
    if args.cpu_preset:
        cpu_preset_budget(dataset, represent, every=args.metrics == "all")
        return
    fast_total = run_suite(dataset, represent)
    if args.exact:
        parallel = time_exact_dci(dataset, represent, n_jobs=2)
        print(f"exact DCI / whole fast suite: {parallel / fast_total:.1f}x")
    if args.serial:
        serial = time_exact_dci(dataset, represent, n_jobs=1)
        if args.exact:
            print(f"exact DCI parallel / serial: {parallel / serial:.2f} "
                  f"(at dlib's 258 s serial: {258 * parallel / serial:.0f} s)")
    if args.cpu:
        cpu_seconds(dataset, represent)
    if args.encoder:
        encoder_throughput()
    if args.udr:
        seconds = time_udr(dataset, represent)
        print(f"UDR per 5-seed group: {100 * seconds / fast_total:.2f} % of the fast suite "
              f"on one model")


def time_udr(dataset, represent, models: int = 5) -> float:
    """Seconds of ``sweep.udr.group_udr`` at dlib's protocol (1,000 points in batches of 10,
    lasso) on ``models`` seeds of the cheap representation (each a different fixed rotation),
    the encoder's cost included (it is the cheap linear one)."""
    from disentangle_bench.sweep.udr import group_udr

    def posterior(seed):
        rotation = np.linalg.qr(np.random.default_rng(seed).normal(size=(10, 10)))[0]
        return lambda x: (represent(x) @ rotation, np.full((len(x), 10), -1.0))

    group_udr(dataset, [posterior(0), posterior(1)], num_train=100)  # imports, warm-up
    start = time.perf_counter()
    group_udr(dataset, [posterior(s) for s in range(models)], num_train=1000, batch_size=10)
    seconds = time.perf_counter() - start
    print(f"udr ({models} models, 1,000 points): {seconds:.2f} s")
    return seconds


if __name__ == "__main__":
    main()
