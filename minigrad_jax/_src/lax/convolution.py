"""conv_general_dilated and its wrappers (conv, conv_with_general_padding, conv_transpose, ...).

One primitive, ``conv_general_dilated``, with JAX's params: explicit ``padding``
pairs, ``lhs_dilation`` / ``rhs_dilation``, a ``ConvDimensionNumbers`` naming
where the batch, feature and spatial axes of each operand sit, and the
feature/batch group counts. It is bilinear: the JVP is two convs, and each
transpose is itself a conv (dimension numbers swapped, strides and dilations
exchanged, padding recomputed, group counts moved between feature and batch),
as JAX derives them. vmap folds the mapped axis into the batch dimension (lhs
mapped) or into feature groups (rhs or both mapped). See docs/convolution.md.
"""

from __future__ import annotations

import math
import operator

import numpy as np
from jax import lax as jlax
from jax.lax import ConvDimensionNumbers

from minigrad_jax._src import core
from minigrad_jax._src.core import Primitive, ShapedArray
from minigrad_jax._src.interpreters import ad, batching, lowering
from minigrad_jax._src.interpreters.ad import Zero, is_undefined
from minigrad_jax._src.lax.base import (
    broadcast_in_dim,
    broadcasted_iota,
    convert_element_type,
    full,
    padtype_to_pads,
    reshape,
    transpose,
)
from minigrad_jax._src.lax.elementwise import add, eq
from minigrad_jax._src.lax.linalg import canonicalize_precision, dot_general
from minigrad_jax._src.lax.structural import rev

__all__ = [
    "ConvDimensionNumbers",
    "conv",
    "conv_dimension_numbers",
    "conv_general_dilated",
    "conv_general_dilated_local",
    "conv_general_dilated_p",
    "conv_general_dilated_patches",
    "conv_general_permutations",
    "conv_general_shape_tuple",
    "conv_shape_tuple",
    "conv_transpose",
    "conv_transpose_shape_tuple",
    "conv_with_general_padding",
]

conv_general_dilated_p = Primitive("conv_general_dilated")


# ---------------------------------------------------------------------------
# shape helpers


def _dilate_shape(shape, dilation):
    """Each size ``d`` dilated by ``r``: ``1 + r * (d - 1)`` (0 stays 0)."""
    return tuple(0 if d == 0 else 1 + int(r) * (int(d) - 1) for d, r in zip(shape, dilation))


def _stride_dim(d, window, stride):
    return max((int(d) - int(window)) // int(stride) + 1, 0)


def conv_shape_tuple(lhs_shape, rhs_shape, strides, pads, batch_group_count=1):
    """The output shape of a conv whose operands are in canonical (N, C, spatial...) order.

    Example:
        >>> from minigrad_jax import lax
        >>> lax.conv_shape_tuple((2, 3, 5, 5), (4, 3, 3, 3), (1, 1), "SAME")
        (2, 4, 5, 5)
    """
    lhs_shape, rhs_shape = tuple(lhs_shape), tuple(rhs_shape)
    if isinstance(pads, str):
        pads = padtype_to_pads(lhs_shape[2:], rhs_shape[2:], strides, pads)
    pads = [tuple(p) for p in pads]
    if len(pads) != len(lhs_shape) - 2:
        raise TypeError(
            "Wrong number of explicit pads for convolution: expected "
            f"{len(lhs_shape) - 2}, got {len(pads)}."
        )
    padded = [int(n) + int(lo) + int(hi) for n, (lo, hi) in zip(lhs_shape[2:], pads)]
    if any(p < 0 for p in padded):
        raise ValueError(
            "Negative padding is larger than the size of the corresponding dimension: "
            f"got padding={tuple(pads)} for lhs_shape[2:]={lhs_shape[2:]}"
        )
    space = tuple(_stride_dim(p, k, s) for p, k, s in zip(padded, rhs_shape[2:], strides))
    batch = lhs_shape[0] // batch_group_count if batch_group_count > 1 else lhs_shape[0]
    return (int(batch), int(rhs_shape[0])) + space


def conv_general_permutations(dimension_numbers):
    """The (lhs, rhs, out) axis permutations named by three spec strings.

    Each permutation lists the batch (``N``; ``O`` for rhs) axis, the feature
    (``C``; ``I`` for rhs) axis, then the spatial axes in the order they appear
    in the rhs spec.

    Example:
        >>> from minigrad_jax import lax
        >>> lax.conv_general_permutations(("NHWC", "HWIO", "NHWC"))
        ((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2))
    """
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    charpairs = (("N", "C"), ("O", "I"), ("N", "C"))
    for i, (a, b) in enumerate(charpairs):
        spec = dimension_numbers[i]
        if not spec.count(a) == spec.count(b) == 1:
            raise TypeError(
                f"convolution dimension_numbers[{i}] must contain the characters "
                f"'{a}' and '{b}' exactly once, got {spec}."
            )
        if len(spec) != len(set(spec)):
            raise TypeError(
                f"convolution dimension_numbers[{i}] cannot have duplicate characters, got {spec}."
            )
    spatial_sets = [set(s) - set(c) for s, c in zip(dimension_numbers, charpairs)]
    if not spatial_sets[0] == spatial_sets[1] == spatial_sets[2]:
        raise TypeError(
            "convolution dimension_numbers elements must each have the same set of "
            f"spatial characters, got {tuple(dimension_numbers)}."
        )

    def perm(spec, pair):
        spatial = [i for i, c in enumerate(spec) if c not in pair]
        spatial.sort(key=lambda i: rhs_spec.index(spec[i]))
        return (spec.index(pair[0]), spec.index(pair[1])) + tuple(spatial)

    return tuple(perm(s, c) for s, c in zip(dimension_numbers, charpairs))


def conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers):
    """``dimension_numbers`` (None, three spec strings, or a ConvDimensionNumbers) in
    canonical ``ConvDimensionNumbers`` form.

    Example:
        >>> from minigrad_jax import lax
        >>> lax.conv_dimension_numbers((2, 5, 5, 3), (3, 3, 3, 4), ("NHWC", "HWIO", "NHWC"))
        ConvDimensionNumbers(lhs_spec=(0, 3, 1, 2), rhs_spec=(3, 2, 0, 1), out_spec=(0, 3, 1, 2))
    """
    if isinstance(dimension_numbers, ConvDimensionNumbers):
        return ConvDimensionNumbers(*(tuple(int(i) for i in s) for s in dimension_numbers))
    if len(lhs_shape) != len(rhs_shape):
        raise TypeError(
            "convolution requires lhs and rhs ndim to be equal, got "
            f"{len(lhs_shape)} and {len(rhs_shape)}."
        )
    if dimension_numbers is None:
        iota = tuple(range(len(lhs_shape)))
        return ConvDimensionNumbers(iota, iota, iota)
    if isinstance(dimension_numbers, (list, tuple)):
        if len(dimension_numbers) != 3:
            raise TypeError(
                "convolution dimension_numbers list/tuple must be length 3, got "
                f"{len(dimension_numbers)}."
            )
        if not all(isinstance(s, str) for s in dimension_numbers):
            raise TypeError(
                "convolution dimension_numbers elements must be strings, got "
                f"{tuple(type(s) for s in dimension_numbers)}."
            )
        for i, s in enumerate(dimension_numbers):
            if len(s) != len(lhs_shape):
                raise TypeError(
                    f"convolution dimension_numbers[{i}] must have len equal to the ndim "
                    f"of lhs and rhs, got {len(s)} for lhs and rhs shapes "
                    f"{tuple(lhs_shape)} and {tuple(rhs_shape)}."
                )
        return ConvDimensionNumbers(*conv_general_permutations(dimension_numbers))
    raise TypeError(
        f"convolution dimension_numbers must be tuple/list or None, got {type(dimension_numbers)}."
    )


