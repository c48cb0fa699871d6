"""Multi-host data-parallel training: 2 processes with 4 CPU devices each, one mesh of 8.

What a multi-host (multi-controller) JAX program looks like, run locally: every
process runs this same script, calls ``jax.distributed.initialize`` to meet the
others, and then sees all 8 devices of the job (``jax.devices()``), 4 of them its
own (``jax.local_devices()``). Each process feeds only its own rows of each
minibatch (``jax.make_array_from_process_local_data``); the sharded ``mg.jit``
step of ``train_data_parallel.py`` then runs as one SPMD program over the 8
devices, XLA's collectives crossing the process boundary (Gloo on CPU).

    python examples/multi_host.py                 # starts the 2 processes, prints the losses
    python examples/multi_host.py --steps 10 --processes 2 --local-devices 4

Run without ``--process-id`` it is the launcher: it picks a free port on localhost,
starts the processes, and prints process 0's per-step losses next to a one-process
run of the same steps on one device. On a real cluster each host runs the worker
itself (``--process-id i --coordinator host:port``), or the cluster's launcher
(SLURM, Kubernetes, Cloud TPU) sets these for ``jax.distributed.initialize()``.
Needs the ``examples`` extra (scikit-learn).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys


def _parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--local-devices", type=int, default=4)
    ap.add_argument("--process-id", type=int, default=None, help="run as this worker")
    ap.add_argument("--coordinator", default=None, help="host:port of process 0")
    ap.add_argument("--timeout", type=float, default=300.0)
    return ap.parse_args(argv)


def _free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def launch(args):
    """Start ``args.processes`` workers on this machine; process 0's result dict."""
    coordinator = args.coordinator or f"localhost:{_free_port()}"
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)  # each worker asks for its own device count
    common = [
        sys.executable,
        os.path.abspath(__file__),
        *("--steps", str(args.steps), "--batch", str(args.batch), "--seed", str(args.seed)),
        *("--processes", str(args.processes), "--local-devices", str(args.local_devices)),
        *("--coordinator", coordinator),
    ]
    procs = [
        subprocess.Popen(
            [*common, "--process-id", str(i)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(args.processes)
    ]
    outs = []
    try:
        for p in procs:
            outs.append(p.communicate(timeout=args.timeout))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    results = []
    for i, (p, (out, err)) in enumerate(zip(procs, outs, strict=True)):
        line = next((ln for ln in out.splitlines() if ln.startswith("RESULT:")), None)
        if p.returncode != 0 or line is None:
            raise SystemExit(f"process {i} failed (exit {p.returncode}):\n{err[-3000:]}")
        results.append(json.loads(line[len("RESULT:") :]))
    return results


if __name__ == "__main__":
    _ARGS = _parse()
    if _ARGS.process_id is not None:  # a worker: its device count, before JAX starts
        os.environ["JAX_NUM_CPU_DEVICES"] = str(_ARGS.local_devices)
        os.environ.pop("XLA_FLAGS", None)

import jax  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from jax.sharding import Mesh, NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [_HERE, os.path.join(_HERE, "..")]

import train_data_parallel as tdp  # noqa: E402

import minigrad_jax as mg  # noqa: E402


def replicated(value, sharding):
    """A global array holding ``value`` (the same on every process) on every device."""
    value = np.asarray(value)
    return jax.make_array_from_callback(value.shape, sharding, lambda index: value[index])


def worker(args):
    """One process of the job: the sharded step over the global mesh, fed this
    process's rows of each minibatch. Returns {"losses", "process", ...}."""
    jax.distributed.initialize(
        coordinator_address=args.coordinator,
        num_processes=args.processes,
        process_id=args.process_id,
    )
    n = len(jax.devices())
    mesh = Mesh(np.array(jax.devices()), ("data",))
    rows, rep = NamedSharding(mesh, P("data")), NamedSharding(mesh, P())
    optimizer = optax.adam(tdp.LEARNING_RATE)
    params = jax.tree.map(
        lambda a: replicated(a, rep), tdp.init_params(tdp.train_mlp.make_model(), args.seed)
    )
    opt_state = jax.tree.map(lambda a: replicated(a, rep), optimizer.init(params))
    step = tdp.make_step(
        optimizer,
        mg.value_and_grad(tdp.loss_fn),
        in_shardings=(rep, rep, rows, rows),
        out_shardings=(rep, rep, rep),
    )
    per_process = args.batch // args.processes
    mine = slice(args.process_id * per_process, (args.process_id + 1) * per_process)
    losses = []
    for x, y in tdp.batches(args.seed, args.batch, args.steps):
        xs = jax.make_array_from_process_local_data(rows, x[mine])
        ys = jax.make_array_from_process_local_data(rows, y[mine])
        params, opt_state, loss = step(params, opt_state, xs, ys)
        losses.append(float(loss.addressable_data(0)))
    result = {
        "process": jax.process_index(),
        "processes": jax.process_count(),
        "devices": n,
        "local_devices": len(jax.local_devices()),
        "losses": losses,
        "hidden_weight_spec": str(params[0]["w"].sharding.spec),
    }
    jax.distributed.shutdown()
    return result


def one_process(args):
    """The reference: the same steps on one device of this process."""
    optimizer = optax.adam(tdp.LEARNING_RATE)
    params0 = tdp.init_params(tdp.train_mlp.make_model(), args.seed)
    data = tdp.batches(args.seed, args.batch, args.steps)
    losses, _, _ = tdp.one_device(optimizer, params0, data)
    return losses


def main(argv=None):
    """Launch the job and the reference; {"results": [per process], "one_device": losses}."""
    args = _parse(argv)
    results = launch(args)
    reference = one_process(args)
    r0 = results[0]
    print(
        f"{r0['processes']} processes x {r0['local_devices']} CPU devices = "
        f"{r0['devices']} devices in one mesh; hidden weight {r0['hidden_weight_spec']}"
    )
    print(f"{'step':>4}  {'multi-host':>12}  {'one device':>12}")
    for i, (a, b) in enumerate(zip(r0["losses"], reference, strict=True)):
        print(f"{i:>4}  {a:>12.6f}  {b:>12.6f}")
    diff = max(abs(a - b) for a, b in zip(r0["losses"], reference, strict=True))
    print(f"max |multi-host - one device|: {diff:.1e}")
    return {"results": results, "one_device": reference}


if __name__ == "__main__":
    if _ARGS.process_id is not None:
        print("RESULT:" + json.dumps(worker(_ARGS)), flush=True)
    else:
        main()
