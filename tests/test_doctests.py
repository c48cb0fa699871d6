"""The docstring examples of the public API run as doctests.

Every public object reachable from the public modules (``minigrad_jax``,
``minigrad_jax.numpy``, ``minigrad_jax.lax``, ``minigrad_jax.nn``,
``minigrad_jax.testing``, and the public submodules they list, such as
``minigrad_jax.numpy.linalg``) through their ``__all__`` is handed to
``doctest.DocTestFinder``; objects defined outside ``minigrad_jax`` (names
re-exported from NumPy or JAX, constants) are skipped, since their docstrings
are not ours. Each docstring with examples is one test case, run with
``NORMALIZE_WHITESPACE | ELLIPSIS``.

Globals: none. Each docstring starts from an empty namespace and imports what
it uses itself (``import minigrad_jax as mg``, ``import minigrad_jax.numpy as
mnp``, ...), so an example can be pasted into a fresh interpreter as it reads.
Examples use only the public API: none imports ``minigrad_jax._src``.
"""

import doctest
import types

import pytest

import minigrad_jax

OPTIONFLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS

PUBLIC_MODULES = (
    minigrad_jax,
    minigrad_jax.numpy,
    minigrad_jax.lax,
    minigrad_jax.nn,
    minigrad_jax.testing,
)

# The suite's floor on examples, not counting lines that only import or are skipped.
MIN_EXAMPLES = 60


def _public_objects():
    """(qualified name, object) for every public object defined in minigrad_jax,
    each object once (the first name it is reached by)."""
    seen_modules, seen_objects = set(), set()
    todo = [(mod.__name__, mod) for mod in PUBLIC_MODULES]
    while todo:
        public_name, mod = todo.pop(0)
        if mod.__name__ in seen_modules:
            continue
        seen_modules.add(mod.__name__)
        names = getattr(mod, "__all__", None)
        if names is None:
            names = [n for n in dir(mod) if not n.startswith("_")]
        for name in names:
            obj = getattr(mod, name)
            if isinstance(obj, types.ModuleType):
                if obj.__name__.startswith("minigrad_jax"):
                    todo.append((f"{public_name}.{name}", obj))
                continue
            owner = getattr(obj, "__module__", None)
            if not (isinstance(owner, str) and owner.startswith("minigrad_jax")):
                continue
            if id(obj) in seen_objects:
                continue
            seen_objects.add(id(obj))
            yield f"{public_name}.{name}", obj


def _collect():
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = []
    for qualname, obj in _public_objects():
        for test in finder.find(obj, qualname, globs={}):
            if test.examples:
                tests.append(test)
    return sorted(tests, key=lambda t: t.name)


DOCTESTS = _collect()


def _is_import(example):
    return all(
        line.startswith(("import ", "from ")) for line in example.source.strip().splitlines()
    )


@pytest.mark.parametrize("test", DOCTESTS, ids=[t.name for t in DOCTESTS])
def test_docstring_examples(test):
    out = []
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
    result = runner.run(test, out=out.append, clear_globs=True)
    assert result.failed == 0, "".join(out)


def test_enough_examples():
    n = sum(
        1
        for t in DOCTESTS
        for e in t.examples
        if not _is_import(e) and not e.options.get(doctest.SKIP, False)
    )
    assert n >= MIN_EXAMPLES, f"only {n} docstring examples (not imports, not skipped)"


def test_examples_use_only_the_public_api():
    bad = [
        f"{t.name}: {e.source.strip()}" for t in DOCTESTS for e in t.examples if "_src" in e.source
    ]
    assert not bad, "docstring examples import private modules:\n" + "\n".join(bad)
