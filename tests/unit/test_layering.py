"""The layers of the package, read from the source: who may import whom.

Every import statement counts, those inside functions too, so a lazy import cannot slip a
dependency past the rule. Each part of gradtui (a subpackage or a top-level module) has a place
in LAYERS, bottom first; a part may import only parts in lower layers, never one beside or
above it, so the arrows all point down and no loop can form. On top of that, FORBIDDEN keeps
torch and Textual apart. The UI reaches the trainer only through gradtui.scenario.entry,
imported lazily in the process that trains (the dashboard's worker).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "gradtui"

# Bottom first. "gradtui" is the root package's __init__: the facade that loads watch and check.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("text", "regular", "numbers", "stopping", "callable_module"),
    ("events",),
    ("recording",),
    ("diagnosis",),
    ("probe", "report"),
    ("scenario", "watch", "check"),
    ("gradtui",),
    ("learn", "integrations"),
    ("ui", "serve"),
    ("commands",),
    ("cli_launch",),
    ("cli_parser",),
    ("cli",),
    ("__main__",),
)
# package -> prefixes its modules must never import
FORBIDDEN = {
    "gradtui.probe": ("textual", "rich"),
    "gradtui.ui": ("torch", "gradtui.scenario.loop"),
    "gradtui.diagnosis": ("torch", "textual", "rich"),
    "gradtui.scenario": ("textual",),
    "gradtui.watch": ("textual",),
    "gradtui.recording": ("torch", "textual"),
    "gradtui.report": ("torch", "textual"),
    "gradtui.events": ("torch", "textual", "rich"),
    "gradtui.numbers": ("torch", "textual", "rich"),
}
# Modules that run only inside the training process may load the trainer, lazily.
TRAINING_PROCESS = {"gradtui.ui.worker"}
TRAINER_ENTRY = "gradtui.scenario.entry"


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path = PACKAGE) -> set[str]:
    """Every module named by an import in the file, relative ones resolved; for ``from a
    import b`` both ``a`` and ``a.b`` (b may be a submodule)."""
    names: set[str] = set()
    here = module_name(path, root).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}
    return names


def under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def part_of(name: str, root: Path = PACKAGE) -> str | None:
    """The part of gradtui a module belongs to, or None for a module outside it."""
    parts = name.split(".")
    if parts[0] != root.name:
        return None
    if len(parts) == 1:
        return root.name
    top = root / parts[1]
    is_part = top.is_dir() or top.with_suffix(".py").exists()
    return parts[1] if is_part else root.name  # a name the facade defines, such as watch()


def upward_imports(
    modules: Iterable[tuple[str, Path]], layers: tuple[tuple[str, ...], ...], root: Path = PACKAGE
) -> list[str]:
    """``a imports b`` for each import that goes sideways or up the layers, or into a part
    that has no layer."""
    rank = {part: i for i, layer in enumerate(layers) for part in layer}
    broken = []
    for name, path in modules:
        source = part_of(name, root)
        seen: set[str] = set()
        for imported in sorted(imports_of(path, root)):
            target = part_of(imported, root)
            if target is None or target == source or target in seen:
                continue
            seen.add(target)  # one line per part reached, not one per name imported from it
            if source not in rank or target not in rank:
                broken.append(f"{name} imports {imported}: {source} or {target} has no layer")
            elif rank[target] >= rank[source]:
                broken.append(f"{name} imports {imported}: {target} is not below {source}")
    return broken


def modules_in(root: Path) -> list[tuple[str, Path]]:
    return sorted((module_name(p, root), p) for p in root.rglob("*.py"))


MODULES = modules_in(PACKAGE)


def test_every_part_of_the_package_has_a_layer():
    parts = {part_of(name) for name, _ in MODULES}
    placed = {part for layer in LAYERS for part in layer}
    assert parts == placed, f"without a layer: {parts - placed}; gone: {placed - parts}"


def test_every_import_points_down_the_layers():
    broken = upward_imports(MODULES, LAYERS)
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_package_imports_what_its_layer_forbids(package: str):
    broken = []
    for name, path in MODULES:
        if not under(name, package):
            continue
        for imported in imports_of(path):
            if name not in TRAINING_PROCESS and under(imported, TRAINER_ENTRY):
                broken.append(f"{name} imports {imported}")
            broken += [
                f"{name} imports {imported}" for p in FORBIDDEN[package] if under(imported, p)
            ]
    assert not broken, "\n".join(sorted(set(broken)))


def test_the_rule_sees_imports_inside_functions(tmp_path: Path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    import torch\n    from gradtui.watch.monitor import Monitor\n")
    assert {"torch", "gradtui.watch.monitor"} <= imports_of(sample, tmp_path / "gradtui")


def plant(root: Path, files: dict[str, str]) -> list[tuple[str, Path]]:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return modules_in(root)


def test_the_checker_fails_on_a_lazy_upward_import(tmp_path: Path):
    root = tmp_path / "gradtui"
    modules = plant(
        root,
        {
            "__init__.py": "",
            "events.py": "def f():\n    from gradtui.ui.app import App\n",
            "ui/__init__.py": "",
            "ui/app.py": "from gradtui.events import f\n",
        },
    )
    broken = upward_imports(modules, (("events",), ("ui",), ("gradtui",)), root)
    assert broken == ["gradtui.events imports gradtui.ui.app: ui is not below events"]


def test_the_checker_fails_on_a_loop_and_a_relative_import(tmp_path: Path):
    root = tmp_path / "gradtui"
    modules = plant(
        root,
        {
            "__init__.py": "",
            "a/__init__.py": "from ..b import thing\n",
            "b/__init__.py": "from gradtui.a import other\n",
        },
    )
    broken = upward_imports(modules, (("a", "b"), ("gradtui",)), root)
    assert len(broken) == 2 and all("is not below" in line for line in broken)


def test_the_checker_fails_on_a_part_without_a_layer(tmp_path: Path):
    root = tmp_path / "gradtui"
    modules = plant(root, {"__init__.py": "", "new.py": "import gradtui.events\n", "events.py": ""})
    assert upward_imports(modules, (("events",), ("gradtui",)), root) == [
        "gradtui.new imports gradtui.events: new or events has no layer"
    ]
