"""Command-line interface (thin): parses arguments and calls the package layers.

``run_benchmark.py [OPTIONS]`` runs a sweep (train a model grid, score it, write the report);
``run_benchmark.py report DIR`` rebuilds a report from a results directory;
``run_benchmark.py evaluate DIR`` scores the stored models (or ``--encoder`` / ``--represent``)
without training;
``run_benchmark.py claims DIR`` compares the results with the papers' claims;
``run_benchmark.py check BASELINE`` is the regression check of scores;
``run_benchmark.py datasets`` / ``preview`` show the datasets; ``download NAME`` fetches a real
dataset file and verifies its checksum.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, NoReturn

#: Exit codes: 0 all runs finished, 1 some run failed, 2 bad arguments, 130 interrupted.
EXIT_OK, EXIT_FAILED_RUNS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

#: Per-model grid flags: flag dest -> hyperparameter name. The flag applies to every selected
#: model that has the hyperparameter.
HPARAM_FLAGS = {"betas": "beta", "gammas": "gamma", "c_maxes": "c_max", "lambdas": "lambda_od"}
DEFAULT_MODELS = ["ae", "beta_vae"]
DEFAULT_BETAS = [1.0, 2.0, 4.0, 8.0]
DEFAULT_DATASET = "dsprites-procedural"


class UsageError(Exception):
    """A bad argument: printed as one line, exit code 2, before anything is trained."""


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (no usage dump) and reach ``main`` as ``UsageError``
    (exit code 2), so in-process callers get a return code rather than ``SystemExit``."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


# --- subcommands kept from the data layer ----------------------------------------------------
def _datasets_command(argv: list[str]) -> int:
    from .data.preview import describe_datasets

    _Parser(prog="run_benchmark.py datasets",
            description="List the datasets and their factors.").parse_args(argv)
    print(describe_datasets())
    return 0


def _preview_command(argv: list[str]) -> int:
    from .data import get_dataset
    from .data.preview import image_format, save_factor_sweep_grid

    parser = _Parser(
        prog="run_benchmark.py preview",
        description="Write an image grid: one row per factor, swept across its values.",
    )
    parser.add_argument("--dataset", default=DEFAULT_DATASET,
                        help=f"dataset to show (default {DEFAULT_DATASET}; list them with "
                             "`run_benchmark.py datasets`)")
    parser.add_argument("--out", default=None,
                        help="image path; its suffix sets the format: .png (default "
                             "results/preview-NAME.png), .jpg, .svg, .pdf")
    parser.add_argument("--seed", type=int, default=0, help="picks the base factors")
    args = parser.parse_args(argv)
    out = args.out or f"results/preview-{args.dataset}.png"
    image_format(out)
    _writable(Path(out).parent, "--out's folder")
    dataset = get_dataset(args.dataset)
    path = save_factor_sweep_grid(dataset, out, seed=args.seed)
    print(f"wrote {path}")
    return 0


def _download_command(argv: list[str]) -> int:
    from .data.files import REPO_DATASETS, download, downloadable, remote_files

    parser = _Parser(
        prog="run_benchmark.py download",
        description="Download a real dataset file, verify its published checksum, and put it "
                    "where the loaders look (default: the repository's datasets/).",
    )
    parser.add_argument("name", choices=downloadable())
    parser.add_argument("--dir", default=None, help="destination folder (default datasets/)")
    args = parser.parse_args(argv)
    remotes = remote_files(args.name)
    try:
        path = download(args.name, args.dir)
    except OSError as error:  # no network, refused, disk full: nothing partial is left behind
        folder = Path(args.dir) if args.dir else REPO_DATASETS
        print(f"error: cannot download {args.name} from {remotes[0].url}: {error}; "
              f"check the network, or fetch the file by hand into {folder}/", file=sys.stderr)
        return EXIT_FAILED_RUNS
    print(f"{args.name}: {path} ("
          + ("checksum verified)" if all(r.algorithm for r in remotes) else "no checksum is "
             "published; every run records the file's SHA-256)"))
    return 0


def _report_command(argv: list[str]) -> int:
    from .report import write_report

    parser = _Parser(prog="run_benchmark.py report",
                     description="Rebuild tables, plots, report.html and report.md from a "
                                 "results directory (no training).")
    parser.add_argument("out", metavar="DIR", help="results directory of a sweep (its --out)")
    parser.add_argument("--all", action="store_true",
                        help="report every run in the store, not only the last sweep's")
    parser.add_argument("--dest", metavar="DEST", default=None,
                        help="write the tables, plots and report into DEST instead of DIR "
                             "(e.g. when DIR is read-only)")
    args = parser.parse_args(argv)
    from .sweep import RunStore

    store = RunStore(args.out)
    store.check_layout()
    if not store.model_ids():
        raise UsageError(f"no models in {args.out!r} (expected {args.out}/models/<id>/config.json)"
                         "; give the --out directory of a sweep")
    _writable(args.dest or args.out, "--dest" if args.dest else "DIR")
    paths = write_report(args.out, all_runs=args.all, dest=args.dest)
    print(paths.table_text)
    _print_problems(paths.problems)
    print(f"report: {paths.html}")
    return 0


def _print_problems(problems: list[str]) -> None:
    """One line per model or evaluation that a corrupt file or a failure keeps out."""
    for line in problems:
        print(f"warning: {line}", file=sys.stderr)


def _evaluate_command(argv: list[str]) -> int:
    from .sweep.presets import PRESETS

    parser = _Parser(
        prog="run_benchmark.py evaluate",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Score without training. With DIR alone: every trained model of the sweep "
                    "in DIR, computing only the (model, metric, protocol, seed) evaluations "
                    "not yet stored, then rewrite the tables and the report; idempotent and "
                    "resumable. With --encoder or --represent: score that encoder on --dataset "
                    "and store it in DIR beside the trained models (labelled by its source).",
        epilog="examples:\n"
               "  python run_benchmark.py evaluate results/dsprites-procedural-cpu "
               "--eval-seeds 0 1 2\n"
               "  python run_benchmark.py evaluate results/dsprites-procedural-cpu "
               "--eval-seeds 0 1 2 --metrics dci --protocol dci.estimator=exact\n"
               "  python run_benchmark.py evaluate DIR --encoder enc.pt2 --dataset "
               "dsprites-procedural --name my_vae\n"
               "  python run_benchmark.py evaluate DIR --represent mypkg.codes:represent "
               "--dataset tiny")
    parser.add_argument("out", metavar="DIR", help="results directory (a sweep's --out)")
    parser.add_argument("--metrics", nargs="+", metavar="NAME",
                        help="metrics to add to the evaluation set (default: the sweep's)")
    parser.add_argument("--eval-seeds", nargs="+", type=int, metavar="S",
                        help="evaluation seeds (default: the sweep's); the tables average "
                             "over them and show their spread")
    parser.add_argument("--preset", choices=list(PRESETS),
                        help="protocol sizes of the metrics named in --metrics (default: the "
                             "sweep's preset)")
    parser.add_argument("--protocol", nargs="+", default=[], metavar="METRIC.PARAM=VALUE",
                        help="override a protocol parameter of a metric in --metrics")
    parser.add_argument("--all", action="store_true",
                        help="every trained model in DIR, not only the last sweep's")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--encoder", metavar="FILE",
                        help="an encoder saved with torch.export.save (dynamic batch dimension)")
    source.add_argument("--represent", metavar="MODULE:FUNCTION",
                        help="any Python function observations (n, C, H, W) -> codes (n, d)")
    parser.add_argument("--dataset", help="dataset of --encoder / --represent")
    parser.add_argument("--name", default=None,
                        help="name of the --encoder / --represent entry in the tables "
                             "(default: the file's or function's name)")
    parser.add_argument("--model", default=None,
                        help="what the --encoder / --represent entry is, for the claims "
                             "comparison (e.g. beta_vae; default: its name)")
    parser.add_argument("--hparams", nargs="+", default=[], metavar="PARAM=VALUE",
                        help="its hyperparameters, e.g. beta=4 (claims match on them)")
    parser.add_argument("--no-report", action="store_true",
                        help="skip plots and report.html/.md (tables are still written)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    protocol = _protocol_overrides(args.protocol)
    _writable(args.out, "DIR")
    if (args.encoder or args.represent) and not args.dataset:
        raise UsageError("--encoder and --represent need --dataset NAME")
    if (args.dataset or args.name or args.model or args.hparams) and not (
            args.encoder or args.represent):
        raise UsageError("--dataset, --name, --model and --hparams are for --encoder / "
                         "--represent; a sweep's models keep their own")
    if args.encoder or args.represent:
        return _evaluate_external(args, protocol)
    from .sweep import RunStore, evaluate_store
    from .sweep.udr import update_store_udr

    summary = evaluate_store(args.out, metrics=args.metrics, eval_seeds=args.eval_seeds,
                             preset=args.preset, protocol=protocol, all_models=args.all,
                             command="run_benchmark.py evaluate " + shlex.join(argv),
                             progress=not args.quiet)
    store = RunStore(args.out)
    udr = update_store_udr(store, store.model_ids() if args.all else None)
    _finish_evaluation(args, summary.lines() + udr.lines())
    return EXIT_OK if summary.ok and not udr.failures else EXIT_FAILED_RUNS


def _evaluate_external(args: argparse.Namespace, protocol: dict[str, dict[str, Any]]) -> int:
    from .sweep.evaluate import (
        evaluate_representation,
        file_sha256,
        import_callable,
        load_exported_encoder,
    )

    if args.encoder:
        represent = load_exported_encoder(args.encoder)
        source = {"kind": "encoder", "file": str(Path(args.encoder).resolve()),
                  "sha256": file_sha256(args.encoder)}
        name = args.name or Path(args.encoder).stem
    else:
        from .sweep.evaluate import describe_callable

        represent = import_callable(args.represent)
        source = {**describe_callable(represent), "target": args.represent}
        name = args.name or args.represent.rpartition(":")[2]
    from .sweep.grid import parse_value

    hparams = {}
    for text in args.hparams:
        key, sep, value = text.partition("=")
        if not sep or not key or not value:
            raise UsageError(f"--hparams expects PARAM=VALUE, got {text!r}")
        hparams[key] = parse_value(value)
    start = time.perf_counter()
    try:
        rows = evaluate_representation(represent, args.dataset, out=args.out, name=name,
                                       metrics=args.metrics, eval_seeds=args.eval_seeds,
                                       preset=args.preset, protocol=protocol, source=source,
                                       model=args.model, hparams=hparams)
    except RuntimeError as error:  # a metric failed on it (recorded in DIR): not a usage error
        print(f"FAILED {_one_line(error)}", file=sys.stderr)
        return EXIT_FAILED_RUNS
    entry = rows["run_id"].iloc[0] if len(rows) else name
    _finish_evaluation(args, [f"{entry}: {len(rows)} evaluation seed(s) scored in "
                              f"{time.perf_counter() - start:.0f} s, nothing trained"])
    return EXIT_OK


def _finish_evaluation(args: argparse.Namespace, lines: list[str]) -> None:
    from .report import write_report, write_tables

    paths = write_tables(args.out, all_runs=args.all) if args.no_report else \
        write_report(args.out, all_runs=args.all)
    print(paths.table_text)
    _print_problems(paths.problems)
    for line in lines:
        print(line, file=sys.stderr if line.startswith("FAILED") else sys.stdout)
    print(f"tables: {paths.summary_csv}, {paths.summary_md}")
    if not args.no_report:
        print(f"report: {paths.html} (and {paths.markdown.name})")


def _protocol_overrides(texts: list[str]) -> dict[str, dict[str, Any]]:
    """``["mig.num_train=2000"]`` → ``{"mig": {"num_train": 2000}}`` (one value each)."""
    from .sweep.grid import parse_assignment

    protocol: dict[str, dict[str, Any]] = {}
    for text in texts:
        metric, param, values = parse_assignment(text, what="--protocol")
        # several values only for a list parameter (mig.exclude_factors=shape,scale)
        protocol.setdefault(metric, {})[param] = values[0] if len(values) == 1 else values
    return protocol


def _check_command(argv: list[str]) -> int:
    from .report import regression

    parser = _Parser(
        prog="run_benchmark.py check",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Regression check: re-run the configuration recorded in a baseline file "
                    "and compare every recorded score with its tolerance. Exit 0 when all are "
                    "within tolerance, 1 otherwise. See docs/regression.md.",
        epilog="examples:\n"
               "  python run_benchmark.py check results/baselines/ci.json\n"
               "  python run_benchmark.py check results/baselines/ci.json --update-baseline\n"
               "  python run_benchmark.py check new.json --create --train-seeds 1 2 -- "
               "--models beta_vae --betas 4 --preset smoke --device cpu\n"
               "  (several sweeps in one baseline: -- SWEEP 1 OPTIONS -- SWEEP 2 OPTIONS)",
    )
    parser.add_argument("baseline", metavar="BASELINE", help="baseline JSON file")
    parser.add_argument("--out", metavar="DIR",
                        help="run into DIR (kept) instead of a temporary directory")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--update-baseline", action="store_true",
                        help="re-run the recorded configuration and REWRITE the baseline "
                             "(scores, versions, tolerances), atomically")
    action.add_argument("--create", action="store_true",
                        help="make a new baseline from the sweep options after `--`")
    parser.add_argument("--eval-seeds", type=int, default=None, metavar="N",
                        help="with --create/--update-baseline: extra evaluation seeds that "
                             f"measure each score's spread (default {regression.DEFAULT_EVAL_SEEDS}"
                             ", or the baseline's own)")
    parser.add_argument("--train-seeds", nargs="+", type=int, default=None, metavar="S",
                        help="with --create/--update-baseline: extra training seeds whose "
                             "spread also bounds the tolerances (default none, or the "
                             "baseline's own)")
    parser.add_argument("--description", default="", help="with --create: what it is for")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    own, sweep = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv \
        else (argv, [])
    args = parser.parse_args(own)
    sweeps = _split_sweeps(sweep)
    if sweep and not args.create:
        raise UsageError("sweep options after `--` are only used with --create")
    if args.create and not sweeps:
        raise UsageError("--create needs the sweep to record after `--`, e.g. check new.json "
                         "--create -- --models beta_vae --betas 4 --preset smoke")
    if args.out:
        _writable(args.out, "--out")
    if args.create or args.update_baseline:
        _writable(Path(args.baseline).resolve().parent, "BASELINE's folder")
    progress = not args.quiet
    if args.create:
        specs = [spec for options in sweeps for spec in _plan(options)[1]]
        commands = " ; ".join(shlex.join(["run_benchmark.py", *options]) for options in sweeps)
        record = regression.make_baseline_file(
            args.baseline, specs, out=args.out, command=commands,
            description=args.description, eval_seeds=args.eval_seeds,
            train_seeds=args.train_seeds or (), progress=progress)
        print(regression.describe_baseline(record, args.baseline))
        return EXIT_OK
    if args.update_baseline:
        record = regression.update_baseline(args.baseline, args.out, eval_seeds=args.eval_seeds,
                                            train_seeds=args.train_seeds, progress=progress)
        print(regression.describe_baseline(record, args.baseline))
        return EXIT_OK
    result = regression.check_baseline(args.baseline, args.out, progress=progress)
    print(result.text())
    return EXIT_OK if result.passed else EXIT_FAILED_RUNS


def _split_sweeps(argv: list[str]) -> list[list[str]]:
    """``A -- B`` → ``[A, B]``: several sweeps after ``check --create --``."""
    groups: list[list[str]] = [[]]
    for token in argv:
        if token == "--":
            groups.append([])
        else:
            groups[-1].append(token)
    return [group for group in groups if group]


def _claims_command(argv: list[str]) -> int:
    from .report import claims

    parser = _Parser(prog="run_benchmark.py claims",
                     description="Compare the runs in a results directory with the papers' "
                                 "claims (value claims: consistent / higher / lower / not "
                                 "comparable; trend claims: holds / does not hold / not enough "
                                 "data). Writes DIR/claims_values.csv, claims_trends.csv and "
                                 "claims.md. See docs/claims.md.")
    parser.add_argument("out", metavar="DIR", help="results directory of a sweep")
    parser.add_argument("--table", metavar="CSV", default=None,
                        help="claims table to use (default: the shipped claims.csv)")
    parser.add_argument("--dest", metavar="DEST", default=None,
                        help="write the claims files into DEST instead of DIR (e.g. when DIR "
                             "is read-only)")
    args = parser.parse_args(argv)
    table = None
    if args.table:
        if not Path(args.table).is_file():
            raise UsageError(f"--table {args.table}: no such file; give a claims CSV with the "
                             "columns of the shipped disentangle_bench/report/claims.csv")
        try:
            table = claims.load_claims(args.table)
        except (OSError, ValueError, KeyError) as error:
            raise UsageError(f"--table {args.table}: cannot read it as a claims table "
                             f"({_one_line(error)})") from None
    if (Path(args.out) / "models").is_dir():
        _writable(args.dest or args.out, "--dest" if args.dest else "DIR")
    values, trends, paths = claims.write_claims(args.out, claims=table, dest=args.dest)
    print(claims.format_claims_text(values, trends))
    print(f"\nwritten: {', '.join(str(p) for p in paths)}")
    return EXIT_OK


SUBCOMMANDS = {"datasets": _datasets_command, "preview": _preview_command,
               "download": _download_command, "evaluate": _evaluate_command,
               "report": _report_command, "check": _check_command, "claims": _claims_command}


# --- the runner -------------------------------------------------------------------------------
def _presets_help() -> str:
    from .sweep.presets import DEFAULT_PRESET, PRESETS

    lines = []
    for preset in PRESETS.values():
        default = " (default)" if preset.name == DEFAULT_PRESET else ""
        lines += textwrap.wrap(f"{preset.name}{default}: {preset.summary}", width=92,
                               initial_indent="  ", subsequent_indent="      ")
        lines += textwrap.wrap(preset.budget_line(), width=92, initial_indent="      ",
                               subsequent_indent="      ")
    return "\n".join(lines)


def _executors_help() -> str:
    from .sweep.executors import executor_class, list_executors

    return "\n".join(f"  {name}: {executor_class(name).summary}" for name in list_executors())


EPILOG = """\
model grid:
  The runs are, per selected model, the product of its hyperparameter grids, times the seeds.
  --betas/--gammas/--c-maxes/--lambdas set the grid of beta/gamma/c_max/lambda_od of every
  selected model that has that hyperparameter (an error if none has it); --grid MODEL.PARAM=
  V1,V2 sets any hyperparameter of one model. beta_vae at beta=1 IS the vae and is trained
  once. DIP-VAE's lambda_d follows lambda_od as in disentanglement_lib's study (x10 for
  dip_vae_i, x1 for dip_vae_ii) unless set itself. Without --models the models are
  `ae beta_vae` (the AE baseline plus a beta-VAE per beta); with no grid option at all the
  default is --betas 1 2 4 8.

