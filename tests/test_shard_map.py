"""mg.shard_map against jax.shard_map on 8 simulated CPU devices (1-D and 2-D meshes).

Every check runs the same program through ``jax.shard_map`` and ``mg.shard_map`` and
compares values, jvps, gradients (eager and under jit), vmap, printed jaxprs and
errors. The checks run in one subprocess started with 8 CPU devices (multidevice.py).
"""

from __future__ import annotations

import multidevice

# Bodies written once, for both libraries: ``N`` is jnp or mnp, ``L`` jax.lax or mg.lax,
# ``SM`` jax.shard_map or mg.shard_map.
HELPERS = """
LIBS = {'mg': (mnp, mg.lax, mg.shard_map), 'jax': (jnp, jax.lax, jax.shard_map)}

def both(make, **kw):
    '''make(N, L) -> body; the shard_map of it in each library.'''
    kw.setdefault('check_vma', False)
    return [SM(make(N, L), **kw) for N, L, SM in LIBS.values()]

def elementwise(N, L):
    return lambda a, b: (N.sin(a) * b, N.cos(b) + 1.0)

def with_local_sum(N, L):
    return lambda a: N.sin(N.sum(a)) * a

def pytree_body(N, L):
    return lambda d: {'y': N.tanh(d['u']) * d['v'], 'z': (d['v'] ** 2,)}
"""

