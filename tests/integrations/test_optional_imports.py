"""The frameworks are optional: importing gradtui never imports them, and a callback module
whose framework is missing says in one line how to install it."""

from __future__ import annotations

import subprocess
import sys

import pytest


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_importing_gradtui_imports_no_framework():
    result = run(
        "import sys, gradtui, gradtui.integrations, gradtui.watch, gradtui.cli\n"
        "print(sorted(m for m in ('lightning', 'transformers', 'accelerate', "
        "'pytorch_lightning', 'textual_serve') if m in sys.modules))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("module", "hidden", "extra"),
    [
        ("lightning", ("lightning", "lightning.pytorch", "pytorch_lightning"), "lightning"),
        ("transformers", ("transformers",), "transformers"),
    ],
)
def test_a_missing_framework_is_one_line_saying_what_to_install(module, hidden, extra):
    hide = "".join(f"sys.modules[{name!r}] = None\n" for name in hidden)
    result = run(
        f"import sys\n{hide}"
        f"try:\n    import gradtui.integrations.{module}\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert "\n" not in line and f"pip install 'gradtui[{extra}]'" in line
