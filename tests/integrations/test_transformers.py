"""GradtuiCallback in a real Hugging Face Trainer (a tiny GPT-2 from a config): planted bugs
found as a hand-written loop finds them, training untouched, accumulation, clipping."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip(
    "transformers", reason="transformers is not installed: pip install 'gradtui[transformers]'"
)
pytest.importorskip(
    "accelerate", reason="accelerate is not installed: pip install 'gradtui[transformers]'"
)

import torch

from gradtui.events import RunFinished, RunStarted, StepStats
from gradtui.integrations.transformers import GradtuiCallback
from gradtui.recording import read_recording
from gradtui.report.recorded import report_files
from tests.integrations.hf_models import hand_written, train

STEPS = 10
EXPECTED = {
    "detached": "missing_gradients",
    "frozen": "frozen_parameters",
    "high_lr": "exploding_gradients",
}


def findings(path: Path) -> list[tuple[str, str, list[str]]]:
    report = report_files([path]).report
    return [(d["kind"], d["severity"], d["layers"]) for d in report["diagnoses"]]


def recorded_steps(path: Path) -> list[StepStats]:
    return [e for e in read_recording(path).events if isinstance(e, StepStats)]


@pytest.mark.parametrize("bug", ["none", "detached", "frozen", "high_lr"])
def test_the_callback_finds_what_the_hand_written_loop_finds(tmp_path: Path, bug: str):
    callback = GradtuiCallback(tmp_path / "cb.jsonl", every=4)
    watched = train(tmp_path / "a", bug, STEPS, callbacks=[callback])
    assert watched == train(tmp_path / "b", bug, STEPS)  # bit for bit
    hand_written(bug, STEPS, tmp_path / "hw.jsonl", every=4)
    found = findings(tmp_path / "cb.jsonl")
    assert found == findings(tmp_path / "hw.jsonl")
    serious = {kind for kind, severity, _ in found if severity != "info"}
    assert serious == set() if bug == "none" else EXPECTED[bug] in serious


def test_accumulated_micro_batches_are_one_step_and_no_missing_zero_grad(tmp_path: Path):
    callback = GradtuiCallback(tmp_path / "acc.jsonl")
    options = {"gradient_accumulation_steps": 2, "per_device_train_batch_size": 4}
    watched = train(tmp_path / "a", "none", 6, callbacks=[callback], **options)
    assert watched == train(tmp_path / "b", "none", 6, **options)
    steps = recorded_steps(tmp_path / "acc.jsonl")
    assert len(steps) == 6
    # the Trainer logs the mean loss of a step's micro-batches: so does the recording
    assert [s.loss for s in steps] == pytest.approx(watched, rel=1e-5)
    assert "gradient_accumulation" not in {k for k, _, _ in findings(tmp_path / "acc.jsonl")}


def test_the_trainers_clipping_is_recorded_and_training_unchanged(tmp_path: Path):
    callback = GradtuiCallback(tmp_path / "clip.jsonl")
    watched = train(tmp_path / "a", "none", 6, callbacks=[callback], max_grad_norm=0.1)
    assert watched == train(tmp_path / "b", "none", 6, max_grad_norm=0.1)
    assert callback._args is None  # max_grad_norm was handed back (checked below)
    steps = recorded_steps(tmp_path / "clip.jsonl")
    assert len(steps) == 6 and all(s.grad_norm_total > 0.1 for s in steps)
    assert [s.grad_norm_clipped for s in steps] == pytest.approx([0.1] * 6, rel=1e-4)
    hand_written("none", 6, tmp_path / "hw.jsonl", clip=0.1)
    assert findings(tmp_path / "clip.jsonl") == findings(tmp_path / "hw.jsonl")


def test_max_grad_norm_is_given_back_after_training(tmp_path: Path):
    from tests.integrations import hf_models

    args = hf_models.arguments(tmp_path, 2, max_grad_norm=0.5)
    callback = GradtuiCallback(tmp_path / "x.jsonl")
    net = hf_models.model()
    import transformers

    transformers.Trainer(
        model=net, args=args, train_dataset=hf_models.Tokens(), callbacks=[callback]
    ).train()
    assert args.max_grad_norm == 0.5


def test_the_recording_goes_to_the_output_dir_and_is_said_once(tmp_path: Path, capsys):
    train(tmp_path, "none", 3, callbacks=[GradtuiCallback()])
    path = tmp_path / "gradtui.jsonl"
    events = read_recording(path).events
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)
    assert events[0].scenario == "GPT2LMHeadModel"
    assert capsys.readouterr().out.count(f"gradtui: recording to {path}") == 1


def test_a_step_the_grad_scaler_skips_is_left_out(tmp_path: Path):
    """accelerate gives no grad scaler on a CPU, so the hook is called as the Trainer calls
    it, with an optimizer carrying a real (CPU) GradScaler that found inf in the gradients."""
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu")
    wrapped = SimpleNamespace(optimizer=opt, scaler=scaler)
    callback = GradtuiCallback(tmp_path / "amp.jsonl")
    args = SimpleNamespace(max_grad_norm=0.0, output_dir=str(tmp_path), process_index=0)
    state = SimpleNamespace(max_steps=2)
    callback.on_train_begin(args, state, None, model=net, optimizer=wrapped)
    for poisoned in (False, True, False):
        opt.zero_grad()
        loss = net(torch.ones(2, 3)).sum() * (torch.inf if poisoned else 1.0)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        callback.watching.add_loss(loss, summed=True)
        callback.on_pre_optimizer_step(args, state, None, model=net, optimizer=wrapped)
        scaler.step(opt)
        scaler.update()
    callback.on_train_end(args, state, None)
    assert callback.watching.monitor.steps_skipped == 1
    assert len(recorded_steps(tmp_path / "amp.jsonl")) == 2
    assert all(k != "nonfinite" for k, _, _ in findings(tmp_path / "amp.jsonl"))


def test_findings_go_to_the_transformers_logger(tmp_path: Path, caplog):
    import logging

    logger = logging.getLogger("transformers.gradtui")
    logger.addHandler(caplog.handler)  # the library's logger does not propagate to the root
    try:
        train(tmp_path, "detached", 5, callbacks=[GradtuiCallback(tmp_path / "d.jsonl")])
    finally:
        logger.removeHandler(caplog.handler)
    # once through our handler; a test before may have let the library's logger propagate
    # to the root, where caplog sees the same record again
    records = {id(r): r for r in caplog.records if r.name == "transformers.gradtui"}
    messages = [r.getMessage() for r in records.values()]
    missing = [m for m in messages if "missing_gradients" in m]
    assert missing and len(set(missing)) == len(missing)  # found, and each finding said once


def test_an_error_of_ours_is_logged_once_and_the_trainers_clipping_still_happens(
    tmp_path: Path, monkeypatch
):
    import logging

    from gradtui.integrations import _shared

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug in gradtui")

    monkeypatch.setattr(_shared.Watching, "optimizer_step", broken)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("transformers.gradtui").addHandler(handler)
    try:
        callback = GradtuiCallback(tmp_path / "b.jsonl")
        watched = train(tmp_path / "a", "none", 5, callbacks=[callback], max_grad_norm=0.1)
    finally:
        logging.getLogger("transformers.gradtui").removeHandler(handler)
    assert watched == train(tmp_path / "b", "none", 5, max_grad_norm=0.1)  # still clipped
    assert len([r for r in records if "stopped watching" in r.getMessage()]) == 1
    assert callback._args is None  # max_grad_norm given back


def test_after_a_train_that_raised_the_next_one_starts_clean(tmp_path: Path):
    import transformers

    from tests.integrations import hf_models

    class Boom(transformers.TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 3:
                raise RuntimeError("planted failure")

    callback = GradtuiCallback(tmp_path / "first.jsonl")
    args = hf_models.arguments(tmp_path, 6, max_grad_norm=0.5)
    net = hf_models.model()

    def trainer(*extra) -> transformers.Trainer:
        data = hf_models.Tokens()
        return transformers.Trainer(model=net, args=args, train_dataset=data, callbacks=[*extra])

    with pytest.raises(RuntimeError, match="planted failure"):
        trainer(callback, Boom()).train()
    assert args.max_grad_norm == 0.0  # the Trainer said nothing: the callback still clips
    callback.record = tmp_path / "second.jsonl"
    trainer(callback).train()
    assert args.max_grad_norm == 0.5
    first = read_recording(tmp_path / "first.jsonl").events
    assert isinstance(first[-1], RunFinished) and first[-1].steps_run == 3
    assert len(recorded_steps(tmp_path / "second.jsonl")) == 6


def test_the_callback_clips_under_fsdp2_and_leaves_deepspeed_and_fsdp1_their_own():
    """Under FSDP2 the parameters are DTensors and torch.nn.utils.clip_grad_norm_ clips them
    as accelerate does, so the callback measures before clipping; DeepSpeed and FSDP1 (whose
    parameters are not DTensors) clip through their own engines."""
    from types import SimpleNamespace

    from gradtui.integrations.transformers import _clips_its_own_way

    class Model:
        def __init__(self, sharded: bool) -> None:
            self.sharded = sharded

        def parameters(self):
            return [SimpleNamespace(device_mesh=object()) if self.sharded else SimpleNamespace()]

    def args(**given):
        return SimpleNamespace(**{"deepspeed": None, "fsdp": None, **given})

    assert not _clips_its_own_way(args(), Model(False))  # DDP or one process
    assert not _clips_its_own_way(args(fsdp="full_shard"), Model(True))  # FSDP2
    assert _clips_its_own_way(args(fsdp="full_shard"), Model(False))  # FSDP1
    assert _clips_its_own_way(args(deepspeed="ds.json"), Model(False))
