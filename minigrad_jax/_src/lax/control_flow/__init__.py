"""Structured control flow: cond, switch, while_loop, fori_loop, scan, map.

Each construct is a higher-order primitive carrying closed jaxprs (hoisted:
their consts are leading operands), with jvp, partial-evaluation, transpose,
batching and dead-code rules built from the shared kit
(``interpreters/jaxpr_util.py``) and a lowering to the jax.lax control-flow
function, so XLA sees a loop or a conditional, never an unrolled program.
Primitive names and params are JAX's: ``cond{branches}``,
``while{cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts}`` and
``scan{jaxpr, length, reverse, num_consts, num_carry, unroll}``.

- ``common.py``: tracing user functions, type checks;
- ``conditionals.py``: cond and switch;
- ``loops.py``: while_loop, fori_loop, scan, map.
"""

from minigrad_jax._src.lax.control_flow.conditionals import cond, cond_p, switch
from minigrad_jax._src.lax.control_flow.loops import (
    fori_loop,
    map,  # noqa: A004
    scan,
    scan_p,
    while_loop,
    while_p,
)

__all__ = [
    "cond",
    "switch",
    "while_loop",
    "fori_loop",
    "scan",
    "map",
    "cond_p",
    "while_p",
    "scan_p",
]
