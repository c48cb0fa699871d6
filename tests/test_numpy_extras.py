"""The jax.numpy functions composed from existing ones (set ops, NaN reductions,
quantiles, windows, differences, selection...) against jax.numpy: values,
dtypes, weak types, and behaviour under mg.jit, mg.grad and mg.vmap."""

from __future__ import annotations

import concurrent.futures
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax._src.errors import ConcretizationError
from tests.test_numpy import _bind, assert_same, assert_same_avals

NAN = jnp.nan
A = jnp.array([[1.0, NAN, 3.0, 0.5], [NAN, NAN, NAN, NAN], [4.0, 2.0, -1.0, 7.0]])
F = jnp.arange(6.0).reshape(2, 3)
I2 = jnp.array([[3, 1, 2], [7, 5, 9]])
B = jnp.array([[5.0, 1, 4, 2, 3, 0], [1, 1, 0, 0, 2, 2]])
X = jnp.array([-1.5, 0.0, -0.0, 2.0, NAN, 3e-3, 1e20])
IX = jnp.array([12, -8, 0, 7, 5])
JX = jnp.array([18, 12, 0, 3, -15])
V = jnp.array([1.0, 4, 9, 16, 2])
Q = jnp.array([0.1, 0.33, 0.5, 0.9, 1.0])

NAN_REDUCTIONS = [
    (name, (x,), kw)
    for name in (
        "nansum",
        "nanprod",
        "nanmax",
        "nanmin",
        "nanmean",
        "nanvar",
        "nanstd",
        "nancumsum",
        "nancumprod",
        "nanmedian",
        "median",
    )
    for x, kw in ((A, {}), (A, {"axis": 0}), (I2, {"axis": 1}))
] + [
    ("nanargmax", (A,), {"axis": 1}),
    ("nanargmin", (A,), {"axis": 1}),
    ("nanargmax", (I2,), {}),
    ("nansum", (A,), {"axis": 1, "keepdims": True}),
    ("nanmax", (A,), {"axis": 1, "keepdims": True}),
    ("nanvar", (A,), {"axis": 1, "ddof": 1}),
]

QUANTILES = [
    (name, (x, q), {"axis": axis, "method": method})
    for method in ("linear", "lower", "higher", "midpoint", "nearest")
    for q, axis in ((0.25, None), (Q, 1), (Q, (0, 1)))
    if method in ("linear", "nearest") or axis == 1
    for name, x in (("quantile", B), ("nanquantile", A), ("quantile", I2))
    if method == "linear" or name != "quantile" or x is B
] + [
    ("percentile", (B, 30), {}),
    ("nanpercentile", (A, jnp.array([30.0, 70.0])), {"axis": 1}),
    ("quantile", (I2, 0.5), {"axis": 1, "keepdims": True}),
]

PARTITION = [
    (name, (jnp.array([5, 1, 4, 2, 3, 0, 7, 6, 3, 3, 1]),), {"kth": k})
    for name in ("partition", "argpartition")
    for k in (0, 3, 10, -2)
] + [
    ("partition", (B,), {"kth": 2, "axis": 1}),
    ("argpartition", (B,), {"kth": 0, "axis": 0}),
    ("partition", (jnp.array([5.0, 1, 4, NAN, 2, 3]),), {"kth": 2}),
]

ELEMENTWISE = (
    [
        (name, (x,), {})
        for name in (
            "deg2rad",
            "rad2deg",
            "radians",
            "degrees",
            "fabs",
            "sinc",
            "signbit",
            "nan_to_num",
            "modf",
            "frexp",
            "i0",
        )
        for x in (X[jnp.array([0, 1, 3, 5])], IX)
    ]
    + [
        (name, args, {})
        for name in ("fmax", "fmin", "logaddexp2", "copysign", "heaviside", "float_power")
        for args in ((X, X[::-1]), (IX, JX), (X, 2))
    ]
    + [
        ("signbit", (X,), {}),
        ("nan_to_num", (X,), {"nan": 1.0, "posinf": 5.0}),
        ("gcd", (IX, JX), {}),
        ("lcm", (IX, JX), {}),
        ("gcd", (IX, 4), {}),
        ("ldexp", (X, jnp.array([1, 2, 3, -4, 0, 1, 2])), {}),
        ("ldexp", (IX, 2), {}),
        ("frexp", (jnp.array([1.0, 2, 4, 0.5, 0.25, 7.9, 1e30, -1e-30, 3.4e38, 0.0]),), {}),
        ("i0", (jnp.array([0.0, 0.5, 5.0, 20.0, 50.0, 85.0, -3.0]),), {}),
    ]
)

WINDOWS = [
    (name, (m,), {})
    for name in ("hamming", "hanning", "blackman", "bartlett")
    for m in (0, 1, 2, 5, 8)
] + [("kaiser", (m, 3.0), {}) for m in (0, 1, 5, 8)]