def conv_general_shape_tuple(lhs_shape, rhs_shape, window_strides, padding, dimension_numbers):
    """The output shape of a conv with the given dimension-number spec strings.

    Example:
        >>> from minigrad_jax import lax
        >>> lax.conv_general_shape_tuple(
        ...     (2, 5, 5, 3), (3, 3, 3, 4), (2, 2), "SAME", ("NHWC", "HWIO", "NHWC"))
        (2, 3, 3, 4)
    """
    lhs_perm, rhs_perm, out_perm = conv_general_permutations(dimension_numbers)
    out = conv_shape_tuple(
        np.take(lhs_shape, lhs_perm), np.take(rhs_shape, rhs_perm), window_strides, padding
    )
    return tuple(int(out[i]) for i in np.argsort(out_perm))


def conv_transpose_shape_tuple(lhs_shape, rhs_shape, window_strides, padding, dimension_numbers):
    """The output shape of ``conv_transpose`` with the given spec strings.

    Example:
        >>> from minigrad_jax import lax
        >>> lax.conv_transpose_shape_tuple(
        ...     (2, 3, 3, 4), (3, 3, 4, 5), (2, 2), "SAME", ("NHWC", "HWIO", "NHWC"))
        (2, 6, 6, 5)
    """
    lhs_perm, rhs_perm, out_perm = conv_general_permutations(dimension_numbers)
    lhs_t, rhs_t = np.take(lhs_shape, lhs_perm), np.take(rhs_shape, rhs_perm)
    if isinstance(padding, str):
        padding = [
            _conv_transpose_padding(k, s, padding) for k, s in zip(rhs_t[2:], window_strides)
        ]
    totals = [int(np.sum(p)) for p in padding]
    space = [
        (int(i) - 1) * int(s) - int(k) + 2 + p
        for i, k, s, p in zip(lhs_t[2:], rhs_t[2:], window_strides, totals)
    ]
    out = (int(lhs_t[0]), int(rhs_t[0]), *space)
    return tuple(out[i] for i in np.argsort(out_perm))


# ---------------------------------------------------------------------------
# the primitive: abstract evaluation


def _check_spec(name, spec, ndim, shape):
    if len(spec) != ndim or sorted(spec) != list(range(ndim)):
        raise ValueError(
            f"conv_general_dilated dimension_numbers {name} {tuple(spec)} must be a "
            f"permutation of the {ndim} axes of the operand of shape {shape}."
        )


