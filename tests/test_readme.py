"""README.md stays short and true to the tree: under 250 lines, every `sentilens JOB` it shows is a job
of the command, its layout names every room of serve/ and every top-level package, and every file path
it gives exists."""

import re
import tomllib

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
JOBS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["sentilens.commands"]


def test_the_readme_is_under_250_lines():
    assert len(README.splitlines()) < 250


def test_every_command_it_shows_is_a_job():
    shown = set(re.findall(r"`sentilens ([a-z]+)", README))
    assert shown and shown <= set(JOBS), shown - set(JOBS)


def test_the_layout_names_every_room_and_package():
    layout = README.split("## Layout", 1)[1].split("```")[1]
    rooms = sorted(p.name for p in (ROOT / "serve").iterdir() if (p / "__init__.py").exists())
    for room in rooms:
        assert re.search(rf"^\s+{room}/", layout, re.M), f"serve/{room}/ is missing from the layout"
    for package in ("sentilens", "explain", "serve", "trainer", "exported", "bench", "tests", "docs"):
        assert re.search(rf"^{package}/", layout, re.M), package


def test_every_path_it_gives_exists():
    paths = set(re.findall(r"`((?:sentilens|explain|serve|trainer|tests|bench|docs|scripts)/[\w/.<>-]+)`", README))
    missing = [p for p in paths if "<" not in p and not (ROOT / p.split("`")[0]).exists()]
    assert paths and missing == []