U1 = jnp.array([3, 1, 3, 2, 1])
U2 = jnp.array([[3, 1], [3, 2], [3, 1]])
UF = jnp.array([3.0, NAN, NAN, 1, 1])
S1 = jnp.array([3, 1, 4, 1, 9])
S2 = jnp.array([4, 1, 5, 5])
M = jnp.array([[0, 1, 0], [2, 0, 3]])
ALL_FLAGS = {"return_index": True, "return_inverse": True, "return_counts": True}
SORTED = jnp.array([1.0, 2, 2, 3, NAN])
BINS = jnp.array([0.0, 1, 2])
XS = jnp.array([-1, 0.0, 0.5, 1, 1.5, 2, 3])
H = jnp.array([0.0, 1, 1, 3, 2.5, -1])

SIZED = (
    [
        ("unique", (x,), dict(flags, **sz))
        for x in (U1, U2, UF)
        for flags in ({}, ALL_FLAGS)
        for sz in ({"size": 7}, {"size": 2, "fill_value": -1})
    ]
    + [("unique", (U2,), dict(ALL_FLAGS, axis=0, size=4))]
    + [
        ("unique_values", (U2,), {"size": 6}),
        ("unique_values", (UF,), {"size": 6, "fill_value": 0}),
    ]
    + [
        (n, (S1, S2), sz)
        for n in ("union1d", "setdiff1d", "setxor1d", "intersect1d")
        for sz in ({"size": 8}, {"size": 2, "fill_value": 7})
    ]
    + [("intersect1d", (S1, S2), {"return_indices": True, "size": 5})]
    + [
        (n, (M,), sz)
        for n in ("nonzero", "flatnonzero", "argwhere")
        for sz in ({"size": 5}, {"size": 2}, {"size": 5, "fill_value": -1})
    ]
    + [
        ("nonzero", (M,), {"size": 5, "fill_value": (8, 9)}),
        ("compress", (jnp.array([1, 0]), M), {"axis": 0, "size": 2, "fill_value": 9}),
        ("compress", (jnp.array([True, False, True]), M), {"size": 3}),
        ("extract", (M > 0, M), {"size": 6}),
        ("isin", (U2, S2), {}),
        ("isin", (U2, S2), {"invert": True}),
        ("isin", (UF, jnp.array([1.0, NAN])), {}),
        ("bincount", (jnp.array([0, 1, 1, 3]),), {"length": 6}),
        ("bincount", (jnp.array([0, 1, 1, 3]), jnp.array([0.5, 1, 2, 3])), {"length": 3}),
    ]
)

SEARCHING = [
    ("searchsorted", (SORTED, jnp.array([[2.0, 0, 5], [NAN, 2.5, 1]])), {}),
    ("searchsorted", (SORTED, jnp.array([[2.0, 0, 5], [NAN, 2.5, 1]])), {"side": "right"}),
    ("searchsorted", (jnp.array([1, 2, 2, 3]), 2), {}),
    ("searchsorted", (jnp.array([3, 1, 2]), 2), {"sorter": jnp.array([1, 2, 0])}),
    ("digitize", (XS, BINS), {}),
    ("digitize", (XS, BINS), {"right": True}),
    ("digitize", (XS, BINS[::-1]), {}),
    ("digitize", (XS, BINS[::-1]), {"right": True}),
    ("interp", (XS, BINS, jnp.array([1.0, 3, 0])), {}),
    ("interp", (XS, BINS, jnp.array([1.0, 3, 0])), {"left": -5.0, "right": 7.0}),
    ("interp", (XS * 3, BINS, jnp.array([1.0, 3, 0])), {"period": 2.5}),
    ("interp", (0.5, jnp.array([0, 1]), jnp.array([0, 10])), {}),
    ("histogram", (H,), {}),
    ("histogram", (H,), {"bins": 3, "range": (0.0, 2.0)}),
    ("histogram", (H,), {"bins": jnp.array([0.0, 1, 4])}),
    ("histogram", (H,), {"weights": H, "density": True}),
    ("histogram", (jnp.array([1, 2, 3]),), {"bins": 4}),
    ("histogram_bin_edges", (H,), {"bins": 4}),
    ("histogram_bin_edges", (jnp.array([2.0, 2.0]),), {"bins": 2}),
    ("lexsort", ([jnp.array([1, 0, 1, 0]), jnp.array([2, 2, 1, 1])],), {}),
    ("lexsort", (jnp.array([[1, 0, 1], [2, 2, 1]]),), {}),
]

A3 = jnp.array([[1.0, 2, 3], [4, 5, 6]])
B3 = jnp.array([[7.0, 8, 9], [1, 0, -1]])
CV = jnp.array([[0.0, 1, 2, 5], [2, 1, 0.5, 3], [1, 1, 3, 2]])
AR = jnp.arange(5.0)

