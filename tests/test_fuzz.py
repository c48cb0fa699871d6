"""The differential fuzzer (tests/fuzzgen.py): random programs agree with JAX.

The default run checks a fixed, contiguous range of seeds (not chosen to pass), each
program under a seed-chosen subset of the transforms, so it stays short. The ``slow``
tests run many programs (MINIGRAD_FUZZ_PROGRAMS, default 10,000) in float32 and a
float64 pass in a subprocess, so ``jax_enable_x64`` never leaks:

    MINIGRAD_FUZZ_PROGRAMS=500 python -m pytest tests/test_fuzz.py -m slow

A failure prints each failing program's seed and source; rerun one with
``python tests/fuzzgen.py --seed SEED --n 1``.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import fuzzgen
import jax
import pytest

FUZZ_PROGRAMS = int(os.environ.get("MINIGRAD_FUZZ_PROGRAMS", "10000"))
FUZZ_JOBS = int(os.environ.get("MINIGRAD_FUZZ_JOBS", "2"))
HERE = os.path.dirname(os.path.abspath(__file__))

# Seeds 0..9, two transforms each (chosen by the seed): about 20 checks, well under
# a minute on two cores (JAX's eager mode compiles each new op, which dominates).
SHORT_SEEDS = range(10)


def _report(bad):
    return "\n\n".join(fuzzgen.describe_failure(p, f, s) for p, f, s in bad)


@pytest.mark.parametrize("seed", SHORT_SEEDS)
def test_random_program(seed):
    prev = jax.config.jax_enable_x64
    p, failures, stats, _ = fuzzgen.check_seed(seed, transforms=fuzzgen.TRANSFORMS, sample=2)
    assert jax.config.jax_enable_x64 == prev
    assert not failures, fuzzgen.describe_failure(p, failures, stats)


def test_one_program_under_every_transform():
    p, failures, stats, ts = fuzzgen.check_seed(12)
    assert ts == fuzzgen.TRANSFORMS
    assert not failures, fuzzgen.describe_failure(p, failures, stats)


def test_generator_is_deterministic_and_covers_the_families():
    assert fuzzgen.generate(5).source == fuzzgen.generate(5).source
    fams = set()
    for seed in range(300):
        p = fuzzgen.generate(seed)
        compile(p.source, "<p>", "exec")
        fams.update(p.families)
    want = {name for name, _ in fuzzgen.Gen.FAMILIES}
    assert want - {"contract"} <= fams and {"dot", "einsum"} <= fams, want - fams


def test_error_compatibility():
    class ConcretizationTypeError(TypeError):
        pass

    class ConcretizationError(TypeError):
        pass

    assert fuzzgen.compatible_errors(TypeError("a"), TypeError("b"))
    assert fuzzgen.compatible_errors(ConcretizationError(), ConcretizationTypeError())
    assert not fuzzgen.compatible_errors(ValueError("a"), TypeError("b"))


def test_run_prints_seed_and_source_of_a_failure(monkeypatch):
    # A deliberately wrong "minigrad" (JAX's own sin replaced by cos) must be reported
    # with the program's seed and source.
    real = fuzzgen._libs

    def broken():
        libs = real()
        mnp, mlax, mg = libs["mg"]

        class NP:
            def __getattr__(self, name):
                return getattr(mnp, name)

            @staticmethod
            def sin(x):
                return mnp.cos(x)

        libs["mg"] = (NP(), mlax, mg)
        return libs

    monkeypatch.setattr(fuzzgen, "_libs", broken)
    seed = next(s for s in range(100) if "np.sin(" in fuzzgen.generate(s).source)
    out = io.StringIO()
    bad = fuzzgen.run([seed], transforms=("jit",), out=out)
    text = out.getvalue()
    assert bad and f"=== seed {seed}" in text and "def prog(np, lax, T" in text


def _run_cli(*args, timeout):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(HERE), HERE]))
    proc = subprocess.run(
        [sys.executable, os.path.join(HERE, "fuzzgen.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.slow
def test_fuzz_float32_many_programs():
    rc, out = _run_cli(
        "--n",
        str(FUZZ_PROGRAMS),
        "--seed",
        "100000",
        "--sample",
        "2",
        "--jobs",
        str(FUZZ_JOBS),
        timeout=6 * 3600,
    )
    assert rc == 0, out[-20000:]


@pytest.mark.slow
def test_fuzz_float64_subprocess():
    n = max(FUZZ_PROGRAMS // 10, 4)
    rc, out = _run_cli(
        "--n",
        str(n),
        "--seed",
        "200000",
        "--x64",
        "--sample",
        "2",
        "--jobs",
        str(FUZZ_JOBS),
        timeout=6 * 3600,
    )
    assert rc == 0, out[-20000:]


@pytest.mark.slow
def test_fuzz_all_transforms_jit_wrapped():
    # Every transform of every program, each wrapped in jit (one compile per transform).
    n = max(FUZZ_PROGRAMS // 10, 4)
    rc, out = _run_cli(
        "--n", str(n), "--seed", "300000", "--jit", "--jobs", str(FUZZ_JOBS), timeout=6 * 3600
    )
    assert rc == 0, out[-20000:]
