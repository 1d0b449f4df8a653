#!/usr/bin/env python
"""Entry point: `python run_benchmark.py --help`. All logic lives in disentangle_bench.cli."""

import sys

from disentangle_bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