MANIPULATION = (
    [
        ("append", (I2, jnp.array([7, 8])), {}),
        ("append", (F, F), {"axis": 0}),
        ("concat", ([F, F],), {"axis": 1}),
        ("unstack", (F,), {"axis": 1}),
        ("copy", (F,), {}),
        ("hsplit", (F, 3), {}),
        ("vsplit", (F, 2), {}),
        ("dsplit", (jnp.zeros((1, 1, 4)), [1, 3]), {}),
        ("hsplit", (V, [1, 3]), {}),
        ("block", ([[F, F], [F, F]],), {}),
        ("block", ([[jnp.ones((1, 2)), jnp.zeros((1, 1))], [jnp.zeros((1, 3))]],), {}),
        ("rollaxis", (jnp.zeros((2, 3, 4)), 2, 1), {}),
        ("rollaxis", (jnp.zeros((2, 3, 4)), 0, 3), {}),
        ("resize", (I2, (4, 2)), {}),
        ("resize", (V, 3), {}),
    ]
    + [("rot90", (I2,), {"k": k}) for k in range(-1, 5)]
    + [("rot90", (jnp.zeros((2, 3, 4)),), {"k": 3, "axes": (2, 0)})]
    + [
        ("diff", (V,), {}),
        ("diff", (V,), {"n": 3}),
        ("diff", (I2,), {"axis": 0}),
        ("diff", (V,), {"prepend": 0.0, "append": jnp.array([1.0, 2])}),
        ("diff", (jnp.array([True, False, False]),), {}),
        ("ediff1d", (I2,), {}),
        ("ediff1d", (V,), {"to_end": jnp.array([7.0, 8]), "to_begin": -1.0}),
        ("gradient", (V,), {}),
        ("gradient", (F * F,), {}),
        ("gradient", (F * F, 2.0), {"axis": 1}),
        ("trapezoid", (V,), {}),
        ("trapezoid", (F,), {"dx": 0.5, "axis": 0}),
        ("trapezoid", (F,), {"x": jnp.array([0.0, 1, 3])}),
        ("unwrap", (jnp.array([0.0, 3, 6.5, 10, 3, -4]),), {}),
        ("unwrap", (jnp.array([0.0, 3, 6.5, 10, 3, -4]),), {"period": 4.0}),
        ("unwrap", (jnp.array([[0.0, 3, 6.5], [1, -3, 4]]),), {"axis": 0, "discont": 1.0}),
        ("cross", (A3, B3), {}),
        ("cross", (A3[:, :2], B3[:, :2]), {}),
        ("cross", (A3[:, :2], B3), {}),
        ("cross", (A3.T, B3.T), {"axis": 0}),
        ("kron", (I2, jnp.array([[1, 10]])), {}),
        ("kron", (V, F), {}),
        ("vecdot", (A3, B3), {}),
        ("vecdot", (A3, B3), {"axis": 0}),
        ("matvec", (jnp.ones((2, 3, 3)), A3), {}),
        ("vecmat", (A3, jnp.ones((3, 4))), {}),
        ("vander", (V,), {}),
        ("vander", (jnp.array([1, 2, 3]), 4), {"increasing": True}),
        ("cov", (CV,), {}),
        ("cov", (CV,), {"rowvar": False}),
        ("cov", (CV[0], CV[1]), {}),
        ("cov", (CV,), {"bias": True}),
        ("cov", (CV,), {"ddof": 2}),
        (
            "cov",
            (CV,),
            {"fweights": jnp.array([1, 2, 1, 3]), "aweights": jnp.array([0.5, 1, 2, 1.0])},
        ),
        ("cov", (jnp.array([1, 2, 4]),), {}),
        ("corrcoef", (CV,), {}),
        ("corrcoef", (CV[0], CV[1]), {}),
        ("logspace", (0.0, 2.0, 5), {}),
        ("logspace", (0, 3, 4), {"base": 2}),
        ("logspace", (jnp.array([0.0, 1]), 2.0, 3), {"axis": 1}),
        ("geomspace", (1.0, 1000.0, 4), {}),
        ("geomspace", (-1.0, -1000.0, 4), {"endpoint": False}),
        ("geomspace", (jnp.array([1.0, 2]), 100.0, 3), {"axis": 1}),
        ("fromfunction", (lambda i, j: i * j + i, (2, 3)), {}),
        ("select", ([AR < 2, AR > 3], [AR, AR * 10]), {"default": -1}),
        ("piecewise", (AR, [AR < 2, AR > 3], [lambda v: -v, lambda v: v * 2]), {}),
        ("piecewise", (AR, [AR < 2], [lambda v: -v, 7.0]), {}),
        ("choose", (jnp.array([0, 3, -1]), [AR[:3], AR[:3] * 2]), {"mode": "wrap"}),
        ("choose", (jnp.array([0, 3, -1]), [AR[:3], AR[:3] * 2]), {"mode": "clip"}),
        ("place", (jnp.arange(6), jnp.arange(6) % 2 == 0, jnp.array([9, 8])), {"inplace": False}),
        ("put", (jnp.zeros(5), jnp.array([0, 2, 4]), jnp.array([5.0, 6.0])), {"inplace": False}),
        ("put", (jnp.zeros(5), jnp.array([0, 7, -1]), 3.0), {"mode": "wrap", "inplace": False}),
        ("put", (jnp.zeros(5), jnp.array([0, 7, -1]), 3.0), {"mode": "clip", "inplace": False}),
        ("put_along_axis", (jnp.zeros((2, 3)), jnp.array([[1], [0]]), 5.0, 1), {"inplace": False}),
        ("put_along_axis", (jnp.zeros((2, 3)), jnp.array([4]), 1.0, None), {"inplace": False}),
        ("apply_along_axis", (lambda v: v[0] + v[-1], 1, I2), {}),
        ("apply_along_axis", (lambda v: (v * v).sum(), 1, jnp.ones((2, 3, 4))), {}),
        ("array_equal", (F, F), {}),
        ("array_equal", (F, I2), {}),
        ("array_equal", (F, F[0]), {}),
        ("array_equal", (jnp.array([NAN]), jnp.array([NAN])), {"equal_nan": True}),
        ("array_equiv", (F[0], F), {}),
        ("array_equiv", (F[0], F[:, :2]), {}),
        ("isreal", (F,), {}),
        ("iscomplex", (F,), {}),
    ]
)


