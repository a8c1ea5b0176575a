"""Dependencies point one way: sentilens <- explain <- serve <- trainer, and the serving path is light:
an extra's library (pyspark, pyarrow) is imported only inside the function of the command that needs it."""

import ast
import sys

from tests.conftest import ROOT

ORDER = ["sentilens", "explain", "serve", "trainer"]
AT_TOP = {  # third-party libraries a module may import when it is loaded
    "sentilens": {"numpy"},
    "explain": {"numpy"},
    "serve": {"numpy", "onnxruntime", "gradio", "tqdm"},
}
EXTRAS = {"pyspark", "pyarrow", "pandas"}  # the spark extra (pandas also comes with gradio): inside functions


def imports_of(package: str) -> dict[str, tuple[set[str], set[str]]]:
    """(top-level names imported when the module loads, names imported inside functions) per module."""
    found = {}
    for path in (ROOT / package).glob("*.py"):
        tree = ast.parse(path.read_text())
        top = {id(n) for n in tree.body}
        loaded, deferred = set(), set()
        for node in ast.walk(tree):
            names = set()
            if isinstance(node, ast.Import):
                names = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = {node.module.split(".")[0]}
            (loaded if id(node) in top else deferred).update(names)
        found[f"{package}/{path.name}"] = (loaded, deferred)
    return found


def test_no_package_imports_a_package_above_it():
    for level, package in enumerate(ORDER):
        above = set(ORDER[level + 1:])
        for module, (loaded, deferred) in imports_of(package).items():
            assert not (loaded | deferred) & above, f"{module} imports {(loaded | deferred) & above}"


def test_foundation_explain_and_serve_load_only_their_libraries():
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for package, allowed in AT_TOP.items():
        for module, (loaded, deferred) in imports_of(package).items():
            extra = loaded - stdlib - set(ORDER) - allowed
            assert not extra, f"{module} imports {extra} when it loads"
            late = deferred - stdlib - set(ORDER) - allowed - EXTRAS
            assert not late, f"{module} imports {late}"
