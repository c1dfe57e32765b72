"""The package's layers keep out of each other's private names.

``autograd.py`` owns the graph: a node's fields (``_edges``, ``_saved``, ...) and its own helpers.
Every other module reads the graph through its public API (``node.op``, ``inputs``,
``input_slots``, ``outputs``, ``output_meta``, ``saved_shapes``, ``generation``), so the engine
can change how it stores a node without breaking them. The teaching tools (``viz.py``,
``debug.py``) and the examples go further: no private name of any other module at all. Each
exception below names the module, the name and why; the test also fails when an exception is no
longer needed, so the list only shrinks.
"""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tinygrad_rnn"
AUTOGRAD = PACKAGE / "autograd.py"

# (module, name): why it may read autograd's private name
NODE_EXCEPTIONS = {
    ("tensor.py", "_outputs"): "a Tensor built from another takes over its place among the "
                               "node's outputs",
    ("tensor_inplace.py", "_outputs"): "in-place ops re-point a node's outputs to the tensor "
                                       "changed in place (_take_history and the view replay)",
    ("tensor_inplace.py", "_versions"): "an in-place op on a saved output moves the node's "
                                        "version record to the tensor's own counter",
    ("tensor.py", "_retains"): "Tensor.retain_grad marks the node that must keep its output's "
                               "gradient",
    ("tensor_inplace.py", "_retains"): "a tensor changed in place keeps retain_grad's mark on the "
                                       "node it now comes from",
    ("tensor.py", "_out_hooks"): "Tensor.register_hook stores the hook on the node, where the "
                                 "backward pass finds it",
    ("tensor.py", "_tensor_cls"): "tensor.py tells autograd which class wraps arrays",
}
# tg.jit is part of the engine: to replay an op's backward whole it builds the node that
# Function.apply would have built (saved values, version records, device, edges), and it calls the
# engine's own error and wrapping helpers, so the replayed program fails and wraps as eager does.
_JIT_REBUILDS_NODES = "jit.py rebuilds the node Function.apply builds, to replay its backward whole"
NODE_EXCEPTIONS.update({("jit.py", name): _JIT_REBUILDS_NODES for name in (
    "_saved", "_versions", "_device", "_edges", "_generation", "_out_meta", "_outputs", "_arrays",
    "_out_hooks", "_retains", "_SavedOutput", "_dead_ref", "_forward_error", "_tensor_cls")})

# (file, name): why an example or a teaching tool may read another module's private name
TOOL_EXCEPTIONS = {
    ("debug.py", "_getframe"): "sys._getframe is CPython's documented way to walk the stack",
    ("ddp_char_lstm.py", "_buckets"): "prints how many allreduces a step makes; "
                                      "DistributedDataParallel has no public count of its buckets",
}


def _tree(path):
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def autograd_private_names():
    """What autograd.py keeps private: the fields of a node (Function's class-level private
    names, and those it assigns on ``ctx``/``node``), and its module-level private names."""
    tree = _tree(AUTOGRAD)
    fields, module = set(), set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)) and stmt.name.startswith("_"):
            module.add(stmt.name)
        elif isinstance(stmt, ast.Assign):
            module |= {t.id for t in stmt.targets if isinstance(t, ast.Name) and t.id.startswith("_")}
        if isinstance(stmt, ast.ClassDef) and stmt.name == "Function":
            for item in stmt.body:
                if isinstance(item, ast.Assign):
                    for target in item.targets:
                        names = target.elts if isinstance(target, ast.Tuple) else [target]
                        fields |= {n.id for n in names if isinstance(n, ast.Name) and n.id.startswith("_")}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) \
                and isinstance(node.value, ast.Name) and node.value.id in ("ctx", "node") \
                and node.attr.startswith("_") and not node.attr.startswith("__"):
            fields.add(node.attr)
    return fields, module - {"__getattr__"}


def _own_names(tree):
    """Names a file defines itself: functions, classes, attributes and variables it assigns."""
    own = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            own.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            own.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            own.add(node.id)
    return own


def _private(name):
    return name.startswith("_") and not name.startswith("__")


def test_the_graph_fields_the_tools_once_read_are_among_autograds_private_names():
    fields, module = autograd_private_names()
    assert {"_edges", "_out_meta", "_saved", "_generation", "_outputs", "_versions"} <= fields
    assert {"_callbacks", "_BackwardPass", "_record_node"} <= module


def test_no_module_reads_autograds_private_names_outside_the_listed_exceptions():
    fields, module = autograd_private_names()
    found = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == AUTOGRAD:
            continue
        rel = path.relative_to(PACKAGE).as_posix()
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Attribute) and (node.attr in fields or (
                    node.attr in module and isinstance(node.value, ast.Name)
                    and node.value.id == "autograd")):
                found.add((rel, node.attr, node.lineno))
            elif isinstance(node, ast.ImportFrom) and (node.module or "").endswith("autograd"):
                found |= {(rel, a.name, node.lineno) for a in node.names if a.name in module | fields}
    unexpected = sorted(f"{m}:{line} reads autograd's {name}" for m, name, line in found
                        if (m, name) not in NODE_EXCEPTIONS)
    assert not unexpected, "use the public graph API (autograd.py, 'the graph, read-only'):\n" + \
        "\n".join(unexpected)
    unused = sorted(set(NODE_EXCEPTIONS) - {(m, name) for m, name, _ in found})
    assert not unused, f"exceptions no longer needed: remove them from NODE_EXCEPTIONS: {unused}"


def test_teaching_tools_and_examples_use_no_private_name_of_another_module():
    files = [PACKAGE / "viz.py", PACKAGE / "debug.py"] + sorted((ROOT / "examples").glob("*.py"))
    found = set()
    for path in files:
        tree = _tree(path)
        own = _own_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in own:
                found.add((path.name, node.attr, node.lineno))
            elif isinstance(node, ast.ImportFrom):
                found |= {(path.name, a.name, node.lineno) for a in node.names if _private(a.name)}
    unexpected = sorted(f"{f}:{line} uses {name}" for f, name, line in found
                        if (f, name) not in TOOL_EXCEPTIONS)
    assert not unexpected, "the teaching tools and examples use only public names:\n" + \
        "\n".join(unexpected)
    unused = sorted(set(TOOL_EXCEPTIONS) - {(f, name) for f, name, _ in found})
    assert not unused, f"exceptions no longer needed: remove them from TOOL_EXCEPTIONS: {unused}"
