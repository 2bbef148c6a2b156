"""GradtuiCallback in a real Lightning Trainer: planted bugs found as a hand-written loop
finds them, training untouched, accumulation, clipping, a scaler's skipped steps, failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip(
    "lightning", reason="Lightning is not installed: pip install 'gradtui[lightning]'"
)

import torch
from lightning.pytorch.plugins.precision import MixedPrecision

from gradtui.events import RunFailed, RunFinished, RunStarted, StepStats
from gradtui.integrations.lightning import GradtuiCallback
from gradtui.recording import read_recording
from gradtui.report.recorded import report_files
from tests.integrations.lit_models import TinyNet, hand_written, loader, trainer

STEPS = 16
EXPECTED = {
    "detached": ("missing_gradients", ["net.0"]),
    "frozen": ("frozen_parameters", ["net.2"]),
    "high_lr": ("exploding_gradients", ["net.0", "net.2", "net.4"]),
}


def findings(path: Path) -> list[tuple[str, str, list[str]]]:
    """What `gradtui report` finds in a recording: kind, severity, layers."""
    report = report_files([path]).report
    return [(d["kind"], d["severity"], d["layers"]) for d in report["diagnoses"]]


def fit(tmp_path: Path, model: TinyNet, callback: GradtuiCallback | None, **options) -> list:
    callbacks = [callback] if callback is not None else []
    trainer(tmp_path, options.pop("steps", STEPS), callbacks=callbacks, **options).fit(
        model, loader()
    )
    return model.losses


@pytest.mark.parametrize("bug", ["none", "detached", "frozen", "high_lr"])
def test_the_callback_finds_what_the_hand_written_loop_finds(tmp_path: Path, bug: str):
    watched = fit(tmp_path, TinyNet(bug), GradtuiCallback(tmp_path / "cb.jsonl", every=4))
    bare = fit(tmp_path, TinyNet(bug), None)
    by_hand = hand_written(TinyNet(bug), STEPS, record=tmp_path / "hw.jsonl", every=4)
    assert watched == bare == by_hand  # bit for bit: watching never changes training
    found = findings(tmp_path / "cb.jsonl")
    assert found == findings(tmp_path / "hw.jsonl")
    serious = [(kind, layers) for kind, severity, layers in found if severity != "info"]
    if bug == "none":
        assert serious == []
    else:
        assert EXPECTED[bug] in serious


def test_accumulated_micro_batches_are_one_step_and_no_missing_zero_grad(tmp_path: Path):
    model = TinyNet()
    callback = GradtuiCallback(tmp_path / "acc.jsonl")
    watched = fit(tmp_path, model, callback, steps=6, accumulate_grad_batches=2)
    assert watched == fit(tmp_path, TinyNet(), None, steps=6, accumulate_grad_batches=2)
    steps = [e for e in read_recording(tmp_path / "acc.jsonl").events if isinstance(e, StepStats)]
    assert len(steps) == 6 and len(watched) == 12
    for i, step in enumerate(steps):  # the step's loss is the mean over its micro-batches
        assert step.loss == pytest.approx(sum(watched[2 * i : 2 * i + 2]) / 2, rel=1e-5)
        assert step.carried_grad_norm == 0.0  # every step began from cleared gradients
    assert "gradient_accumulation" not in {k for k, _, _ in findings(tmp_path / "acc.jsonl")}


def test_the_trainers_clipping_is_recorded_as_clipping(tmp_path: Path):
    clip = {"gradient_clip_val": 0.05}
    watched = fit(tmp_path, TinyNet(), GradtuiCallback(tmp_path / "c.jsonl"), steps=8, **clip)
    assert watched == fit(tmp_path, TinyNet(), None, steps=8, **clip)
    steps = [e for e in read_recording(tmp_path / "c.jsonl").events if isinstance(e, StepStats)]
    assert steps and all(s.grad_norm_total > 0.05 for s in steps)  # every step was clipped
    for step in steps:
        assert step.grad_norm_clipped == pytest.approx(0.05, rel=1e-4)
    hand_written(TinyNet(), 8, record=tmp_path / "hw.jsonl", clip=0.05)
    assert findings(tmp_path / "c.jsonl") == findings(tmp_path / "hw.jsonl")


def test_a_step_the_grad_scaler_skips_is_left_out(tmp_path: Path):
    """A CPU grad scaler stands in for CUDA's: the poisoned step's gradients are inf, the
    scaler skips the optimizer, and the recording has no step (and no finding) for it."""

    def amp() -> MixedPrecision:
        return MixedPrecision("16-mixed", "cpu", scaler=torch.amp.GradScaler("cpu"))

    callback = GradtuiCallback(tmp_path / "amp.jsonl")
    watched = fit(tmp_path, TinyNet(poison=3), callback, steps=8, plugins=[amp()])
    assert watched == fit(tmp_path, TinyNet(poison=3), None, steps=8, plugins=[amp()])
    events = read_recording(tmp_path / "amp.jsonl").events
    steps = [e for e in events if isinstance(e, StepStats)]
    assert callback.watching.monitor.steps_skipped == 1
    assert len(steps) == 7 and all(torch.isfinite(torch.tensor(s.loss)) for s in steps)
    assert steps[3].loss == pytest.approx(watched[4], rel=1e-5)  # batch 4 is the 4th step
    assert [k for k, sev, _ in findings(tmp_path / "amp.jsonl") if sev != "info"] == []


def test_the_recording_goes_to_the_log_dir_and_is_said_once(tmp_path: Path, capsys):
    fit(tmp_path, TinyNet(), GradtuiCallback(), steps=3)
    path = tmp_path / "gradtui.jsonl"
    events = read_recording(path).events
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)
    assert events[0].scenario == "TinyNet"
    assert capsys.readouterr().out.count(f"gradtui: recording to {path}") == 1


def test_an_exception_in_training_is_recorded_and_the_recording_closed(tmp_path: Path):
    model = TinyNet()
    model.fail_at = 4
    callback = GradtuiCallback(tmp_path / "fail.jsonl")
    with pytest.raises(RuntimeError, match="planted failure"):
        fit(tmp_path, model, callback, steps=8)
    events = read_recording(tmp_path / "fail.jsonl").events
    assert isinstance(events[-1], RunFailed) and "planted failure" in events[-1].message
    assert callback.watching.monitor.closed
    assert sum(isinstance(e, StepStats) for e in events) == 4


def test_findings_go_to_lightnings_logger(tmp_path: Path, caplog):
    with caplog.at_level("WARNING", logger="lightning.pytorch.callbacks.gradtui"):
        fit(tmp_path, TinyNet("detached"), GradtuiCallback(tmp_path / "d.jsonl"), steps=6)
    messages = [r.getMessage() for r in caplog.records if r.name.endswith("gradtui")]
    assert len([m for m in messages if "missing_gradients" in m]) == 1
    assert json.dumps(messages)  # plain strings


def test_a_training_step_that_never_calls_the_module_is_still_watched_fully(tmp_path: Path):
    """Lightning calls training_step, not forward: the callback arms each step itself, so the
    heavy statistics (activations, mean |grad|) come on schedule."""
    model = TinyNet()
    model.bypass_forward = True
    fit(tmp_path, model, GradtuiCallback(tmp_path / "direct.jsonl", every=4), steps=9)
    steps = [
        e for e in read_recording(tmp_path / "direct.jsonl").events if isinstance(e, StepStats)
    ]
    heavy = [s.step for s in steps if s.grad_mean_abs is not None]
    assert heavy == [0, 4, 8]
    assert all(steps[i].dead_frac is not None for i in heavy)


def test_an_error_of_ours_is_logged_once_and_training_goes_on(tmp_path: Path, monkeypatch, caplog):
    from gradtui.integrations import _shared

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug in gradtui")

    monkeypatch.setattr(_shared.Watching, "optimizer_step", broken)
    callback = GradtuiCallback(tmp_path / "b.jsonl")
    clip = {"gradient_clip_val": 0.05, "steps": 6}
    with caplog.at_level("ERROR", logger="lightning.pytorch.callbacks.gradtui"):
        watched = fit(tmp_path, TinyNet(), callback, **clip)
    assert watched == fit(tmp_path, TinyNet(), None, **clip)
    errors = [r for r in caplog.records if "stopped watching" in r.getMessage()]
    assert len(errors) == 1 and errors[0].exc_info is not None
    assert callback.watching.monitor.closed


def test_with_a_logger_the_recording_goes_to_its_version_directory(tmp_path: Path):
    from lightning.pytorch.loggers import CSVLogger

    fit(tmp_path, TinyNet(), GradtuiCallback(), steps=2, logger=CSVLogger(tmp_path))
    path = tmp_path / "lightning_logs" / "version_0" / "gradtui.jsonl"
    assert isinstance(read_recording(path).events[-1], RunFinished)
