"""gradtui.watch on a user's own model: layers found, statistics right, training untouched."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
import torch
from torch import nn

import gradtui
from gradtui.events import RunFailed, RunFinished, RunStarted, StepStats
from gradtui.recording import read_recording


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 8, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(32, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        return self.fc(x.flatten(1))


class TinyTransformer(nn.Module):
    """Embedding, one pre-norm block (attention + MLP, with dropout), a head."""

    def __init__(self, vocab: int = 11, dim: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.ln1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, 2, batch_first=True, dropout=0.1)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 32), nn.GELU(), nn.Linear(32, dim), nn.Dropout(0.1))
        self.head = nn.Linear(dim, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens)
        h = self.ln1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        x = x + self.mlp(self.ln2(x))
        return self.head(x)


def mlp() -> nn.Module:
    return nn.Sequential(
        nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 12), nn.Tanh(), nn.Linear(12, 3)
    )


def batch_for(model: nn.Module, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    if isinstance(model, SmallCNN):
        return torch.randn(16, 1, 6, 6, generator=g), torch.randint(0, 3, (16,), generator=g)
    if isinstance(model, TinyTransformer):
        tokens = torch.randint(0, 11, (8, 5), generator=g)
        return tokens, tokens.roll(1, dims=1)
    return torch.randn(32, 6, generator=g), torch.randint(0, 3, (32,), generator=g)


def loss_of(model: nn.Module, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))


def train(
    make: Callable[[], nn.Module],
    steps: int = 6,
    watch: dict | None = None,
    zero_grad: bool = True,
) -> tuple[list[float], list]:
    """Seeded training; with ``watch`` options, under a monitor. Returns losses, events."""
    torch.manual_seed(0)
    model = make()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    events: list = []
    monitor = None
    if watch is not None:
        monitor = gradtui.watch(model, opt, on_event=events.append, **watch)
    losses = []
    for step in range(steps):
        x, y = batch_for(model, step)
        if zero_grad:
            opt.zero_grad()
        loss = loss_of(model, model(x), y)
        loss.backward()
        if monitor is not None:
            monitor.step(loss)
        opt.step()
        losses.append(loss.item())
    if monitor is not None:
        monitor.close()
    return losses, events


def steps_of(events: list) -> list[StepStats]:
    return [e for e in events if isinstance(e, StepStats)]


MODELS = [mlp, SmallCNN, TinyTransformer]


@pytest.mark.parametrize("make", MODELS, ids=["mlp", "cnn", "transformer"])
def test_watching_never_changes_the_losses(make):
    bare, _ = train(make, steps=8)
    watched, events = train(make, steps=8, watch={"every": 2, "finite_checks": "always"})
    assert watched == bare  # bit for bit
    assert [s.step for s in steps_of(events)] == list(range(8))


def test_layers_are_modules_with_a_weight_named_by_named_modules_in_forward_order():
    _, events = train(TinyTransformer, steps=2, watch={})
    started = events[0]
    assert isinstance(started, RunStarted)
    names = [layer.name for layer in started.layers]
    # attention keeps its input projections in in_proj_weight, and reads out_proj's weight
    # without calling out_proj: both are watched, in forward order
    assert names == ["embed", "ln1", "attn", "attn.out_proj", "ln2", "mlp.0", "mlp.2", "head"]
    assert [layer.kind for layer in started.layers][:3] == [
        "Embedding",
        "LayerNorm",
        "MultiheadAttention",
    ]
    assert started.blocks == ("embed", "ln1", "attn", "ln2", "mlp.0", "mlp.2", "head")
    assert started.activation == "gelu"
    step = steps_of(events)[0]
    assert all(g is not None and g > 0 for g in step.grad_norm)
    # attention returns a tuple: its output gradient is still measured
    assert all(b is not None and b > 0 for b in step.block_grad_norm)


def test_forward_order_wins_over_definition_order():
    class Backwards(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.last = nn.Linear(4, 2)
            self.first = nn.Linear(3, 4)

        def forward(self, x):
            return self.last(torch.relu(self.first(x)))

    torch.manual_seed(0)
    model = Backwards()
    events: list = []
    with gradtui.watch(model, on_event=events.append) as monitor:
        loss = model(torch.randn(5, 3)).square().mean()
        loss.backward()
        monitor.step(loss)
    started, step = events[0], steps_of(events)[0]
    assert [layer.name for layer in started.layers] == ["first", "last"]
    assert started.blocks == ("first", "last")
    assert step.grad_norm[0] == pytest.approx(model.first.weight.grad.norm().item())
    assert step.grad_norm[1] == pytest.approx(model.last.weight.grad.norm().item())


def test_statistics_match_autograd_and_the_update():
    torch.manual_seed(0)
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    events: list = []
    monitor = gradtui.watch(model, opt, on_event=events.append, every=1)
    x, y = batch_for(model)
    opt.zero_grad()
    loss = loss_of(model, model(x), y)
    loss.backward()
    expected = [model[i].weight.grad.norm().item() for i in (0, 2, 4)]
    before = [model[i].weight.detach().clone() for i in (0, 2, 4)]
    monitor.step(loss)
    opt.step()
    ratios = [
        ((model[i].weight - w).norm() / w.norm()).item()
        for i, w in zip((0, 2, 4), before, strict=True)
    ]
    monitor.close()
    step = steps_of(events)[0]
    assert step.grad_norm == pytest.approx(expected)
    assert step.update_ratio == pytest.approx(ratios, rel=1e-5)
    assert step.loss == pytest.approx(loss.item())
    assert step.is_heavy and step.dead_frac is not None and step.saturated_frac is not None
    assert isinstance(events[-1], RunFinished) and events[-1].steps_run == 1


def test_without_an_optimizer_the_update_is_measured_at_the_next_forward():
    torch.manual_seed(0)
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    events: list = []
    with gradtui.watch(model, on_event=events.append) as monitor:
        for step in range(3):
            x, y = batch_for(model, step)
            opt.zero_grad()
            loss = loss_of(model, model(x), y)
            loss.backward()
            monitor.step(loss)
            opt.step()
    ratios = [s.update_ratio for s in steps_of(events)]
    assert all(r > 0 for row in ratios[:2] for r in row)


def test_missing_zero_grad_is_seen_directly():
    _, clean = train(mlp, steps=4, watch={})
    _, carried = train(mlp, steps=4, watch={}, zero_grad=False)
    assert all(s.carried_grad_norm == 0 for s in steps_of(clean))
    steps = steps_of(carried)
    assert steps[0].carried_grad_norm == 0
    assert all(s.carried_grad_norm > 0 for s in steps[1:])


def test_gradient_accumulation_between_steps_is_not_a_missing_zero_grad():
    torch.manual_seed(0)
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    events: list = []
    with gradtui.watch(model, opt, on_event=events.append) as monitor:
        for step in range(3):
            opt.zero_grad()
            for micro in range(3):
                x, y = batch_for(model, 10 * step + micro)
                loss_of(model, model(x), y).backward()
            monitor.step(loss_of(model, model(x), y).detach())
            opt.step()
    assert all(s.carried_grad_norm == 0 for s in steps_of(events))


def test_a_layer_left_out_of_the_graph_has_no_gradient():
    class Unused(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used = nn.Linear(4, 2)
            self.spare = nn.Linear(4, 2)

        def forward(self, x):
            return self.used(x)

    torch.manual_seed(0)
    model = Unused()
    events: list = []
    with gradtui.watch(model, on_event=events.append) as monitor:
        for _ in range(6):
            model.zero_grad()
            loss = model(torch.randn(3, 4)).square().mean()
            loss.backward()
            monitor.step(loss)
    started = events[0]
    assert [layer.name for layer in started.layers] == ["used", "spare"]
    assert all(s.grad_norm[1] is None for s in steps_of(events))
    assert "missing_gradients" in {d.kind for d in monitor.diagnoses()}


class LogOfZero(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.squash = nn.Softmax(dim=1)
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        p = self.squash(self.fc(x) * 1e4)
        return self.out(torch.log(p))  # log(0) = -inf, then inf - inf in out


@pytest.mark.parametrize("mode", ["sampled", "always", "off"])
def test_the_first_module_with_a_non_finite_output_is_named(mode):
    torch.manual_seed(0)
    model = LogOfZero()
    events: list = []
    x = torch.randn(8, 4)
    with gradtui.watch(model, on_event=events.append, every=100, finite_checks=mode) as monitor:
        for _ in range(3):
            model.zero_grad()
            loss = model(x).sum()
            loss.backward()
            monitor.step(loss)
    sources = [s.nonfinite_source for s in steps_of(events)]
    assert all(source is not None for source in sources)
    if mode != "off":  # off: no look at the forward pass, only the backward side is named
        assert sources == ["out"] * 3


def test_the_replay_leaves_dropout_and_batchnorm_untouched():
    """A non-finite step is replayed (no checks on); the run's randomness goes on as before."""

    class Noisy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.bn = nn.BatchNorm1d(4)
            self.drop = nn.Dropout(0.5)

        def forward(self, x):
            return self.drop(self.bn(self.fc(x))) * x.sum().log()  # log of a negative: nan

    def run(watched: bool) -> list[float]:
        torch.manual_seed(0)
        model = Noisy()
        monitor = gradtui.watch(model, every=100) if watched else None
        out = []
        for step in range(3):
            x = torch.randn(6, 4, generator=torch.Generator().manual_seed(step))
            loss = model(x).sum()
            loss.backward()
            if monitor:
                monitor.step(loss)
            out.append(torch.rand(()).item())  # the global generator after the step
        out += model.bn.running_mean.tolist()
        if monitor:
            monitor.close()
        return out

    assert run(True) == run(False)