F32 = jnp.array([0.5, -1.0, 2.0, 3.0, 0.25])
HX = jnp.array([0.0, 1, 1, 0.3, 2, -1])
HY = jnp.array([1.0, 0, 1, 0.7, -1, 0.5])

INDEX_TRICKS = [
    ("meshgrid", (V[:3], I2[0]), {}),
    ("meshgrid", (V[:3], I2[0], F32), {"indexing": "ij"}),
    ("meshgrid", (V[:3], I2[0]), {"sparse": True}),
    ("indices", ((2, 3),), {}),
    ("indices", ((2, 3),), {"dtype": jnp.float32, "sparse": True}),
    ("unravel_index", (jnp.array([-7, -1, 0, 5, 6, 100]), (2, 3)), {}),
    ("unravel_index", (jnp.int8(4), (3, 2)), {}),
    ("ravel_multi_index", ((IX[:3], JX[2:]), (2, 3)), {"mode": "clip"}),
    ("ravel_multi_index", ((IX[:3], JX[2:]), (2, 3)), {"mode": "wrap"}),
    (
        "ravel_multi_index",
        ((jnp.array([0, 1]), jnp.array([2, 0])), (2, 3)),
        {"mode": "clip", "order": "F", "dtype": jnp.int8},
    ),
    ("diag_indices", (3,), {}),
    ("diag_indices", (2, 3), {}),
    ("diag_indices_from", (jnp.zeros((3, 3, 3)),), {}),
    ("tril_indices", (3,), {}),
    ("tril_indices", (3, -1, 4), {}),
    ("triu_indices", (3, 1), {}),
    ("triu_indices", (2, 0, 4), {}),
    ("tril_indices_from", (F,), {"k": 1}),
    ("triu_indices_from", (F,), {}),
    ("fill_diagonal", (jnp.zeros((3, 4)), 5.0), {"inplace": False}),
    ("fill_diagonal", (jnp.zeros((5, 2)), jnp.array([1.0, 2, 3])), {"inplace": False}),
    ("fill_diagonal", (jnp.zeros((5, 2), jnp.int32), 7), {"inplace": False}),
    ("fill_diagonal", (jnp.zeros((3, 3, 3)), jnp.array([1.0, 2])), {"inplace": False}),
    ("diagflat", (I2,), {}),
    ("diagflat", (V[:3],), {"k": -1}),
    ("insert", (V, 1, 9.0), {}),
    ("insert", (V, jnp.array([1, 3, 1, 5]), jnp.array([7.0, 8, 9, 6])), {}),
    ("insert", (V, jnp.int32(-2), 3), {}),
    ("insert", (F, 1, jnp.array([10.0, 11])), {"axis": 1}),
    ("insert", (F, 2, 5), {"axis": 0}),
    ("insert", (I2, jnp.array([0, 3]), jnp.array([[7], [8]])), {"axis": 1}),
    ("insert", (I2, slice(0, 2), 4.5), {"axis": 1}),
    ("insert", (F, np.array([0, 1]), jnp.array([[1.0], [2.0]])), {"axis": 1}),
    ("delete", (V, 1), {}),
    ("delete", (V, np.array([0, -1])), {}),
    ("delete", (I2, 1), {"axis": 1}),
    ("delete", (F, slice(0, 3, 2)), {"axis": 1}),
    ("delete", (V, np.array([True, False, True, False, False])), {}),
    ("delete", (V, jnp.array([0, 3])), {"assume_unique_indices": True}),
    ("delete", (I2, jnp.array([-1])), {"axis": 1, "assume_unique_indices": True}),
]

