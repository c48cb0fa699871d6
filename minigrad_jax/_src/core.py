"""Abstract values, primitives, tracers and the trace context.

The design is JAX's "stackless" one: there is always exactly one *current*
trace (thread-local). ``Primitive.bind`` hands the primitive to it; a
transform's rule runs with the transform's *parent* trace made current, so the
rule's own binds are processed one level down. Every trace has a ``level``
(its depth in the chain of parents) and an ``active`` flag; a tracer belongs to
the trace that made it, which is how perturbation confusion is avoided and how
escaped tracers are caught.
"""

from __future__ import annotations

import enum
import functools
import gc
import inspect
import operator
import os
import sys
import threading

import jax
import jax.extend.source_info_util
import jaxlib
import numpy as np

from minigrad_jax._src import errors

# ---------------------------------------------------------------------------
# dtypes and abstract values

_SHORT_DTYPE = {
    "float16": "f16",
    "bfloat16": "bf16",
    "float32": "f32",
    "float64": "f64",
    "int8": "i8",
    "int16": "i16",
    "int32": "i32",
    "int64": "i64",
    "uint8": "u8",
    "uint16": "u16",
    "uint32": "u32",
    "uint64": "u64",
    "bool": "bool",
    "complex64": "c64",
    "complex128": "c128",
}

float0 = jax.dtypes.float0


def is_extended(dtype) -> bool:
    """An extended dtype of JAX's (a PRNG key type such as ``key<fry>``), not a numpy one."""
    return not isinstance(dtype, np.dtype) and jax.dtypes.issubdtype(dtype, jax.dtypes.extended)


def is_key_dtype(dtype) -> bool:
    return not isinstance(dtype, np.dtype) and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)


def short_dtype(dtype) -> str:
    if dtype == float0:
        return "float0"
    if is_extended(dtype):
        return str(dtype)  # key<fry>, as JAX prints it
    return _SHORT_DTYPE.get(np.dtype(dtype).name, np.dtype(dtype).name)


class ShapedArray:
    """The abstract value of an array: shape, dtype and JAX's weak-type flag."""

    __slots__ = ("shape", "dtype", "weak_type")

    def __init__(self, shape, dtype, weak_type=False):
        self.shape = shape if type(shape) is tuple else tuple(shape)
        self.dtype = dtype if isinstance(dtype, np.dtype) or is_extended(dtype) else np.dtype(dtype)
        self.weak_type = weak_type if type(weak_type) is bool else bool(weak_type)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    def update(self, shape=None, dtype=None, weak_type=None):
        return ShapedArray(
            self.shape if shape is None else shape,
            self.dtype if dtype is None else dtype,
            self.weak_type if weak_type is None else weak_type,
        )

    def str_short(self):
        return f"{short_dtype(self.dtype)}[{','.join(map(str, self.shape))}]"

    def __eq__(self, other):
        return (
            type(other) is ShapedArray
            and self.shape == other.shape
            and self.dtype == other.dtype
            and self.weak_type == other.weak_type
        )

    def __hash__(self):
        return hash((self.shape, self.dtype, self.weak_type))

    def __str__(self):
        """JAX's: ``float32[3]``, ``~float32[]`` when weakly typed (jaxprs print the
        short form, ``str_short``)."""
        return ("~" if self.weak_type else "") + self._long()

    def __repr__(self):
        return f"ShapedArray({self._long()}{', weak_type=True' if self.weak_type else ''})"

    def _long(self):
        dtype = "float0" if self.dtype == float0 else str(self.dtype)
        return f"{dtype}[{','.join(map(str, self.shape))}]"


def is_float(dtype) -> bool:
    kind = getattr(dtype, "kind", None)  # numpy's kinds first: asked once per tangent
    if kind == "f" or kind == "c":
        return True
    if kind == "i" or kind == "u" or kind == "b":
        return False
    return jax.numpy.issubdtype(dtype, np.inexact)  # bfloat16, float8s, float0, key types


def is_integer_or_bool(dtype) -> bool:
    kind = getattr(dtype, "kind", None)
    if kind == "i" or kind == "u" or kind == "b":
        return True
    if kind == "f" or kind == "c":
        return False
    return dtype == np.bool_ or jax.numpy.issubdtype(dtype, np.integer)


def canonical_dtype(dtype):
    """The dtype JAX would use for ``dtype`` under the current x64 setting."""
    return jax.dtypes.canonicalize_dtype(dtype)


_PY_SCALAR_DTYPE = {bool: np.bool_, int: np.int64, float: np.float64, complex: np.complex128}


