"""What ``mg.checkpoint`` may save: the ``name`` primitive and JAX's checkpoint policies.

A policy is ``policy(prim, *in_avals, **params) -> bool``: whether the outputs of
one equation of the checkpointed function (its primitive, its inputs' types and
its params) may be saved as residuals for the backward pass instead of being
recomputed there. The policies below have JAX's names and semantics and look at
this package's primitives (our ``dot_general``, ``conv_general_dilated`` and
``name``), so a policy function written for JAX's primitives (``prim is
jax.lax.dot_general_p``) does not see ours: compare ``prim.name`` instead.

Each policy here also knows its JAX counterpart (``to_jax``): the lowering
passes it to ``jax.checkpoint``, so a function handed to JAX (``mg.to_jax``)
and differentiated there saves what it saves here. A policy of the user's own
lowers with ``policy=None`` (JAX saves nothing), which can only cost JAX
recomputation, never a different value.

``checkpoint_name(x, name)`` is the identity that tags a value for the
name-based policies; it prints as ``name[name=...]`` as JAX's does.
"""

from __future__ import annotations

import dataclasses

import jax
from jax import tree_util
from jax.ad_checkpoint import checkpoint_name as jax_checkpoint_name

from minigrad_jax._src import core
from minigrad_jax._src.core import Primitive
from minigrad_jax._src.interpreters import ad, batching, lowering
from minigrad_jax._src.lax.convolution import conv_general_dilated_p
from minigrad_jax._src.lax.linalg import dot_general_p

__all__ = [
    "checkpoint_name",
    "name_p",
    "everything_saveable",
    "nothing_saveable",
    "dots_saveable",
    "checkpoint_dots",
    "dots_with_no_batch_dims_saveable",
    "checkpoint_dots_with_no_batch_dims",
    "offload_dot_with_no_batch_dims",
    "save_anything_except_these_names",
    "save_any_names_but_these",
    "save_only_these_names",
    "save_and_offload_only_these_names",
    "save_from_both_policies",
    "to_jax",
    "from_jax",
]

_jcp = jax.checkpoint_policies


# ---------------------------------------------------------------------------
# the name primitive: the identity, tagged

name_p = Primitive("name")

core.abstract_eval_rules[name_p] = lambda x, *, name: x


def _name_jvp(primals, tangents, *, name):
    (x,), (t,) = primals, tangents
    return name_p.bind(x, name=name), t  # JAX does not name the tangent


ad.jvp_rules[name_p] = _name_jvp
ad.transpose_rules[name_p] = lambda ct, x, *, name: [ct]
batching.batch_rules[name_p] = lambda axis_size, args, dims, *, name: (
    name_p.bind(args[0], name=name),
    dims[0],
)
# jax's checkpoint_name binds JAX's name primitive (what JAX's own policies look for).
lowering.register(name_p, lambda x, *, name: jax_checkpoint_name(jax.numpy.asarray(x), name))


def checkpoint_name(x, name):
    """Tag every leaf of ``x`` with ``name`` for the name-based checkpoint policies.

    The identity (its derivative is the identity; the tangent is not named, as in
    JAX). Inside ``mg.checkpoint(f, policy=mg.checkpoint_policies.save_only_these_names(name))``
    the tagged values are what the forward pass saves for the backward pass.

    Args:
      x: an array or a pytree of arrays.
      name: a string.

    Returns:
      ``x``, unchanged.

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> print(mg.make_jaxpr(lambda x: mg.checkpoint_name(mnp.sin(x), "s") * x)(1.0))
      { lambda ; a:f32[]. let
          b:f32[] = sin a
          c:f32[] = name[name=s] b
          d:f32[] = mul c a
        in (d,) }
      >>> mg.checkpoint_name(mnp.ones(2), "ones")
      Array([1., 1.], dtype=float32)
    """
    if not isinstance(name, str):
        raise TypeError(f"checkpoint_name: name must be a str, got {type(name).__name__}")
    return tree_util.tree_map(lambda leaf: name_p.bind(leaf, name=name), x)


# ---------------------------------------------------------------------------
# the policies (JAX's names; dataclass ones print as JAX's do in a jaxpr)


def everything_saveable(*_, **__) -> bool:
    """Save every value: as if ``mg.checkpoint`` were not used at all.

    Example:
      >>> import minigrad_jax as mg
      >>> mg.checkpoint_policies.everything_saveable(None)
      True
    """
    return True


def nothing_saveable(*_, **__) -> bool:
    """Save nothing but the inputs: recompute the rest (``policy=None`` means this).

    Example:
      >>> import minigrad_jax as mg
      >>> mg.checkpoint_policies.nothing_saveable(None)
      False
    """
    return False