def _conv_shape(lhs, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
                dimension_numbers, feature_group_count, batch_group_count):  # fmt: skip
    dn = dimension_numbers
    if not isinstance(dn, ConvDimensionNumbers):
        raise TypeError(
            f"conv_general_dilated dimension_numbers must be a ConvDimensionNumbers, got {dn!r}"
        )
    if lhs.ndim != rhs.ndim:
        raise ValueError(
            "conv_general_dilated lhs and rhs must have the same number of dimensions, "
            f"but got {lhs.shape} and {rhs.shape}."
        )
    if lhs.ndim < 2:
        raise ValueError(
            "conv_general_dilated operands need a batch and a feature dimension, got "
            f"shapes {lhs.shape} and {rhs.shape}."
        )
    _check_spec("lhs_spec", dn.lhs_spec, lhs.ndim, lhs.shape)
    _check_spec("rhs_spec", dn.rhs_spec, rhs.ndim, rhs.shape)
    _check_spec("out_spec", dn.out_spec, lhs.ndim, lhs.shape)
    if not feature_group_count > 0:
        raise ValueError(
            "conv_general_dilated feature_group_count must be a positive integer, "
            f"got {feature_group_count}."
        )
    lhs_feat = lhs.shape[dn.lhs_spec[1]]
    rhs_in, rhs_out = rhs.shape[dn.rhs_spec[1]], rhs.shape[dn.rhs_spec[0]]
    quot, rem = divmod(lhs_feat, feature_group_count)
    if rem:
        raise ValueError(
            "conv_general_dilated feature_group_count must divide lhs feature dimension "
            f"size, but {feature_group_count} does not divide {lhs_feat} "
            f"(lhs shape {lhs.shape})."
        )
    if quot != rhs_in:
        raise ValueError(
            "conv_general_dilated lhs feature dimension size divided by "
            "feature_group_count must equal the rhs input feature dimension size, but "
            f"{lhs_feat} // {feature_group_count} != {rhs_in} "
            f"(lhs shape {lhs.shape}, rhs shape {rhs.shape})."
        )
    if rhs_out % feature_group_count:
        raise ValueError(
            "conv_general_dilated rhs output feature dimension size must be a multiple "
            f"of feature_group_count, but {rhs_out} is not a multiple of "
            f"{feature_group_count} (rhs shape {rhs.shape})."
        )
    if not batch_group_count > 0:
        raise ValueError(
            "conv_general_dilated batch_group_count must be a positive integer, "
            f"got {batch_group_count}."
        )
    lhs_batch = lhs.shape[dn.lhs_spec[0]]
    if batch_group_count > 1 and lhs_batch % batch_group_count:
        raise ValueError(
            "conv_general_dilated batch_group_count must divide lhs batch dimension "
            f"size, but {batch_group_count} does not divide {lhs_batch} "
            f"(lhs shape {lhs.shape})."
        )
    if rhs_out % batch_group_count:
        raise ValueError(
            "conv_general_dilated rhs output feature dimension size must be a multiple "
            f"of batch_group_count, but {rhs_out} is not a multiple of "
            f"{batch_group_count} (rhs shape {rhs.shape})."
        )
    if batch_group_count > 1 and feature_group_count > 1:
        raise ValueError(
            "At most one of batch_group_count and feature_group_count may be > 1, got "
            f"batch_group_count={batch_group_count} and "
            f"feature_group_count={feature_group_count}"
        )
    nsp = lhs.ndim - 2
    for what, v in (
        ("window_strides", window_strides),
        ("lhs_dilation", lhs_dilation),
        ("rhs_dilation", rhs_dilation),
    ):
        if len(v) != nsp:
            raise ValueError(
                f"conv_general_dilated window and {what} must have the same number of "
                f"dimensions, but got {nsp} and {len(v)} (lhs shape {lhs.shape}, "
                f"rhs shape {rhs.shape})"
            )
        if any(int(s) < 1 for s in v):
            raise ValueError(f"conv_general_dilated {what} must be positive, got {tuple(v)}")
    lhs_t = _dilate_shape(np.take(lhs.shape, dn.lhs_spec), (1, 1, *lhs_dilation))
    rhs_t = _dilate_shape(np.take(rhs.shape, dn.rhs_spec), (1, 1, *rhs_dilation))
    out_t = conv_shape_tuple(lhs_t, rhs_t, window_strides, padding, batch_group_count)
    return tuple(out_t[i] for i in np.argsort(dn.out_spec))


def _conv_abstract(lhs, rhs, *, precision, preferred_element_type, out_sharding, **params):
    shape = _conv_shape(lhs, rhs, **params)
    if lhs.dtype != rhs.dtype:
        raise TypeError(
            "lax.conv_general_dilated requires arguments to have the same dtypes, got "
            f"{lhs.dtype.name}, {rhs.dtype.name} (shapes {lhs.shape} and {rhs.shape})."
        )
    if lhs.dtype == np.bool_ or not np.issubdtype(lhs.dtype, np.number):
        raise TypeError(f"conv_general_dilated does not accept dtype {lhs.dtype.name}")
    dtype = lhs.dtype
    if preferred_element_type is not None:
        _validate_preferred_element_type(lhs.dtype, preferred_element_type)
        dtype = preferred_element_type
    return ShapedArray(shape, dtype, lhs.weak_type and rhs.weak_type)


