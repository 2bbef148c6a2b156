"""The writer process: by default a watched run's rules and recording run in a process of
their own. Same findings and same file as on the writer thread; the file is held and locked
by that process; findings are logged in the user's process; a writer process that dies or
cannot start never stops or changes training."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import gradtui
from gradtui.events import RunFinished, StepStats
from gradtui.recording import Recorder, RecordingError, read_recording
from gradtui.watch import sidecar as sidecar_module
from gradtui.watch.frames import receive, send


def model_and_optimizer(lr: float) -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3)
    )
    return model, torch.optim.SGD(model.parameters(), lr=lr)


def one_step(model: nn.Module, opt: torch.optim.Optimizer, step: int, monitor) -> float:
    g = torch.Generator().manual_seed(step)
    x, y = torch.randn(8, 6, generator=g), torch.randint(0, 3, (8,), generator=g)
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    if monitor is not None:
        monitor.step(loss)
    opt.step()
    return loss.item()


def train(steps: int, lr: float = 0.1, **watch) -> tuple[list[float], object]:
    model, opt = model_and_optimizer(lr)
    monitor = gradtui.watch(model, opt, **watch) if watch else None
    losses = [one_step(model, opt, step, monitor) for step in range(steps)]
    if monitor is not None:
        monitor.close()
    return losses, monitor


def test_the_process_and_the_thread_write_the_same_run(tmp_path: Path):
    process_file, thread_file = tmp_path / "p" / "run.jsonl", tmp_path / "t" / "run.jsonl"
    seen: list = []
    losses, in_process = train(30, lr=4.0, record=process_file)
    same, on_thread = train(30, lr=4.0, record=thread_file, on_event=seen.append)
    assert (in_process.writer, on_thread.writer) == ("process", "thread")
    assert losses == same
    found = in_process.diagnoses()
    assert found, "a learning rate of 4 should make the rules fire"
    assert found == on_thread.diagnoses()
    assert read_recording(process_file).events == read_recording(thread_file).events


def test_findings_are_logged_in_the_users_process(tmp_path: Path, caplog):
    with caplog.at_level("WARNING", logger="gradtui.watch"):
        _, monitor = train(30, lr=4.0, record=tmp_path / "run.jsonl")
    assert monitor.writer == "process" and monitor.diagnoses()
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("gradtui: [")]
    assert {d.kind for d in monitor.diagnoses()} <= {m.split("] ")[1].split(":")[0] for m in logged}


def test_diagnosing_without_a_recording_also_runs_in_the_process():
    _, monitor = train(30, lr=4.0, record=None)
    _, on_thread = train(30, lr=4.0, on_event=lambda event: None)
    assert monitor.writer == "process" and monitor.diagnoses() == on_thread.diagnoses()


def test_the_process_holds_the_files_lock_until_the_run_ends(tmp_path: Path):
    path = tmp_path / "run.jsonl"
    model, opt = model_and_optimizer(0.1)
    monitor = gradtui.watch(model, opt, record=path)
    for step in range(3):
        one_step(model, opt, step, monitor)
    monitor.flush()
    with pytest.raises(RecordingError, match="another process is recording"):
        Recorder(path, force=True)
    monitor.close()
    Recorder(path, force=True).close()


def test_a_writer_process_that_dies_stops_the_watching_not_the_training(tmp_path, caplog):
    path = tmp_path / "run.jsonl"
    bare, _ = train(12)
    model, opt = model_and_optimizer(0.1)
    monitor = gradtui.watch(model, opt, record=path)
    with caplog.at_level("ERROR", logger="gradtui.watch"):
        losses = [one_step(model, opt, step, monitor) for step in range(4)]
        monitor.flush()
        monitor._worker._process.kill()  # as an out-of-memory killer would
        monitor._worker._process.wait()
        monitor.flush()
        losses += [one_step(model, opt, step, monitor) for step in range(4, 12)]
        monitor.close()
    assert losses == bare
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "writer process" in errors[0]
    steps = [e.step for e in read_recording(path).events if isinstance(e, StepStats)]
    assert steps[:3] == [0, 1, 2]  # what it wrote before it died stays


@pytest.mark.parametrize(
    "broken",
    [
        lambda monkeypatch: monkeypatch.setattr(sidecar_module.sys, "executable", "/no/python"),
        lambda monkeypatch: monkeypatch.setattr(sidecar_module, "_CHILD", "raise SystemExit(3)"),
        # an embedded interpreter's executable is its host program: never started as Python
        lambda monkeypatch: monkeypatch.setattr(sidecar_module.sys, "executable", "/usr/bin/app"),
        lambda monkeypatch: monkeypatch.setattr(sidecar_module.sys, "frozen", True, raising=False),
    ],
    ids=["no executable", "exits at once", "embedded", "frozen"],
)
def test_where_no_process_starts_the_thread_writes(tmp_path: Path, monkeypatch, broken):
    broken(monkeypatch)
    path = tmp_path / "run.jsonl"
    losses, monitor = train(6, record=path)
    assert monitor.writer == "thread"
    assert losses == train(6)[0]
    events = read_recording(path).events
    assert [e.step for e in events if isinstance(e, StepStats)] == list(range(6))
    assert isinstance(events[-1], RunFinished) and not events[-1].stopped


def test_an_internal_error_ends_the_recording_in_the_process(tmp_path: Path, monkeypatch):
    from gradtui.probe.probe import Probe

    calls = {"n": 0}
    real = Probe.after_backward

    def fails_at_the_fifth(self, step, loss):
        calls["n"] += 1
        if calls["n"] == 5:
            raise ZeroDivisionError("a bug of ours")
        return real(self, step, loss)

    monkeypatch.setattr(Probe, "after_backward", fails_at_the_fifth)
    path = tmp_path / "run.jsonl"
    _, monitor = train(8, record=path)
    assert monitor.writer == "process"
    events = read_recording(path).events
    assert isinstance(events[-1], RunFinished) and events[-1].stopped


messages = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["flush", "stop"]), st.integers(0, 2**40)),
        st.builds(
            StepStats,
            step=st.integers(0, 10**9),
            loss=st.floats(allow_nan=False),
            grad_norm_total=st.floats(min_value=0, allow_infinity=True, allow_nan=False),
            grad_norm=st.lists(st.floats(allow_nan=False), max_size=5).map(tuple),
        ),
        st.text(max_size=200),
    ),
    max_size=20,
)


@given(messages)
def test_frames_carry_any_batch_whole(batch):
    read, write = os.pipe()
    try:
        send(write, batch)
        os.close(write)
        assert repr(receive(read)) == repr(batch)  # NaN != NaN: compare as written
        assert receive(read) is None  # the end of the stream
    finally:
        os.close(read)


@given(messages, st.data())
def test_a_frame_cut_short_reads_as_the_end(batch, data):
    frame = _frame_of(batch)
    cut = data.draw(st.integers(0, len(frame) - 1))
    read, write = os.pipe()
    try:
        os.write(write, frame[:cut])
        os.close(write)
        assert receive(read) is None
    finally:
        os.close(read)


def _frame_of(batch: object) -> bytes:
    read, write = os.pipe()
    send(write, batch)
    os.close(write)
    data = os.read(read, 1 << 20)
    os.close(read)
    assert repr(pickle.loads(data[4:])) == repr(batch)
    return data


def test_a_process_holding_over_a_thousand_files_still_gets_a_writer_process(tmp_path: Path):
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1200  # select() cannot wait on a descriptor past 1024
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip("the hard limit on open files is too low here")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        losses, monitor = train(4, record=tmp_path / "run.jsonl")
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert monitor.writer == "process" and losses == train(4)[0]