POLYNOMIALS = [
    (name, (a, v), {"mode": mode})
    for name in ("convolve", "correlate")
    for mode in ("full", "same", "valid")
    for a, v in ((V, F32[:3]), (F32[:2], V), (I2[0], I2[1]), (V, F32))
] + [
    ("convolve", (V, jnp.array([2.0])), {}),
    ("correlate", (jnp.array([1, 2]), F32[:4]), {"mode": "full"}),
    ("poly", (V[:3],), {}),
    ("poly", (I2[0],), {}),
    ("polyadd", (I2[0], V), {}),
    ("polyadd", (I2[0], I2[1]), {}),
    ("polysub", (V, F32[:2]), {}),
    ("polymul", (V, F[1]), {}),
    ("polymul", (I2[0], I2[1]), {}),
    ("polyval", (V, F), {}),
    ("polyval", (I2[0], 3), {}),
    ("polyval", (F32, 0.5), {}),
    ("polyder", (V,), {}),
    ("polyder", (I2[0],), {"m": 2}),
    ("polyder", (V,), {"m": 5}),
    ("polyint", (V,), {}),
    ("polyint", (I2[0],), {"m": 2, "k": jnp.array([1.0, 2.0])}),
    ("polyint", (V,), {"m": 3, "k": 0.5}),
    ("polydiv", (V, F[1]), {}),
    ("polydiv", (F32, jnp.array([2.0, -1.0])), {}),
    ("polydiv", (I2[0], I2[1]), {}),
    ("histogram2d", (HX, HY), {}),
    ("histogram2d", (HX, HY), {"bins": [2, 3], "range": [(0.0, 1.0), (-1.0, 1.0)]}),
    ("histogram2d", (HX, HY), {"bins": jnp.array([0.0, 0.5, 1.0, 2.0])}),
    ("histogram2d", (HX, HY), {"bins": 3, "weights": HX, "density": True}),
    ("histogramdd", (jnp.stack([HX, HY, HX * HY], 1),), {"bins": 2}),
    ("histogramdd", (jnp.stack([HX, HY], 1),), {"bins": [3, jnp.array([-1.0, 0, 1])]}),
    ("histogramdd", (jnp.stack([HX, HY], 1),), {"bins": 2, "density": True}),
    ("nextafter", (X, 0.0), {}),
    ("nextafter", (X, X[::-1]), {}),
    ("nextafter", (1.0, 2.0), {}),
    ("spacing", (X,), {}),
    ("spacing", (jnp.array([0.0, -0.0, 1e-40, -5.0, 65504.0], jnp.float16),), {}),
    ("spacing", (IX,), {}),
    ("bitwise_left_shift", (IX, 2), {}),
    ("bitwise_right_shift", (IX, jnp.array([1, 2, 3, 0, 1])), {}),
]

TABLES = [
    NAN_REDUCTIONS,
    QUANTILES,
    PARTITION,
    ELEMENTWISE,
    WINDOWS,
    SIZED,
    SEARCHING,
    MANIPULATION,
    INDEX_TRICKS,
    POLYNOMIALS,
]


def _check_all(cases, rtol=2e-5, atol=2e-6):
    """check_table's comparison, with the two XLA compiles (ours and JAX's, which
    dominate the cost) run side by side on two threads, and no eager cases
    (those are test_eager_sample_against_jax)."""
    bound = []
    failures = []
    for name, args, kwargs in cases:
        what = f"{name}{tuple(type(a).__name__ for a in args)}{kwargs or ''}"
        ours, arrays = _bind(getattr(mnp, name), args, kwargs)
        theirs, _ = _bind(getattr(jnp, name), args, kwargs)
        bound.append((what, ours, theirs, arrays))
        try:
            assert_same_avals(ours, theirs, arrays, {}, what)
        except Exception as e:  # noqa: BLE001  (collected and reported below)
            failures.append(f"{what}: {type(e).__name__}: {e}")
    arrays = [b[3] for b in bound]
    lowered = [
        mg.jit(lambda arrs: [b[1](*a) for b, a in zip(bound, arrs)]).lower(arrays),
        jax.jit(lambda arrs: [b[2](*a) for b, a in zip(bound, arrs)]).lower(arrays),
    ]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        ours_exe, theirs_exe = pool.map(lambda low: low.compile(), lowered)
    for (what, *_), o, t in zip(bound, ours_exe(arrays), theirs_exe(arrays), strict=True):
        try:
            assert_same(o, t, rtol, atol, what=f"{what} [jit]")
        except AssertionError as e:
            failures.append(str(e))
    assert not failures, f"{len(failures)} failing case(s):\n" + "\n".join(failures)


def test_against_jax():
    """Every table at once: values, dtypes and traced avals (weak types) under mg.jit."""
    _check_all([c for t in TABLES for c in t])


def test_eager_sample_against_jax():
    """Op-by-op evaluation of a sample the combined jit does not run eagerly."""
    sample = [
        ("sinc", (X,), {}),
        ("polyadd", (I2[0], V), {}),
        ("convolve", (V, F32[:3]), {"mode": "same"}),
        ("polyval", (V, F), {}),
        ("histogram2d", (HX, HY), {"bins": 2}),
        ("unravel_index", (jnp.array([-7, 5, 6]), (2, 3)), {}),
    ]
    # JAX's side, the reference, in one jax.jit (one compile instead of one per op)
    bound = [_bind(getattr(jnp, name), args, kwargs) for name, args, kwargs in sample]
    theirs = jax.jit(lambda arrs: [f(*a) for (f, _), a in zip(bound, arrs)])([a for _, a in bound])
    for (name, args, kwargs), t in zip(sample, theirs, strict=True):
        assert_same(getattr(mnp, name)(*args, **kwargs), t, 2e-5, 2e-6, what=name)