class WeakArray(np.ndarray):
    """A 0-d numpy constant that carries JAX's weak type (a converted Python scalar)."""


def weak_scalar(value, dtype):
    arr = np.asarray(value, dtype=dtype).view(WeakArray)
    if type(value) in (float, complex):
        arr.py_value = value  # printed as written, as JAX prints a weak Python scalar
    return arr


def jaxable(x):
    """A weak 0-d constant as the Python scalar JAX types weakly; anything else as is.

    Only where a Python scalar lands on the same dtype: a weak float16 constant
    stays a float16 array (lax would read a Python float as float32).
    """
    if type(x) is WeakArray and x.dtype == weak_default_dtype(x.dtype.kind):
        return x.item()
    return x


def weak_default_dtype(kind):
    """The dtype a weakly typed Python scalar of this numpy kind gets (x64 aware)."""
    return canonical_dtype(_KIND_DEFAULT.get(kind, np.float64))


_KIND_DEFAULT = {"b": np.bool_, "i": np.int64, "u": np.int64, "f": np.float64, "c": np.complex128}


def get_aval(x) -> ShapedArray:
    """The abstract value of a concrete value, a JAX tracer or one of our tracers."""
    t = type(x)
    if t in JAX_ARRAY_TYPES:  # the hot case, built without the checks of __init__
        a = x.aval
        out = _new_aval(ShapedArray)
        out.shape, out.dtype, out.weak_type = a.shape, a.dtype, a.weak_type
        return out
    if isinstance(x, Tracer):
        return x.aval
    if t is WeakArray:
        return ShapedArray(x.shape, x.dtype, True)
    if t in _PY_SCALAR_DTYPE:
        return ShapedArray((), canonical_dtype(_PY_SCALAR_DTYPE[t]), t is not bool)
    aval = getattr(x, "aval", None)  # jax.Array and JAX tracers
    if aval is not None and hasattr(aval, "dtype"):
        if isinstance(x, jax.Array) and not isinstance(x, jax.core.Tracer):
            JAX_ARRAY_TYPES.add(t)
        return ShapedArray(aval.shape, aval.dtype, getattr(aval, "weak_type", False))
    if isinstance(x, (np.ndarray, np.generic)):
        return ShapedArray(np.shape(x), canonical_dtype(x.dtype), False)
    raise TypeError(f"Value {x!r} of type {type(x).__name__} is not a valid minigrad_jax type")


def shaped_abstractify(x) -> ShapedArray:
    """``get_aval``, also of an example argument given by its type alone: a
    ``jax.ShapeDtypeStruct`` (anything with ``shape`` and ``dtype``), as JAX's
    ``eval_shape`` and ``linear_transpose`` read their example arguments."""
    if isinstance(x, jax.ShapeDtypeStruct) or (
        not isinstance(x, (Tracer, jax.Array, np.ndarray, np.generic))
        and hasattr(x, "shape")
        and hasattr(x, "dtype")
    ):
        weak = bool(getattr(x, "weak_type", False))
        return ShapedArray(tuple(x.shape), canonical_dtype(np.dtype(x.dtype)), weak)
    return get_aval(x)


_new_aval = object.__new__
# Concrete jax.Array types, learnt on first sight: their avals have a tuple shape, a
# dtype and a bool weak_type already.
JAX_ARRAY_TYPES: set = set()


def is_python_scalar(x) -> bool:
    return type(x) in _PY_SCALAR_DTYPE


# ---------------------------------------------------------------------------
# source info: the user's file:line, found by a short frame walk

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# JAX, too, counts our frames as library frames: the source locations of the programs
# it lowers from our replays, and its traceback filter, skip them as they skip JAX's.
jax.extend.source_info_util.register_exclusion(_PKG_DIR + os.sep)
# Frames of minigrad_jax, JAX and Python's import machinery: never "the user's line".
LIBRARY_PREFIXES = (
    _PKG_DIR + os.sep,
    os.path.dirname(jax.__file__) + os.sep,
    os.path.dirname(jaxlib.__file__) + os.sep,
    "<frozen",
)


# prefixes -> {file name: whether it lies under them}
_LIBRARY_FILE: dict = {LIBRARY_PREFIXES: {}}
_LIBRARY_DEFAULT = _LIBRARY_FILE[LIBRARY_PREFIXES]


def is_library_file(filename: str, prefixes: tuple = LIBRARY_PREFIXES) -> bool:
    """Whether ``filename`` lies under one of ``prefixes``, after normalising it (a
    ``sys.path`` entry such as ``examples/..`` leaves ``..`` in code objects' file
    names); cached per prefixes and file name, so the frame walk stays a dict lookup."""
    cache = _LIBRARY_FILE.setdefault(prefixes, {})
    hit = cache.get(filename)
    if hit is None:
        hit = cache[filename] = filename.startswith(prefixes) or (
            not filename.startswith("<")
            and os.path.normpath(os.path.abspath(filename)).startswith(prefixes)
        )
    return hit


