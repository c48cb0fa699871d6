"""Checks that need 8 devices, run in a subprocess on 8 simulated CPU devices.

JAX fixes its device count when it starts, so a test that needs a mesh of 8
devices runs its checks in a fresh interpreter started with
``JAX_NUM_CPU_DEVICES=8`` (and the older XLA flag). A test file names its
checks in a dict ``{name: code}`` (and shared ``setup`` code); ``run_checks``
runs all of them in one subprocess (one import of JAX for the lot) and returns ``{name: None or the
traceback}``. The prelude gives each check ``MESH1`` (8 devices, axis ``i``),
``MESH2`` (4 x 2, axes ``x``, ``y``), ``close(ours, jax's)`` for pytrees and
``raises(exc, fn)`` returning the exception. ``tests_for(checks, setup)`` makes
the module fixture and the parametrized test a test file needs.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

PRELUDE = """
import functools, json, traceback
import jax, jax.numpy as jnp, numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
import minigrad_jax as mg
import minigrad_jax.numpy as mnp
assert len(jax.devices()) == 8, jax.devices()
MESH1 = Mesh(np.array(jax.devices()), ('i',))
MESH2 = Mesh(np.array(jax.devices()).reshape(4, 2), ('x', 'y'))
RNG = np.random.RandomState(0)

def randn(*shape):
    return RNG.randn(*shape).astype(np.float32)

def close(ours, theirs, tol=1e-5):
    a, b = jax.tree.leaves(ours), jax.tree.leaves(theirs)
    assert jax.tree.structure(ours) == jax.tree.structure(theirs), (ours, theirs)
    for x, y in zip(a, b):
        assert np.shape(x) == np.shape(y), (np.shape(x), np.shape(y))
        dx, dy = np.asarray(x).dtype, np.asarray(y).dtype
        assert dx == dy, (dx, dy)
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=tol, atol=tol)

def raises(exc, fn):
    try:
        fn()
    except exc as e:
        return e
    raise AssertionError(f"expected {exc.__name__}")

RESULTS = {}
"""

CHECK = """
def _check():
{body}
try:
    _check()
    RESULTS[{name!r}] = None
except Exception:
    RESULTS[{name!r}] = traceback.format_exc()
"""

EPILOGUE = """
print("RESULTS:" + json.dumps(RESULTS))
"""


def script(checks: dict, setup: str = "") -> str:
    parts = [PRELUDE, textwrap.dedent(setup)]
    for name, code in checks.items():
        body = textwrap.indent(textwrap.dedent(code).strip() + "\n", "    ")
        parts.append(CHECK.format(body=body, name=name))
    parts.append(EPILOGUE)
    return "\n".join(parts)


def run_checks(checks: dict, setup: str = "", timeout=900) -> dict:
    """Run ``checks`` on 8 CPU devices in one subprocess: ``{name: None or traceback}``.

    ``setup`` is code run once before them (helpers the checks share)."""
    env = dict(os.environ)
    env["JAX_NUM_CPU_DEVICES"] = "8"
    env["JAX_PLATFORMS"] = "cpu"
    flags = env.get("XLA_FLAGS", "")
    env["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count=8".strip()
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    res = subprocess.run(
        [sys.executable, "-c", script(checks, setup)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("RESULTS:")), None)
    if line is None:
        raise RuntimeError(
            f"the 8-device subprocess failed (exit {res.returncode}):\n{res.stderr[-4000:]}"
        )
    return json.loads(line[len("RESULTS:") :])


def tests_for(checks: dict, setup: str = ""):
    """(fixture, test) for a test module: ``results, test_on_8_devices =
    multidevice.tests_for(CHECKS, SETUP)`` runs the checks once per module and
    makes one test per check, which fails with the check's traceback."""

    @pytest.fixture(scope="module")
    def results():
        return run_checks(checks, setup=setup)

    @pytest.mark.parametrize("name", list(checks))
    def test_on_8_devices(results, name):
        assert name in results, sorted(results)
        assert results[name] is None, results[name]

    return results, test_on_8_devices
