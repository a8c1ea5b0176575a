"""Dependencies point one way: sentilens <- explain <- serve <- trainer, and the serving path is light:
an extra's library (pyspark, pyarrow) is imported only inside the function of the command that needs it;
and nothing outside tests/ (the product, bench/, app.py) imports from tests/."""

import ast
import sys
from pathlib import Path

from tests.conftest import ROOT

ORDER = ["sentilens", "explain", "serve", "trainer"]
AT_TOP = {  # third-party libraries a module may import when it is loaded
    "sentilens": {"numpy"},
    "explain": {"numpy"},
    "serve": {"numpy", "onnxruntime", "gradio", "tqdm"},
}
EXTRAS = {"pyspark", "py4j", "pyarrow", "pandas"}  # the spark extra (pandas also comes with gradio): inside functions
# Gradio's own web framework, for its documented middleware hook (launch's app_kwargs): inside the function
# that builds the launch options, never when a module loads.
GRADIO_STACK = {"starlette"}


def imports_in(path: Path) -> tuple[set[str], set[str]]:
    """(top-level names imported when the module loads, names imported inside functions)."""
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
    return loaded, deferred


def imports_of(package: str) -> dict[str, tuple[set[str], set[str]]]:
    """``imports_in`` per module of ``package``."""
    return {str(path.relative_to(ROOT)): imports_in(path) for path in (ROOT / package).rglob("*.py")}


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
            late = deferred - stdlib - set(ORDER) - allowed - EXTRAS - (GRADIO_STACK if package == "serve" else set())
            assert not late, f"{module} imports {late}"


def test_nothing_outside_the_tests_imports_them():
    """Helpers the product or the benchmarks need live there (``serve/app/process.py`` starts the app for
    ``bench.load`` and for the tests), so that tests/ can change without breaking them."""
    modules = {m: names for package in [*ORDER, "bench"] for m, names in imports_of(package).items()}
    modules["app.py"] = imports_in(ROOT / "app.py")
    offenders = sorted(m for m, (loaded, deferred) in modules.items() if "tests" in loaded | deferred)
    assert offenders == []


# serve/'s rooms, each changing for one reason, in the order they may import each other: the runtime
# (ORT, scoring, the scored-row schema), the annotation store, learning, the command-line jobs, the app.
SERVE_ROOMS = ["runtime", "store", "learn", "jobs", "app"]


def serve_imports_in(path: Path) -> set[str]:
    """The serve rooms a module imports (``serve.app.blocks`` -> ``app``), when it loads or later."""
    rooms = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
        rooms.update(n.split(".")[1] for n in names if n.startswith("serve.") and n.count(".") >= 1)
    return rooms


def test_serve_rooms_import_only_the_rooms_below_them():
    for level, room in enumerate(SERVE_ROOMS):
        above = set(SERVE_ROOMS[level + 1:])
        for path in (ROOT / "serve" / room).rglob("*.py"):
            wrong = serve_imports_in(path) & above
            assert not wrong, f"{path.relative_to(ROOT)} imports serve.{wrong}"


def test_every_serve_module_lives_in_a_room_but_the_entry_points():
    """serve/ itself holds only the package, ``python -m serve`` and the old ``python -m serve.<job>``
    entry points, which hand over to serve.jobs."""
    loose = sorted(p.name for p in (ROOT / "serve").glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "batch.py", "compare.py", "convert.py", "spark.py"]
    for job in ("batch", "compare", "convert", "spark"):
        assert serve_imports_in(ROOT / "serve" / f"{job}.py") == {"jobs"}


def test_gradio_only_in_the_app_and_the_trainer_never_on_it():
    for path in (ROOT / "serve").rglob("*.py"):
        loaded, deferred = imports_in(path)
        if "gradio" in loaded | deferred:
            assert path.is_relative_to(ROOT / "serve" / "app") or path.name == "__main__.py", path
    for path in (ROOT / "trainer").rglob("*.py"):
        assert serve_imports_in(path) <= {"runtime", "learn"}, f"{path.relative_to(ROOT)} reaches past the runtime"


def test_the_tests_import_nothing_from_bench():
    """The benchmarks print figures; the tests assert behaviour. What both need lives in the product
    (``serve.app.process``), so a benchmark can change without breaking a test."""
    offenders = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("*.py")
                       if "bench" in set.union(*imports_in(p)))
    assert offenders == []