presets (explicit --steps, --lr, --protocol, ... override them):
{presets}

executors:
{executors}

results store (--out DIR, default results/DATASET-PRESET):
  trained models in DIR/models/<model>-<hash of what determines the weights>/{{config.json,
  checkpoint/, train_log.csv, artifacts.npz, trained.json | error.json}}, their evaluations
  in .../evals/<metric>-s<seed>-<hash of the protocol>.json. Re-running the same command skips
  what is stored, resumes interrupted training from its last checkpoint, and computes only
  missing evaluations: adding a metric or an evaluation seed trains nothing (`run_benchmark.py
  evaluate DIR --eval-seeds 0 1 2`). Failures are recorded and retried on the next invocation;
  the exit code is 1 when any run failed, 2 on bad arguments.
  Tables: DIR/summary.csv|md (mean, 95 % interval and n over training seeds, the spread over
  evaluation seeds) and DIR/results.csv (one row per model and evaluation seed);
  report: DIR/report.html (self-contained) and DIR/report.md; python API:
  disentangle_bench.sweep.load_results(DIR).

examples:
  python run_benchmark.py --betas 1 2 4 8
  python run_benchmark.py --preset smoke
  python run_benchmark.py --models factor_vae --gammas 10 20 40 --seeds 0 1 2
  python run_benchmark.py --models annealed_vae --grid annealed_vae.c_max=5,25 --num-seeds 2
  python run_benchmark.py --metrics mig sap --protocol mig.num_train=2000
  python run_benchmark.py report results/dsprites-procedural-cpu
  python run_benchmark.py evaluate results/dsprites-procedural-cpu --eval-seeds 0 1 2
