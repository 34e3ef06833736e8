"""The package's shape: no import cycles, a light top-level import, a public API that resolves."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import kyodo_analysis

PACKAGE = Path(kyodo_analysis.__file__).parent


def _module_name(path: Path) -> str:
    """Return the dotted module name of a source file in the package."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Return, per package module, the package modules it imports anywhere in its source."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                target = ".".join(base + [node.module] if node.module else base) if node.level else node.module or ""
                for alias in node.names:
                    if f"{target}.{alias.name}" in files:
                        deps.add(f"{target}.{alias.name}")
                    elif target in files:
                        deps.add(target)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name in files)
        # A package's __init__ re-exporting its own modules is not a cycle back into them.
        graph[name] = {d for d in deps if d != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import cycle as a list of modules, or None when there is none."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def _without_package_inits(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Drop edges into a package __init__ from its own submodules (a facade, not a cycle)."""
    packages = {name for name in graph if (PACKAGE.parent / name.replace(".", "/") / "__init__.py").exists()}
    return {name: {d for d in deps if not (d in packages and name.startswith(d + "."))}
            for name, deps in graph.items()}


def test_no_module_imports_one_that_imports_it_back():
    assert find_cycle(_without_package_inits(import_graph())) is None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_import_graph_sees_relative_imports():
    graph = import_graph()
    assert "kyodo_analysis.rules.expression" in graph["kyodo_analysis.rules.kh_coder"]
    assert "kyodo_analysis.console" in graph["kyodo_analysis.themes_cli"]


def test_importing_the_package_loads_no_plotting_or_tokenizer_code():
    heavy = ("matplotlib", "janome", "wordcloud", "networkx", "pandas.plotting")
    code = ("import sys, kyodo_analysis\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r} or m in {heavy!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_public_name_resolves_to_its_module():
    for name in kyodo_analysis.__all__:
        value = getattr(kyodo_analysis, name)
        assert value.__module__.startswith("kyodo_analysis."), name


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        kyodo_analysis.no_such_name  # noqa: B018


# Positional defaults left on purpose: a path whose default is the bundled or project file,
# and word_frequencies (text/words.py is being reworked in issue 18; by/exclude follow there).
_POSITIONAL_DEFAULTS = {"load_parameters": {"path"}, "load_rules": {"path"}, "word_frequencies": {"by", "exclude"}}


def test_public_functions_take_options_by_keyword_with_one_naming_scheme():
    import inspect

    for name in kyodo_analysis.__all__:
        value = getattr(kyodo_analysis, name)
        if isinstance(value, type) or not callable(value):
            continue
        parameters = inspect.signature(value).parameters.values()
        positional = {p.name for p in parameters
                      if p.default is not inspect.Parameter.empty and p.kind is p.POSITIONAL_OR_KEYWORD}
        assert positional <= _POSITIONAL_DEFAULTS.get(name, set()), (name, positional)
        names = {p.name for p in parameters}
        assert not names & {"exclude_words", "stopwords", "theme_names"}, name  # exclude= / themes=
        for p in parameters:
            if p.name == "rules":  # a rule set (theme RuleSet or its file, PrivacyRules), never names
                assert "Rules" in str(p.annotation) or "RuleSet" in str(p.annotation), name
            if p.name == "themes":  # theme names, never a rule set
                assert "Sequence[str]" in str(p.annotation) and "RuleSet" not in str(p.annotation), name


def test_the_command_line_starts_without_statistics_or_plotting_code():
    """validate, process and summary never pay for scipy, matplotlib, wordcloud or networkx."""
    heavy = ("scipy", "matplotlib", "wordcloud", "networkx")
    code = ("import sys, kyodo_analysis.cli\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