def _validate_preferred_element_type(dtype, preferred):
    kinds = (np.integer, np.floating, np.complexfloating)
    int_to_float = np.issubdtype(dtype, np.integer) and np.issubdtype(preferred, np.floating)
    if not int_to_float:
        if any(np.issubdtype(dtype, k) and not np.issubdtype(preferred, k) for k in kinds):
            raise TypeError(
                "Input type is incompatible with `preferred_element_type`. The compatible "
                "combinations of (input_type, preferred_element_type) are (integral, "
                "integral), (integral, floating), (floating, floating), (complex, complex); "
                f"got ({dtype.name}, {preferred.name})."
            )
        if np.issubdtype(dtype, np.signedinteger) and not np.issubdtype(
            preferred, np.signedinteger
        ):
            raise TypeError("`preferred_element_type` must have the same signedness as the input.")
    if np.dtype(preferred).itemsize < np.dtype(dtype).itemsize:
        raise TypeError(
            "`preferred_element_type` must not be narrower than the original type, got "
            f"{preferred.name} for {dtype.name} inputs."
        )


# ---------------------------------------------------------------------------
# transposes: each is a conv of the cotangent with the other operand


def _spec_t(spec):
    return (spec[1], spec[0]) + tuple(spec[2:])


def _sdims(spec):
    return tuple(spec[2:])


def _reshape_axis_into(src, dst, x):
    """Merge axis ``src`` into axis ``dst`` (numbered with ``src`` removed), ``src`` major."""
    shape = core.get_aval(x).shape
    perm = [i for i in range(len(shape)) if i != src]
    perm.insert(dst, src)
    new_shape = [s for i, s in enumerate(shape) if i != src]
    new_shape[dst] *= shape[src]
    return reshape(x, tuple(new_shape), tuple(perm))


def _reshape_axis_out_of(src, size1, x):
    """Split axis ``src`` into ``(size1, rest)``."""
    shape = list(core.get_aval(x).shape)
    size2, ragged = divmod(shape[src], size1)
    if ragged:
        raise ValueError(f"cannot split an axis of size {shape[src]} into groups of {size1}")
    shape[src : src + 1] = [size1, size2]
    return reshape(x, tuple(shape))


def _vjp_lhs_padding(in_shape, window, strides, out_shape, padding, lhs_dil, rhs_dil):
    lhs_d = _dilate_shape(in_shape, lhs_dil)
    rhs_d = _dilate_shape(window, rhs_dil)
    out_d = _dilate_shape(out_shape, strides)
    before = [k - lo - 1 for k, (lo, _) in zip(rhs_d, padding)]
    after = [n + k - 1 - o - b for n, k, o, b in zip(lhs_d, rhs_d, out_d, before)]
    return tuple(zip(before, after))


def _vjp_rhs_padding(in_shape, window, strides, out_shape, padding, lhs_dil, rhs_dil):
    if len(in_shape) == 0:
        return ()
    lhs_d = _dilate_shape(in_shape, lhs_dil)
    rhs_d = _dilate_shape(window, rhs_dil)
    out_d = _dilate_shape(out_shape, strides)
    lows = [lo for lo, _ in padding]
    highs = [o - n + k - lo - 1 for o, n, k, lo in zip(out_d, lhs_d, rhs_d, lows)]
    return tuple(zip(lows, highs))


