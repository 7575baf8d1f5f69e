"""Load generators and benchmarks; run them as modules (`python -m loadtests.bench_wallet`)."""

from __future__ import annotations
