"""The package's import graph is honest and layered (read from the source with ``ast``).

Layers, bottom to top: core and ir; interpreters/ (which never import lax/ or
numpy/: lax registers what they need); lax/ (which never imports numpy/);
numpy/ and nn; the transforms and tools above them. Imports are at module top
(a cycle is fixed by moving code, not hidden in a function): the package holds
at most ``MAX_LOCAL_IMPORTS`` function-local imports, each justified by a
comment on its line or the line above (an optional dependency, say). Our own
modules are never looked up by name through importlib.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "minigrad_jax"
MAX_LOCAL_IMPORTS = 25
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules():
    """{module name: (path, source, parsed tree)} for every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        src = path.read_text()
        out[_module_name(path)] = (path, src, ast.parse(src, str(path)))
    return out


MODULES = _modules()


def _is_package(name):
    path = MODULES[name][0] if name in MODULES else None
    return path is not None and path.name == "__init__.py"


def _resolve(module, node):
    """The modules an import in ``module`` names (``from pkg import sub`` names pkg.sub)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = node.module or ""
    if node.level:
        pkg = module.split(".") if _is_package(module) else module.split(".")[:-1]
        pkg = pkg[: len(pkg) - node.level + 1]
        base = ".".join(pkg + ([node.module] if node.module else []))
    subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]
    return subs or [base]


def _imports(module, tree, local_only=False):
    """(target module, node, is_local) for every import in ``tree``."""
    out = []

    def visit(node, local):
        for child in ast.iter_child_nodes(node):
            inner = local or isinstance(child, _SCOPES)
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                if inner or not local_only:
                    out.extend((t, child, inner) for t in _resolve(module, child))
            visit(child, inner)

    visit(tree, False)
    return out


def _in(target, *prefixes):
    return any(target == p or target.startswith(p + ".") for p in prefixes)


LAX = ("minigrad_jax._src.lax", "minigrad_jax.lax")
NUMPY = ("minigrad_jax._src.numpy", "minigrad_jax.numpy")


def _violations(importer_prefix, forbidden):
    bad = []
    for name, (path, _, tree) in MODULES.items():
        if not _in(name, importer_prefix):
            continue
        for target, node, _ in _imports(name, tree):
            if target == "minigrad_jax" or _in(target, *forbidden):
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} imports {target}")
    return bad


def test_the_modules_are_found():
    # Guards the tests below against passing vacuously on a wrong path.
    for name in ("minigrad_jax._src.interpreters.ad", "minigrad_jax._src.lax.elementwise"):
        assert name in MODULES
    assert any(_in(n, *NUMPY) for n in MODULES)


def test_interpreters_never_import_lax_or_numpy():
    assert _violations("minigrad_jax._src.interpreters", LAX + NUMPY) == []


def test_lax_never_imports_numpy():
    assert _violations("minigrad_jax._src.lax", NUMPY) == []


def _importlib_lookups(tree):
    """Calls that import a module by a computed name or one of ours."""
    bad = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        fn = node.func
        name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", None)
        if name not in ("import_module", "__import__"):
            continue
        arg = node.args[0] if node.args else None
        literal = isinstance(arg, ast.Constant) and isinstance(arg.value, str)
        if not literal or arg.value.startswith("minigrad_jax") or arg.value.startswith("."):
            bad.append(node.lineno)
    return bad


def test_no_importlib_lookup_of_our_modules():
    bad = {
        str(path.relative_to(PACKAGE.parent)): lines
        for path, _, tree in MODULES.values()
        if (lines := _importlib_lookups(tree))
    }
    assert bad == {}


def test_the_importlib_check_can_fail():
    tree = ast.parse("import importlib\nm = importlib.import_module(f'minigrad_jax.{x}')")
    assert _importlib_lookups(tree) == [2]


def _local_imports():
    out = []
    for name, (path, src, tree) in MODULES.items():
        lines = src.splitlines()
        for _, node, local in _imports(name, tree, local_only=True):
            if local:
                out.append((path.relative_to(PACKAGE.parent), node.lineno, lines))
    # One entry per statement (``from pkg import a, b`` resolves to two targets).
    return sorted({(str(p), n): (p, n, lines) for p, n, lines in out}.values(), key=str)


def _has_comment(lines, lineno):
    line, above = lines[lineno - 1], lines[lineno - 2].strip() if lineno > 1 else ""
    return "#" in line or above.startswith("#")


def test_few_function_local_imports():
    found = [f"{p}:{n}" for p, n, _ in _local_imports()]
    assert len(found) <= MAX_LOCAL_IMPORTS, "\n".join(found)


def test_each_function_local_import_says_why():
    silent = [f"{p}:{n}" for p, n, lines in _local_imports() if not _has_comment(lines, n)]
    assert silent == []


def test_the_local_import_scan_sees_nested_imports():
    src = "import os\ndef f():\n    if x:\n        from a import b\nclass C:\n    import c"
    tree = ast.parse(src)
    locals_ = [(t, n.lineno) for t, n, local in _imports("m", tree) if local]
    assert locals_ == [("a", 4), ("c", 6)]


def _top_level_graph(prefix):
    graph = {}
    for name, (_, _, tree) in MODULES.items():
        if _in(name, prefix):
            targets = {t for t, _, local in _imports(name, tree) if not local}
            graph[name] = {t for t in targets if _in(t, prefix) and t in MODULES and t != name}
    return graph


def _find_cycle(graph):
    state, stack = {}, []

    def visit(n):
        state[n] = "open"
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == "open":
                return stack[stack.index(m) :] + [m]
            if m not in state and (cycle := visit(m)):
                return cycle
        state[n] = "done"
        stack.pop()
        return None

    for n in sorted(graph):
        if n not in state and (cycle := visit(n)):
            return cycle
    return None


@pytest.mark.parametrize("layer", ["minigrad_jax._src.lax", "minigrad_jax._src.numpy"])
def test_layer_modules_form_a_dag(layer):
    # Within lax (base < elementwise < indexing < structural < reductions, ...) and
    # numpy (_dtypes < _util < _ufuncs < _creation < _shape < _reductions < ...),
    # every module imports only modules below it.
    assert _find_cycle(_top_level_graph(layer)) is None


def test_the_cycle_finder_can_fail():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
