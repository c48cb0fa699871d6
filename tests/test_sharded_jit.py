"""Sharded jit, lax.with_sharding_constraint and device_put against JAX on 8 CPU devices.

Each check runs one program through jax and through minigrad_jax and compares the
values and the ``.sharding`` of the results (what XLA's SPMD partitioner chose, or
what the program asked for). The checks run in one subprocess (multidevice.py).
"""

from __future__ import annotations

import multidevice

HELPERS = """
SX = NamedSharding(MESH2, P('x'))
SXY = NamedSharding(MESH2, P('x', 'y'))
SY = NamedSharding(MESH2, P(None, 'y'))
REP = NamedSharding(MESH2, P())

def same(ours, theirs, tol=1e-5):
    close(ours, theirs, tol)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs)):
        assert a.sharding == b.sharding, (a.sharding, b.sharding)

def mlp(N):
    def f(w1, w2, x):
        return N.tanh(N.tanh(x @ w1) @ w2)
    return f
"""

CHECKS = {
    "out_shardings_named": """
        w1, w2, x = randn(6, 4), randn(4, 2), randn(16, 6)
        cases = [dict(), dict(in_shardings=(REP, REP, SX)),
                 dict(in_shardings=(REP, SY, SX), out_shardings=SXY),
                 dict(out_shardings=SX), dict(in_shardings=(SY, None, SX)),
                 dict(in_shardings=(REP, REP, SXY), out_shardings=REP)]
        for kw in cases:
            same(mg.jit(mlp(mnp), **kw)(w1, w2, x), jax.jit(mlp(jnp), **kw)(w1, w2, x))
        # inputs already placed, no shardings given: propagated as JAX's
        xs, w1s = jax.device_put(x, SX), jax.device_put(w1, SY)
        same(mg.jit(mlp(mnp))(w1s, w2, xs), jax.jit(mlp(jnp))(w1s, w2, xs))
        # pytree out_shardings
        f = lambda N: lambda x: {'a': N.sin(x), 'b': (N.cos(x), x * 2.0)}
        kw = dict(out_shardings={'a': SX, 'b': (SXY, REP)})
        same(mg.jit(f(mnp), **kw)(x), jax.jit(f(jnp), **kw)(x))
    """,
    "out_shardings_partition_spec_under_set_mesh": """
        w1, w2, x = randn(6, 4), randn(4, 2), randn(16, 6)
        with jax.set_mesh(MESH2):
            for kw in [dict(in_shardings=(P(), P(), P('x')), out_shardings=P('x', 'y')),
                       dict(out_shardings=P(None, 'y'))]:
                same(mg.jit(mlp(mnp), **kw)(w1, w2, x), jax.jit(mlp(jnp), **kw)(w1, w2, x))
    """,
    "grad_under_sharded_jit": """
        w1, w2, x = randn(6, 4), randn(4, 2), randn(16, 6)
        loss = lambda N: lambda w1, w2, x: N.mean(mlp(N)(w1, w2, x) ** 2)
        kw = dict(in_shardings=(REP, REP, SX), out_shardings=(REP, REP))
        same(mg.jit(mg.grad(loss(mnp), (0, 1)), **kw)(w1, w2, x),
             jax.jit(jax.grad(loss(jnp), (0, 1)), **kw)(w1, w2, x))
        kw = dict(in_shardings=(REP, REP, SX))
        same(mg.jit(mg.grad(loss(mnp), (0, 1)), **kw)(w1, w2, x),
             jax.jit(jax.grad(loss(jnp), (0, 1)), **kw)(w1, w2, x))
    """,
    "five_data_parallel_steps": """
        # a batch sharded over every device of a 1-D mesh, parameters replicated: the
        # losses equal JAX's sharded run and the one-device run
        S = NamedSharding(MESH1, P('i'))
        R = NamedSharding(MESH1, P())
        def step(N, G):
            def loss(p, x, y):
                h = N.tanh(x @ p[0])
                return N.mean((h @ p[1] - y) ** 2)
            def f(p, x, y):
                l, g = G(loss)(p, x, y)
                return l, [w - 0.1 * gw for w, gw in zip(p, g)]
            return f
        x, y = randn(32, 5), randn(32, 2)
        p0 = [randn(5, 8) * 0.5, randn(8, 2) * 0.5]
        runs = {}
        for name, N, J, G, kw in [
            ('mg_sharded', mnp, mg.jit, mg.value_and_grad,
             dict(in_shardings=([R, R], S, S), out_shardings=(R, [R, R]))),
            ('jax_sharded', jnp, jax.jit, jax.value_and_grad,
             dict(in_shardings=([R, R], S, S), out_shardings=(R, [R, R]))),
            ('mg_one_device', mnp, mg.jit, mg.value_and_grad, dict()),
        ]:
            f, p, losses = J(step(N, G), **kw), p0, []
            for _ in range(5):
                l, p = f(p, x, y)
                losses.append(float(l))
            runs[name] = (losses, p)
        close(runs['mg_sharded'][0], runs['jax_sharded'][0], tol=1e-6)
        close(runs['mg_sharded'][0], runs['mg_one_device'][0], tol=1e-5)
        assert runs['mg_sharded'][1][0].sharding == R
    """,
    "with_sharding_constraint_in_jit": """
        x = randn(8, 4)
        f = lambda N, wsc, s: lambda x: wsc(N.sin(x), s) * 2.0
        for s in (SY, SXY, SX, REP):
            same(mg.jit(f(mnp, mg.lax.with_sharding_constraint, s))(x),
                 jax.jit(f(jnp, jax.lax.with_sharding_constraint, s))(x))
        # a bare PartitionSpec under a mesh context, and a pytree of shardings
        with jax.set_mesh(MESH2):
            same(mg.jit(f(mnp, mg.lax.with_sharding_constraint, P('x', 'y')))(x),
                 jax.jit(f(jnp, jax.lax.with_sharding_constraint, P('x', 'y')))(x))
        g = lambda N, wsc: lambda x: wsc({'a': x + 1.0, 'b': (x * 3.0,)}, {'a': SX, 'b': SY})
        same(mg.jit(g(mnp, mg.lax.with_sharding_constraint))(x),
             jax.jit(g(jnp, jax.lax.with_sharding_constraint))(x))
        # eagerly too
        same(mg.lax.with_sharding_constraint(x, SXY), jax.lax.with_sharding_constraint(x, SXY))
        # the equation, as JAX names it
        eqn = mg.make_jaxpr(f(mnp, mg.lax.with_sharding_constraint, SY))(x).jaxpr.eqns[1]
        assert eqn.primitive.name == 'sharding_constraint' and eqn.params['sharding'] == SY
    """,
    "with_sharding_constraint_grad_and_vmap": """
        x = randn(8, 4)
        f = lambda N, wsc: lambda x: N.sum(wsc(N.sin(x), SY) ** 2)
        ours = mg.jit(mg.grad(f(mnp, mg.lax.with_sharding_constraint)))(x)
        theirs = jax.jit(jax.grad(f(jnp, jax.lax.with_sharding_constraint)))(x)
        same(ours, theirs)
        # the cotangent is constrained too (as JAX's transpose)
        closed = mg.make_jaxpr(mg.grad(f(mnp, mg.lax.with_sharding_constraint)))(x)
        names = [e.primitive.name for e in closed.jaxpr.eqns]
        assert names.count('sharding_constraint') == 2, names
        close(mg.jvp(f(mnp, mg.lax.with_sharding_constraint), (x,), (x,)),
              jax.jvp(f(jnp, jax.lax.with_sharding_constraint), (x,), (x,)))
        # vmap: the batch dimension is left unsharded
        h = lambda N, wsc: lambda x: wsc(N.sin(x), SXY) * 2.0
        xb = randn(8, 3, 4)
        for axis in (0, 1, 2):
            xa = np.moveaxis(xb, 1, axis)
            same(mg.jit(mg.vmap(h(mnp, mg.lax.with_sharding_constraint), in_axes=axis))(xa),
                 jax.jit(jax.vmap(h(jnp, jax.lax.with_sharding_constraint), in_axes=axis))(xa))
    """,
    "vmap_constraint_params_and_spmd_axis_name_like_jax": """
        # the batch dimension is UNCONSTRAINED (left to XLA), or split over the mesh
        # axes of vmap(spmd_axis_name=); params and result shardings as JAX's
        s = NamedSharding(MESH2, P('y'))
        h = lambda N, L: lambda x: L.with_sharding_constraint(N.sin(x), s) * 2.0
        x46, x64, x436 = randn(4, 6), randn(6, 4), randn(4, 3, 6)
        cases = [(dict(), x46), (dict(spmd_axis_name='x'), x46),
                 (dict(in_axes=1, spmd_axis_name='x'), x64), (dict(spmd_axis_name=('x',)), x46)]
        for kw, v in cases:
            ours = mg.make_jaxpr(mg.vmap(h(mnp, mg.lax), **kw))(v).jaxpr.eqns[1].params
            theirs = jax.make_jaxpr(jax.vmap(h(jnp, jax.lax), **kw))(v).eqns[1].params
            for k in ('sharding', 'unconstrained_dims'):
                assert ours[k] == theirs[k], (kw, k, ours[k], theirs[k])
            same(mg.jit(mg.vmap(h(mnp, mg.lax), **kw))(v),
                 jax.jit(jax.vmap(h(jnp, jax.lax), **kw))(v))
        # nested: the inner vmap's dimension UNCONSTRAINED, the outer one's split over 'x'
        for outer, inner, v in ((dict(spmd_axis_name='x'), dict(), x436),
                                (dict(), dict(spmd_axis_name='x'), np.swapaxes(x436, 0, 1))):
            ours = mg.make_jaxpr(mg.vmap(mg.vmap(h(mnp, mg.lax), **inner), **outer))(v)
            theirs = jax.make_jaxpr(jax.vmap(jax.vmap(h(jnp, jax.lax), **inner), **outer))(v)
            for k in ('sharding', 'unconstrained_dims'):
                assert ours.jaxpr.eqns[1].params[k] == theirs.eqns[1].params[k], (outer, k)
        # through jit and grad inside the vmap
        g = lambda N, L: lambda x: N.sum(L.with_sharding_constraint(N.tanh(x), s) ** 2)
        same(mg.jit(mg.vmap(mg.grad(g(mnp, mg.lax)), spmd_axis_name='x'))(x46),
             jax.jit(jax.vmap(jax.grad(g(jnp, jax.lax)), spmd_axis_name='x'))(x46))
        same(mg.vmap(mg.jit(h(mnp, mg.lax)), spmd_axis_name='x')(x46),
             jax.vmap(jax.jit(h(jnp, jax.lax)), spmd_axis_name='x')(x46))
        # the spmd axis may not appear in the spec (JAX's ValueError)
        bad = NamedSharding(MESH2, P('x'))
        e = raises(ValueError, lambda: mg.vmap(
            lambda v: mg.lax.with_sharding_constraint(v, bad), spmd_axis_name='x')(x46))
        assert "spmd_axis_name 'x' cannot appear" in str(e), e
        raises(ValueError, lambda: jax.vmap(
            lambda v: jax.lax.with_sharding_constraint(v, bad), spmd_axis_name='x')(x46))
    """,
    "device_put": """
        x = randn(8, 4)
        # eagerly: jax.device_put
        for s in (SX, SXY, REP, jax.devices()[3]):
            same(mg.device_put(x, s), jax.device_put(x, s))
        same(mg.device_put({'a': x, 'b': [x]}, {'a': SX, 'b': [SY]}),
             jax.device_put({'a': x, 'b': [x]}, {'a': SX, 'b': [SY]}))
        # under jit, grad, vmap
        f = lambda N, dp: lambda x: dp(N.cos(x), SXY) + 1.0
        same(mg.jit(f(mnp, mg.device_put))(x), jax.jit(f(jnp, jax.device_put))(x))
        g = lambda N, dp: lambda x: N.sum(f(N, dp)(x) ** 2)
        same(mg.jit(mg.grad(g(mnp, mg.device_put)))(x),
             jax.jit(jax.grad(g(jnp, jax.device_put)))(x))
        close(mg.grad(g(mnp, mg.device_put))(x), jax.grad(g(jnp, jax.device_put))(x))
        close(mg.jvp(f(mnp, mg.device_put), (x,), (x,)),
              jax.jvp(f(jnp, jax.device_put), (x,), (x,)))
        xb = randn(8, 3, 4)
        same(mg.jit(mg.vmap(f(mnp, mg.device_put), in_axes=1))(xb),
             jax.jit(jax.vmap(f(jnp, jax.device_put), in_axes=1))(xb))
        eqn = mg.make_jaxpr(f(mnp, mg.device_put))(x).jaxpr.eqns[1]
        assert eqn.primitive.name == 'device_put' and eqn.params['devices'] == (SXY,)
    """,
    "errors": """
        x = randn(8, 4)
        e = raises(TypeError, lambda: mg.lax.with_sharding_constraint(x, 'x'))
        assert 'Sharding' in str(e), e
        e = raises(ValueError, lambda: mg.jit(lambda x: mg.lax.with_sharding_constraint(
            x, NamedSharding(MESH2, P('x', 'y', None))))(x))
        assert 'rank 2' in str(e), e
        e = raises(TypeError, lambda: mg.jit(lambda x: mg.device_put(x, 'cpu'))(x))
        assert 'device_put' in str(e) and 'str' in str(e), e
        e = raises(ValueError, lambda: mg.lax.with_sharding_constraint((x, x), (SX,)))
        assert 'prefix' in str(e), e
    """,
}


results, test_on_8_devices = multidevice.tests_for(CHECKS, HELPERS)
