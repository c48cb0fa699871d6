"""What the teaching tools show, built once from the evaluation: scopes with the user's names.

``Model`` holds the evaluated scope tree (``evaluate.Scope``) and a display name for every
variable of every scope; ``lookup(name)`` finds a variable by that name (top level first).
"""

from __future__ import annotations

from minigrad_jax._src.ir import Literal
from minigrad_jax._src.teaching import names as nm
from minigrad_jax._src.teaching.evaluate import Evaluation, Scope

__all__ = ["Model"]


class Model:
    def __init__(self, ev: Evaluation, in_names):
        self.ev = ev
        self.top = ev.top
        self.names: dict = {}  # Scope -> {var: display name}
        self.index: dict = {}  # display name -> (scope, var)
        self._iterations: dict = {}  # (scan body, i) -> that body at iteration i
        self._name_scope(self.top, dict(zip(self.top.jaxpr.invars, in_names, strict=False)))

    def _name_scope(self, scope: Scope, given: dict):
        letters = nm.var_names(scope.jaxpr)
        labels = nm.user_labels(scope.jaxpr)
        out: dict = {}
        seen: set = set()
        named = [v for v in letters if given.get(v) or labels.get(v)]
        unnamed = [v for v in letters if v not in set(named)]
        for v in named + unnamed:  # the user's names first: an IR letter never hides one
            name = given.get(v) or labels.get(v)
            if name is None:  # an IR letter that a user's name already took is marked
                name = letters[v] if letters[v] not in seen else f"{letters[v]}_ir"
            while name in seen:  # a name assigned again (h = f(h)) gets a prime: h, h', h''
                name += "'"
            seen.add(name)
            out[v] = name
        for v in named + unnamed:
            self.index.setdefault(out[v], (scope, v))  # the top level is named first: it wins
        out = {v: out[v] for v in letters}  # back in jaxpr order
        self.names[scope] = out
        for k, kids in scope.children.items():
            eqn = scope.jaxpr.eqns[k]
            for kid in kids:
                self._name_scope(kid, _inner_given(eqn, kid, out, letters))

    def iteration(self, scope: Scope, i: int) -> Scope:
        """``scope`` (a scan body) at iteration ``i``, named as the body is (cached)."""
        key = (scope, i)
        if key not in self._iterations:
            copy = scope.iteration(i)
            for old, new in zip(scope.walk(), copy.walk(), strict=True):
                self.names[new] = self.names[old]
            self._iterations[key] = copy
        return self._iterations[key]

    def name(self, scope: Scope, atom) -> str:
        if type(atom) is Literal:
            return str(atom).split(":")[0]
        return self.names[scope][atom]

    def lookup(self, name: str):
        found = self.index.get(name)
        if found is None:
            known = ", ".join(sorted(self.index))
            raise ValueError(f"no variable named {name!r}; the names are: {known}")
        return found


def _inner_given(eqn, kid: Scope, outer: dict, letters: dict) -> dict:
    """Names of an inner jaxpr's inputs, from the outer operands they receive."""
    inv = kid.jaxpr.invars

    def outer_name(a):
        return str(a).split(":")[0] if type(a) is Literal else outer.get(a, letters.get(a, "?"))

    params = nm.function_params(kid.jaxpr)
    if kid.kind == "scan":
        nc, nk = eqn.params["num_consts"], eqn.params["num_carry"]
        given = {}
        for i, (v, a) in enumerate(zip(inv, eqn.invars, strict=False)):
            n = outer_name(a)
            given[v] = n if i < nc else (f"{n} (carry)" if i < nc + nk else f"{n}[i]")
        nx = len(inv) - nc - nk
        if params is not None and (nk, nx) == (1, 1) and len(params) == 2:  # step(c, x)
            given[inv[nc]], given[inv[nc + 1]] = params
        elif params is not None and nx == 0 and len(params) == nk:  # a fori body(i, c)
            given.update(zip(inv[nc:], params, strict=True))
        return given
    if kid.kind in ("cond", "jit") and params is not None and len(params) <= len(inv):
        named = _inner_given_by_operands(eqn, kid, inv, outer_name)
        named.update(zip(inv[len(inv) - len(params) :], params, strict=True))
        return named
    return _inner_given_by_operands(eqn, kid, inv, outer_name)


def _inner_given_by_operands(eqn, kid, inv, outer_name) -> dict:
    ops = eqn.invars[len(eqn.invars) - len(inv) :] if len(inv) <= len(eqn.invars) else []
    idx = operand_map(eqn, kid)
    if idx is None:
        return {v: outer_name(a) for v, a in zip(inv, ops, strict=False)}
    p = eqn.params
    first_carry = None  # a while loop's carry starts after both consts groups
    if "body_nconsts" in p:
        first_carry = p.get("cond_nconsts", 0) + p["body_nconsts"]
    given = {}
    for v, i in zip(inv, idx, strict=False):
        n = outer_name(eqn.invars[i])
        given[v] = f"{n} (carry)" if first_carry is not None and i >= first_carry else n
    return given


def operand_map(eqn, kid):
    """Index of the outer operand each input of the inner jaxpr ``kid`` receives (None when
    that is not known)."""
    n_in, n_ops = len(kid.jaxpr.invars), len(eqn.invars)
    p = eqn.params
    if kid.kind == "cond":
        return list(range(1, 1 + n_in)) if n_in == n_ops - 1 else None
    if eqn.primitive.name == "while" and "cond_nconsts" in p and "body_nconsts" in p:
        cn, bn = p["cond_nconsts"], p["body_nconsts"]
        carry = list(range(cn + bn, n_ops))
        key = kid.path[-1][1]
        idx = list(range(cn)) + carry if key == "cond_jaxpr" else list(range(cn, cn + bn)) + carry
        return idx if len(idx) == n_in else None
    return list(range(n_ops - n_in, n_ops)) if n_in <= n_ops else None
