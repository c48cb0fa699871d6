"""minigrad_jax: a small, readable reimplementation of JAX's transform core."""

# JAX's own, for the arrays (jax.Arrays) and pytrees our functions take and return:
# tutorials call them as jax.X, so mg.X is the same object.
from jax import (  # noqa: E402
    Array,
    ShapeDtypeStruct,
    block_until_ready,
    default_backend,
    device_count,
    device_get,
    devices,
    dtypes,
    float0,
    local_device_count,
    local_devices,
    make_mesh,
    sharding,
    tree,
    tree_util,
)

from minigrad_jax import (  # noqa: F401
    checkpoint_policies,
    debug,
    errors,
    lax,
    nn,
    numpy,
    random,
    testing,
)
from minigrad_jax._src import traceback_util as _traceback_util
from minigrad_jax._src import tracer_ops as _tracer_ops  # noqa: F401  (installs operators)
from minigrad_jax._src.api import (
    eval_shape,
    grad,
    jvp,
    linearize,
    make_jaxpr,
    typeof,
    value_and_grad,
    vjp,
    vmap,
)
from minigrad_jax._src.checkpoint import checkpoint, remat
from minigrad_jax._src.checkpoint_policies import checkpoint_name
from minigrad_jax._src.config import config
from minigrad_jax._src.custom_derivatives import custom_jvp, custom_vjp
from minigrad_jax._src.debugging import io_callback, pure_callback
from minigrad_jax._src.interop import from_jax, to_jax
from minigrad_jax._src.jacobians import hessian, jacfwd, jacrev
from minigrad_jax._src.jit import jit
from minigrad_jax._src.linear_transpose import linear_transpose
from minigrad_jax._src.residuals import print_saved_residuals, saved_residuals
from minigrad_jax._src.shard_map import shard_map
from minigrad_jax._src.sharding import device_put
from minigrad_jax._src.teaching.draw import draw
from minigrad_jax._src.teaching.explain import explain_grad

jacobian = jacrev  # as jax.jacobian

__all__ = [
    "eval_shape",
    "grad",
    "hessian",
    "jacfwd",
    "jacrev",
    "jacobian",
    "jvp",
    "linearize",
    "make_jaxpr",
    "typeof",
    "value_and_grad",
    "vjp",
    "vmap",
    "jit",
    "config",
    "custom_jvp",
    "custom_vjp",
    "checkpoint",
    "remat",
    "checkpoint_name",
    "checkpoint_policies",
    "debug",
    "pure_callback",
    "io_callback",
    "from_jax",
    "to_jax",
    "linear_transpose",
    "saved_residuals",
    "print_saved_residuals",
    "draw",
    "shard_map",
    "device_put",
    "explain_grad",
    "errors",
    "lax",
    "nn",
    "numpy",
    "random",
    "testing",
    "Array",
    "ShapeDtypeStruct",
    "block_until_ready",
    "default_backend",
    "device_count",
    "device_get",
    "devices",
    "dtypes",
    "float0",
    "local_device_count",
    "local_devices",
    "make_mesh",
    "sharding",
    "tree",
    "tree_util",
]

# Called from user code, a failing function's traceback ends at the user's line.
_traceback_util.public_functions(globals())