everything_saveable.to_jax = lambda: _jcp.everything_saveable
nothing_saveable.to_jax = lambda: _jcp.nothing_saveable


@dataclasses.dataclass(frozen=True)
class DotsSaveable:
    """Save the results of contractions (``dot_general``; and ``conv_general_dilated``
    unless ``only_if_no_batch_dims``, which saves only dots without batch dimensions)."""

    only_if_no_batch_dims: bool

    def __call__(self, prim, *avals, **params):
        if self.only_if_no_batch_dims:
            if prim is dot_general_p:
                (_, _), (lhs_b, rhs_b) = params["dimension_numbers"]
                return not lhs_b and not rhs_b
            return False
        return prim is dot_general_p or prim is conv_general_dilated_p

    def to_jax(self):
        if self.only_if_no_batch_dims:
            return _jcp.dots_with_no_batch_dims_saveable
        return _jcp.dots_saveable


checkpoint_dots = dots_saveable = DotsSaveable(False)
checkpoint_dots_with_no_batch_dims = dots_with_no_batch_dims_saveable = DotsSaveable(True)


@dataclasses.dataclass(frozen=True)
class SaveOnlyTheseNames:
    """Save only the values named (``checkpoint_name``) with one of ``saveable_names``."""

    saveable_names: frozenset

    def __call__(self, prim, *avals, **params):
        return prim is name_p and params["name"] in self.saveable_names

    def to_jax(self):
        return _jcp.save_only_these_names(*sorted(self.saveable_names))


@dataclasses.dataclass(frozen=True)
class SaveAnyNamesButThese:
    """Save only named values, except those named with one of ``names``."""

    names: frozenset

    def __call__(self, prim, *avals, **params):
        return prim is name_p and params["name"] not in self.names

    def to_jax(self):
        return _jcp.save_any_names_but_these(*sorted(self.names))


@dataclasses.dataclass(frozen=True)
class SaveAnythingExceptTheseNames:
    """Save every value except those named with one of ``names``."""

    names: frozenset

    def __call__(self, prim, *avals, **params):
        return not (prim is name_p and params["name"] in self.names)

    def to_jax(self):
        return _jcp.save_anything_except_these_names(*sorted(self.names))


def _names(what, names):
    for n in names:
        if not isinstance(n, str):
            raise TypeError(f"{what}: names must be strings, got {type(n).__name__}")
    return frozenset(names)


def save_only_these_names(*names_which_can_be_saved):
    """Save only named values, and only among the names given.

    Example:
      >>> import minigrad_jax as mg
      >>> import minigrad_jax.numpy as mnp
      >>> def f(x):
      ...     return mnp.sin(mg.checkpoint_name(mnp.sin(x), "s"))
      >>> policy = mg.checkpoint_policies.save_only_these_names("s")
      >>> float(mg.grad(mg.checkpoint(f, policy=policy))(0.0))
      1.0
    """
    return SaveOnlyTheseNames(_names("save_only_these_names", names_which_can_be_saved))


def save_any_names_but_these(*names_not_to_save):
    """Save only named values (outputs of ``checkpoint_name``), except the names given.

    Example:
      >>> import minigrad_jax as mg
      >>> mg.checkpoint_policies.save_any_names_but_these("a")
      SaveAnyNamesButThese(names=frozenset({'a'}))
    """
    return SaveAnyNamesButThese(_names("save_any_names_but_these", names_not_to_save))


def save_anything_except_these_names(*names_not_to_save):
    """Save any value (not just named ones) except the named values given.

    The producer of a named value is itself saveable, so this usually saves what
    ``everything_saveable`` saves (JAX's version of this policy saves everything).

    Example:
      >>> import minigrad_jax as mg
      >>> mg.checkpoint_policies.save_anything_except_these_names("a")
      SaveAnythingExceptTheseNames(names=frozenset({'a'}))
    """
    return SaveAnythingExceptTheseNames(
        _names("save_anything_except_these_names", names_not_to_save)
    )


def offload_dot_with_no_batch_dims(offload_src, offload_dst):
    """As ``dots_with_no_batch_dims_saveable``: here an offloaded value is a saved one.

    There are no memory kinds in this package, so the dots JAX would move to
    ``offload_dst`` are saved (kept where they are); the lowering passes JAX
    ``dots_with_no_batch_dims_saveable``.

    Example:
      >>> import minigrad_jax as mg
      >>> mg.checkpoint_policies.offload_dot_with_no_batch_dims("device", "pinned_host")
      DotsSaveable(only_if_no_batch_dims=True)
    """
    del offload_src, offload_dst
    return dots_with_no_batch_dims_saveable