"""


def build_parser() -> argparse.ArgumentParser:
    """The runner's argument parser (the main path: no subcommand)."""
    from .sweep.executors import executor_class, list_executors
    from .sweep.presets import DEFAULT_PRESET, PRESETS

    parser = _Parser(
        prog="run_benchmark.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a grid of disentanglement models, score every model with the metric "
                    "suite, and write tables, plots and a report. Subcommands: `datasets`, "
                    "`preview`, `download NAME`, `report DIR`, `evaluate DIR` (score stored "
                    "models or any encoder without training), `claims DIR` (papers' claims vs "
                    "the runs), `check BASELINE` (regression check of scores).",
        epilog=EPILOG.format(presets=_presets_help(), executors=_executors_help()),
    )
    grid = parser.add_argument_group("model grid")
    grid.add_argument("--models", nargs="+", metavar="NAME",
                      help=f"models to train (default: {' '.join(DEFAULT_MODELS)}); see "
                           "disentangle_bench.models.list_models()")
    grid.add_argument("--betas", nargs="+", type=float, metavar="B",
                      help="beta grid of beta_vae / beta_tcvae (default 1 2 4 8 when no "
                           "model or grid option is given)")
    grid.add_argument("--gammas", nargs="+", type=float, metavar="G",
                      help="gamma grid of factor_vae / annealed_vae")
    grid.add_argument("--c-maxes", nargs="+", type=float, metavar="C",
                      help="c_max grid of annealed_vae")
    grid.add_argument("--lambdas", nargs="+", type=float, metavar="L",
                      help="lambda_od grid of dip_vae_i / dip_vae_ii")
    grid.add_argument("--grid", nargs="+", default=[], metavar="MODEL.PARAM=V1,V2",
                      help="any hyperparameter grid, e.g. annealed_vae.iteration_threshold=1000")
    seeds = grid.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", nargs="+", type=int, metavar="S",
                       help="training seeds (default: 0 .. N-1 with the preset's N: "
                            + ", ".join(f"{p.name} {p.seeds}" for p in PRESETS.values()) + ")")
    seeds.add_argument("--num-seeds", type=int, metavar="N", help="seeds 0 .. N-1")

    budget = parser.add_argument_group("data and training budget (default: the preset's)")
    budget.add_argument("--preset", choices=list(PRESETS), default=DEFAULT_PRESET,
                        help=f"training budget and metric protocol (default {DEFAULT_PRESET}; "
                             "see below)")
    budget.add_argument("--dataset", default=DEFAULT_DATASET,
                        help=f"ground-truth dataset (default {DEFAULT_DATASET}; list them with "
                             "`run_benchmark.py datasets`)")
    budget.add_argument("--dataset-option", nargs="+", default=[], metavar="KEY=VALUE",
                        help="a constructor option of the dataset, e.g. source=file to build "
                             "color-dsprites / noisy-dsprites on the real dSprites file "
                             "(default source=procedural); part of the model id")
    budget.add_argument("--steps", type=int, help="training steps per run")
    budget.add_argument("--batch-size", type=int, help="training batch size")
    budget.add_argument("--lr", type=float, help="Adam learning rate (the peak one with a "
                        "schedule)")
    budget.add_argument("--lr-schedule", choices=["constant", "cosine"],
                        help="learning rate over the run (default: the preset's): constant, "
                             "or cosine decay to 0 at the last step")
    budget.add_argument("--warmup-steps", type=int, metavar="STEPS",
                        help="linear learning-rate warm-up over the first STEPS steps (default: "
                             "the preset's)")
    budget.add_argument("--kl-warmup-steps", type=int, default=0, metavar="STEPS",
                        help="scale the regulariser (KL, TC, ...) linearly from 0 to 1 over "
                             "the first STEPS steps (default 0: off)")
    budget.add_argument("--latent-dim", type=int,
                        help="latent size (default: the preset's; 10 for paper and smoke, one "
                             "per ground-truth factor for cpu)")
    budget.add_argument("--architecture", default="auto",
                        choices=["auto", "conv", "conv_paper", "mlp"],
                        help="encoder/decoder (default auto: the preset's network, mlp for cpu; "
                             "presets without one: conv for 64x64 images, else mlp)")
    budget.add_argument("--precision", choices=["auto", "bf16", "fp32"],
                        help="training precision (default: the preset's; auto = bf16 on CUDA "
                             "and on CPUs with native bf16, else fp32)")
    budget.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                        help="training device (default auto: CUDA when present)")
    budget.add_argument("--checkpoint-every", type=int, metavar="STEPS",
                        help="checkpoint interval in steps (default: the preset's); like "
                             "--device it does not change results, so not the model id either")

    metrics = parser.add_argument_group("metrics")
    metrics.add_argument("--metrics", nargs="+", metavar="NAME",
                         help="metrics to compute: names, or 'all' for every registered metric "
                              "(default: the preset's set, e.g. cpu leaves out fairness)")
    metrics.add_argument("--protocol", nargs="+", default=[], metavar="METRIC.PARAM=VALUE",
                         help="override a metric protocol parameter, e.g. mig.num_train=2000")
    metrics.add_argument("--eval-seeds", "--eval-seed", dest="eval_seeds", nargs="+", type=int,
                         default=[0], metavar="S",
                         help="evaluation seeds: every model is scored at each (default 0); "
                              "the tables average over them and show their spread")
    metrics.add_argument("--eval-every", type=int, default=0, metavar="K",
                         help="also score every K-th training step on a cheap subset (MIG, "
                              "FactorVAE score, KL, reconstruction; eval_log.csv per run, "
                              "plotted against the step in the report); default 0: never")

    run = parser.add_argument_group("execution and output")
    run.add_argument("--executor", default="local", choices=list_executors(),
                     help="where runs execute (default local)")
    run.add_argument("--jobs", type=int, default=None,
                     help="runs at once (local: 1 = in-process, N = N spawned processes; "
                          "default: the preset's, cpu: the cores free at the start, at most "
                          "one per run; paper and smoke: 1)")
    run.add_argument("--threads", type=int, default=None, metavar="N",
                     help="torch threads per run (default: OMP_NUM_THREADS when set, else the "
                          "cores free at the start, i.e. cores minus the load average, divided "
                          "by --jobs); the count changes the last digits, each run records it")
    for name in list_executors():
        executor_class(name).add_arguments(run)
    run.add_argument("--out", metavar="DIR",
                     help="results directory (default results/DATASET-PRESET)")
    run.add_argument("--force", action="store_true",
                     help="delete and re-run this sweep's runs even when finished")
    run.add_argument("--no-report", action="store_true",
                     help="skip plots and report.html/.md (tables are still written)")
    run.add_argument("--dry-run", action="store_true",
                     help="print the runs that would execute, then exit")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                     help="import MODULE (or call MODULE:FUNCTION) first: a package that "
                          "registers models, metrics or datasets (repeatable; any subcommand; "
                          "installed 'disentangle_bench.plugins' entry points load too; "
                          "docs/extending.md). Runs record each plugin's version in their id")
    return parser