EAGER_ONLY = [
    ("unique", (U1,), {}),
    ("unique", (UF,), ALL_FLAGS),
    ("unique_values", (UF,), {}),
    ("union1d", (S1, S2), {}),
    ("setdiff1d", (S1, S2), {}),
    ("intersect1d", (S1, S2), {"return_indices": True}),
    ("nonzero", (M,), {}),
    ("extract", (M > 0, M), {}),
    ("bincount", (jnp.array([0, 1, 1, 3]),), {}),
    ("trim_zeros", (jnp.array([0, 0, 1, 0, 2, 0]),), {}),
    ("ravel_multi_index", ((jnp.array([0, 1]), jnp.array([2, 0])), (2, 3)), {}),
    ("mask_indices", (3, "triu"), {"k": 1}),
    ("polymul", (jnp.array([0.0, 0, 1, 2]), jnp.array([0.0, 3])), {"trim_leading_zeros": True}),
    ("polydiv", (V, jnp.array([1.0, 2])), {"trim_leading_zeros": True}),
    ("delete", (V, jnp.array([1, 1, -1])), {}),
]


@pytest.mark.parametrize("case", EAGER_ONLY, ids=lambda c: f"{c[0]}{c[2]}")
def test_data_dependent_shapes_eagerly(case):
    name, args, kwargs = case
    o_args = [getattr(mnp, a) if isinstance(a, str) else a for a in args]
    t_args = [getattr(jnp, a) if isinstance(a, str) else a for a in args]
    ours, theirs = getattr(mnp, name)(*o_args, **kwargs), getattr(jnp, name)(*t_args, **kwargs)
    assert type(ours).__name__ == type(theirs).__name__
    assert_same(
        tuple(ours) if isinstance(ours, tuple) else ours,
        tuple(theirs) if isinstance(theirs, tuple) else theirs,
        what=name,
    )


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: mnp.unique(x),
        lambda x: mnp.nonzero(x),
        lambda x: mnp.setdiff1d(x, x),
        lambda x: mnp.bincount(x),
        lambda x: mnp.trim_zeros(x),
        lambda x: mnp.extract(x > 1, x),
        lambda x: mnp.delete(x, x[:2]),
        lambda x: mnp.ravel_multi_index((x, x), (4, 4)),
        lambda x: mnp.polymul(x, x, trim_leading_zeros=True),
        lambda x: mnp.mask_indices(x.shape[0], lambda m, k: mnp.triu(m * x, k)),
    ],
)
def test_data_dependent_shapes_need_size_under_transforms(fn):
    with pytest.raises(ConcretizationError):
        mg.jit(fn)(U1)


@pytest.mark.parametrize("name", ["unique_counts", "unique_inverse", "unique_all"])
def test_unique_results_are_named_tuples_like_jax(name):
    for x, kwargs in ((U2, {"size": 6}), (UF, {"size": 6, "fill_value": 0}), (U2, {})):
        ref = getattr(jnp, name)
        # jitted where the shapes are static (size=); a namedtuple comes out of jax.jit too
        theirs = jax.jit(partial(ref, **kwargs))(x) if kwargs else ref(x)
        ours = getattr(mnp, name)(x, **kwargs)
        assert ours._fields == theirs._fields
        assert_same(tuple(ours), tuple(theirs), what=name)
        if kwargs and name == "unique_all":
            jitted = mg.jit(lambda x, kwargs=kwargs: tuple(getattr(mnp, name)(x, **kwargs)))(x)
            assert_same(jitted, tuple(theirs), what=name)