def save_and_offload_only_these_names(
    *, names_which_can_be_saved, names_which_can_be_offloaded, offload_src=None, offload_dst=None
):
    """As ``save_only_these_names`` of both name lists: an offloaded value is a saved one.

    Raises ValueError, as JAX does, when the two lists share a name. ``offload_src``
    and ``offload_dst`` (required by JAX) are accepted and not used.

    Example:
      >>> import minigrad_jax as mg
      >>> policy = mg.checkpoint_policies.save_and_offload_only_these_names(
      ...     names_which_can_be_saved=["a"], names_which_can_be_offloaded=["b"])
      >>> sorted(policy.saveable_names)
      ['a', 'b']
    """
    del offload_src, offload_dst
    saved = _names("save_and_offload_only_these_names", names_which_can_be_saved)
    offloaded = _names("save_and_offload_only_these_names", names_which_can_be_offloaded)
    if saved & offloaded:
        raise ValueError(
            "save_and_offload_only_these_names: names_which_can_be_saved and "
            f"names_which_can_be_offloaded must not share a name, got {sorted(saved & offloaded)}"
        )
    return SaveOnlyTheseNames(saved | offloaded)


def save_from_both_policies(policy_1, policy_2):
    """Logical OR of two policies: a value is saveable when either policy says so.

    Example:
      >>> import minigrad_jax as mg
      >>> cp = mg.checkpoint_policies
      >>> both = cp.save_from_both_policies(cp.dots_saveable, cp.save_only_these_names("a"))
      >>> def f(w, x):
      ...     return mg.numpy.sum(mg.numpy.sin(mg.checkpoint_name(mg.numpy.dot(x, w), "a")))
      >>> w, x = mg.numpy.ones((3, 2)), mg.numpy.ones((4, 3))
      >>> [c.shape for c in mg.linearize(mg.checkpoint(f, policy=both), w, x)[1].jaxpr.consts]
      [(4, 2), (3, 2), (4, 3)]
    """
    for p in (policy_1, policy_2):
        if not callable(p):
            raise TypeError(f"save_from_both_policies: a policy must be callable, got {p!r}")

    def policy(prim, *avals, **params):
        out1 = policy_1(prim, *avals, **params)
        out2 = policy_2(prim, *avals, **params)
        if not (isinstance(out1, bool) and isinstance(out2, bool)):
            raise ValueError(
                "The return value of the policies should be a boolean. Got: "
                f"{out1} and {out2}. Please write a custom policy function directly, "
                "rather than using this helper function."
            )
        return out1 or out2

    def policy_to_jax():
        j1, j2 = to_jax(policy_1), to_jax(policy_2)
        return None if j1 is None or j2 is None else _jcp.save_from_both_policies(j1, j2)

    policy.to_jax = policy_to_jax
    return policy


# ---------------------------------------------------------------------------
# between ours and JAX's


def to_jax(policy):
    """The JAX policy for ``jax.checkpoint`` in the lowering (None for a user's own)."""
    if policy is None:
        return None
    convert = getattr(policy, "to_jax", None)
    return convert() if callable(convert) else None


_JAX_OBJECTS = (
    (_jcp.everything_saveable, everything_saveable),
    (_jcp.nothing_saveable, nothing_saveable),
    (_jcp.dots_saveable, dots_saveable),
    (_jcp.dots_with_no_batch_dims_saveable, dots_with_no_batch_dims_saveable),
)
_JAX_NAME_CLASSES = (
    (type(_jcp.save_only_these_names()), "saveable_names", SaveOnlyTheseNames),
    (type(_jcp.save_any_names_but_these()), "names", SaveAnyNamesButThese),
)


def from_jax(policy):
    """Ours for one of JAX's own policy objects (they test for JAX's primitives, which
    never occur in our jaxprs); any other policy unchanged. A JAX policy with no
    counterpart to read (a ``save_from_both_policies`` closure) is a TypeError."""
    for theirs, ours in _JAX_OBJECTS:
        if policy is theirs:
            return ours
    for cls, field, ours in _JAX_NAME_CLASSES:
        if type(policy) is cls and isinstance(getattr(policy, field, None), frozenset):
            return ours(getattr(policy, field))
    module = getattr(policy, "__module__", None) or type(policy).__module__
    if isinstance(module, str) and module.split(".")[0] == "jax":
        raise TypeError(
            f"checkpoint: policy {policy!r} is one of JAX's own policies, which test for "
            "JAX's primitives and never see ours; use the policy of the same name in "
            "mg.checkpoint_policies"
        )
    return policy