def _transpose_lhs(g, lhs_aval, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
                   dimension_numbers, feature_group_count, batch_group_count, precision,
                   preferred_element_type, out_sharding):  # fmt: skip
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    rhs_shape = core.get_aval(rhs).shape
    g_shape = core.get_aval(g).shape
    if feature_group_count > 1:
        # the group axis moves from the kernel's output features to its input features
        rhs = _reshape_axis_out_of(rhs_spec[0], feature_group_count, rhs)
        rhs = _reshape_axis_into(rhs_spec[0], rhs_spec[1], rhs)
    elif batch_group_count > 1:
        rhs = _reshape_axis_out_of(rhs_spec[0], batch_group_count, rhs)
        rhs = _reshape_axis_into(rhs_spec[0], rhs_spec[1], rhs)
        feature_group_count = batch_group_count
    dn = ConvDimensionNumbers(out_spec, _spec_t(rhs_spec), lhs_spec)
    pads = _vjp_lhs_padding(
        np.take(lhs_aval.shape, _sdims(lhs_spec)),
        np.take(rhs_shape, _sdims(rhs_spec)),
        window_strides,
        np.take(g_shape, _sdims(out_spec)),
        padding,
        lhs_dilation,
        rhs_dilation,
    )
    w = rev(rhs, _sdims(rhs_spec))
    g_dtype = core.get_aval(g).dtype
    if core.get_aval(w).dtype != g_dtype:
        w = convert_element_type(w, g_dtype)
    out = conv_general_dilated(
        g,
        w,
        window_strides=lhs_dilation,
        padding=pads,
        lhs_dilation=window_strides,
        rhs_dilation=rhs_dilation,
        dimension_numbers=dn,
        feature_group_count=feature_group_count,
        batch_group_count=1,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
    if core.get_aval(out).dtype != lhs_aval.dtype:
        out = convert_element_type(out, lhs_aval.dtype)
    if batch_group_count > 1:
        out = _reshape_axis_out_of(lhs_spec[1], batch_group_count, out)
        out = _reshape_axis_into(lhs_spec[1], lhs_spec[0], out)
    return out


def _transpose_rhs(g, lhs, rhs_aval, *, window_strides, padding, lhs_dilation, rhs_dilation,
                   dimension_numbers, feature_group_count, batch_group_count, precision,
                   preferred_element_type, out_sharding):  # fmt: skip
    g_aval = core.get_aval(g)
    if g_aval.size == 0:
        return Zero(rhs_aval)
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    lhs_shape = core.get_aval(lhs).shape
    if batch_group_count > 1:
        feature_group_count, batch_group_count = batch_group_count, 1
    elif feature_group_count > 1:
        feature_group_count, batch_group_count = 1, feature_group_count
    dn = ConvDimensionNumbers(_spec_t(lhs_spec), _spec_t(out_spec), _spec_t(rhs_spec))
    pads = _vjp_rhs_padding(
        np.take(lhs_shape, _sdims(lhs_spec)),
        np.take(rhs_aval.shape, _sdims(rhs_spec)),
        window_strides,
        np.take(g_aval.shape, _sdims(out_spec)),
        padding,
        lhs_dilation,
        rhs_dilation,
    )
    if core.get_aval(lhs).dtype != g_aval.dtype:
        lhs = convert_element_type(lhs, g_aval.dtype)
    out = conv_general_dilated(
        lhs,
        g,
        window_strides=rhs_dilation,
        padding=pads,
        lhs_dilation=lhs_dilation,
        rhs_dilation=window_strides,
        dimension_numbers=dn,
        feature_group_count=feature_group_count,
        batch_group_count=batch_group_count,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
    if core.get_aval(out).dtype != rhs_aval.dtype:
        out = convert_element_type(out, rhs_aval.dtype)
    return out


def _conv_transpose_rule(ct, lhs, rhs, **params):
    if type(ct) is Zero:
        return [None, None]
    if is_undefined(lhs):
        return [_transpose_lhs(ct, lhs.aval, rhs, **params), None]
    return [None, _transpose_rhs(ct, lhs, rhs.aval, **params)]


# ---------------------------------------------------------------------------
# batching: the mapped axis goes into the batch dimension or the feature groups


def _conv_batch(axis_size, args, dims, **params):
    lhs, rhs = args
    lhs_bdim, rhs_bdim = dims
    dn = params["dimension_numbers"]
    lhs_spec, rhs_spec, out_spec = dn
    fgc, bgc = params["feature_group_count"], params["batch_group_count"]
    if lhs_bdim is None and rhs_bdim is None:
        return conv_general_dilated_p.bind(lhs, rhs, **params), None
    lhs_shape, rhs_shape = core.get_aval(lhs).shape, core.get_aval(rhs).shape
    if axis_size == 0:
        unbatched = [
            ShapedArray(tuple(s for i, s in enumerate(a.shape) if i != d), a.dtype)
            for a, d in zip(map(core.get_aval, args), dims)
        ]
        out_aval = _conv_abstract(*unbatched, **params)
        return full((0, *out_aval.shape), 0, out_aval.dtype), 0
    conv_params = {
        k: params[k]
        for k in ("window_strides", "padding", "lhs_dilation", "rhs_dilation", "precision")
    }
    conv_params["preferred_element_type"] = params["preferred_element_type"]

    def conv(x, w, feature_group_count, batch_group_count):
        return conv_general_dilated(
            x,
            w,
            dimension_numbers=dn,
            feature_group_count=feature_group_count,
            batch_group_count=batch_group_count,
            **conv_params,
        )

    if lhs_bdim is not None and rhs_bdim is not None:
        # both mapped: each example is its own group (feature groups, or batch groups
        # when the conv already groups the batch)
        if bgc > 1:
            new_lhs = _reshape_axis_into(lhs_bdim, lhs_spec[0], lhs)
            bgc *= axis_size
        else:
            new_lhs = _reshape_axis_into(lhs_bdim, lhs_spec[1], lhs)
            fgc *= axis_size
        new_rhs = _reshape_axis_into(rhs_bdim, rhs_spec[0], rhs)
        out = conv(new_lhs, new_rhs, fgc, bgc)
        return _reshape_axis_out_of(out_spec[1], axis_size, out), out_spec[1]
    if lhs_bdim is not None:
        if bgc == 1:
            new_lhs = _reshape_axis_into(lhs_bdim, lhs_spec[0], lhs)
        else:
            # the batch groups must stay outermost in the batch dimension
            new_lhs = _reshape_axis_out_of(lhs_spec[0] + int(lhs_bdim <= lhs_spec[0]), bgc, lhs)
            new_lhs = _reshape_axis_into(
                lhs_bdim + int(lhs_spec[0] < lhs_bdim), lhs_spec[0] + 1, new_lhs
            )
            new_lhs = _reshape_axis_into(lhs_spec[0], lhs_spec[0], new_lhs)
        out = conv(new_lhs, rhs, fgc, bgc)
        return _reshape_axis_out_of(out_spec[0], lhs_shape[lhs_bdim], out), out_spec[0]
    if fgc == 1 and bgc == 1:
        new_rhs = _reshape_axis_into(rhs_bdim, rhs_spec[0], rhs)
        out = conv(lhs, new_rhs, fgc, bgc)
        return _reshape_axis_out_of(out_spec[1], rhs_shape[rhs_bdim], out), out_spec[1]
    # grouped: factor the groups out of the kernel's output features, fold the
    # mapped axis in under them, and undo the same on the output
    groups = fgc if fgc > 1 else bgc
    new_rhs = _reshape_axis_out_of(rhs_spec[0] + int(rhs_bdim <= rhs_spec[0]), groups, rhs)
    new_rhs = _reshape_axis_into(rhs_bdim + int(rhs_spec[0] < rhs_bdim), rhs_spec[0] + 1, new_rhs)
    new_rhs = _reshape_axis_into(rhs_spec[0], rhs_spec[0], new_rhs)
    out = conv(lhs, new_rhs, fgc, bgc)
    out = _reshape_axis_out_of(out_spec[1], groups, out)
    out = _reshape_axis_out_of(out_spec[1] + 1, rhs_shape[rhs_bdim], out)
    out = _reshape_axis_into(out_spec[1], out_spec[1] + 1, out)
    return out, out_spec[1]


def _conv_lowering(lhs, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
                   dimension_numbers, feature_group_count, batch_group_count, precision,
                   preferred_element_type, out_sharding):  # fmt: skip
    return jlax.conv_general_dilated(
        lhs,
        rhs,
        window_strides,
        padding,
        lhs_dilation,
        rhs_dilation,
        dimension_numbers,
        feature_group_count,
        batch_group_count,
        precision,
        preferred_element_type,
    )


core.abstract_eval_rules[conv_general_dilated_p] = _conv_abstract
ad.defbilinear(conv_general_dilated_p)
ad.transpose_rules[conv_general_dilated_p] = _conv_transpose_rule
batching.batch_rules[conv_general_dilated_p] = _conv_batch
lowering.register(conv_general_dilated_p, _conv_lowering)


# ---------------------------------------------------------------------------
# the wrappers


def _ints(name, v):
    try:
        return tuple(operator.index(i) for i in v)
    except TypeError as e:
        raise TypeError(f"conv_general_dilated {name} must be a sequence of ints, got {v}") from e


def conv_general_dilated(
    lhs,
    rhs,
    window_strides,
    padding,
    lhs_dilation=None,
    rhs_dilation=None,
    dimension_numbers=None,
    feature_group_count=1,
    batch_group_count=1,
    precision=None,
    preferred_element_type=None,
    out_sharding=None,
):
    """General n-d convolution with strides, padding, dilations and groups, as
    ``jax.lax.conv_general_dilated``.

    ``padding`` is ``'SAME'``, ``'SAME_LOWER'``, ``'VALID'`` or one ``(low, high)``
    pair per spatial dimension; ``dimension_numbers`` is None (``NCHW``/``OIHW``),
    three spec strings such as ``('NHWC', 'HWIO', 'NHWC')``, or a
    ``ConvDimensionNumbers``.

    Example:
        >>> import numpy as np
        >>> from minigrad_jax import lax
        >>> x = np.arange(5, dtype=np.float32).reshape(1, 1, 5)
        >>> w = np.array([1.0, 0.0, -1.0], np.float32).reshape(1, 1, 3)
        >>> lax.conv_general_dilated(x, w, (1,), "SAME")
        Array([[[-1., -2., -2., -2.,  3.]]], dtype=float32)
    """
    if out_sharding is not None:
        raise NotImplementedError("conv_general_dilated: out_sharding other than None")
    lhs_aval, rhs_aval = core.get_aval(lhs), core.get_aval(rhs)
    dnums = conv_dimension_numbers(lhs_aval.shape, rhs_aval.shape, dimension_numbers)
    nsp = rhs_aval.ndim - 2
    window_strides = _ints("window_strides", window_strides)
    if lhs_dilation is None:
        lhs_dilation = (1,) * (lhs_aval.ndim - 2)
    else:
        lhs_dilation = _ints("lhs_dilation", lhs_dilation)
        if isinstance(padding, str) and any(d != 1 for d in lhs_dilation):
            raise ValueError(
                "String padding is not implemented for transposed convolution using this "
                "op. Please either exactly specify the required padding or use "
                "conv_transpose."
            )
    rhs_dilation = (1,) * nsp if rhs_dilation is None else _ints("rhs_dilation", rhs_dilation)
    if isinstance(padding, str):
        rhs_sp = np.take(rhs_aval.shape, dnums.rhs_spec)[2:]
        if len(rhs_dilation) != len(rhs_sp) or len(window_strides) != len(rhs_sp):
            raise ValueError(
                f"conv_general_dilated window_strides {window_strides} and rhs_dilation "
                f"{rhs_dilation} need one entry per spatial dimension of the kernel of "
                f"shape {rhs_aval.shape}"
            )
        eff = _dilate_shape(rhs_sp, rhs_dilation)
        lhs_sp = np.take(lhs_aval.shape, dnums.lhs_spec)[2:]
        padding = padtype_to_pads(lhs_sp, eff, window_strides, padding)
    try:
        padding = tuple((operator.index(lo), operator.index(hi)) for lo, hi in padding)
    except (ValueError, TypeError) as e:
        raise ValueError(
            "padding argument to conv_general_dilated should be a string or a sequence "
            f"of (low, high) pairs, got {padding}"
        ) from e
    pet = (
        None
        if preferred_element_type is None
        else core.canonical_dtype(np.dtype(preferred_element_type))
    )
    return conv_general_dilated_p.bind(
        lhs,
        rhs,
        window_strides=window_strides,
        padding=padding,
        lhs_dilation=lhs_dilation,
        rhs_dilation=rhs_dilation,
        dimension_numbers=dnums,
        feature_group_count=operator.index(feature_group_count),
        batch_group_count=operator.index(batch_group_count),
        precision=canonicalize_precision(precision),
        preferred_element_type=pet,
        out_sharding=None,
    )


def conv(lhs, rhs, window_strides, padding, precision=None, preferred_element_type=None):
    """``conv_general_dilated`` in NCHW/OIHW layout with ``'SAME'``/``'VALID'`` padding.

    Example:
        >>> import numpy as np
        >>> from minigrad_jax import lax
        >>> x, w = np.ones((1, 2, 4, 4), np.float32), np.ones((3, 2, 3, 3), np.float32)
        >>> lax.conv(x, w, (1, 1), "VALID").shape
        (1, 3, 2, 2)
    """
    return conv_general_dilated(
        lhs,
        rhs,
        window_strides,
        padding,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv_with_general_padding(
    lhs,
    rhs,
    window_strides,
    padding,
    lhs_dilation,
    rhs_dilation,
    precision=None,
    preferred_element_type=None,
):
    """``conv_general_dilated`` in NCHW/OIHW layout with dilations.

    Example:
        >>> import numpy as np
        >>> from minigrad_jax import lax
        >>> x, w = np.ones((1, 1, 5, 5), np.float32), np.ones((1, 1, 2, 2), np.float32)
        >>> lax.conv_with_general_padding(x, w, (1, 1), [(1, 0), (0, 1)], None, (2, 2)).shape
        (1, 1, 4, 4)
    """
    return conv_general_dilated(
        lhs,
        rhs,
        window_strides,
        padding,
        lhs_dilation=lhs_dilation,
        rhs_dilation=rhs_dilation,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def _conv_transpose_padding(k, s, padding):
    """(before, after) padding of one dimension of a transposed conv (kernel ``k``,
    stride ``s``), for the forward conv's padding."""
    k, s = int(k), int(s)
    if padding == "SAME":
        pad_len = k + s - 2
        pad_a = k - 1 if s > k - 1 else int(np.ceil(pad_len / 2))
    elif padding == "VALID":
        pad_len = k + s - 2 + max(k - s, 0)
        pad_a = k - 1
    elif isinstance(padding, (tuple, list)):
        pads = tuple(k - int(p) - 1 for p in padding)
        pad_a, pad_len = pads[0], sum(pads)
    else:
        raise ValueError(f"Invalid padding mode: {padding}")
    return pad_a, pad_len - pad_a


_TRANSPOSE_DEFAULT_DN = {
    2: ("NC", "IO", "NC"),
    3: ("NHC", "HIO", "NHC"),
    4: ("NHWC", "HWIO", "NHWC"),
    5: ("NHWDC", "HWDIO", "NHWDC"),
}


def conv_transpose(
    lhs,
    rhs,
    strides,
    padding,
    rhs_dilation=None,
    dimension_numbers=None,
    transpose_kernel=False,
    precision=None,
    preferred_element_type=None,
    use_consistent_padding=False,
):
    """The n-d "transposed" convolution (a fractionally strided conv: ``strides`` become
    the lhs dilation), as ``jax.lax.conv_transpose``; TensorFlow layout by default.

    ``transpose_kernel=True`` flips the kernel's spatial axes and swaps its
    input/output feature axes, giving the gradient of the forward conv.

    Example:
        >>> import numpy as np
        >>> from minigrad_jax import lax
        >>> x, w = np.ones((1, 3, 3, 2), np.float32), np.ones((3, 3, 2, 4), np.float32)
        >>> lax.conv_transpose(x, w, (2, 2), "SAME").shape
        (1, 6, 6, 4)
    """
    lhs_aval, rhs_aval = core.get_aval(lhs), core.get_aval(rhs)
    ndims = lhs_aval.ndim
    if ndims != rhs_aval.ndim or ndims < 2:
        raise ValueError(
            "conv_transpose needs lhs and rhs of the same rank >= 2, got shapes "
            f"{lhs_aval.shape} and {rhs_aval.shape}"
        )
    if dimension_numbers is None:
        if ndims not in _TRANSPOSE_DEFAULT_DN:
            raise ValueError("No 4+ dimensional dimension_number defaults.")
        dimension_numbers = _TRANSPOSE_DEFAULT_DN[ndims]
    dn = conv_dimension_numbers(lhs_aval.shape, rhs_aval.shape, dimension_numbers)
    k_sdims = np.take(rhs_aval.shape, dn.rhs_spec)[2:]
    if rhs_dilation is None:
        rhs_dilation = (1,) * (ndims - 2)
    if use_consistent_padding or (isinstance(padding, str) and padding in ("SAME", "VALID")):
        eff = _dilate_shape(k_sdims, rhs_dilation)
        per_dim = [padding] * len(strides) if isinstance(padding, str) else list(padding)
        pads = tuple(
            _conv_transpose_padding(k, s, p) for k, s, p in zip(eff, strides, per_dim, strict=True)
        )
    else:
        pads = padding
    if transpose_kernel:
        rhs = rev(rhs, tuple(dn.rhs_spec[2:]))
        perm = list(range(ndims))
        perm[dn.rhs_spec[0]], perm[dn.rhs_spec[1]] = perm[dn.rhs_spec[1]], perm[dn.rhs_spec[0]]
        rhs = transpose(rhs, tuple(perm))
    return conv_general_dilated(
        lhs,
        rhs,
        (1,) * (ndims - 2),
        pads,
        strides,
        rhs_dilation,
        dn,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv_general_dilated_patches(
    lhs,
    filter_shape,
    window_strides,
    padding,
    lhs_dilation=None,
    rhs_dilation=None,
    dimension_numbers=None,
    precision=None,
    preferred_element_type=None,
):
    """The patches a conv with these parameters would see, flattened into the output
    feature dimension (channel-major, then the filter's spatial positions), as
    ``jax.lax.conv_general_dilated_patches``: a grouped conv with a one-hot kernel.

    Example:
        >>> import numpy as np
        >>> from minigrad_jax import lax
        >>> x = np.arange(4, dtype=np.float32).reshape(1, 1, 4)
        >>> lax.conv_general_dilated_patches(x, (2,), (1,), "VALID")
        Array([[[0., 1., 2.],
                [1., 2., 3.]]], dtype=float32)
    """
    lhs_aval = core.get_aval(lhs)
    filter_shape = tuple(int(s) for s in filter_shape)
    dn = conv_dimension_numbers(lhs_aval.shape, (1, 1, *filter_shape), dimension_numbers)
    lhs_spec, rhs_spec, _ = dn
    size = math.prod(filter_shape)
    channels = lhs_aval.shape[lhs_spec[1]]
    # lax._eye, as JAX writes it: iota + offset == iota, converted
    one_hot = eq(
        add(broadcasted_iota(np.int32, (size, size), 0), np.int32(0)),
        broadcasted_iota(np.int32, (size, size), 1),
    )
    rhs = convert_element_type(one_hot, lhs_aval.dtype)
    rhs = broadcast_in_dim(rhs, (channels, size, size), (1, 2))
    rhs = reshape(rhs, (channels * size, 1, *filter_shape))
    rhs = _moveaxis01(rhs, rhs_spec[0], rhs_spec[1])
    return conv_general_dilated(
        lhs,
        rhs,
        window_strides,
        padding,
        lhs_dilation,
        rhs_dilation,
        dn,
        feature_group_count=channels,
        precision=None if precision is None else (precision, jlax.Precision.DEFAULT),
        preferred_element_type=preferred_element_type,
    )


def _moveaxis01(x, dst0, dst1):
    """Axes 0 and 1 of ``x`` moved to ``dst0`` and ``dst1`` (the others keep their order)."""
    ndim = core.get_aval(x).ndim
    rest = iter(range(2, ndim))
    perm = [0 if i == dst0 else 1 if i == dst1 else next(rest) for i in range(ndim)]
    return transpose(x, tuple(perm))


def conv_general_dilated_local(
    lhs,
    rhs,
    window_strides,
    padding,
    filter_shape,
    lhs_dilation=None,
    rhs_dilation=None,
    dimension_numbers=None,
    precision=None,
):
    """Unshared (locally connected) convolution: a separate kernel at each output
    position, as ``jax.lax.conv_general_dilated_local`` (patches, then one dot_general).

    Example:
        >>> import numpy as np
        >>> from minigrad_jax import lax
        >>> x = np.ones((1, 1, 4), np.float32)
        >>> w = np.ones((3, 2, 5), np.float32)  # (output W, C * filter W, O) in "WIO" order
        >>> lax.conv_general_dilated_local(x, w, (1,), "VALID", (2,), None, None,
        ...                                ("NCW", "WIO", "NCW")).shape
        (1, 5, 3)
    """
    c_precision = canonicalize_precision(precision)
    if c_precision is None:
        lhs_precision = None
    elif isinstance(c_precision, tuple) and len(c_precision) == 2:
        lhs_precision = c_precision[0]
    else:
        raise ValueError(f"Unsupported precision for conv_general_dilated_local: {precision}")
    patches = conv_general_dilated_patches(
        lhs,
        filter_shape,
        window_strides,
        padding,
        lhs_dilation,
        rhs_dilation,
        dimension_numbers,
        precision=lhs_precision,
    )
    lhs_shape = core.get_aval(lhs).shape
    _, rhs_spec, out_spec = conv_dimension_numbers(
        lhs_shape, (1, 1, *tuple(filter_shape)), dimension_numbers
    )
    lhs_b = list(out_spec[2:])
    rhs_b = list(rhs_spec[2:])
    rhs_b = [rhs_b[i] for i in sorted(range(len(rhs_b)), key=lambda k: lhs_b[k])]
    lhs_b = sorted(lhs_b)
    dn = (((out_spec[1],), (rhs_spec[1],)), (tuple(lhs_b), tuple(rhs_b)))
    out = dot_general(patches, rhs, dn, precision=precision)
    # the two free axes (patch batch, kernel out feature) go to out_spec[0], out_spec[1]
    ndim = core.get_aval(out).ndim
    src, dst = (ndim - 2, ndim - 1), (out_spec[0], out_spec[1])
    perm = [i for i in range(ndim) if i not in src]
    for s, d in sorted(zip(src, dst), key=lambda p: p[1]):
        perm.insert(d, s)
    return transpose(out, tuple(perm))
