"""Shared test fixtures."""

import contextlib

import jax
import pytest


@contextlib.contextmanager
def enable_x64():
    """float64 for the duration of the block; the previous setting comes back after,
    so no test's config leaks into another's."""
    prev = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", prev)


@pytest.fixture
def x64():
    """Enable float64 for one test and restore the previous setting."""
    with enable_x64():
        yield


# The widest parametrized tables run a deterministic sample by default: every
# ``stride``-th case (in collection order), the rest under ``-m slow``, so the
# default run stays within its time budget and ``-m slow`` still runs them all.
SAMPLED = {
    "tests/test_constants_meet_tracers.py::test_constant_meets_tracer": 2,
    "tests/test_lax_ops.py::test_vmap_matches_jax": 2,
    "tests/test_autodiff.py::test_check_grads_order2_float32": 2,
    "tests/test_autodiff.py::test_vjp_and_check_grads_float64": 2,
    "tests/test_conventions.py::test_reductions_over_ties": 2,
    "tests/test_random.py::test_sampler_matches_jax": 2,
    "tests/test_random.py::test_sampler_under_vmap_over_keys": 2,
    "tests/test_initializers.py::test_eager_equals_jax": 3,
    "tests/test_initializers.py::test_low_precision_equals_jax": 2,
    "tests/test_einsum.py::test_string_form_matches_jax": 3,
    "tests/test_einsum.py::test_einsum_path_matches_jax": 3,
    "tests/test_complex.py::test_vmap_and_jit_match_jax": 2,
    "tests/test_complex.py::test_value_jvp_vjp_match_jax": 2,
    "tests/test_nn_extras.py::test_attention_values_and_grads": 2,
    "tests/test_numpy_extras.py::test_data_dependent_shapes_eagerly": 2,
    "tests/test_numpy_names.py::test_ufunc_reduce": 2,
}


# Modules whose tests scan the whole heap (the leak checker's gc.collect and
# gc.get_referrers): they take a fraction of a second each in a fresh process and
# seconds each late in a worker that has run a thousand tests, so they run first.
FIRST = ("tests/test_tracer_leaks.py",)


def _module_order(items):
    """Modules in the order a parallel run hands them out (``--dist loadfile``): the
    FIRST ones, then the rest by number of tests, largest first, so that the last
    modules to start are short ones; a module's tests keep their order."""
    modules = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    order = sorted(modules, key=lambda m: (m not in FIRST, -len(modules[m])))
    items[:] = [item for m in order for item in modules[m]]


def pytest_collection_modifyitems(config, items):
    _module_order(items)
    seen = {}
    for item in items:
        key = item.nodeid.split("[", 1)[0]
        stride = SAMPLED.get(key)
        if stride is None or "[" not in item.nodeid:
            continue
        i = seen[key] = seen.get(key, -1) + 1
        if i % stride:
            item.add_marker(pytest.mark.slow)
