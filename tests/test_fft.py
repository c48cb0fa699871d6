"""mnp.fft and lax.fft against jax.numpy.fft and jax.lax.fft.

Each mnp.fft transform is checked, on real and on complex64 inputs, for its value,
its gradient (of a real loss that reads both parts of the result), its jvp, vmap and
jit, all against JAX; the fft primitive's transposes are also checked against finite
differences (they are JAX's mask-and-scale constructions for rfft/irfft).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax as jlax
from jax import tree_util

import minigrad_jax as mg
import minigrad_jax.numpy as mnp
from minigrad_jax import lax
from minigrad_jax.testing import check_grads

TOL = 1e-5
rng = np.random.default_rng(0)


def close(ours, theirs, tol=TOL):
    o_leaves, o_tree = tree_util.tree_flatten(ours)
    t_leaves, t_tree = tree_util.tree_flatten(theirs)
    assert o_tree == t_tree, (o_tree, t_tree)
    for o, t in zip(o_leaves, t_leaves, strict=True):
        o, t = np.asarray(o), np.asarray(t)
        assert (o.shape, o.dtype) == (t.shape, t.dtype), (o.dtype, o.shape, t.dtype, t.shape)
        np.testing.assert_allclose(o, t, rtol=tol, atol=tol)


def real_input(shape):
    return rng.standard_normal(shape).astype(np.float32)


def complex_input(shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)


# (function name, input kind, shape, keyword arguments); the default run takes the
# first list, ``-m slow`` the second too.
FAST = [
    ("fft", "c", (2, 4), {}),
    ("fft", "r", (3, 4), {"n": 6, "axis": 0, "norm": "ortho"}),
    ("ifft", "c", (2, 5), {"n": 3, "norm": "forward"}),
    ("rfft", "r", (2, 5), {}),
    ("irfft", "c", (2, 4), {"n": 5, "norm": "forward"}),
    ("hfft", "c", (2, 3), {}),
    ("ihfft", "r", (5,), {"n": 4, "norm": "forward"}),
    ("fft2", "r", (3, 2, 4), {"s": (4, 2), "axes": (0, 2)}),
    ("irfftn", "c", (2, 2, 2, 3), {"s": (2, 2, 2, 4)}),  # 4 axes: in blocks of at most 3
]
SLOW = [
    ("rfft", "r", (4, 3), {"n": 4, "axis": 0, "norm": "ortho"}),
    ("irfft", "c", (2, 3), {}),
    ("hfft", "r", (3,), {"n": 5, "norm": "ortho"}),
    ("ihfft", "r", (2, 4), {}),
    ("fft2", "c", (2, 3, 4), {}),
    ("ifft2", "c", (3, 4), {"norm": "ortho"}),
    ("rfft2", "r", (2, 3, 4), {}),
    ("irfft2", "c", (3, 3), {"s": (3, 4)}),
    ("fftn", "c", (2, 3, 2), {}),
    ("fftn", "c", (2, 2, 2, 2), {"norm": "forward"}),
    ("ifftn", "c", (2, 2, 2, 2, 2), {}),
    ("rfftn", "r", (2, 2, 2, 3), {}),
    ("rfftn", "r", (3, 4), {"axes": (0,)}),
    ("irfftn", "c", (2, 3), {"norm": "ortho"}),
]


def _id(case):
    name, kind, shape, kw = case
    return f"{name}-{kind}{'x'.join(map(str, shape))}-" + "-".join(f"{k}{v}" for k, v in kw.items())


def _loss(N, fn, w):
    def loss(x):
        y = fn(x)
        if N.iscomplexobj(y):
            return N.sum(N.real(y) * w) + N.sum(N.imag(y) * N.cos(w))
        return N.sum(y * w)

    return loss


CASES = [pytest.param(c, id=_id(c)) for c in FAST] + [
    pytest.param(c, id=_id(c), marks=pytest.mark.slow) for c in SLOW
]


@pytest.mark.parametrize("case", CASES)
def test_transform_matches_jax(case):
    name, kind, shape, kw = case
    x = real_input(shape) if kind == "r" else complex_input(shape)
    ours = lambda x: getattr(mnp.fft, name)(x, **kw)  # noqa: E731
    theirs = lambda x: getattr(jnp.fft, name)(x, **kw)  # noqa: E731
    w = rng.standard_normal(jax.eval_shape(theirs, x).shape).astype(np.float32)
    t = real_input(shape) if kind == "r" else complex_input(shape)
    xs = np.stack([x, t], axis=-1)

    # JAX's value, gradient, jvp and vmap: the references, in one jax.jit (one compile)
    @jax.jit
    def reference(x, t, xs):
        return (
            theirs(x),
            jax.grad(_loss(jnp, theirs, w))(x),
            jax.jvp(theirs, (x,), (t,)),
            jax.vmap(theirs, in_axes=-1)(xs),
        )

    y, grad, jvp, vmap = reference(x, t, xs)
    close(ours(x), y)
    close(mg.grad(_loss(mnp, ours, w))(x), grad)
    close(mg.jvp(ours, (x,), (t,)), jvp)
    close(mg.vmap(ours, in_axes=-1)(xs), vmap)
    close(mg.jit(ours)(x), y)


def test_integer_input_and_empty_axes():
    x = np.arange(6, dtype=np.int32).reshape(2, 3)
    names = ("fft", "rfft", "ifft2", "fftn")
    # JAX's side in one jax.jit
    *want, want_empty = jax.jit(
        lambda x: [getattr(jnp.fft, n)(x) for n in names] + [jnp.fft.fftn(x, axes=())]
    )(x)
    for name, w in zip(names, want, strict=True):
        close(getattr(mnp.fft, name)(x), w)
    close(mnp.fft.fftn(x, axes=()), want_empty)


@pytest.mark.parametrize("fft_type", ["fft", "IFFT", jlax.FftType.RFFT, "irfft"])
def test_lax_fft_equation_matches_jax(fft_type):
    lengths = (2, 4)
    x = real_input((3, 2, 3 if fft_type == "irfft" else 4))
    if fft_type != jlax.FftType.RFFT:
        x = x.astype(np.complex64)
    close(lax.fft(x, fft_type, lengths), jlax.fft(x, fft_type, lengths))
    (ours,) = [e for e in mg.make_jaxpr(lambda x: lax.fft(x, fft_type, lengths))(x).eqns]
    # jax.lax.fft is a jax.jit function: its fft equation is inside a jit equation
    (call,) = jax.make_jaxpr(lambda x: jlax.fft(x, fft_type, lengths))(x).eqns
    (theirs,) = [e for e in call.params["jaxpr"].eqns if e.primitive.name == "fft"]
    assert ours.primitive.name == theirs.primitive.name == "fft"
    assert ours.params == theirs.params
    assert type(ours.params["fft_type"]) is jlax.FftType
    assert ours.outvars[0].aval.shape == theirs.outvars[0].aval.shape
    assert ours.outvars[0].aval.dtype == theirs.outvars[0].aval.dtype


@pytest.mark.parametrize("fft_type, n", [("rfft", 4), ("rfft", 5), ("irfft", 4), ("irfft", 5)])
def test_rfft_irfft_transposes_against_finite_differences(fft_type, n):
    if fft_type == "rfft":
        x = real_input((2, n))
        f = lambda x: mnp.real(lax.fft(x, fft_type, (n,)) * np.arange(1, n // 2 + 2))  # noqa: E731
    else:
        x = complex_input((2, n // 2 + 1)).real
        f = lambda x: lax.fft(mnp.asarray(x) * (1 + 2j), fft_type, (n,))  # noqa: E731
    check_grads(f, (x,), order=1, modes=("rev",))


def test_frequencies_and_shifts_match_jax():
    freqs = [(4, 1.0), (5, 0.5)]
    x = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    all_axes = (None, (1,))
    f = lambda N: lambda x: N.sum(N.fft.fftshift(x) * N.arange(12.0).reshape(3, 4))  # noqa: E731

    # JAX's side, every reference value, in one jax.jit
    @jax.jit
    def reference(x):
        return (
            [(jnp.fft.fftfreq(n, d), jnp.fft.rfftfreq(n, d)) for n, d in freqs],
            [(jnp.fft.fftshift(x, axes), jnp.fft.ifftshift(x, axes)) for axes in all_axes],
            jax.grad(f(jnp))(x),
        )

    want_freqs, want_shifts, want_grad = reference(x)
    for (n, d), (fftfreq, rfftfreq) in zip(freqs, want_freqs, strict=True):
        close(mnp.fft.fftfreq(n, d), fftfreq)
        close(mnp.fft.rfftfreq(n, d), rfftfreq)
    for axes, (fftshift, ifftshift) in zip(all_axes, want_shifts, strict=True):
        close(mnp.fft.fftshift(x, axes), fftshift)
        close(mnp.fft.ifftshift(x, axes), ifftshift)
    close(mg.grad(f(mnp))(x), want_grad)


def test_public_names_cover_jax():
    names = {n for n in dir(jnp.fft) if not n.startswith("_")}
    assert names <= set(dir(mnp.fft)), sorted(names - set(dir(mnp.fft)))
    assert names <= set(mnp.fft.__all__)


X = complex_input((2, 4))
BAD = [
    (lambda: mnp.fft.fft(X, axis=(0, 1)), ValueError, "does not support multiple axes"),
    (lambda: mnp.fft.fftn(X, axes=(1, 1)), ValueError, "does not support repeated axes"),
    (lambda: mnp.fft.fftn(X, s=(2,), axes=(0, 1)), ValueError, "different lengths"),
    (lambda: mnp.fft.fft(X, n=0), ValueError, "Shape should be positive"),
    (lambda: mnp.fft.fft(X, norm="unitary"), ValueError, "Invalid norm value unitary"),
    (lambda: mnp.fft.fft2(X, axes=(0,)), ValueError, "only supports 2 axes"),
    (lambda: mnp.fft.fft([1.0, 2.0]), TypeError, "requires ndarray or scalar"),
    (lambda: mnp.fft.fftfreq([4]), ValueError, "only takes an int"),
    (lambda: mnp.fft.rfftfreq(4, d=[1.0]), ValueError, "only takes a single value"),
    (lambda: lax.fft(X, "dft", (4,)), ValueError, "Unknown FFT type 'dft'"),
    (lambda: lax.fft(X, 0, (4,)), TypeError, "Unknown FFT type value"),
    (lambda: lax.fft(X, "rfft", (4,)), ValueError, "only real valued inputs supported for rfft"),
    (lambda: lax.fft(X, "fft", (3,)), ValueError, r"FFT input shape \(2, 4\) minor dimensions"),
    (lambda: lax.fft(X, "fft", (2, 2, 4)), ValueError, "at least as many input dimensions"),
    (lambda: lax.fft(X.real, "irfft", (3, 6)), ValueError, "IRFFT input shape"),
]


@pytest.mark.parametrize("thunk, exc, needle", BAD, ids=[b[2][:30] for b in BAD])
def test_bad_input_raises_like_jax(thunk, exc, needle):
    with pytest.raises(exc, match=needle):
        thunk()


def test_jit_traced_input_errors_name_the_primitive():
    x = np.ones((2, 4), np.float32)
    with pytest.raises(ValueError, match="RFFT input shape"):
        mg.jit(lambda x: lax.fft(x, "rfft", (5,)))(x)


def test_float64_in_a_subprocess():
    code = textwrap.dedent(
        """
        import numpy as np, jax, jax.numpy as jnp
        import minigrad_jax as mg, minigrad_jax.numpy as mnp
        rng = np.random.default_rng(0)
        x = rng.standard_normal((3, 4))
        z = x + 1j * rng.standard_normal((3, 4))
        for name, a, kw in [("fft", z, {}), ("rfft", x, {"norm": "ortho"}), ("irfft", z, {"n": 5})]:
            ours = getattr(mnp.fft, name)(a, **kw)
            theirs = jax.jit(lambda a: getattr(jnp.fft, name)(a, **kw))(a)
            assert ours.dtype == theirs.dtype and ours.dtype in (np.float64, np.complex128)
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
            loss = lambda N: lambda a: N.sum(N.abs(getattr(N.fft, name)(a, **kw)) ** 2)
            g, gj = mg.grad(loss(mnp))(a), jax.jit(jax.grad(loss(jnp)))(a)
            assert g.dtype == gj.dtype
            np.testing.assert_allclose(g, gj, rtol=1e-10, atol=1e-10)
        f = mnp.fft.fftfreq(5)
        assert f.dtype == np.float64
        np.testing.assert_allclose(f, jnp.fft.fftfreq(5), rtol=0, atol=0)
        print("ok")
        """
    )
    env = {**os.environ, "JAX_ENABLE_X64": "1"}
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert res.returncode == 0 and "ok" in res.stdout, res.stderr[-3000:]