CHECKS = {
    "values_1d": """
        a, b = randn(16, 3), randn(16, 3)
        ours, theirs = both(elementwise, mesh=MESH1, in_specs=(P('i'), P('i')),
                            out_specs=(P('i'), P('i')))
        close(ours(a, b), theirs(a, b))
        # replicated inputs and outputs, and a spec prefix for all arguments
        ours, theirs = both(elementwise, mesh=MESH1, in_specs=P(), out_specs=P())
        close(ours(a, b), theirs(a, b))
        # decorator form through functools.partial, pytrees in and out
        d = {'u': randn(8, 2), 'v': randn(8, 2)}
        dec = functools.partial(mg.shard_map, mesh=MESH1, in_specs=P('i'), out_specs=P('i'))
        close(dec(pytree_body(mnp, mg.lax))(d),
              jax.shard_map(pytree_body(jnp, jax.lax), mesh=MESH1, in_specs=P('i'),
                            out_specs=P('i'))(d))
        # the output sharding is the one JAX gives
        assert ours(a, b)[0].sharding == theirs(a, b)[0].sharding
    """,
    "values_2d": """
        a, b = randn(8, 4), randn(8, 6)
        for specs in [(P('x', 'y'), P('x', 'y')), (P('y', 'x'), P(None, 'y')),
                      (P(('x', 'y')), P(('x', 'y'))), (P(None, 'y'), P('x'))]:
            for cv in (False, True):
                ours, theirs = both(lambda N, L: lambda a, b: (N.sin(a), N.cos(b) * 2.0),
                                    mesh=MESH2, in_specs=specs, out_specs=specs,
                                    check_vma=cv)
                close(ours(a, b), theirs(a, b))
    """,
    "collectives_values": """
        x = randn(8, 4)
        def body(N, L):
            def f(x):
                s = L.psum(N.sum(x, 0), 'x')
                m = L.pmean(x, ('x', 'y'))
                g = L.all_gather(x, 'y', axis=1, tiled=True)
                return s, m, g, L.axis_index('x') + 0 * x[:1, 0]
            return f
        for cv in (False, True):
            ours, theirs = both(body, mesh=MESH2, in_specs=P('x', 'y'),
                                out_specs=(P('y'), P(), P('x', 'y'), P(('x', 'y'))),
                                check_vma=cv)
            close(ours(x), theirs(x))
    """,
    "jvp": """
        a, b, ta, tb = randn(16, 3), randn(2, 3), randn(16, 3), randn(2, 3)
        ours, theirs = both(elementwise, mesh=MESH1, in_specs=(P('i'), P()),
                            out_specs=(P('i'), P()))
        close(mg.jvp(ours, (a, b), (ta, tb)), jax.jvp(theirs, (a, b), (ta, tb)))
        b, tb = randn(16, 3), randn(16, 3)
        # a zero tangent in, and a shard_map of a reduction on a 2-D mesh
        x, t = randn(8, 4), randn(8, 4)
        ours, theirs = both(with_local_sum, mesh=MESH2, in_specs=P('x', 'y'),
                            out_specs=P('x', 'y'))
        close(mg.jvp(ours, (x,), (t,)), jax.jvp(theirs, (x,), (t,)))
        f = lambda sm: lambda a, b: sm(a, b)[0]
        ours, theirs = both(elementwise, mesh=MESH1, in_specs=P('i'), out_specs=P('i'))
        close(mg.jvp(lambda a: f(ours)(a, b), (a,), (ta,)),
              jax.jvp(lambda a: f(theirs)(a, b), (a,), (ta,)))
    """,
    "grad_1d_2d": """
        x = randn(8, 4)
        for mesh, spec in [(MESH1, P('i')), (MESH2, P('x', 'y')), (MESH2, P(('y', 'x')))]:
            ours, theirs = both(with_local_sum, mesh=mesh, in_specs=spec, out_specs=spec)
            close(mg.grad(lambda x: mnp.sum(ours(x) ** 2))(x),
                  jax.grad(lambda x: jnp.sum(theirs(x) ** 2))(x))
        # only one argument differentiated: the other one is known (a forwarded residual)
        a, b = randn(16, 3), randn(16, 3)
        ours, theirs = both(elementwise, mesh=MESH1, in_specs=P('i'), out_specs=P('i'))
        for argnums in (0, 1, (0, 1)):
            close(mg.grad(lambda a, b: mnp.sum(ours(a, b)[0]), argnums)(a, b),
                  jax.grad(lambda a, b: jnp.sum(theirs(a, b)[0]), argnums)(a, b))
        # vjp with a cotangent for every output
        cts = (randn(16, 3), randn(16, 3))
        close(mg.vjp(ours, a, b)[1](cts), jax.vjp(theirs, a, b)[1](cts))
    """,
    "grad_replicated_and_unmentioned_axes": """
        # outputs and inputs whose specs leave mesh axes out: the transpose divides the
        # output cotangents and psums the input cotangents over those axes
        def body(ax):
            return lambda N, L: lambda a, b: (N.sin(a) * N.sum(b),
                                              N.cos(b) * L.psum(N.sum(a), ax))
        a, b = randn(8, 4), randn(8, 4)
        for cv in (False, True):
            for ax, in_specs, out_specs in [('x', (P('x'), P()), (P('x'), P())),
                                            ('y', (P(None, 'y'), P('x')), (P('x', 'y'), P('x'))),
                                            ((), (P(), P()), (P(), P()))]:
                ours, theirs = both(body(ax), mesh=MESH2, in_specs=in_specs,
                                    out_specs=out_specs, check_vma=cv)
                lo = lambda sm, N: lambda a, b: N.sum(sm(a, b)[0] * 3.0) + N.sum(sm(a, b)[1])
                close(mg.grad(lo(ours, mnp), (0, 1))(a, b),
                      jax.grad(lo(theirs, jnp), (0, 1))(a, b))
    """,
    "grad_collectives_tensor_parallel": """
        x, w1, w2 = randn(8, 6), randn(6, 4), randn(4, 3)
        def layer(N, L):
            def f(x, w1, w2):
                h = N.tanh(x @ w1)
                o = L.psum(h @ w2, 'y')
                return L.pmean(N.sum(o ** 2), 'x')
            return f
        for cv in (False, True):
            ours, theirs = both(layer, mesh=MESH2, in_specs=(P('x', None), P(None, 'y'),
                                P('y', None)), out_specs=P(), check_vma=cv)
            close(ours(x, w1, w2), theirs(x, w1, w2))
            want = jax.grad(theirs, (0, 1, 2))(x, w1, w2)
            close(mg.grad(ours, (0, 1, 2))(x, w1, w2), want, tol=1e-4)
            close(mg.jit(mg.grad(ours, (0, 1, 2)))(x, w1, w2), want, tol=1e-4)
    """,
    "linearize_hessian_scan_with_check_vma": """
        # JAX's default check_vma=True, through every derived equation
        x, w1, w2 = randn(8, 6), randn(6, 4), randn(4, 3)
        def layer(N, L):
            def f(x, w1, w2):
                o = L.psum(N.tanh(x @ w1) @ w2, 'y')
                return L.pmean(N.sum(o ** 2), 'x')
            return f
        ours, theirs = both(layer, mesh=MESH2, in_specs=(P('x', None), P(None, 'y'),
                            P('y', None)), out_specs=P(), check_vma=True)
        y, lin = mg.linearize(ours, x, w1, w2)
        yj, linj = jax.linearize(theirs, x, w1, w2)
        close((y, lin(x, w1, w2)), (yj, linj(x, w1, w2)), tol=1e-4)
        close(mg.hessian(ours, 1)(x, w1, w2), jax.hessian(theirs, 1)(x, w1, w2), tol=1e-4)
        close(mg.jacfwd(ours, 2)(x, w1, w2), jax.jacfwd(theirs, 2)(x, w1, w2), tol=1e-4)
        def loop(N, L, G, f):
            def run(w):
                step = lambda c, _: (c - 0.01 * G(f, 1)(x, c, w2), None)
                return L.scan(step, w, None, length=3)[0]
            return run
        close(mg.jit(loop(mnp, mg.lax, mg.grad, ours))(w1),
              jax.jit(loop(jnp, jax.lax, jax.grad, theirs))(w1), tol=1e-4)
    """,
    "jit_of_grad_data_parallel": """
        w, xb = randn(6, 4), randn(16, 6)
        def loss(N, L):
            return lambda w, xb: L.pmean(N.mean(N.tanh(xb @ w) ** 2), 'i')
        for cv in (False, True):
            ours, theirs = both(loss, mesh=MESH1, in_specs=(P(), P('i')), out_specs=P(),
                                check_vma=cv)
            want = jax.jit(jax.grad(theirs))(w, xb)
            got = mg.jit(mg.grad(ours))(w, xb)
            close(got, want)
            assert got.sharding.is_fully_replicated
            close(mg.jit(mg.value_and_grad(ours))(w, xb), jax.value_and_grad(theirs)(w, xb))
        # a jitted shard_map under grad, and shard_map inside a jitted loss
        ours, theirs = both(loss, mesh=MESH1, in_specs=(P(), P('i')), out_specs=P())
        close(mg.grad(mg.jit(ours))(w, xb), jax.grad(theirs)(w, xb))
    """,
    "vmap": """
        a, b = randn(3, 16, 2), randn(16, 2)
        ours, theirs = both(elementwise, mesh=MESH1, in_specs=P('i'), out_specs=P('i'))
        for in_axes in [(0, None), (1, None), (2, None)]:
            aa = np.moveaxis(a, 0, in_axes[0])
            close(mg.vmap(ours, in_axes=in_axes)(aa, b), jax.vmap(theirs, in_axes=in_axes)(aa, b))
        close(mg.vmap(ours, in_axes=(0, None), out_axes=1)(a, b),
              jax.vmap(theirs, in_axes=(0, None), out_axes=1)(a, b))
        # vmap of a body with a collective, under jit, on the 2-D mesh
        x = randn(5, 8, 4)
        def body(N, L):
            return lambda x: L.psum(N.sin(x), 'y') * 2.0
        ours, theirs = both(body, mesh=MESH2, in_specs=P('x', 'y'), out_specs=P('x'))
        close(mg.jit(mg.vmap(ours))(x), jax.vmap(theirs)(x))
        # vmap of grad
        ours, theirs = both(with_local_sum, mesh=MESH2, in_specs=P('x', 'y'),
                            out_specs=P('x', 'y'))
        close(mg.vmap(mg.grad(lambda x: mnp.sum(ours(x))))(x),
              jax.vmap(jax.grad(lambda x: jnp.sum(theirs(x))))(x))
    """,
    "vmap_spmd_axis_name": """
        # the batch dimension split over the spmd axis: each device's body is batched
        # over its block of the batch; values and output shardings as JAX's
        x = randn(6, 8)
        def body(N, L):
            return lambda a: N.sin(a) * L.psum(N.sum(a), 'y')
        ours, theirs = both(body, mesh=MESH2, in_specs=P('y'), out_specs=P('y'))
        for kw, v in ((dict(in_axes=1, out_axes=1), x), (dict(), x.T.copy())):
            a = mg.vmap(ours, spmd_axis_name='x', **kw)(v)
            b = jax.vmap(theirs, spmd_axis_name='x', **kw)(v)
            close(a, b)
            assert a.sharding == b.sharding, (a.sharding, b.sharding)
            eqn = mg.make_jaxpr(mg.vmap(ours, spmd_axis_name='x', **kw))(v).jaxpr.eqns[0]
            jeqn = jax.make_jaxpr(jax.vmap(theirs, spmd_axis_name='x', **kw))(v).eqns[0]
            assert eqn.params['in_specs'] == jeqn.params['in_specs'], (eqn.params, jeqn.params)
            inner = eqn.params['jaxpr'].in_avals[0].shape
            assert inner == jeqn.params['jaxpr'].in_avals[0].shape, inner
        # the gradient of the vmapped shard_map, as JAX's
        xt = x.T.copy()
        ours_v, theirs_v = (mg.vmap(ours, spmd_axis_name='x'), jax.vmap(theirs, spmd_axis_name='x'))
        close(mg.jit(mg.grad(lambda a: mnp.sum(ours_v(a) ** 2)))(xt),
              jax.jit(jax.grad(lambda a: jnp.sum(theirs_v(a) ** 2)))(xt))
        # vmap of the gradient: its transpose psums over 'x', which the split batch
        # would mix (JAX restructures the whole trace); a clear NotImplementedError
        e = raises(NotImplementedError,
                   lambda: mg.vmap(mg.grad(lambda a: mnp.sum(ours(a))), spmd_axis_name='x')(xt))
        assert "grad(vmap(f))" in str(e) and "['x']" in str(e), e
        # errors: the spmd axis used by the specs, a batch not divisible by its size
        ours_x, _ = both(lambda N, L: N.sin, mesh=MESH2, in_specs=P('x'), out_specs=P('x'))
        e = raises(ValueError, lambda: mg.vmap(ours_x, spmd_axis_name='x')(randn(4, 8)))
        assert "cannot appear in shard_map in_specs" in str(e), e
        e = raises(ValueError, lambda: mg.vmap(ours, spmd_axis_name='x')(randn(6, 6)))
        assert "not divisible" in str(e) and "6" in str(e), e
    """,
    "mesh_from_jax_set_mesh": """
        # mesh left out: the mesh of jax.set_mesh when called (the decorator form of
        # JAX's shard_map tutorial), eagerly and under jit, on an explicit-axes mesh too
        a, b = randn(8, 16), randn(16, 4)
        for mesh in (MESH2, jax.make_mesh((4, 2), ('x', 'y'))):
            fs = {}
            for name, (N, L, SM) in LIBS.items():
                @SM(in_specs=(P('x', 'y'), P('y', None)), out_specs=P('x', None))
                def matmul(a_block, b_block, N=N, L=L):
                    return L.psum(N.dot(a_block, b_block), 'y')
                fs[name] = matmul
            with jax.set_mesh(mesh):
                ap = jax.device_put(a, NamedSharding(mesh, P('x', 'y')))
                bp = jax.device_put(b, NamedSharding(mesh, P('y', None)))
                theirs = fs['jax'](ap, bp)
                for ours in (fs['mg'](ap, bp), mg.jit(fs['mg'])(ap, bp)):
                    close(ours, theirs)
                    # JAX's eager shard_map keeps the trailing None of P('x', None)
                    assert ours.sharding.is_equivalent_to(theirs.sharding, 2), ours.sharding
        e = raises(TypeError, lambda: fs['mg'](a, b))
        assert "jax.set_mesh" in str(e), e
        # mg.jit keys its traces on the mesh in context too (as jax.jit does)
        e = raises(TypeError, lambda: mg.jit(fs['mg'])(a, b))
        assert "jax.set_mesh" in str(e), e
    """,
    "printed_jaxpr_like_jax": """
        a, b = randn(8, 4), randn(8, 1)
        ours, theirs = both(lambda N, L: lambda a, b: (N.sin(a) * b, L.psum(N.sum(a), 'x')),
                            mesh=MESH2, in_specs=(P('x', 'y'), P('x')),
                            out_specs=(P('x', 'y'), P()))
        got, want = str(mg.make_jaxpr(ours)(a, b)), str(jax.make_jaxpr(theirs)(a, b))
        assert got == want, got + '\\n' + want
        # a jvp: tangents take the primal specs
        got = str(mg.make_jaxpr(lambda a, t: mg.jvp(lambda a: ours(a, b), (a,), (t,)))(a, a))
        want = str(jax.make_jaxpr(lambda a, t: jax.jvp(lambda a: theirs(a, b), (a,), (t,)))(a, a))
        assert got == want, got + '\\n' + want
    """,
    "residual_specs_like_jax": """
        # residuals leave the known shard_map with their leading axis sharded over every
        # mesh axis (a scalar one as a 1-vector), and enter the unknown one the same way
        x = randn(8, 4)
        ours, theirs = both(with_local_sum, mesh=MESH2, in_specs=P('x', 'y'),
                            out_specs=P('x', 'y'))
        def specs(closed):
            return sorted(str(s) for e in closed.eqns if e.primitive.name == 'shard_map'
                          for s in e.params['out_specs'])
        got = mg.make_jaxpr(mg.grad(lambda x: mnp.sum(ours(x))))(x)
        want = jax.make_jaxpr(jax.grad(lambda x: jnp.sum(theirs(x))))(x)
        assert specs(got.jaxpr) == specs(want.jaxpr), (specs(got.jaxpr), specs(want.jaxpr))
        shapes = lambda c: sorted(str(v.aval.shape) for e in c.eqns
                                  if e.primitive.name == 'shard_map' for v in e.outvars)
        assert shapes(got.jaxpr) == shapes(want.jaxpr), (shapes(got.jaxpr), shapes(want.jaxpr))
    """,
    "dce_prunes_outputs": """
        a, b = randn(16, 3), randn(16, 3)
        ours, _ = both(elementwise, mesh=MESH1, in_specs=P('i'), out_specs=P('i'))
        closed = mg.make_jaxpr(lambda a, b: ours(a, b)[1])(a, b)
        from minigrad_jax._src.interpreters import partial_eval as pe
        pruned = pe.dce_jaxpr(closed.jaxpr)
        (eqn,) = pruned.eqns
        assert len(eqn.outvars) == 1 and len(eqn.params['out_specs']) == 1
        assert len(eqn.invars) == 1 and len(eqn.params['in_specs']) == 1
        assert [e.primitive.name for e in eqn.params['jaxpr'].jaxpr.eqns] == ['cos', 'add']
        close(mg.jit(lambda a, b: ours(a, b)[1])(a, b), np.cos(b) + 1.0)
    """,
    "closed_over_values_and_consts": """
        c = randn(4)
        x = randn(8, 4)
        def body(N, L):
            return lambda x: N.sin(x) * N.asarray(c)
        ours, theirs = both(body, mesh=MESH2, in_specs=P('x'), out_specs=P('x'))
        close(ours(x), theirs(x))
        close(mg.grad(lambda x: mnp.sum(ours(x)))(x), jax.grad(lambda x: jnp.sum(theirs(x)))(x))
        # a shard_map closing over a value being differentiated
        def outer(N, SM):
            def f(w):
                g = SM(lambda x: N.tanh(x * w), mesh=MESH2, in_specs=P('x'), out_specs=P('x'),
                       check_vma=False)
                return N.sum(g(x))
            return f
        close(mg.grad(outer(mnp, mg.shard_map))(1.5), jax.grad(outer(jnp, jax.shard_map))(1.5))
    """,
    "eager_calls_trace_once_per_argument_types": """
        calls = {'mg': [], 'jax': []}
        def body(N, L):
            log = calls['mg' if N is mnp else 'jax']
            def f(a):
                log.append(a.shape)
                return L.psum(N.sin(a), 'i')
            return f
        ours, theirs = both(body, mesh=MESH1, in_specs=P('i'), out_specs=P())
        x, x2 = randn(16, 3), randn(16, 5)
        for v in (x, 2 * x, x2, x):
            close(ours(v), theirs(v))
        # JAX's eager shard_map traces on every call; ours once per per-shard type
        assert len(calls['jax']) >= 4, calls
        assert calls['mg'] == [(2, 3), (2, 5)], calls
        # under a transform the body is traced again (the cache is for eager calls)
        close(mg.grad(lambda v: mnp.sum(ours(v)))(x), jax.grad(lambda v: jnp.sum(theirs(v)))(x))
        close(mg.jit(ours)(x), theirs(x))
        assert len(calls['mg']) == 4, calls
    """,
    "errors": """
        f = lambda x: x
        e = raises(ValueError, lambda: mg.shard_map(f, mesh=MESH1, in_specs=P('i'),
                                                    out_specs=P('i'))(np.ones(6)))
        assert 'evenly divide' in str(e) and "'i'" in str(e), e
        e = raises(ValueError, lambda: mg.shard_map(f, mesh=MESH1, in_specs=P('z'),
                                                    out_specs=P('i'))(np.ones(8)))
        assert "'z'" in str(e) and 'in_specs' in str(e), e
        e = raises(ValueError, lambda: mg.shard_map(f, mesh=MESH1, in_specs=P('i'),
                                                    out_specs=P('z'))(np.ones(8)))
        assert "'z'" in str(e) and 'out_specs' in str(e), e
        e = raises(ValueError, lambda: mg.shard_map(f, mesh=MESH1, in_specs=P('i', None),
                                                    out_specs=P('i'))(np.ones(8)))
        assert 'rank 1' in str(e), e
        e = raises(ValueError, lambda: mg.shard_map(mnp.sum, mesh=MESH1, in_specs=P('i'),
                                                    out_specs=P('i'))(np.ones(8)))
        assert 'out_specs' in str(e) and 'rank 0' in str(e), e
        e = raises(TypeError, lambda: mg.shard_map(f, mesh=MESH1, in_specs=('i',),
                                                   out_specs=P('i'))(np.ones(8)))
        assert 'PartitionSpec' in str(e), e
        e = raises(TypeError, lambda: mg.shard_map(f, mesh=MESH1, out_specs=P('i')))
        assert 'in_specs' in str(e), e
        e = raises(TypeError, lambda: mg.shard_map(f, mesh='i', in_specs=P(),
                                                   out_specs=P()))
        assert 'Mesh' in str(e), e
        # mesh=None is the mesh of jax.set_mesh, looked up (and missing) at the call
        e = raises(TypeError, lambda: mg.shard_map(f, mesh=None, in_specs=P(),
                                                   out_specs=P())(np.ones(8)))
        assert 'jax.set_mesh' in str(e), e
        e = raises(ValueError, lambda: mg.shard_map(lambda x, y: x, mesh=MESH1,
                                                    in_specs=(P('i'),),
                                                    out_specs=P('i'))(np.ones(8), np.ones(8)))
        assert 'prefix' in str(e), e
        e = raises(TypeError, lambda: mg.shard_map(f, mesh=MESH1, in_specs=P('i'),
                                                   out_specs=None)(np.ones(8)))
        assert 'out_specs' in str(e), e
        e = raises(ValueError, lambda: mg.shard_map(f, mesh=MESH2, in_specs=P('x', 'x'),
                                                    out_specs=P('x'))(np.ones((8, 8))))
        assert 'more than once' in str(e), e
        # a collective over an axis the mesh does not bind: JAX's error class, naming it
        e = raises(NameError, lambda: mg.shard_map(lambda x: mg.lax.psum(x, 'j'), mesh=MESH1,
                                                   in_specs=P('i'), out_specs=P('i'))(np.ones(8)))
        assert "'j'" in str(e) or ' j' in str(e), e
    """,
}


results, test_on_8_devices = multidevice.tests_for(CHECKS, HELPERS)
