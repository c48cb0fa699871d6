"""jax.lax-like namespace: ``from minigrad_jax import lax``.

Re-exports only. Every function has its jax.lax name and arguments, and a
program written with it traces to the same jaxpr equations as with jax.lax.
"""

from jax.lax import Precision, RoundingMethod

from minigrad_jax._src import traceback_util as _traceback_util
from minigrad_jax._src.lax.associative_scan import associative_scan
from minigrad_jax._src.lax.base import (
    broadcast,
    broadcast_in_dim,
    broadcast_to_rank,
    broadcasted_iota,
    convert_element_type,
    expand_dims,
    full,
    full_like,
    iota,
    padtype_to_pads,
    reduce_sum,
    reshape,
    transpose,
)
from minigrad_jax._src.lax.elementwise import (
    abs,  # noqa: A004  (jax.lax's name)
    acos,
    acosh,
    add,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    cbrt,
    ceil,
    clamp,
    clz,
    complex,  # noqa: A004  (jax.lax's name)
    conj,
    cos,
    cosh,
    digamma,
    div,
    eq,
    erf,
    erf_inv,
    erfc,
    exp,
    exp2,
    expm1,
    floor,
    ge,
    gt,
    imag,
    integer_pow,
    is_finite,
    le,
    lgamma,
    log,
    log1p,
    logistic,
    lt,
    max,  # noqa: A004  (jax.lax's name)
    min,  # noqa: A004  (jax.lax's name)
    mul,
    ne,
    neg,
    nextafter,
    polygamma,
    population_count,
    pow,  # noqa: A004  (jax.lax's name)
    real,
    rem,
    round,  # noqa: A004  (jax.lax's name)
    rsqrt,
    select_n,
    shift_left,
    shift_right_arithmetic,
    shift_right_logical,
    sign,
    sin,
    sinh,
    sqrt,
    square,
    sub,
    tan,
    tanh,
)
from minigrad_jax._src.lax.indexing import (
    GatherDimensionNumbers,
    GatherScatterMode,
    ScatterDimensionNumbers,
    gather,
    scatter,
    scatter_add,
    scatter_apply,
    scatter_max,
    scatter_min,
    scatter_mul,
    scatter_sub,
)
from minigrad_jax._src.lax.linalg import batch_matmul, dot_general
from minigrad_jax._src.lax.prng import bitcast_convert_type
from minigrad_jax._src.lax.reductions import (
    argmax,
    argmin,
    cumlogsumexp,
    cummax,
    cummin,
    cumprod,
    cumsum,
    reduce,
    reduce_and,
    reduce_max,
    reduce_min,
    reduce_or,
    reduce_prod,
    reduce_xor,
)
from minigrad_jax._src.lax.sorting import sort, sort_key_val, top_k
from minigrad_jax._src.lax.special import (
    bessel_i0e,
    bessel_i1e,
    betainc,
    broadcast_shapes,
    igamma,
    igamma_grad_a,
    igammac,
    mulhi,
    random_gamma_grad,
    reciprocal,
    reduce_precision,
    zeta,
)
from minigrad_jax._src.lax.structural import (
    collapse,
    concatenate,
    dot,
    dynamic_index_in_dim,
    dynamic_slice,
    dynamic_slice_in_dim,
    dynamic_update_index_in_dim,
    dynamic_update_slice,
    dynamic_update_slice_in_dim,
    index_in_dim,
    pad,
    rev,
    select,
    slice,  # noqa: A004  (jax.lax's name)
    slice_in_dim,
    split,
    squeeze,
    stop_gradient,
    zeros_like_array,
)