class SourceInfo:
    __slots__ = ("file", "line", "function")

    def __init__(self, file, line, function):
        self.file, self.line, self.function = file, line, function

    def __str__(self):
        return f"{os.path.basename(self.file)}:{self.line} ({self.function})"


def user_frame_info() -> SourceInfo | None:
    """The user's line: the first frame outside minigrad_jax and jax (never
    inspect.stack()); while a jaxpr is re-evaluated (a transform of a jit's or a
    loop body's jaxpr), the source line of the equation being re-evaluated, and while
    a public function called from user code runs, that call's line."""
    src = _state.src
    if src is not None:
        return src
    f = sys._getframe(1)
    library = _LIBRARY_DEFAULT
    for _ in range(64):
        if f is None:
            return None
        code = f.f_code
        name = code.co_filename
        lib = library.get(name)
        if lib is None:
            lib = is_library_file(name)
        if not lib:
            return _frame_source_info(f, code)
        f = f.f_back
    return None


def at_caller_line(depth, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, called by a public function that treats its operands as
    arrays (a numpy function, a lax wrapper) under a transform: when the line that
    called that function is user code within ``depth`` frames (1: called directly;
    2: through one of our operator methods), it is ``_state.src`` while ``fn`` runs,
    so that the equations staged find the user's line without a frame walk each."""
    f = sys._getframe(2)
    while True:
        code = f.f_code
        lib = _LIBRARY_DEFAULT.get(code.co_filename)
        if lib is None:
            lib = is_library_file(code.co_filename)
        if not lib:
            break
        depth -= 1
        f = f.f_back
        if not depth or f is None:
            return fn(*args, **kwargs)
    _state.src = _frame_source_info(f, code)
    f = None
    try:
        return fn(*args, **kwargs)
    finally:
        _state.src = None


def _frame_source_info(f, code):
    """The SourceInfo of frame ``f`` (running ``code``), found by the instruction it is
    at: reading ``f_lineno`` scans the code's line table, which costs more the longer
    the function is. (The code object is kept and compared: ids are reused.)"""
    pc = (id(code), f.f_lasti)
    hit = _SOURCE_BY_PC.get(pc)
    if hit is not None and hit[0] is code:
        return hit[1]
    key = (code.co_filename, f.f_lineno, code.co_name)
    info = _SOURCE_INFOS.get(key)
    if info is None:
        if len(_SOURCE_INFOS) > 65536:
            _SOURCE_INFOS.clear()
            _SOURCE_BY_PC.clear()
        info = _SOURCE_INFOS[key] = SourceInfo(*key)
    _SOURCE_BY_PC[pc] = (code, info)
    return info


# (id(code), instruction offset) -> (code, its SourceInfo)
_SOURCE_BY_PC: dict = {}


# One SourceInfo per user line, shared by the equations it makes (they are immutable).
_SOURCE_INFOS: dict = {}


# ---------------------------------------------------------------------------
# primitives and rule tables (one table per interpreter, keyed by primitive)

abstract_eval_rules: dict = {}
impl_rules: dict = {}  # eager evaluation; the lowering rule unless overridden

# Primitives with a side effect (a host callback): never dead code, never reordered.
effectful: set = set()

# debug_nans / debug_infs: mg.config keeps ``checking_floats`` (either flag) and
# ``float_kinds`` ((nans, infs)) in step with its flags; ``float_check(prim, args, params,
# out)`` is installed by interpreters/debug_nans.py. While a flag is on, derivative
# equations record where they came from (``_state.origin``, see debug_nans.Origin).
checking_floats = False
float_kinds = (False, False)
float_check = None


class Primitive:
    """A named operation; ``bind`` hands it to the current trace."""

    __slots__ = ("name", "multiple_results")

    def __init__(self, name: str, multiple_results: bool = False):
        self.name = name
        self.multiple_results = multiple_results

    def bind(self, *args, **params):
        return _state.trace.process_primitive(self, args, params)

    def __repr__(self):
        return self.name

    __str__ = __repr__


def abstract_eval(prim: Primitive, avals, params):
    """Run the primitive's shape/dtype rule, turning failures into clear TypeErrors.

    Results are memoised per (primitive, input avals, params, x64 flag, named axes in
    scope) where the params are plain data: tracing re-derives the same few types again
    and again, and a rule is a pure function of those.
    """
    try:
        key = (prim, jax.config.jax_enable_x64, _state.axis_env, *avals, *params.items())
        out = _abstract_eval_cache.get(key)
    except TypeError:  # unhashable params
        key = out = None
    if out is not None:
        return list(out) if type(out) is tuple else out
    rule = abstract_eval_rules.get(prim)
    if rule is None:
        raise NotImplementedError(f"primitive '{prim.name}' has no abstract evaluation rule")
    try:
        out = rule(*avals, **params)
    except errors.MinigradError:
        raise
    except (TypeError, ValueError) as e:
        raise errors.shape_error(prim, avals, str(e), user_frame_info()) from None
    if key is not None and all(_plain(v) for v in params.values()):
        if len(_abstract_eval_cache) > 65536:  # bounded: many shapes in a long-running program
            _abstract_eval_cache.clear()
        _abstract_eval_cache[key] = tuple(out) if type(out) is list else out
    return out


_abstract_eval_cache: dict = {}


# ---------------------------------------------------------------------------
# tracers


NOT_CONST = object()  # _const_inner's answer for a tracer that carries its transform


class Tracer:
    """An array-like stand-in for a value while a transform is running."""

    __slots__ = ("_trace",)
    __array_priority__ = 1000

    @property
    def aval(self) -> ShapedArray:
        raise NotImplementedError

    @property
    def shape(self):
        return self.aval.shape

    @property
    def dtype(self):
        return self.aval.dtype

    @property
    def ndim(self):
        return len(self.aval.shape)

    @property
    def size(self):
        return self.aval.size

    @property
    def weak_type(self):
        return self.aval.weak_type

    def __len__(self):
        if not self.aval.shape:
            raise TypeError("len() of unsized object (a scalar tracer)")
        return self.aval.shape[0]

    def concrete_value(self):
        """The concrete value behind this tracer, or None when it is abstract.

        A JVP tracer is concrete when its primal is (JAX's ``to_concrete_value``):
        ``bool``, ``int`` and ``__index__`` use it, as JAX's do.
        """
        return None

    def _const_inner(self):
        """The value one level down if this tracer carries nothing of its own
        transform (a constant lifted into it: a zero tangent, an unmapped value),
        else ``NOT_CONST``."""
        return NOT_CONST

    def constant_value(self):
        """The value when this tracer is a constant at every level, else None.

        Such a tracer is what JAX would hold as a plain jax.Array, so ``float``,
        ``numpy.asarray`` and friends may see its value: nothing depends on the
        transformed arguments, so nothing is dropped.
        """
        t = self
        while isinstance(t, Tracer):
            t = t._const_inner()
            if t is NOT_CONST:
                return None
        return t

    def _concretize(self, what):
        val = self.concrete_value()
        if val is None:
            raise errors.ConcretizationError(self, what, user_frame_info())
        return val

    # bool / int / __index__ read a concrete value, as JAX's do; float, complex
    # and __array__ need a constant, since JAX raises for any tracer there.
    def __bool__(self):
        val = self.concrete_value()
        if val is None:
            raise errors.TracerBoolConversionError(self, user_frame_info())
        return bool(val)

    def __int__(self):
        return int(self._concretize("int()"))

    def __index__(self):
        val = self.concrete_value()
        if val is None:
            raise errors.TracerIntegerConversionError(self, user_frame_info())
        return operator.index(val)

    def __float__(self):
        return float(self._constant_or("float()"))

    def __complex__(self):
        return complex(self._constant_or("complex()"))

    def _constant_or(self, what):
        val = self.constant_value()
        if val is None:
            raise errors.ConcretizationError(self, what, user_frame_info())
        return val

    def __array__(self, dtype=None, copy=None):
        val = self.constant_value()
        if val is None:
            raise errors.TracerArrayConversionError(self, user_frame_info())
        return np.asarray(val, dtype=dtype)

    def __iter__(self):
        if not self.aval.shape:
            raise TypeError("iteration over a 0-d tracer")
        return (self[i] for i in range(self.aval.shape[0]))

    def __hash__(self):
        raise TypeError(
            f"unhashable type: a minigrad_jax tracer ({self.aval.str_short()}); "
            "pass hashable values as static arguments instead"
        )

    def __repr__(self):
        return f"{type(self).__name__}<{self.aval.str_short()}>"

    # Array methods and operators are installed by minigrad_jax._src.numpy
    # (numpy depends on lax, which depends on this module).


# ---------------------------------------------------------------------------
# traces


class Trace:
    """A transform in progress; ``process_primitive`` is its interpreter step."""

    __slots__ = ("parent", "level", "active", "source_info", "transform_name", "__weakref__")
    # Whether this trace is eager autodiff (JVP, linearize): see jit_when_eager.
    eager_autodiff = False

    def __init__(self, parent: Trace | None, transform_name: str = "eval", source_info=None):
        self.parent = parent
        self.level = 0 if parent is None else parent.level + 1
        self.active = True
        self.transform_name = transform_name
        self.source_info = source_info

    def process_primitive(self, prim, args, params):
        raise NotImplementedError

    def check_foreign(self, t: Tracer):
        """``t`` as an input here: a tracer of another trace may only come from an
        active enclosing trace. A constant made by a transform that has since
        ended (or by an inner one) stands for its value."""
        tr = t._trace
        while not tr.active or tr.level >= self.level:
            inner = t._const_inner()
            if inner is NOT_CONST:
                raise errors.UnexpectedTracerError(t)
            if not isinstance(inner, Tracer):
                return inner
            t, tr = inner, inner._trace
        return t

    def lift(self, x):
        """``x`` (a value from outside every transform) as a constant of this trace.

        Array values made while a transform runs are its tracers even when they
        depend on nothing, so that a jax.Array's own methods (``.at[]``, ``.dot``)
        never meet one of our tracers from the wrong side.
        """
        return x

    def __repr__(self):
        return f"{type(self).__name__}(level={self.level})"


class EvalTrace(Trace):
    """The bottom trace: runs each primitive's jax.lax rule on concrete values.

    The fast path: a first-order primitive whose operands are all concrete runs
    as one cached ``jax.jit`` of its impl rule per (primitive, params), called on
    JAX's C++ dispatch path. That path keys its own cache on what the operands
    are (shapes, dtypes, weak types, committed devices, shardings), so ours keys
    on the primitive and its params alone. Everything else (our tracers, weak
    constants, JAX tracers, params that carry a jaxpr or a function) goes through
    ``process_general``.
    """

    __slots__ = ()

    def process_primitive(self, prim, args, params):
        for a in args:
            if type(a) not in _CONCRETE_TYPES:
                return self.process_general(prim, args, params)
        try:
            fn = _eager_executables[(prim, *params.items())]
        except (KeyError, TypeError):  # not made yet, or unhashable params
            fn = _eager_executable(prim, params)
        if fn is None:
            out = run_impl(prim, args, params)
        else:
            try:
                out = fn(*args)
            except Exception:
                out = _fast_path_failed(prim, args, params)
        if checking_floats:
            float_check(prim, args, params, out)
        return out

    def process_general(self, prim, args, params):
        """Operands that are not all plain concrete values: unwrap constants of ended
        transforms, give weak constants JAX's weak type, and run JAX tracers slowly."""
        new, fast = [], True
        for x in args:
            if isinstance(x, Tracer):
                x = self.check_foreign(x)
            t = type(x)
            if t is WeakArray:
                d = _weak_operand(x)
                if d is not None:
                    new.append(d)
                    continue
                x = jaxable(x)
                t = type(x)
            if fast and t not in _CONCRETE_TYPES:
                fast = _learn_concrete(t, x)
            new.append(x)
        if fast:
            return self.process_primitive(prim, new, params)
        # Not all concrete: weak constants as JAX reads them (Python scalars), not as
        # the device scalars made for executables.
        new = [jaxable(self.check_foreign(x) if isinstance(x, Tracer) else x) for x in args]
        # A JAX tracer (JAX's trace stages the rule), a weak constant of a narrow dtype
        # or an odd operand: the impl rule itself says what it makes of it.
        out = run_impl(prim, new, params)
        if checking_floats:
            float_check(prim, new, params, out)
        return out


def _weak_operand(x):
    """A weak 0-d constant (``x``, a WeakArray) as an operand of an eager executable:
    where JAX reads it as a Python scalar (the default dtype), the same value as a
    weakly typed device scalar, made once per (bits, dtype, x64 setting, default
    device); a Python scalar operand is copied to the device on every call. None for a
    narrow dtype (JAX reads that as an array, not a scalar)."""
    try:
        key = (x.dtype, x.tobytes(), jax.config.jax_enable_x64, jax.config.jax_default_device)
        d = _weak_operands.get(key)
    except TypeError:  # an unhashable default device setting
        return None
    if d is None:
        v = jaxable(x)
        if type(v) is WeakArray:
            return None
        with jax.ensure_compile_time_eval():  # a concrete array even under a JAX trace
            d = jax.numpy.asarray(v)
        if len(_weak_operands) > 4096:
            _weak_operands.clear()
        _weak_operands[key] = d
    return d


_weak_operands: dict = {}


def run_impl(prim, args, params):
    """The impl rule called directly (the slow path, and the reference for the fast one)."""
    try:
        return impl_rules[prim](*args, **params)
    except KeyError:
        if prim not in impl_rules:
            raise NotImplementedError(f"primitive '{prim.name}' cannot be evaluated") from None
        raise
    except (TypeError, ValueError):
        # Re-derive the error from our own shape rule so it names the
        # primitive, the shapes and the user's line; else keep JAX's.
        abstract_eval(prim, [get_aval(a) for a in args], params)
        raise


def _fast_path_failed(prim, args, params):
    # Whatever jax.jit could not do (a rule that needs a concrete operand, a dtype jit
    # refuses), the slow path does or explains. Where it does, operands of these types
    # take the slow path from now on; other types keep the fast one.
    out = run_impl(prim, args, params)
    key = (prim, *params.items())
    fn = _eager_executables[key]
    if type(fn) is not _PartlySlow:
        fn = _eager_executables[key] = _PartlySlow(fn, prim, params)
    fn.slow.add(_signature(args))
    return out


def _signature(args):
    return tuple((type(a), get_aval(a)) for a in args)


class _PartlySlow:
    """A jitted impl rule that failed for some operand types: those run the rule directly."""

    __slots__ = ("fn", "prim", "params", "slow")

    def __init__(self, fn, prim, params):
        self.fn, self.prim, self.params, self.slow = fn, prim, params, set()

    def __call__(self, *args):
        if _signature(args) in self.slow:
            return run_impl(self.prim, args, self.params)
        return self.fn(*args)


# Operand types that are concrete values: Python scalars and numpy arrays; the
# concrete jax.Array types join on first sight (no backend is started at import).
_CONCRETE_TYPES = {float, int, bool, complex, np.ndarray}
# (primitive, *params.items()) -> the jitted impl (a _PartlySlow once it failed for
# some operand types), or None where the slow path runs.
_eager_executables: dict = {}
_PLAIN_TYPES = (int, float, complex, str, bytes, type(None), np.dtype, np.generic, enum.Enum)


def _learn_concrete(t, x):
    """Whether ``x`` (of type ``t``) is a concrete value; its type is remembered if so."""
    if isinstance(x, jax.core.Tracer):
        return False
    if isinstance(x, (jax.Array, np.generic)):
        _CONCRETE_TYPES.add(t)
        return True
    return False  # an odd operand: the impl rule itself says what it makes of it


def _plain(v) -> bool:
    """A param that is data (numbers, names, dtypes, enums, tuples of them), so that a
    jit of the rule cached under it cannot hold on to a jaxpr or a function."""
    if isinstance(v, tuple):
        return all(_plain(x) for x in v)
    if isinstance(v, _PLAIN_TYPES):
        return True
    # A PRNG key type: its scalar type is one of JAX's extended ones. (Asked of the
    # type's ``type`` attribute only: issubdtype would print a jaxpr to read it.)
    t = getattr(v, "type", None)
    return isinstance(t, type) and issubclass(t, jax.dtypes.extended)


def _eager_executable(prim, params):
    try:
        key = (prim, *params.items())
        hash(key)
    except TypeError:
        return None
    if not all(_plain(v) for v in params.values()):
        return None  # not cached: a jaxpr or a function in a key would be kept alive
    rule = impl_rules.get(prim)
    if rule is None or prim in effectful:
        fn = None
    else:
        # inline: under a JAX trace (a constant operand) the rule's equations are
        # staged in place, as the slow path stages them.
        fn = jax.jit(functools.partial(rule, **params), inline=True)
    _eager_executables[key] = fn
    return fn


# The code objects of the public entry points: traceback_util.api_boundary's wrapper and
# the array functions' wrappers below. An exception leaving one has its traceback
# filtered, unless another one further up the stack will do it (traceback_util).
BOUNDARY_CODES: set = set()


def _leave_unfiltered(e, caller):
    pass


# ``public_function_failed(e, caller_frame)`` runs as ``e`` leaves an array function's
# wrapper (before it is re-raised); traceback_util installs the filtering.
public_function_failed = _leave_unfiltered


EVAL_TRACE = EvalTrace(None)
# The trace under which ``jit_when_eager`` functions and ``binder`` wrappers take their
# fast path: the eval trace, or None while debug_nans/debug_infs check each primitive
# (mg.config sets it).
eager_fast_trace = EVAL_TRACE


def binder(prim, nargs, prepare=None, name=None, **params):
    """The wrapper ``f(*operands) = prim.bind(*prepare(*operands), **params)`` of a
    primitive with one or two operands and fixed params (lax.sin, lax.mul): it hands
    the operands to the current trace without bind's packing, and outside every
    transform, on concrete arrays, calls the primitive's cached executable directly.
    ``prepare`` (binary only) makes Python scalars operands; arrays pass as they are.
    """
    key = (prim, *params.items())
    executables, state = _eager_executables, _state
    if nargs == 1:

        def f(x):
            trace = state.trace
            try:
                if trace is eager_fast_trace and type(x) in _CONCRETE_TYPES:
                    fn = executables.get(key)
                    if fn is not None:
                        try:
                            return fn(x)
                        except Exception:
                            pass  # the trace's own path says what fails or falls back
                elif state.src is None:
                    return at_caller_line(1, trace.process_primitive, prim, (x,), params)
                return trace.process_primitive(prim, (x,), params)
            except Exception as e:
                public_function_failed(e, sys._getframe(1))
                raise

    else:
        arrays = JAX_ARRAY_TYPES

        def f(x, y):
            trace = state.trace
            try:
                if trace is eager_fast_trace and type(x) in arrays and type(y) in arrays:
                    fn = executables.get(key)
                    if fn is not None:
                        try:
                            return fn(x, y)
                        except Exception:
                            pass
                elif state.src is None:
                    return at_caller_line(1, trace.process_primitive, prim, prepare(x, y), params)
                return trace.process_primitive(prim, prepare(x, y), params)
            except Exception as e:
                public_function_failed(e, sys._getframe(1))
                raise

    BOUNDARY_CODES.add(f.__code__)
    f.__name__ = f.__qualname__ = name or prim.name
    f.__doc__ = f"``{prim.name}``, as jax.lax.{f.__name__}."
    return f


# mg.jit, installed by jit.py: (fun, static_argnames) -> the jitted function.
jit_for_autodiff = None


def _autodiff_over_eval(trace) -> bool:
    """Whether only eager autodiff runs: every trace from ``trace`` down to the eval
    trace is a JVP trace or a partial-evaluation (linearize) trace."""
    while trace is not EVAL_TRACE:
        if not trace.eager_autodiff:
            return False
        trace = trace.parent
    return True


def jit_when_eager(fun=None, *, static_argnames=(), jit_under_autodiff=False):
    """Decorator: ``fun`` called outside every transform on concrete operands runs as
    one cached ``jax.jit`` of itself, on JAX's C++ dispatch path, as jax.numpy's
    functions do; under our transforms it runs as written, so jaxprs are unchanged.

    For functions that treat their operands as arrays (no Python-value special
    cases) and whose other arguments are hashable options (``static_argnames``).
    Where the jitted call fails (a bad operand, an option jit cannot hash), the
    function runs as written, which raises our error or gives the answer.

    ``jit_under_autodiff``: a function of several operations that, under eager
    ``grad``/``jvp``/``linearize`` alone (no staging), runs as ``mg.jit`` of itself,
    as JAX differentiates its jitted library functions: one executable for the
    known part and one for the transposed part, not one per operation.
    """
    if fun is None:
        return functools.partial(
            jit_when_eager, static_argnames=static_argnames, jit_under_autodiff=jit_under_autodiff
        )
    jitted = jax.jit(fun, static_argnames=static_argnames, inline=True)
    state, concrete = _state, _CONCRETE_TYPES
    params = list(inspect.signature(fun).parameters.values())
    positional_only = all(p.kind is p.POSITIONAL_ONLY for p in params)
    # positions of the operands (static options passed positionally are not checked)
    operands = tuple(
        i
        for i, p in enumerate(params)
        if p.name not in static_argnames and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    )

    # One- and two-operand forms spelled out (ufuncs: the hottest eager calls, where
    # *args packing would cost more than the checks); the general form below.
    if positional_only and len(params) == 1:

        def wrapper(x, /):
            try:
                if state.trace is eager_fast_trace and type(x) in concrete:
                    try:
                        return jitted(x)
                    except Exception:
                        pass
                elif state.src is None:
                    return at_caller_line(2, fun, x)
                return fun(x)
            except Exception as e:
                public_function_failed(e, sys._getframe(1))
                raise

    elif positional_only and len(params) == 2:

        def wrapper(x, y, /):
            try:
                if state.trace is eager_fast_trace and type(x) in concrete and type(y) in concrete:
                    try:
                        return jitted(x, y)
                    except Exception:
                        pass
                elif state.src is None:
                    return at_caller_line(2, fun, x, y)
                return fun(x, y)
            except Exception as e:
                public_function_failed(e, sys._getframe(1))
                raise

    else:

        def all_concrete(args):
            n = len(args)
            for i in operands:
                if i >= n:
                    return True
                a = args[i]
                if a is not None and type(a) not in concrete:
                    return False
            return True

        ours = []  # mg.jit of fun, made on first use under autodiff

        def wrapper(*args, **kwargs):
            trace = state.trace
            try:
                if trace is eager_fast_trace:
                    if all_concrete(args):
                        try:
                            return jitted(*args, **kwargs)
                        except Exception:
                            pass
                elif (
                    jit_under_autodiff
                    and eager_fast_trace is not None
                    and _autodiff_over_eval(trace)
                ):
                    if not ours:
                        ours.append(jit_for_autodiff(fun, static_argnames))
                    try:
                        return ours[0](*args, **kwargs)
                    except Exception:
                        pass
                elif state.src is None:
                    return at_caller_line(2, fun, *args, **kwargs)
                return fun(*args, **kwargs)
            except Exception as e:
                public_function_failed(e, sys._getframe(1))
                raise

    BOUNDARY_CODES.add(wrapper.__code__)
    return functools.wraps(fun)(wrapper)


class _State(threading.local):
    def __init__(self):
        self.trace = EVAL_TRACE
        self.origin = None  # debug_nans: the derivative rule now running (an Origin)
        self.eqn = None  # debug_nans: the equation being re-run, equation by equation
        self.src = None  # the source line of the jaxpr equation being re-evaluated
        self.axis_env = ()  # named axes in scope: ((name, size), ...), innermost last


_state = _State()


def current_trace() -> Trace:
    return _state.trace


# check_tracer_leaks: ``trace_exited(trace, failed)`` runs as a trace is deactivated;
# installed by _src/leak_checker.py.
trace_exited = None


class new_trace:
    """Context manager: make ``trace`` current; deactivate it on exit."""

    __slots__ = ("trace", "prev", "deactivate")

    def __init__(self, trace: Trace, deactivate: bool = True):
        self.trace, self.deactivate = trace, deactivate

    def __enter__(self):
        self.prev = _state.trace
        _state.trace = self.trace
        return self.trace

    def __exit__(self, *exc):
        _state.trace = self.prev
        if self.deactivate:
            self.trace.active = False
            if trace_exited is not None:
                trace_exited(self.trace, exc[0] is not None)


class gc_paused:
    """Context manager: Python's cyclic garbage collector waits while a trace runs.

    A trace allocates a few dozen objects per equation that hold no reference cycles;
    the collector's passes over a heap that keeps growing made tracing 100,000
    equations 1.5x slower per equation than tracing 1,000. It runs again (and catches
    up) when the outermost trace ends; nested traces leave it as they find it.
    """

    __slots__ = ("was",)

    def __enter__(self):
        self.was = gc.isenabled()
        if self.was:
            gc.disable()

    def __exit__(self, *exc):
        if self.was:
            gc.enable()


def bind_in(trace: Trace, prim: Primitive, args, params):
    """Process ``prim`` in ``trace`` with ``trace`` current (for forwarding)."""
    prev = _state.trace
    _state.trace = trace
    try:
        return trace.process_primitive(prim, args, params)
    finally:
        _state.trace = prev


def call_in(trace: Trace, fn, *args, **kwargs):
    """Run a rule with ``trace`` current: the rule's binds land one level down."""
    prev = _state.trace
    _state.trace = trace
    try:
        return fn(*args, **kwargs)
    finally:
        _state.trace = prev


def lift(x):
    """``x`` as a constant of the current trace (unchanged at the top level)."""
    trace = _state.trace
    if trace is EVAL_TRACE or (isinstance(x, Tracer) and x._trace is trace):
        return x
    return trace.lift(x)


def is_top_level() -> bool:
    return _state.trace is EVAL_TRACE


# ---------------------------------------------------------------------------
# named axes: what vmap(axis_name=) and shard_map bind, and collectives read


class extend_axis_env:
    """Context manager: the named axes ``frames`` ((name, size), ...) are in scope."""

    __slots__ = ("frames", "prev")

    def __init__(self, frames):
        self.frames = tuple(frames)

    def __enter__(self):
        self.prev = _state.axis_env
        _state.axis_env = self.prev + self.frames

    def __exit__(self, *exc):
        _state.axis_env = self.prev


def axis_size(name) -> int:
    """The size of the named axis ``name`` in scope (innermost binding), else NameError."""
    for n, size in reversed(_state.axis_env):
        if n == name:
            return size
    raise NameError(f"unbound axis name: {name}")


def axis_names_in_scope():
    return [n for n, _ in _state.axis_env]
