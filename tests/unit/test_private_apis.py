"""Each private name gradtui leans on must still be there: a torch or plotext upgrade that
removes one fails here, by name, instead of quietly making gradtui slower or untidy.
docs/private-apis.md lists them all."""

from __future__ import annotations

import plotext._utility
import torch

from gradtui.probe import private_torch


def test_torch_still_has_the_grad_mode_switch():
    assert hasattr(torch._C, "_set_grad_enabled"), "torch._C._set_grad_enabled is gone"
    assert private_torch.SET_GRAD_ENABLED is torch._C._set_grad_enabled


def test_the_grad_mode_switch_turns_grad_off_and_on():
    before = torch.is_grad_enabled()
    try:
        private_torch.set_grad_enabled(False)
        assert not torch.is_grad_enabled()
        private_torch.set_grad_enabled(True)
        assert torch.is_grad_enabled()
    finally:
        torch.set_grad_enabled(before)


def test_torch_still_has_the_engine_call_and_it_gives_autograds_answer():
    engine = getattr(torch.autograd.Variable, "_execution_engine", None)
    assert engine is not None and hasattr(engine, "run_backward"), "run_backward is gone"
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    unused = torch.tensor([3.0], requires_grad=True)
    (grad_w, grad_unused) = private_torch.engine_grad((w * w).sum(), (w, unused))
    assert private_torch.engine_available()
    assert grad_w.tolist() == [2.0, 4.0] and grad_unused is None


def test_torch_still_has_the_foreach_norm():
    assert torch.stack(torch._foreach_norm([torch.ones(4)])).tolist() == [2.0]


def test_plotext_still_has_the_helper_the_loss_plot_replaces():
    assert callable(getattr(plotext._utility, "no_duplicates", None)), "no_duplicates is gone"


def test_the_loss_plot_installs_the_ordered_helper():
    import gradtui.ui.widgets.loss  # noqa: F401  (installs it on import)
    from gradtui.ui.plotext_order import ordered_no_duplicates

    assert plotext._utility.no_duplicates is ordered_no_duplicates
    assert ordered_no_duplicates(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]


def test_torch_still_has_the_dispatch_mode_that_names_the_first_bad_operation():
    from gradtui.probe import ops

    assert ops.TorchDispatchMode is not None, "torch.utils._python_dispatch is gone"
    watch = ops.OpWatch()
    with watch.watching():
        torch.log(torch.tensor([0.0, 1.0]))
    assert watch.first is not None and (watch.first.name, watch.first.inputs) == ("log", "zero")