def test_grad_matches_jax():
    cases = [
        (lambda x: mnp.nanquantile(x, 0.3), lambda x: jnp.nanquantile(x, 0.3), A[0]),
        (lambda x: mnp.nanmax(x), lambda x: jnp.nanmax(x), A[0]),
        (lambda x: mnp.median(x), lambda x: jnp.median(x), V),
        (lambda x: mnp.sinc(x).sum(), lambda x: jnp.sinc(x).sum(), jnp.array([0.0, 0.3, -1.2])),
        (lambda x: mnp.i0(x).sum(), lambda x: jnp.i0(x).sum(), jnp.array([0.5, 2.0, -3.0])),
        (lambda x: mnp.fmax(x, 1.0).sum(), lambda x: jnp.fmax(x, 1.0).sum(), V - 3),
        (
            lambda f: mnp.interp(0.3, jnp.array([0.0, 1]), f),
            lambda f: jnp.interp(0.3, jnp.array([0.0, 1]), f),
            jnp.array([1.0, 2.0]),
        ),
        (
            lambda w: mnp.histogram(H, weights=w)[0][2],
            lambda w: jnp.histogram(H, weights=w)[0][2],
            H,
        ),
        (
            lambda x: mnp.gradient(x).sum() + mnp.diff(x, 2).sum() + mnp.trapezoid(x * x),
            lambda x: jnp.gradient(x).sum() + jnp.diff(x, 2).sum() + jnp.trapezoid(x * x),
            V,
        ),
        (
            lambda x: mnp.cov(mnp.resize(x, (2, 3))).sum(),
            lambda x: jnp.cov(jnp.resize(x, (2, 3))).sum(),
            V,
        ),
        (lambda x: mnp.cross(x, B3[0]).sum(), lambda x: jnp.cross(x, B3[0]).sum(), A3[0]),
        (lambda x: mnp.kron(x, x).sum(), lambda x: jnp.kron(x, x).sum(), V),
        (lambda x: mnp.partition(x, 2)[1], lambda x: jnp.partition(x, 2)[1], V),
        (lambda x: mnp.unique(x, size=3)[1], lambda x: jnp.unique(x, size=3)[1], V),
        (
            lambda x: mnp.convolve(x, F32[:3], "same").sum() + mnp.correlate(x, x).sum(),
            lambda x: jnp.convolve(x, F32[:3], "same").sum() + jnp.correlate(x, x).sum(),
            V,
        ),
        (
            lambda x: mnp.polyval(x, 1.5) + mnp.polydiv(x, F[1])[0].sum(),
            lambda x: jnp.polyval(x, 1.5) + jnp.polydiv(x, F[1])[0].sum(),
            V,
        ),
        (lambda x: mnp.poly(x).sum(), lambda x: jnp.poly(x).sum(), V[:3]),
        (
            lambda x: (mnp.insert(x, 2, x[0] * 3) ** 2).sum() + mnp.delete(x, 1).prod(),
            lambda x: (jnp.insert(x, 2, x[0] * 3) ** 2).sum() + jnp.delete(x, 1).prod(),
            V,
        ),
        (
            lambda x: (mnp.fill_diagonal(mnp.outer(x, x), x, inplace=False) ** 2).sum(),
            lambda x: (jnp.fill_diagonal(jnp.outer(x, x), x, inplace=False) ** 2).sum(),
            V,
        ),
    ]
    # One compiled program per side: grad rules traced, XLA compiled once.
    ours = mg.jit(lambda xs: [mg.grad(c[0])(x) for c, x in zip(cases, xs)])
    theirs = jax.jit(lambda xs: [jax.grad(c[1])(x) for c, x in zip(cases, xs)])
    xs = [c[2] for c in cases]
    want = theirs(xs)
    assert_same(ours(xs), want, rtol=1e-5, atol=1e-6)
    # our eager grad of the last case, against JAX's value from the program above
    assert_same(mg.grad(cases[-1][0])(xs[-1]), want[-1], rtol=1e-5, atol=1e-6)


def test_vmap_matches_jax():
    cases = [
        (lambda x: mnp.nanmedian(x), lambda x: jnp.nanmedian(x), A),
        (lambda x: mnp.partition(x, 2), lambda x: jnp.partition(x, 2), B),
        (lambda x: mnp.argpartition(x, 2), lambda x: jnp.argpartition(x, 2), B),
        (lambda x: mnp.unique(x, size=3), lambda x: jnp.unique(x, size=3), U2),
        (lambda x: mnp.nonzero(x, size=2)[0], lambda x: jnp.nonzero(x, size=2)[0], M),
        (
            lambda x: mnp.searchsorted(x, 2.5),
            lambda x: jnp.searchsorted(x, 2.5),
            jnp.sort(B, axis=1),
        ),
        (lambda x: mnp.gcd(x, 6), lambda x: jnp.gcd(x, 6), I2),
        (lambda x: mnp.cross(x, B3[0]), lambda x: jnp.cross(x, B3[0]), A3),
        (
            lambda x: mnp.select([x < 2, x > 3], [x, x * 10], default=-1),
            lambda x: jnp.select([x < 2, x > 3], [x, x * 10], default=-1),
            F,
        ),
        (lambda x: mnp.bincount(x, length=10), lambda x: jnp.bincount(x, length=10), I2),
        (lambda x: mnp.histogram(x, bins=3)[0], lambda x: jnp.histogram(x, bins=3)[0], B),
        (lambda x: mnp.diff(x), lambda x: jnp.diff(x), B),
        (lambda x: mnp.convolve(x, x[:2]), lambda x: jnp.convolve(x, x[:2]), B),
        (lambda x: mnp.polyval(x, x), lambda x: jnp.polyval(x, x), B),
        (
            lambda x: mnp.insert(x, x[0].astype(int) % 3, -x),
            lambda x: jnp.insert(x, x[0].astype(int) % 3, -x),
            B,
        ),
        (
            lambda x: mnp.unravel_index(x, (3, 4)),
            lambda x: jnp.unravel_index(x, (3, 4)),
            I2,
        ),
        (
            lambda x: mnp.histogram2d(x, x * 2, bins=2, range=[(0, 5), (0, 9)])[0],
            lambda x: jnp.histogram2d(x, x * 2, bins=2, range=[(0, 5), (0, 9)])[0],
            B,
        ),
        (
            lambda x: mnp.delete(x, jnp.array([0, 4]), assume_unique_indices=True),
            lambda x: jnp.delete(x, jnp.array([0, 4]), assume_unique_indices=True),
            B,
        ),
    ]
    ours = mg.jit(lambda xs: [mg.vmap(c[0])(x) for c, x in zip(cases, xs)])
    theirs = jax.jit(lambda xs: [jax.vmap(c[1])(x) for c, x in zip(cases, xs)])
    xs = [c[2] for c in cases]
    want = theirs(xs)
    assert_same(ours(xs), want, rtol=1e-5, atol=1e-6)
    # our eager vmap of the last case, against JAX's value from the program above
    assert_same(mg.vmap(cases[-1][0])(xs[-1]), want[-1])


