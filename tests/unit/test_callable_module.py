"""The helper that lets ``gradtui.watch`` and ``gradtui.check`` be called like functions."""

from __future__ import annotations

import sys
import types

import gradtui.check
import gradtui.watch
from gradtui.callable_module import make_callable


def test_a_module_made_callable_forwards_arguments(monkeypatch):
    module = types.ModuleType("gradtui_sample_module")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    make_callable(module.__name__, lambda *a, **k: (a, k))
    assert module(1, 2, x=3) == ((1, 2), {"x": 3})
    assert isinstance(module, types.ModuleType)


def test_watch_and_check_are_callable_packages():
    assert callable(gradtui.watch) and callable(gradtui.check)
    assert type(gradtui.watch).__call__ is not type(gradtui.check).__call__
