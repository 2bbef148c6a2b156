"""The layers of the package, read from the source: who may import whom.

Every import statement counts, those inside functions too, so a lazy import cannot slip a
dependency past the rule. The UI reaches the trainer only through gradtui.scenario.entry,
imported lazily in the process that trains (the dashboard's worker, the screenshots).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "gradtui"

# package -> prefixes its modules must never import
FORBIDDEN = {
    "gradtui.probe": ("textual", "rich", "gradtui.scenario", "gradtui.watch", "gradtui.ui"),
    "gradtui.ui": ("torch", "gradtui.probe", "gradtui.watch", "gradtui.scenario.loop"),
    "gradtui.diagnosis": ("torch", "textual", "rich", "gradtui.ui", "gradtui.probe"),
    "gradtui.scenario": ("textual", "gradtui.watch", "gradtui.ui"),
    "gradtui.watch": ("textual", "gradtui.scenario", "gradtui.ui"),
    "gradtui.recording": ("torch", "textual", "gradtui.ui"),
    "gradtui.report": ("torch", "textual", "gradtui.ui"),
    "gradtui.events": ("torch", "textual", "rich", "gradtui.ui"),
    "gradtui.numbers": ("torch", "textual", "rich"),
}
# Modules that run only inside the training process may load the trainer, lazily.
TRAINING_PROCESS = {"gradtui.ui.worker"}
TRAINER_ENTRY = "gradtui.scenario.entry"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


MODULES = sorted((module_name(p), p) for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_package_imports_what_its_layer_forbids(package: str):
    broken = []
    for name, path in MODULES:
        if not under(name, package):
            continue
        for imported in imports_of(path):
            if name in TRAINING_PROCESS and under(imported, TRAINER_ENTRY):
                continue
            if name not in TRAINING_PROCESS and under(imported, TRAINER_ENTRY):
                broken.append(f"{name} imports {imported}")
            broken += [
                f"{name} imports {imported}" for p in FORBIDDEN[package] if under(imported, p)
            ]
    assert not broken, "\n".join(sorted(set(broken)))


def test_the_rule_sees_imports_inside_functions(tmp_path: Path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    import torch\n    from gradtui.watch.monitor import Monitor\n")
    assert {"torch", "gradtui.watch.monitor"} <= imports_of(sample)
