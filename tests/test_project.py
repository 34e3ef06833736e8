"""The set-up files agree with each other, so conda, make and CI build the same environment."""
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))


def _names(requirements):
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def test_environment_yml_installs_the_project_with_every_extra_under_the_same_pins():
    text = (ROOT / "environment.yml").read_text("utf-8")
    pip_lines = re.findall(r"^\s+- (-[ce] .+)$", text, flags=re.M)
    assert "-c constraints.txt" in pip_lines
    install = next(line for line in pip_lines if line.startswith("-e "))
    extras = set(re.fullmatch(r"-e \.\[(.+)\]", install)[1].split(","))
    assert extras == set(PYPROJECT["project"]["optional-dependencies"])
    python = re.search(r"- python=(\d+\.\d+)", text)[1]
    assert PYPROJECT["project"]["requires-python"] == f">={python}"


def test_constraints_pin_every_declared_dependency():
    pinned = {}
    for line in (ROOT / "constraints.txt").read_text("utf-8").splitlines():
        if "==" in line:
            name, version = line.split("==")
            pinned[canonicalize_name(name)] = version
    project = PYPROJECT["project"]
    declared = _names(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared |= _names(extra)
    assert declared - set(pinned) == set()


def test_makefile_documents_its_targets_and_ci_runs_make_test():
    makefile = (ROOT / "Makefile").read_text("utf-8")
    documented = set(re.findall(r"^([a-z-]+):.*## ", makefile, flags=re.M))
    assert {"help", "setup", "report", "test", "lab", "notebooks"} <= documented
    assert re.search(r"^\.DEFAULT_GOAL := help$", makefile, flags=re.M)
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert [line for line in ci.splitlines() if line and not line.startswith(("#", "set ", "cd "))] == ["make test"]
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "make report" in readme and "make test" in readme