def test_an_autograd_error_is_recorded_with_its_forward_line(tmp_path):
    class InPlace(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            out = torch.sigmoid(self.fc(x))
            out += 1  # sigmoid's backward needs its output: changed in place
            return out

    model = InPlace()
    path = tmp_path / "fail.jsonl"
    monitor = gradtui.watch(model, record=path)
    loss = model(torch.randn(3, 4)).sum()
    with pytest.raises(RuntimeError, match="inplace"):
        monitor.backward(loss)
    events = read_recording(path).events
    failed = events[-1]
    assert isinstance(failed, RunFailed) and failed.step == 0
    assert "out = torch.sigmoid(self.fc(x))" in failed.forward_trace  # the saved tensor
    assert monitor.closed


def test_close_removes_every_hook():
    torch.manual_seed(0)
    model = TinyTransformer()
    opt = torch.optim.Adam(model.parameters())

    def hook_counts() -> list[int]:
        counts = []
        for module in model.modules():
            counts += [len(module._forward_hooks), len(module._forward_pre_hooks)]
            counts += [len(module._backward_hooks), len(module._backward_pre_hooks)]
        counts += [len(p._backward_hooks or {}) for p in model.parameters()]
        counts += [len(opt._optimizer_step_post_hooks), len(opt._optimizer_step_pre_hooks)]
        return counts

    before = hook_counts()
    monitor = gradtui.watch(model, opt, every=1, finite_checks="always")
    assert hook_counts() != before
    x, y = batch_for(model)
    loss = loss_of(model, model(x), y)  # close in the middle of a step
    loss.backward()
    monitor.step(loss)
    monitor.close()
    assert hook_counts() == before
    assert all(not any(p._backward_hooks or {}) for p in model.parameters())


def test_an_internal_error_is_logged_once_and_training_goes_on(monkeypatch, caplog):
    from gradtui.probe.probe import Probe

    def broken(self, step, loss):
        raise ZeroDivisionError("a bug of ours")

    monkeypatch.setattr(Probe, "after_backward", broken)
    bare, _ = train(mlp, steps=5)
    with caplog.at_level("ERROR", logger="gradtui.watch"):
        watched, events = train(mlp, steps=5, watch={})
    assert watched == bare
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "a bug of ours" in errors[0].getMessage()
    assert isinstance(events[-1], RunFinished) and events[-1].stopped


def test_an_error_inside_a_hook_does_not_reach_the_users_forward(monkeypatch, caplog):
    from gradtui.watch import monitor as monitor_module

    def broken(self, args, kwargs):
        raise RuntimeError("hook bug")

    monkeypatch.setattr(monitor_module.Monitor, "_on_forward", broken)
    bare, _ = train(SmallCNN, steps=3)
    with caplog.at_level("ERROR", logger="gradtui.watch"):
        watched, _ = train(SmallCNN, steps=3, watch={})
    assert watched == bare
    assert sum("hook bug" in r.getMessage() for r in caplog.records) == 1


def test_the_recording_is_written_as_the_run_goes(tmp_path):
    path = tmp_path / "runs" / "exp.jsonl"
    torch.manual_seed(0)
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    monitor = gradtui.watch(model, opt, record=path)
    for step in range(4):
        x, y = batch_for(model, step)
        opt.zero_grad()
        loss = loss_of(model, model(x), y)
        loss.backward()
        monitor.step(loss)
        opt.step()
    # while the run is still open: the writer thread writes each step a moment later
    expected = ["run_started"] + ["step"] * 3
    deadline = time.monotonic() + 30
    while [e.type for e in read_recording(path).events] != expected:
        if time.monotonic() > deadline:  # a generous wait, not a speed check
            pytest.fail(f"the writer did not catch up: {read_recording(path).events}")
        time.sleep(0.01)
    monitor.close()
    done = read_recording(path).events
    assert [e.type for e in done][-2:] == ["step", "run_finished"]
    assert done[0].scenario == "exp"
    assert all(math.isfinite(s.loss) for s in steps_of(done))


def test_importing_gradtui_does_not_import_torch():
    code = (
        "import sys, gradtui, gradtui.watch; print('torch' in sys.modules, callable(gradtui.watch))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_bad_arguments_raise_but_a_failed_setup_only_logs(monkeypatch, caplog):
    with pytest.raises(ValueError):
        gradtui.watch(mlp(), every=0)
    from gradtui.watch import monitor as monitor_module

    monkeypatch.setattr(monitor_module, "static_watched", lambda model: 1 / 0)
    with caplog.at_level("ERROR", logger="gradtui.watch"):
        monitor = gradtui.watch(mlp())
    model = mlp()
    loss = model(torch.randn(2, 6)).sum()
    monitor.backward(loss)
    monitor.step(loss)
    monitor.close()
    assert model[0].weight.grad is not None
    assert any("ZeroDivisionError" in r.getMessage() for r in caplog.records)


def test_slow_steps_are_written_as_soon_as_their_update_is_known(tmp_path, monkeypatch):
    from gradtui.watch import monitor as monitor_module

    monkeypatch.setattr(monitor_module, "LIVE_SECONDS", 0.0)  # every step counts as slow
    path = tmp_path / "slow.jsonl"
    torch.manual_seed(0)
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with gradtui.watch(model, opt, record=path) as monitor:
        for step in range(4):
            x, y = batch_for(model, step)
            opt.zero_grad()
            loss = loss_of(model, model(x), y)
            loss.backward()
            monitor.step(loss)
            opt.step()
            written = steps_of(read_recording(path).events)
            assert [s.step for s in written] == list(range(step + 1))
            assert all(r > 0 for s in written for r in s.update_ratio)
    assert [s.step for s in steps_of(read_recording(path).events)] == [0, 1, 2, 3]