__all__ = [
    "abs",
    "acos",
    "acosh",
    "add",
    "argmax",
    "argmin",
    "asin",
    "associative_scan",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "bitwise_and",
    "bitwise_not",
    "bitwise_or",
    "bitwise_xor",
    "broadcast",
    "broadcast_to_rank",
    "broadcast_in_dim",
    "broadcasted_iota",
    "cbrt",
    "ceil",
    "clamp",
    "collapse",
    "complex",
    "conj",
    "concatenate",
    "convert_element_type",
    "cos",
    "cosh",
    "cumlogsumexp",
    "cummax",
    "cummin",
    "cumprod",
    "cumsum",
    "digamma",
    "div",
    "dot",
    "batch_matmul",
    "dot_general",
    "dynamic_index_in_dim",
    "dynamic_slice",
    "dynamic_slice_in_dim",
    "dynamic_update_index_in_dim",
    "dynamic_update_slice",
    "dynamic_update_slice_in_dim",
    "eq",
    "erf",
    "erf_inv",
    "erfc",
    "exp",
    "exp2",
    "expand_dims",
    "expm1",
    "floor",
    "full",
    "full_like",
    "gather",
    "GatherDimensionNumbers",
    "GatherScatterMode",
    "ge",
    "gt",
    "imag",
    "index_in_dim",
    "integer_pow",
    "iota",
    "padtype_to_pads",
    "is_finite",
    "le",
    "lgamma",
    "log",
    "log1p",
    "logistic",
    "lt",
    "max",
    "min",
    "mul",
    "ne",
    "neg",
    "nextafter",
    "population_count",
    "shift_left",
    "shift_right_arithmetic",
    "shift_right_logical",
    "clz",
    "pad",
    "pow",
    "Precision",
    "real",
    "reduce",
    "reduce_and",
    "reduce_max",
    "reduce_min",
    "reduce_or",
    "reduce_prod",
    "reduce_sum",
    "reduce_xor",
    "rem",
    "reshape",
    "rev",
    "round",
    "RoundingMethod",
    "rsqrt",
    "scatter",
    "scatter_add",
    "scatter_apply",
    "scatter_max",
    "scatter_min",
    "scatter_mul",
    "scatter_sub",
    "ScatterDimensionNumbers",
    "select",
    "select_n",
    "sign",
    "sin",
    "sinh",
    "slice",
    "slice_in_dim",
    "sort",
    "sort_key_val",
    "top_k",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "stop_gradient",
    "sub",
    "tan",
    "tanh",
    "transpose",
    "zeros_like_array",
]

# ---------------------------------------------------------------------------
# control flow

from minigrad_jax._src.lax.control_flow import (  # noqa: E402
    cond,
    fori_loop,
    map,  # noqa: A004
    scan,
    switch,
    while_loop,
)

__all__ += ["cond", "fori_loop", "map", "scan", "switch", "while_loop"]

# special functions and precision (lax/special.py)
__all__ += [
    "bessel_i0e",
    "bessel_i1e",
    "betainc",
    "broadcast_shapes",
    "igamma",
    "igamma_grad_a",
    "igammac",
    "mulhi",
    "polygamma",
    "random_gamma_grad",
    "reciprocal",
    "reduce_precision",
    "zeta",
]

__all__ += ["bitcast_convert_type"]

# shardings inside a program (_src/sharding.py)
from minigrad_jax._src.sharding import with_sharding_constraint  # noqa: E402

__all__ += ["with_sharding_constraint"]

# Linear algebra, FFT, convolution and windowed reductions (issue 13): each
# module's ``__all__`` is its public surface; lax.linalg is the submodule.
from minigrad_jax._src.lax.control_flow.solves import *  # noqa: E402,F403
from minigrad_jax._src.lax.control_flow.solves import __all__ as _solves_all  # noqa: E402
from minigrad_jax._src.lax.convolution import *  # noqa: E402,F403
from minigrad_jax._src.lax.convolution import __all__ as _conv_all  # noqa: E402
from minigrad_jax._src.lax.fft import *  # noqa: E402,F403
from minigrad_jax._src.lax.fft import __all__ as _fft_all  # noqa: E402
from minigrad_jax._src.lax.parallel import *  # noqa: E402,F403  (collectives, named axes)
from minigrad_jax._src.lax.parallel import __all__ as _parallel_all  # noqa: E402
from minigrad_jax._src.lax.windowed_reductions import *  # noqa: E402,F403
from minigrad_jax._src.lax.windowed_reductions import __all__ as _window_all  # noqa: E402
from minigrad_jax.lax import linalg  # noqa: E402

__all__ += [*_solves_all, *_conv_all, *_fft_all, *_window_all, "linalg"]
__all__ += _parallel_all

# Called from user code, a failing function's traceback ends at the user's line.
_traceback_util.public_functions(globals())
