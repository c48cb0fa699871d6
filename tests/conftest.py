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
