"""minigrad_jax: a small, readable reimplementation of JAX's transform core."""

from minigrad_jax import errors, lax, nn, numpy, random, testing  # noqa: F401
from minigrad_jax._src import tracer_ops as _tracer_ops  # noqa: F401  (installs operators)
from minigrad_jax._src.api import (
    eval_shape,
    grad,
    jvp,
    linearize,
    make_jaxpr,
    value_and_grad,
    vjp,
    vmap,
)
from minigrad_jax._src.checkpoint import checkpoint, remat
from minigrad_jax._src.config import config
from minigrad_jax._src.custom_derivatives import custom_jvp, custom_vjp
from minigrad_jax._src.explain import explain_grad
from minigrad_jax._src.interop import from_jax, to_jax
from minigrad_jax._src.jacobians import hessian, jacfwd, jacrev
from minigrad_jax._src.jit import jit
from minigrad_jax._src.linear_transpose import linear_transpose
from minigrad_jax._src.viz import draw

__all__ = [
    "eval_shape",
    "grad",
    "hessian",
    "jacfwd",
    "jacrev",
    "jvp",
    "linearize",
    "make_jaxpr",
    "value_and_grad",
    "vjp",
    "vmap",
    "jit",
    "config",
    "custom_jvp",
    "custom_vjp",
    "checkpoint",
    "remat",
    "from_jax",
    "to_jax",
    "linear_transpose",
    "draw",
    "explain_grad",
    "errors",
    "lax",
    "nn",
    "numpy",
    "random",
    "testing",
]
