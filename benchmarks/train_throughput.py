"""Training and encoding throughput of the standard conv network on 64×64 images, batch 64.

Measured in one process, in interleaved rounds (the CPUs are shared, so medians of rounds):

- ``bare fp32``: a plain PyTorch loop on the same network and loss (NCHW tensors, Adam,
  a batch from the same data pipeline each step) — the baseline;
- ``train() default``: our :func:`train` with its default precision (``auto``: fp32 on CPUs
  without native bf16) — channels-last tensors, deterministic algorithms, logging;
- ``train() fp32`` and ``train() bf16``: the explicit precision flags.

Our loop's images/s is read from its own training log (windows after the first).
Then the compute ceiling: the network's multiply-accumulates per training image (forward, plus
weight and input gradients; the input image needs none) against this machine's fp32 matrix-
multiply rate (a 2048³ ``torch.mm``) — the images/s no fp32 implementation of this network can
beat here, and what share of it a given speed-up over the bare loop would need.
Then a short-run quality check: final reconstruction and KL after ``--quality-steps`` steps of
bf16 vs fp32, same seed, side by side. Finally ``TrainedModel.encode`` vs a bare batch-64
encoder loop. Usage::

    python benchmarks/train_throughput.py [--rounds 5] [--steps 12] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from disentangle_bench.data import get_dataset, observation_batch
from disentangle_bench.models import build_architecture
from disentangle_bench.models.base import bernoulli_nll, gaussian_kl_per_dim
from disentangle_bench.training import TrainConfig, TrainedModel, resolve_precision, train

DATASET = "dsprites-procedural"
BATCH = 64
TARGET_RATIO = 1.8  # the speed target of the models-and-training issue


class BareVAE(torch.nn.Module):
    """The same network and VAE loss written as a plain PyTorch user would."""

    def __init__(self, observation_shape):
        super().__init__()
        self.encoder, self.decoder = build_architecture("conv", observation_shape, 10)

    def forward(self, x):
        mean, logvar = self.encoder(x)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        reconstruction = bernoulli_nll(self.decoder(z), x).mean()
        return reconstruction + gaussian_kl_per_dim(mean, logvar).sum(1).mean()


def bare_fp32_images_per_s(dataset, model, optimizer, start: int, steps: int) -> float:
    began = time.perf_counter()
    for step in range(start, start + steps):
        x = torch.from_numpy(observation_batch(dataset, BATCH, 0, step))
        loss = model(x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return steps * BATCH / (time.perf_counter() - began)


def our_images_per_s(dataset, precision: str, steps: int, seed: int) -> float:
    config = TrainConfig(
        model="vae", dataset=DATASET, steps=3 * steps, log_every=steps, checkpoint_every=0,
        seed=seed, precision=precision, device="cpu",
    )  # fmt: skip
    log = train(config, progress=False, dataset=dataset).log
    return statistics.median(row["images_per_s"] for row in log[1:])


def throughput(dataset, rounds: int, steps: int) -> dict[str, list[float]]:
    torch.manual_seed(0)
    bare = BareVAE(dataset.observation_shape)
    optimizer = torch.optim.Adam(bare.parameters(), lr=1e-4)
    bare_fp32_images_per_s(dataset, bare, optimizer, 0, 2)  # warm-up
    results: dict[str, list[float]] = {k: [] for k in ("bare", "default", "fp32", "bf16")}
    results["matmul GMAC/s"] = []  # the ceiling's yardstick, in the same rounds (shared CPUs)
    for r in range(rounds):
        results["matmul GMAC/s"].append(matmul_macs_per_s() / 1e9)
        results["bare"].append(bare_fp32_images_per_s(dataset, bare, optimizer, r * steps, steps))
        results["default"].append(our_images_per_s(dataset, "auto", steps, r))
        results["fp32"].append(our_images_per_s(dataset, "fp32", steps, r))
        if r < max(1, rounds // 2):  # bf16 is informative only; it can be slow on AVX2 CPUs
            results["bf16"].append(our_images_per_s(dataset, "bf16", max(2, steps // 3), r))
        line = ", ".join(f"{k} {v[-1]:.0f}" for k, v in results.items() if v)
        print(f"  round {r + 1}/{rounds}: images/s {line}", flush=True)
    return results


def quality(dataset, steps: int) -> dict[str, dict[str, float]]:
    rows = {}
    for precision in ("fp32", "bf16"):
        config = TrainConfig(
            model="vae", dataset=DATASET, steps=steps, log_every=max(1, steps // 4),
            checkpoint_every=0, seed=0, precision=precision, device="cpu",
        )  # fmt: skip
        began = time.perf_counter()
        last = train(config, progress=False, dataset=dataset).log[-1]
        rows[precision] = {
            "reconstruction": last["reconstruction"], "kl": last["kl"],
            "seconds": time.perf_counter() - began,
        }  # fmt: skip
    return rows


def training_macs_per_image(observation_shape) -> int:
    """Multiply-accumulates to train on one image: each conv/deconv/linear layer costs its
    forward MACs three times (forward, weight gradient, input gradient), except that the first
    layer needs no input gradient."""
    encoder, decoder = build_architecture("conv", observation_shape, 10)
    forward: list[int] = []

    def count(layer, inputs, output):
        if isinstance(layer, torch.nn.ConvTranspose2d):
            k = layer.kernel_size[0] * layer.kernel_size[1]
            forward.append(inputs[0][0].numel() * layer.out_channels * k)
        elif isinstance(layer, torch.nn.Conv2d):
            k = layer.kernel_size[0] * layer.kernel_size[1]
            forward.append(output[0].numel() * layer.in_channels * k)
        elif isinstance(layer, torch.nn.Linear):
            forward.append(layer.in_features * layer.out_features)

    for module in [*encoder.modules(), *decoder.modules()]:
        if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)):
            module.register_forward_hook(count)
    with torch.no_grad():
        mean, _ = encoder(torch.zeros(1, *observation_shape))
        decoder(mean)
    return 3 * sum(forward) - forward[0]


def matmul_macs_per_s(size: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    began = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return repeats * size**3 / (time.perf_counter() - began)


def encode_throughput(dataset, n: int, rounds: int) -> dict[str, list[float]]:
    config = TrainConfig(model="vae", dataset=DATASET, steps=1, checkpoint_every=0)
    trained = train(config, progress=False, dataset=dataset)
    images = dataset.sample_observations(n, np.random.default_rng(0))
    encoder = BareVAE(dataset.observation_shape).encoder.eval()
    encoder.load_state_dict(trained.model.encoder.state_dict())
    results: dict[str, list[float]] = {"bare batch-64 loop": [], "TrainedModel.encode": []}
    for _ in range(rounds):
        began = time.perf_counter()
        with torch.no_grad():
            bare = np.concatenate([
                encoder(torch.from_numpy(images[i : i + 64]))[0].numpy()
                for i in range(0, n, 64)
            ])  # fmt: skip
        results["bare batch-64 loop"].append(n / (time.perf_counter() - began))
        began = time.perf_counter()
        ours = trained.encode(images)
        results["TrainedModel.encode"].append(n / (time.perf_counter() - began))
    print(f"  max |encode - bare encoder| = {np.abs(ours - bare).max():.2e}")
    assert isinstance(trained, TrainedModel)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=12, help="steps per timed window")
    parser.add_argument("--quality-steps", type=int, default=100)
    parser.add_argument("--encode-images", type=int, default=4096)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dataset = get_dataset(DATASET)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU capability "
        f"{torch.backends.cpu.get_cpu_capability()}, precision 'auto' resolves to "
        f"{resolve_precision('auto', torch.device('cpu'))!r}"
    )
    print(f"training throughput, conv network, batch {BATCH}, 64x64 ({DATASET}):")
    results = throughput(dataset, args.rounds, args.steps)
    base = statistics.median(results["bare"])
    for name, label in [
        ("bare", "bare PyTorch fp32 loop"), ("default", "train() default"),
        ("fp32", "train() precision='fp32'"), ("bf16", "train() precision='bf16'"),
    ]:  # fmt: skip
        median = statistics.median(results[name])
        print(f"  {label:28s} {median:8.0f} images/s   {median / base:5.2f}x bare fp32")
    ratio = statistics.median(results["default"]) / base
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(f"  target: train() default >= {TARGET_RATIO}x the bare fp32 loop: {verdict} "
          f"({ratio:.2f}x)")
    macs = training_macs_per_image(dataset.observation_shape)
    peak = statistics.median(results["matmul GMAC/s"]) * 1e9
    ceiling = peak / macs
    print(f"compute ceiling: {macs / 1e6:.1f} M multiply-accumulates per training image; fp32 "
          f"matmul runs at {peak / 1e9:.1f} GMAC/s here -> at most {ceiling:.0f} images/s")
    ours = statistics.median(results["default"])
    print(f"  bare loop at {base / ceiling:.0%} of the ceiling, train() default at "
          f"{ours / ceiling:.0%}; 1.8x the bare loop would need {1.8 * base / ceiling:.0%}")
    print(f"short-run quality, {args.quality_steps} steps, seed 0 (last log window):")
    rows = quality(dataset, args.quality_steps)
    print(f"  {'':6s} {'reconstruction':>15s} {'kl':>8s} {'seconds':>8s}")
    for precision, row in rows.items():
        numbers = f"{row['reconstruction']:15.2f} {row['kl']:8.2f} {row['seconds']:8.1f}"
        print(f"  {precision:6s} {numbers}")
    print(f"encoding throughput, {args.encode_images} images:")
    for name, values in encode_throughput(dataset, args.encode_images, args.rounds).items():
        print(f"  {name:28s} {statistics.median(values):8.0f} images/s")


if __name__ == "__main__":
    main()
