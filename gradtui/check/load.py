"""``gradtui check FILE.py[:FUNC]``: load the user's make() and validate what it returns.

Every way this can go wrong is a ``CheckInputError`` with one line that names the file and
what was wrong; the CLI prints it and exits 2.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
import traceback
from pathlib import Path
from typing import Any


class CheckInputError(Exception):
    """The target could not be loaded or did not return (model, loss_fn, batch[, optimizer])."""


def parse_target(target: str) -> tuple[Path, str]:
    path, colon, func = target.rpartition(":")
    if not colon:
        return Path(target), "make"
    return Path(path), func or "make"


def load_target(target: str) -> tuple[Any, Any, Any, Any]:
    """Import the file, call its function, and return (model, loss_fn, batch, optimizer)."""
    path, func_name = parse_target(target)
    if not path.is_file():
        raise CheckInputError(f"{path}: no such file")
    if not func_name.isidentifier():
        raise CheckInputError(f"{target}: {func_name!r} is not a function name")
    _refuse_training_at_import(path, func_name)
    module = _import(path)
    make = getattr(module, func_name, None)
    if not callable(make):
        raise CheckInputError(f"{path}: no function {func_name}() in it")
    try:
        made = make()
    except Exception as exc:
        raise CheckInputError(f"{path}: {func_name}() raised {_line(exc)}{_where(exc)}") from exc
    return validate(made, f"{path}:{func_name}()")


def validate(made: Any, origin: str) -> tuple[Any, Any, Any, Any]:
    import torch
    from torch import nn

    if not isinstance(made, (tuple, list)) or len(made) not in (3, 4):
        raise CheckInputError(
            f"{origin}: expected it to return (model, loss_fn, batch[, optimizer]), got "
            f"{_kind(made)}"
        )
    model, loss_fn, batch, *rest = made
    optimizer = rest[0] if rest else None
    if not isinstance(model, nn.Module):
        raise CheckInputError(f"{origin}: model: expected an nn.Module, got {_kind(model)}")
    if not callable(loss_fn):
        raise CheckInputError(f"{origin}: loss_fn: expected a callable, got {_kind(loss_fn)}")
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        raise CheckInputError(f"{origin}: batch: expected (inputs, targets), got {_kind(batch)}")
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise CheckInputError(
            f"{origin}: optimizer: expected a torch.optim.Optimizer, got {_kind(optimizer)}"
        )
    return model, loss_fn, batch, optimizer


def _import(path: Path) -> Any:
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # so the script can import its neighbours
    spec = importlib.util.spec_from_file_location("_gradtui_check_target", path)
    if spec is None or spec.loader is None:
        raise CheckInputError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    argv = sys.argv
    sys.argv = [str(path)]  # a script that reads its arguments must not see check's
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise CheckInputError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from exc
    except Exception as exc:
        hint = "" if _has_main_guard(path) else f"; {GUARD_HINT}"
        raise CheckInputError(
            f"{path}: importing it raised {_line(exc)}{_where(exc)}{hint}"
        ) from exc
    finally:
        sys.argv = argv
    return module


GUARD_HINT = (
    'the file runs its code when imported: put the training under `if __name__ == "__main__":`'
)


def _module_body(path: Path) -> list[ast.stmt]:
    try:
        return ast.parse(path.read_bytes(), filename=str(path)).body
    except (SyntaxError, ValueError, OSError):
        return []  # the import says what is wrong with it


def _has_main_guard(path: Path) -> bool:
    return any(
        isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)
        for node in _module_body(path)
    )


def _refuse_training_at_import(path: Path, func_name: str) -> None:
    """A loop at the top level of the file that calls backward() or step() is its training:
    importing the file would train."""
    for node in _module_body(path):
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While)) and _trains(node):
            raise CheckInputError(
                f"{path}:{node.lineno}: the file trains when it is imported (a loop that calls "
                f"backward or step); check imports it to call {func_name}(), so put the "
                'training under `if __name__ == "__main__":`'
            )


def _trains(loop: ast.stmt) -> bool:
    return any(
        isinstance(node, ast.Attribute) and node.attr in ("backward", "step")
        for node in ast.walk(loop)
    )


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if "/gradtui/check/" not in f.filename]
    return f" (at {own[-1].filename}:{own[-1].lineno})" if own else ""


def _kind(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return "None" if value is None else f"a {type(value).__name__}"