def test_predicates_and_vectorize():
    for name, arg in [
        ("isscalar", 1.0),
        ("isscalar", jnp.array(1.0)),
        ("isscalar", F),
        ("isscalar", np.float32(1)),
        ("iterable", F),
        ("iterable", 1),
        ("isrealobj", F),
        ("iscomplexobj", F),
        ("iscomplexobj", 1j),
    ]:
        assert getattr(mnp, name)(arg) == getattr(jnp, name)(arg), name
    assert mnp.isdtype(jnp.float32, "real floating") and not mnp.isdtype(jnp.int8, "bool")
    f = lambda x, y: x * 2 + y  # noqa: E731
    want = jax.jit(jnp.vectorize(f))(F, V[:3])
    assert_same(mnp.vectorize(f)(F, V[:3]), want)
    g = lambda x, y: (x * y).sum()  # noqa: E731
    sig = "(n),(n)->()"
    assert_same(
        mnp.vectorize(g, signature=sig)(F, V[:3]),
        jax.jit(jnp.vectorize(g, signature=sig))(F, V[:3]),
    )
    assert_same(mg.jit(mnp.vectorize(f))(F, V[:3]), want)
    assert mnp.s_[1:2, ::3] == jnp.s_[1:2, ::3] and mnp.index_exp[0] == jnp.index_exp[0]
    with pytest.raises(NotImplementedError):
        mnp.fill_diagonal(F, 1.0)
    assert_same(
        mnp.apply_over_axes(mnp.sum, jnp.ones((2, 3, 4)), [0, 2]),
        jax.jit(lambda x: jnp.apply_over_axes(jnp.sum, x, [0, 2]))(jnp.ones((2, 3, 4))),
    )


GRIDS = [
    lambda m: m.r_[1:4, 0, jnp.array([7, 8])],
    lambda m: m.r_[0:1:5j, jnp.array([2.0])],
    lambda m: m.r_["0,2", jnp.array([1, 2]), jnp.array([3, 4])],
    lambda m: m.r_["1,2,0", jnp.array([1, 2]), jnp.array([3, 4])],
    lambda m: m.r_["-1", F, F],
    lambda m: m.r_[1.0, 2],
    lambda m: m.c_[jnp.array([1, 2]), jnp.array([3.0, 4])],
    lambda m: m.c_[F, I2],
    lambda m: m.mgrid[0:2, 0:3],
    lambda m: m.mgrid[0:1:3j, 1:3],
    lambda m: m.mgrid[-1:1:0.5],
    lambda m: m.ogrid[0:2, 0:3.0],
    lambda m: m.ogrid[0:4:2],
    lambda m: m.ix_(jnp.array([0, 1]), jnp.array([2, 3, 4]), jnp.array([1])),
    lambda m: m.mask_indices(3, m.triu, size=6),
    lambda m: m.mask_indices(3, m.tril, -1, size=2),
]


def test_grids_and_concatenators():
    """r_, c_, mgrid, ogrid, ix_ (and mask_indices, whose mask function is
    per library): eagerly, and together under one mg.jit."""
    theirs = jax.jit(lambda: [f(jnp) for f in GRIDS])()
    for i, f in enumerate(GRIDS):
        assert_same(f(mnp), theirs[i], what=f"grid case {i}")
    jitted = mg.jit(lambda: [f(mnp) for f in GRIDS])()
    assert_same(jitted, theirs, what="grids under jit")


def test_host_forwards(tmp_path):
    x = jnp.arange(3.0)
    path = tmp_path / "x.npy"
    mnp.save(path, x)
    assert_same(mnp.load(path), jnp.load(path))
    assert_same(mnp.frombuffer(b"\x01\x02", dtype=jnp.uint8), jnp.array([1, 2], jnp.uint8))
    with pytest.raises(NotImplementedError):
        mnp.fromiter(range(3), dtype=float)
    assert mnp.array_str(x) == jnp.array_str(x) and mnp.array_repr(x) == jnp.array_repr(x)
    with mnp.printoptions(precision=2):
        assert mnp.get_printoptions()["precision"] == 2
