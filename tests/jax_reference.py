"""JAX's side of a comparison, run as one jitted program: one compile, where JAX's
eager transforms compile each operation they run (in the default test run, most of
the time of a cross-check module goes to such compiles). Ours runs as the test
calls it."""

import jax


def jax_vjp(fn, primals, ct, has_aux=False):
    """JAX's ``(out, input cotangents[, aux])`` of ``fn`` at ``primals`` for ``ct``."""

    @jax.jit
    def run(primals, ct):
        out, f_vjp, *aux = jax.vjp(fn, *primals, has_aux=has_aux)
        return (out, f_vjp(ct), *aux)

    return run(primals, ct)