def _positive(args: argparse.Namespace, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(args, name)
        if value is not None and not value > 0:
            raise UsageError(f"--{name.replace('_', '-')} must be positive, got {value}")


def build_request(args: argparse.Namespace) -> Any:
    """Turn parsed arguments into a ``SweepRequest``; raises ``UsageError`` for bad ones."""
    from .models import list_models, model_defaults
    from .sweep.grid import SweepRequest, parse_assignment, parse_value
    from .sweep.presets import get_preset

    _positive(args, ("steps", "batch_size", "lr", "latent_dim", "jobs", "threads", "num_seeds",
                     "checkpoint_every"))
    for name in ("warmup_steps", "kl_warmup_steps"):
        value = getattr(args, name)
        if value is not None and value < 0:
            raise UsageError(f"--{name.replace('_', '-')} must be >= 0, got {value}")
    if args.eval_every < 0:
        raise UsageError(f"--eval-every must be 0 (never) or a positive number of steps, got "
                         f"{args.eval_every}")
    if args.seeds is not None and min(args.seeds) < 0:
        raise UsageError(f"--seeds must be non-negative, got {min(args.seeds)}")
    if min(args.eval_seeds) < 0:
        raise UsageError(f"--eval-seeds must be non-negative, got {min(args.eval_seeds)}")
    flagged = {dest: getattr(args, dest) for dest in HPARAM_FLAGS if getattr(args, dest)}
    models = list(dict.fromkeys(args.models or DEFAULT_MODELS))
    if args.models is None and not flagged and not args.grid:
        flagged = {"betas": DEFAULT_BETAS}
    for model in models:
        if model not in list_models():
            raise UsageError(f"unknown model {model!r}; known models: {', '.join(list_models())}")

    grids: dict[str, dict[str, list[Any]]] = {}
    for dest, values in flagged.items():
        param = HPARAM_FLAGS[dest]
        owners = [m for m in models if param in model_defaults(m)]
        if not owners:
            having = [m for m in list_models() if param in model_defaults(m)]
            raise UsageError(f"--{dest.replace('_', '-')} sets {param!r}, which none of the "
                             f"selected models ({' '.join(models)}) has; add one of "
                             f"{', '.join(having)} to --models")
        for model in owners:
            grids.setdefault(model, {})[param] = list(values)
    for text in args.grid:
        model, param, values = parse_assignment(text, what="--grid")
        if param in grids.get(model, {}):
            raise UsageError(f"--grid sets {model}.{param}, which another option already sets")
        grids.setdefault(model, {})[param] = values
    protocol = _protocol_overrides(args.protocol)
    dataset_kwargs: dict[str, Any] = {}
    for text in args.dataset_option:
        key, _, value = text.partition("=")
        if not key or not value or key in dataset_kwargs:
            raise UsageError(f"--dataset-option expects distinct KEY=VALUE, got {text!r}")
        dataset_kwargs[key] = parse_value(value)
    preset = get_preset(args.preset)
    seeds = (list(range(args.num_seeds)) if args.num_seeds
             else args.seeds or list(range(preset.seeds)))
    return SweepRequest(
        models=models, preset=preset, grids=grids,
        seeds=list(dict.fromkeys(seeds)), dataset=args.dataset, dataset_kwargs=dataset_kwargs,
        steps=args.steps,
        batch_size=args.batch_size, lr=args.lr, lr_schedule=args.lr_schedule,
        warmup_steps=args.warmup_steps, kl_warmup_steps=args.kl_warmup_steps,
        latent_dim=args.latent_dim,
        architecture=args.architecture, precision=args.precision, device=args.device,
        checkpoint_every=args.checkpoint_every,
        metrics=args.metrics, protocol=protocol, eval_seeds=list(dict.fromkeys(args.eval_seeds)),
        eval_every=args.eval_every,
    )


def _plan(argv: list[str]) -> tuple[argparse.Namespace, list[Any], Any]:
    """Parse and validate everything; returns (args, specs, executor). Raises ``UsageError``."""
    from .data import DatasetError
    from .sweep import executor_class, expand

    args = build_parser().parse_args(argv)
    try:
        request = build_request(args)
        specs = expand(request)
        if args.jobs is None:
            args.jobs = request.preset.jobs_for(len(specs))
        _check_executor_options(args)
        executor = executor_class(args.executor).from_args(args)
    except UsageError:
        raise
    except (KeyError, ValueError, TypeError, DatasetError) as error:
        raise UsageError(_one_line(error)) from error
    return args, specs, executor


def _check_executor_options(args: argparse.Namespace) -> None:
    """An option of an executor other than ``--executor``'s (e.g. ``--scheduler`` with the
    local executor) would be silently ignored: refuse it instead."""
    from .sweep import executor_class, list_executors

    for name in list_executors():
        if name == args.executor:
            continue
        probe = argparse.ArgumentParser(add_help=False)
        executor_class(name).add_arguments(probe)
        for action in probe._actions:
            if getattr(args, action.dest, action.default) != action.default:
                raise UsageError(f"{action.option_strings[0]} is an option of the {name} "
                                 f"executor; add --executor {name} or drop it")


def _one_line(error: BaseException) -> str:
    message = error.args[0] if isinstance(error, KeyError) and error.args else error
    return str(message).strip().splitlines()[0] if str(message).strip() else type(error).__name__


def _print_plan(specs: list[Any], out: str, executor: Any) -> None:
    print(_budget(specs))
    train = specs[0].train
    options = "".join(f" {k}={v}" for k, v in sorted(train.get("dataset_kwargs", {}).items()))
    print(f"dataset {train['dataset']}{options}, architecture {train['architecture']}, "
          f"latent {train['latent_dim']}, {train['precision']}, "
          f"metrics: {', '.join(specs[0].metrics)}")
    print(f"{len(specs)} run{'s' if len(specs) != 1 else ''} -> {out} ({executor.describe()})")


def _writable(path: str | Path, option: str) -> None:
    """``UsageError`` (one line) unless results can be written into directory ``path``."""
    from .atomic import NotWritable, check_writable_dir

    try:
        check_writable_dir(path, option=option)
    except NotWritable as error:
        raise UsageError(str(error)) from None


def _run(argv: list[str]) -> int:
    from .sweep import RunStore, run_sweep
    from .sweep.udr import update_store_udr

    args, specs, executor = _plan(argv)
    out = args.out or f"results/{args.dataset}-{args.preset}"
    _writable(out, "--out" if args.out else "the default --out")
    _print_plan(specs, out, executor)
    _warn_paper_on_cpu(specs, executor)
    if args.dry_run:
        for spec in specs:
            print(f"  {spec.label()}  {spec.run_id}")
        return EXIT_OK
    from .sweep.results import evaluation_set

    store = RunStore(out)
    store.check_layout()
    run_ids, evaluation = _widened(store, [s.run_id for s in specs], evaluation_set(specs))
    manifest = {"command": "run_benchmark.py " + shlex.join(argv), "preset": args.preset,
                "budget": _budget(specs), "run_ids": run_ids, "evaluation": evaluation,
                "version": specs[0].version,
                "executor": executor.describe(), "started": _now()}
    store.write_sweep(manifest)
    summary = run_sweep(specs, store, executor, force=args.force, progress=not args.quiet)
    store.write_sweep({**manifest, "finished": _now(), "summary": summary.to_dict()})
    udr = update_store_udr(store)  # per configuration with >= 2 trained seeds
    _finish(store, summary, report=not args.no_report, extra=udr.lines())
    return EXIT_OK if summary.ok and not udr.failures else EXIT_FAILED_RUNS


def _widened(store: Any, run_ids: list[str], evaluation: dict[str, Any],
             ) -> tuple[list[str], dict[str, Any]]:
    """Re-running a sweep keeps what `evaluate` added to it: the previous manifest's external
    entries, and its evaluation seeds and metrics when it had the same models."""
    previous = store.read_sweep() or {}
    before = previous.get("run_ids") or []
    external = [r for r in before if r not in run_ids and
                ((store.read_config(r) or {}).get("source") or {}).get("kind") not in
                (None, "trained")]
    if set(run_ids) <= set(before) and previous.get("evaluation"):
        old = previous["evaluation"]
        evaluation = {**evaluation,
                      "protocol": {**(old.get("protocol") or {}), **evaluation["protocol"]},
                      "eval_seeds": list(dict.fromkeys([*evaluation["eval_seeds"],
                                                        *(old.get("eval_seeds") or [])]))}
    return run_ids + external, evaluation


def _warn_paper_on_cpu(specs: list[Any], executor: Any) -> None:
    """``--preset paper`` on a CPU: say so, with the time per run measured here, first."""
    from .training import TrainConfig, resolve_device, time_training_steps

    train = specs[0].train
    if specs[0].preset != "paper" or resolve_device(train["device"]).type != "cpu":
        return
    seconds = time_training_steps(TrainConfig.from_dict(train)) * train["steps"]
    runs = len(specs) / max(1, getattr(executor, "jobs", 1))
    print(f"device: cpu (no CUDA GPU found). Training {specs[0].label()} measured here: about "
          f"{_duration(seconds)} per run, {_duration(seconds * runs)} for the sweep (metrics "
          "extra); a GPU (--device cuda) takes a fraction of that, --preset cpu is the CPU "
          "budget", flush=True)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _budget(specs: list[Any]) -> str:
    """The budget line of this sweep (its actual steps, batch, lr, precision)."""
    from .sweep.presets import get_preset

    train = specs[0].train
    return get_preset(specs[0].preset).budget_line(
        steps=train["steps"], batch_size=train["batch_size"], lr=train["lr"],
        precision=train["precision"], architecture=train["architecture"],
        lr_schedule=train.get("lr_schedule", "constant"),
        warmup_steps=train.get("warmup_steps", 0),
        kl_warmup_steps=train.get("kl_warmup_steps", 0), latent_dim=train["latent_dim"])


def _finish(store: Any, summary: Any, *, report: bool, extra: list[str] | None = None) -> None:
    from .report import write_report, write_tables

    paths = write_report(store.root) if report else write_tables(store.root)
    print(paths.table_text)
    _print_problems([p for p in paths.problems if not p.startswith(tuple(summary.failures))])
    for line in [*summary.lines(), *(extra or [])]:
        print(line, file=sys.stderr if line.startswith("FAILED") else sys.stdout)
    print(f"tables: {paths.summary_csv}, {paths.summary_md}")
    if report:
        print(f"report: {paths.html} (and {paths.markdown.name})")


def _check_command_word(argv: list[str]) -> None:
    """A first word that is no option and no subcommand is a mistyped subcommand (the runner
    takes no positional arguments): name the closest one."""
    import difflib

    if not argv or argv[0].startswith("-"):
        return
    close = difflib.get_close_matches(argv[0], list(SUBCOMMANDS), n=1, cutoff=0.6)
    hint = f"did you mean `{close[0]}`? " if close else ""
    raise UsageError(f"unknown command {argv[0]!r}; {hint}commands: {', '.join(SUBCOMMANDS)}, "
                     "or options only to run a sweep")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _take_plugins(argv: list[str]) -> tuple[list[str], list[str]]:
    """``--plugin NAME`` / ``--plugin=NAME`` anywhere (before any subcommand's own parsing):
    ``(plugin names, the other arguments)``."""
    plugins, rest = [], []
    tokens = iter(argv)
    for token in tokens:
        if token == "--plugin":
            name = next(tokens, None)
            if name is None or name.startswith("-"):
                raise UsageError("--plugin expects a module name (e.g. --plugin mypkg.bench)")
            plugins.append(name)
        elif token.startswith("--plugin="):
            plugins.append(token.partition("=")[2])
        else:
            rest.append(token)
    return plugins, rest


def _load_plugins(names: list[str]) -> None:
    """The installed entry-point plugins, then ``--plugin`` ones; failures are usage errors."""
    from .plugins import PluginError, load_plugins

    try:
        load_plugins(names, entry_points=True)
    except PluginError as error:
        raise UsageError(_one_line(error)) from error


def main(argv: list[str] | None = None) -> int:
    # Threads waiting at OpenMP barriers sleep instead of spinning: on shared cores a spinning
    # thread takes the core its partner needs (benchmarks/shared_cores.py). Read when OpenMP
    # starts, so set before torch is imported here and inherited by spawned workers.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        plugins, argv = _take_plugins(argv)
        _load_plugins(plugins)
        if argv and argv[0] in SUBCOMMANDS:
            from .data import DatasetError
            from .plugins import PluginError

            try:
                return SUBCOMMANDS[argv[0]](argv[1:])
            except (KeyError, ValueError, DatasetError, PluginError) as error:
                # bad input: an unknown name, a bad value, an unsafe (UnsafeFileError is a
                # ValueError), missing or corrupt (DatasetError) file, a results directory
                # that needs a --plugin
                raise UsageError(_one_line(error)) from error
            except RuntimeError as error:  # a failure, e.g. a baseline run did not finish
                print(f"error: {_one_line(error)}", file=sys.stderr)
                return EXIT_FAILED_RUNS
        _check_command_word(argv)
        return _run(argv)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted: finished runs are stored; re-run the same command to resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `run_benchmark.py --dry-run | head`
        sys.stderr.close()
        return EXIT_OK
