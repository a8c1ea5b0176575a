"""Dependencies point one way: sentilens <- explain <- serve <- trainer, and the foundation is light."""

import ast

from tests.conftest import ROOT

ORDER = ["sentilens", "explain", "serve", "trainer"]
THIRD_PARTY_ALLOWED = {
    "sentilens": {"numpy"},
    "explain": {"numpy"},
    "serve": {"numpy", "onnxruntime", "gradio", "tqdm", "pandas"},  # pandas comes with gradio (plots)
}


def imports_of(package: str) -> dict[str, set[str]]:
    """Top-level names each module of ``package`` imports (at any depth in the file)."""
    found = {}
    for path in (ROOT / package).glob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[f"{package}/{path.name}"] = names
    return found


def test_no_package_imports_a_package_above_it():
    for level, package in enumerate(ORDER):
        above = set(ORDER[level + 1:])
        for module, names in imports_of(package).items():
            assert not names & above, f"{module} imports {names & above}"


def test_foundation_explain_and_serve_import_only_their_libraries():
    import sys

    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    for package, allowed in THIRD_PARTY_ALLOWED.items():
        for module, names in imports_of(package).items():
            extra = names - stdlib - set(ORDER) - allowed
            assert not extra, f"{module} imports {extra}"
