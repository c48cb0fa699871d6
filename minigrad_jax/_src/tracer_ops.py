"""Array operators and methods for tracers, delegating to minigrad_jax.numpy.

Looked up by name at call time so the numpy namespace stays the one place
that defines what ``x + y`` or ``x.sum()`` means (with JAX's promotion).
"""

from __future__ import annotations

from minigrad_jax._src import core

_BINARY = {
    "__add__": "add",
    "__sub__": "subtract",
    "__mul__": "multiply",
    "__truediv__": "true_divide",
    "__floordiv__": "floor_divide",
    "__mod__": "remainder",
    "__pow__": "power",
    "__matmul__": "matmul",
    "__and__": "bitwise_and",
    "__or__": "bitwise_or",
    "__xor__": "bitwise_xor",
    "__lt__": "less",
    "__le__": "less_equal",
    "__gt__": "greater",
    "__ge__": "greater_equal",
    "__eq__": "equal",
    "__ne__": "not_equal",
    "__lshift__": "left_shift",
    "__rshift__": "right_shift",
}
_REFLECTED = {
    "__radd__": "add",
    "__rsub__": "subtract",
    "__rmul__": "multiply",
    "__rtruediv__": "true_divide",
    "__rfloordiv__": "floor_divide",
    "__rmod__": "remainder",
    "__rpow__": "power",
    "__rmatmul__": "matmul",
    "__rand__": "bitwise_and",
    "__ror__": "bitwise_or",
    "__rxor__": "bitwise_xor",
}
_UNARY = {"__neg__": "negative", "__pos__": "positive", "__abs__": "abs", "__invert__": "invert"}
_METHODS = (
    "sum",
    "mean",
    "max",
    "min",
    "prod",
    "argmax",
    "argmin",
    "reshape",
    "transpose",
    "astype",
    "squeeze",
    "ravel",
    "flatten",
    "var",
    "std",
    "any",
    "all",
    "cumsum",
    "cumprod",
    "clip",
    "dot",
    "round",
    "swapaxes",
    "repeat",
    "take",
    "sort",
    "argsort",
    "conj",
    "trace",
    "diagonal",
)


def _np():
    from minigrad_jax._src import numpy as mnp

    return mnp


def _binary(name):
    def op(self, other):
        return getattr(_np(), name)(self, other)

    return op


def _reflected(name):
    def op(self, other):
        return getattr(_np(), name)(other, self)

    return op


def _unary(name):
    def op(self):
        return getattr(_np(), name)(self)

    return op


def _method(name):
    def method(self, *args, **kwargs):
        return getattr(_np(), name)(self, *args, **kwargs)

    method.__name__ = name
    return method


def _reshape(self, *shape, **kwargs):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return _np().reshape(self, shape, **kwargs)


def _transpose(self, *axes):
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    return _np().transpose(self, axes or None)


def _getitem(self, idx):
    return _np()._getitem(self, idx)


def install(cls=core.Tracer):
    for table, make in ((_BINARY, _binary), (_REFLECTED, _reflected), (_UNARY, _unary)):
        for dunder, name in table.items():
            setattr(cls, dunder, make(name))
    for name in _METHODS:
        setattr(cls, name, _method(name))
    cls.reshape = _reshape
    cls.transpose = _transpose
    cls.__getitem__ = _getitem
    cls.T = property(lambda self: _np().transpose(self))
    cls.at = property(lambda self: _np()._IndexUpdateHelper(self))
    cls.__hash__ = core.Tracer.__hash__


install()
