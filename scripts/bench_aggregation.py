"""Benchmark of the aggregation rules against one streaming read of their inputs.

For n updates of d float32 coordinates, prints each rule's best-of-k time and its ratio to the
time of one streaming read of the same inputs (``x.sum(axis=0)``) measured in the same run, and,
when installed in the running interpreter, the same inputs through Flower's
(``flwr.server.strategy.aggregate``) and ByzFL's rules, as ratios to the same read.

Flower and ByzFL are never dependencies of ledgerlearn: install them in a separate environment
that can also import ledgerlearn, e.g.::

    python -m venv /tmp/benchvenv && /tmp/benchvenv/bin/pip install flwr scipy
    /tmp/benchvenv/bin/pip install --no-deps byzfl     # its torchvision/seaborn are not needed
    echo "$PWD/.venv/lib/python3.11/site-packages
    $PWD/platform" > /tmp/benchvenv/lib/python3.11/site-packages/zz_ledgerlearn.pth
    /tmp/benchvenv/bin/python scripts/bench_aggregation.py

Everything runs on one thread (torch and, through threadpoolctl when present, BLAS).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import sys
import time
import types
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ledgerlearn import aggregation

torch.set_num_threads(1)
try:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
except ImportError:  # pragma: no cover - optional
    pass

TARGETS: dict[str, str] = {
    "mean": "<= 1.5x read",
    "krum": "<= 5x read",
    "multi_krum": "<= 5x read",
    "bulyan": "<= 50 ms at d=1e6",
    "median": "<= 30x read",
    "trimmed_mean": "<= 30x read",
}


def best_time(fn: Callable[[], Any], repeats: int) -> float:
    """Best wall time of ``repeats`` calls, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def ours(n: int, f: int) -> dict[str, Callable[[np.ndarray], Any]]:
    """Our rules, configured for n updates and f Byzantine ones."""
    params: dict[str, dict[str, Any]] = {
        "mean": {},
        "median": {"num_byzantine": f},
        "trimmed_mean": {"num_byzantine": f},
        "geometric_median": {"num_byzantine": f},
        "krum": {"num_byzantine": f},
        "multi_krum": {"num_byzantine": f},
        "bulyan": {"num_byzantine": f},
        "centered_clipping": {"num_byzantine": f},
        "mda": {"num_byzantine": f},
        "meamed": {"num_byzantine": f},
        "monna": {"num_byzantine": f},
    }
    rules: dict[str, Callable[[np.ndarray], Any]] = {
        name: aggregation.get(name, num_updates=n, **p) for name, p in params.items()
    }
    rules["nnm+krum"] = aggregation.get("krum", num_byzantine=f, pre=[{"kind": "nnm"}])
    rules["arc+trimmed_mean"] = aggregation.get(
        "trimmed_mean", num_byzantine=f, pre=[{"kind": "arc"}]
    )
    return rules


def flower(f: int) -> dict[str, Callable[[np.ndarray], Any]]:
    """Flower's aggregation functions on the same rows (empty if flwr is not installed)."""
    try:
        from flwr.server.strategy import aggregate as fl
    except ImportError:
        return {}

    def results(x: np.ndarray) -> list[tuple[list[np.ndarray], int]]:
        return [([row], 1) for row in x]

    n_keep = lambda x: x.shape[0] - f  # noqa: E731
    return {
        "mean": lambda x: fl.aggregate(results(x)),
        "median": lambda x: fl.aggregate_median(results(x)),
        "trimmed_mean": lambda x: fl.aggregate_trimmed_avg(results(x), f / x.shape[0]),
        "krum": lambda x: fl.aggregate_krum(results(x), f, 0),
        "multi_krum": lambda x: fl.aggregate_krum(results(x), f, n_keep(x)),
        "bulyan": lambda x: fl.aggregate_bulyan(results(x), f, fl.aggregate_krum, to_keep=0),
    }


def byzfl(f: int) -> dict[str, Callable[[np.ndarray], Any]]:
    """ByzFL's aggregators (imported without its package __init__, which needs torchvision)."""
    if "byzfl" not in sys.modules:
        spec = importlib.util.find_spec("byzfl")
        if spec is None or spec.submodule_search_locations is None:
            return {}
        package = types.ModuleType("byzfl")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["byzfl"] = package
    try:
        from byzfl.aggregators import aggregators as bz
        from byzfl.aggregators import preaggregators as bzp
    except ImportError:
        return {}
    return {
        "mean": bz.Average(),
        "median": bz.Median(),
        "trimmed_mean": bz.TrMean(f),
        "geometric_median": bz.GeometricMedian(),
        "krum": bz.Krum(f),
        "multi_krum": bz.MultiKrum(f),
        "centered_clipping": bz.CenteredClipping(),
        "mda": bz.MDA(f),
        "meamed": bz.Meamed(f),
        "monna": bz.MoNNA(f),
        "nnm+krum": lambda x: bz.Krum(f)(bzp.NNM(f)(x)),
        "arc+trimmed_mean": lambda x: bz.TrMean(f)(bzp.ARC(f)(x.copy())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--f", type=int, default=4, help="num_byzantine (Bulyan needs n >= 4f+3)")
    parser.add_argument("--d", type=float, nargs="+", default=[1e6, 1e7])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--external-repeats", type=int, default=1)
    parser.add_argument("--no-external", action="store_true")
    parser.add_argument("--only", nargs="*", help="only these rules")
    args = parser.parse_args()

    externals = {} if args.no_external else {"flower": flower(args.f), "byzfl": byzfl(args.f)}
    print(
        f"# aggregation benchmark: n={args.n}, f={args.f}, float32, 1 thread, best of "
        f"{args.repeats} (external: best of {args.external_repeats})"
    )
    print("installed: " + ", ".join(f"{k}={'yes' if v else 'no'}" for k, v in externals.items()))
    for d_float in args.d:
        # fresh external instances per size: ByzFL's CenteredClipping keeps state between calls
        if not args.no_external:
            externals = {"flower": flower(args.f), "byzfl": byzfl(args.f)}
        run(int(d_float), args, externals)
        gc.collect()


def run(d: int, args: argparse.Namespace, externals: dict[str, dict[str, Any]]) -> None:
    """Time every rule (ours and the installed externals) on one (n, d) input."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.n, d), dtype=np.float32)
    x[: args.f] *= 10.0  # f outlying updates
    read = best_time(lambda: x.sum(axis=0), args.repeats * 2)
    print(f"\n## d = {d:.0e} ({x.nbytes / 1e6:.0f} MB); one streaming read = {read * 1e3:.1f} ms\n")
    head = "| rule | ours ms | ours / read |"
    line = "|---|---:|---:|"
    for name in externals:
        head += f" {name} ms | {name} / read |"
        line += "---:|---:|"
    print(head + " target |")
    print(line + "---|")
    for name, rule in ours(args.n, args.f).items():
        if args.only and name not in args.only:
            continue
        t = best_time(lambda rule=rule: rule(x), args.repeats)
        row = f"| {name} | {t * 1e3:.1f} | {t / read:.1f}x |"
        for impls in externals.values():
            impl = impls.get(name)
            if impl is None:
                row += " - | - |"
                continue
            try:
                te = best_time(lambda impl=impl: impl(x), args.external_repeats)
            except Exception as exc:  # report and go on with the table
                row += f" error: {type(exc).__name__} | - |"
                continue
            row += f" {te * 1e3:.0f} | {te / read:.1f}x |"
        print(row + f" {TARGETS.get(name, '')} |", flush=True)


if __name__ == "__main__":
    main()
