"""Command-line interface (thin): parses arguments and calls the package layers."""

from __future__ import annotations

import argparse
import sys


def _datasets_command(argv: list[str]) -> int:
    from .data.preview import describe_datasets

    argparse.ArgumentParser(prog="run_benchmark.py datasets",
                            description="List the datasets and their factors.").parse_args(argv)
    print(describe_datasets())
    return 0


def _preview_command(argv: list[str]) -> int:
    from .data import get_dataset
    from .data.preview import save_factor_sweep_grid

    parser = argparse.ArgumentParser(
        prog="run_benchmark.py preview",
        description="Write a PNG grid: one row per factor, swept across its values.",
    )
    parser.add_argument("--dataset", default="dsprites-procedural")
    parser.add_argument("--out", default=None, help="PNG path (default results/preview-NAME.png)")
    parser.add_argument("--seed", type=int, default=0, help="picks the base factors")
    args = parser.parse_args(argv)
    dataset = get_dataset(args.dataset)
    out = args.out or f"results/preview-{args.dataset}.png"
    path = save_factor_sweep_grid(dataset, out, seed=args.seed)
    print(f"wrote {path}")
    return 0


SUBCOMMANDS = {"datasets": _datasets_command, "preview": _preview_command}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        try:
            return SUBCOMMANDS[argv[0]](argv[1:])
        except (KeyError, ValueError, RuntimeError) as error:
            message = error.args[0] if isinstance(error, KeyError) and error.args else error
            print(f"error: {message}", file=sys.stderr)
            return 2
    print("the benchmark runner is not built yet; try `run_benchmark.py datasets` or `preview`",
          file=sys.stderr)
    return 2
