"""The sharded train step against JAX's on the same mesh, on 1, 2, 4 and 8 devices.

    python benchmarks/bench_sharded.py                  # 1, 2, 4, 8 simulated CPU devices
    python benchmarks/bench_sharded.py --devices 8 --repeats 31

The MLP of benchmarks/bench.py (784-256-256-10, batch 128, Adam) is trained with
its batch split by rows over a 1-D mesh of every device and its parameters
replicated: ``mg.jit`` with in/out shardings (the step of
examples/train_data_parallel.py) against ``jax.jit`` with the same shardings, the
two alternating in one process. JAX fixes its device count when it starts, so each
device count runs in its own process. On CPU the devices are simulated and share
the machine's cores: the step time per device count shows the partitioner's
overhead, not a speed-up. Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import jax
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [HERE, os.path.join(ROOT, "examples")]

import bench  # noqa: E402
import train_data_parallel as tdp  # noqa: E402

import minigrad_jax as mg  # noqa: E402

TARGET = 1.05  # mg/JAX, the sharded step


def _parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, nargs="*", default=[1, 2, 4, 8])
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--inner", type=int, default=20, help="steps per timed repeat")
    ap.add_argument("--worker", action="store_true", help="measure in this process")
    return ap.parse_args(argv)


def worker(args):
    """Time both sharded steps on this process's devices (the launcher set their
    number before this process started JAX); a JSON-able dict."""
    n = len(jax.devices())
    mesh = Mesh(np.array(jax.devices()), ("data",))
    rows, rep = NamedSharding(mesh, P("data")), NamedSharding(mesh, P())
    params, x, y = bench.mlp_data()
    opt = optax.adam(1e-3)
    shardings = dict(in_shardings=(rep, rep, rows, rows), out_shardings=(rep, rep, rep))
    mg_step = tdp.make_step(opt, mg.value_and_grad(bench.ex.loss_fn), **shardings)

    def jax_step(p, s, x, y):
        loss, g = jax.value_and_grad(bench.jax_loss)(p, x, y)
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s, loss

    jax_step = jax.jit(jax_step, **shardings)
    params = jax.device_put(params, rep)
    x, y = jax.device_put((x, y), rows)
    state0 = tdp.init_state(opt, params, rep)
    state = {"mg": (params, state0), "jax": (params, state0)}

    def run(name, step):
        def go():
            p, s, loss = step(*state[name], x, y)
            state[name] = (p, s)
            return loss

        return go

    run_mg, run_jax = run("mg", mg_step), run("jax", jax_step)
    bench._block(run_mg()), bench._block(run_jax())
    t_mg, t_jax = bench._paired(run_mg, run_jax, args.repeats, args.inner)
    same = bool(np.allclose(float(run_mg()), float(run_jax()), rtol=1e-4))
    return {"devices": n, "mg": t_mg, "jax": t_jax, "same_loss": same}


def launch(args):
    """One worker process per device count; their results, in order."""
    out = []
    for n in args.devices:
        env = dict(os.environ, JAX_PLATFORMS="cpu", JAX_NUM_CPU_DEVICES=str(n))
        flags = env.get("XLA_FLAGS", "")
        env["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={n}".strip()
        cmd = [sys.executable, __file__, "--worker", "--repeats", str(args.repeats)]
        res = subprocess.run(
            [*cmd, "--inner", str(args.inner)], env=env, capture_output=True, text=True
        )
        line = next((ln for ln in res.stdout.splitlines() if ln.startswith("RESULT:")), None)
        if line is None:
            raise SystemExit(f"{n} devices: the worker failed\n{res.stderr[-3000:]}")
        out.append(json.loads(line[len("RESULT:") :]))
    return out


def table(results):
    def ms(s):
        return f"{s * 1e3:.2f} ms"

    base = results[0]["mg"]
    lines = [
        "| devices | minigrad_jax | JAX | mg/JAX | target | met | mg step / first row's |",
        "|---:|---:|---:|---:|---:|:---:|---:|",
    ]
    for r in results:
        ratio = r["mg"] / r["jax"]
        met = "yes" if ratio <= TARGET else "no"
        lines.append(
            f"| {r['devices']} | {ms(r['mg'])} | {ms(r['jax'])} | {ratio:.2f}x | "
            f"<= {TARGET:.2f}x | {met} | {r['mg'] / base:.2f}x |"
        )
    return "\n".join(lines)


def main(argv=None):
    args = _parse(argv)
    if args.worker:
        print("RESULT:" + json.dumps(worker(args)), flush=True)
        return None
    results = launch(args)
    bad = [r["devices"] for r in results if not r["same_loss"]]
    if bad:
        raise SystemExit(f"the two steps disagree on {bad} devices")
    print(
        "sharded train step, MLP 784-256-256-10, batch 128 split over a 1-D mesh, Adam; "
        f"medians of {args.repeats} repeats of {args.inner} steps"
    )
    print(table(results))
    return results


if __name__ == "__main__":
    main()
