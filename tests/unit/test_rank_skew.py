"""Rank skew: a rank slower between steps, ranks on the same batches, a rank whose loss is
unlike the others'. Synthetic rank streams for the rule's edges, real DDP ranks for the rest."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from gradtui.diagnosis.rank_skew import LOSS_DIFFERS, SAME_BATCHES, STRAGGLER
from gradtui.diagnosis.ranks import RankStreams
from gradtui.events import LayerInfo, RunFinished, RunStarted, StepStats
from gradtui.recording import Recorder, read_recording
from gradtui.recording.paths import expand, rank_path
from gradtui.report.recorded import report_files
from tests.unit import skew_ranks
from tests.unit.rank_spawn import free_port, run_ranks_script

SKEW_KINDS = {STRAGGLER, SAME_BATCHES, LOSS_DIFFERS}
LAYERS = (LayerInfo("fc1", "Linear", 0, 10), LayerInfo("fc2", "Linear", 1, 10))


def started(rank: int, world: int) -> RunStarted:
    return RunStarted("r", "r", "", {}, LAYERS, ("fc1", "fc2"), 0, 4, rank=rank, world_size=world)


def step(i: int, loss: float, outside: float | None = 0.001) -> StepStats:
    return StepStats(
        i, loss, 1.0, None, (0.6, 0.8), (0, 0), (3.0, 4.0), (1e-3, 1e-3), (0.5, 0.5),
        outside_seconds=outside,
    )  # fmt: skip


def skew_of(losses: dict[int, list[float]], outside: dict[int, list[float]] | None = None):
    ranks = sorted(losses)
    streams = RankStreams(ranks)
    live = []
    for r in ranks:
        live += streams.add(r, started(r, len(ranks)))
    for i in range(len(losses[ranks[0]])):
        for r in ranks:
            seconds = outside[r][i] if outside else 0.001
            live += streams.add(r, step(i, losses[r][i], seconds))
    for r in ranks:
        live += streams.add(r, RunFinished(len(losses[r])))
    live += streams.finish()
    final = [d for d in streams.diagnoses() if d.kind in SKEW_KINDS]
    return final, [d for d in live if d.kind in SKEW_KINDS]


def noisy(seed: int, n: int = 40, level: float = 1.0) -> list[float]:
    """A falling loss with its own noise: what a rank with its own batches sees."""
    return [level * (2.0 - i / n) + 0.3 * math.sin(seed * 12.9898 + i * 78.233) for i in range(n)]


def test_ranks_with_their_own_batches_are_quiet():
    final, live = skew_of({r: noisy(r) for r in range(4)})
    assert final == [] and live == []


def test_equal_losses_on_every_step_are_the_same_batches():
    loss = noisy(0)
    final, live = skew_of({0: loss, 1: list(loss), 2: list(loss)})
    assert [d.kind for d in final] == [d.kind for d in live] == [SAME_BATCHES]
    (found,) = final
    assert "all 40 steps" in found.message and "3 ranks' losses were equal" in found.message
    assert "DistributedSampler" in found.fix
    assert {e.name for e in found.evidence} >= {"steps with every rank's loss equal"}


def test_equal_losses_on_too_few_steps_or_a_constant_loss_say_nothing():
    short_run = noisy(0, n=10)
    assert skew_of({0: short_run, 1: list(short_run)})[0] == []
    constant = [0.5] * 40  # a loss that does not move says nothing of the batches
    assert skew_of({0: constant, 1: list(constant)})[0] == []


def test_one_step_apart_is_not_the_same_batches():
    loss = noisy(0)
    other = list(loss)
    other[20] += 0.1
    assert skew_of({0: loss, 1: other})[0] == []


def test_a_rank_always_above_the_others_has_other_data():
    losses = {r: noisy(r) for r in range(3)}
    losses[1] = [v + 1.5 for v in noisy(1)]
    final, _ = skew_of(losses)
    (found,) = final
    assert found.kind == LOSS_DIFFERS and found.message.startswith("Rank 1's loss was the highest")
    assert "rank 1's batches" in found.fix and "cannot say which" not in found.message


def test_with_two_ranks_it_says_it_cannot_tell_which():
    final, _ = skew_of({0: noisy(0), 1: [v + 1.5 for v in noisy(1)]})
    (found,) = final
    assert found.kind == LOSS_DIFFERS and "cannot say which one's data are off" in found.message


def test_a_small_steady_difference_is_not_other_data():
    losses = {r: noisy(r) for r in range(3)}
    losses[2] = [v + 0.05 for v in losses[0]]  # above rank 0 always, by 3%
    assert skew_of(losses)[0] == []


def test_a_rank_slow_between_steps_is_named_with_its_time():
    outside = {0: [0.002] * 40, 1: [0.050] * 40, 2: [0.003] * 40}
    final, live = skew_of({r: noisy(r) for r in range(3)}, outside)
    (found,) = final
    assert found.kind == STRAGGLER and found.severity == "warning"
    assert [d.kind for d in live] == [STRAGGLER]  # announced once, as soon as it is known
    assert found.message.startswith("Rank 1 spends a median 50 ms between steps")
    assert "rank 0 2.0 ms, rank 2 3.0 ms" in found.message
    assert "rank 1 does between steps" in found.fix and "DataLoader" in found.fix


def test_jitter_and_a_loader_slow_on_every_rank_are_not_a_straggler():
    jitter = {0: [0.001, 0.006] * 20, 1: [0.004, 0.002] * 20}
    assert skew_of({r: noisy(r) for r in range(2)}, jitter)[0] == []
    alike = {0: [0.050] * 40, 1: [0.058] * 40}  # no one waits long
    assert skew_of({r: noisy(r) for r in range(2)}, alike)[0] == []


def test_the_report_of_rank_files_carries_the_finding_and_old_files_say_nothing(tmp_path):
    for rank in (0, 1):
        with Recorder(rank_path(tmp_path / "run.jsonl", rank)) as recorder:
            recorder(started(rank, 2))
            for i in range(30):
                recorder(step(i, 1.0 + i / 10, 0.05 if rank else 0.001))
            recorder(RunFinished(30))
    (group,) = expand([tmp_path / "run.jsonl"])
    kinds = {d["kind"]: d for d in report_files(group).report["diagnoses"]}
    assert STRAGGLER in kinds and kinds[STRAGGLER]["evidence"]
    # a recording made before outside_seconds existed reads, and judges no time
    events = read_recording(group[1]).events
    assert [e.outside_seconds for e in events if isinstance(e, StepStats)][:2] == [0.05, 0.05]


def run_skew(tmp_path: Path, world: int, model: str, bugs: str) -> dict:
    out = tmp_path / "ranks"
    out.mkdir()
    run_ranks_script(Path(skew_ranks.__file__), str(world), free_port(), str(out), model, bugs)
    (group,) = expand([out / "run.jsonl"])
    assert len(group) == world
    return {d["kind"]: d for d in report_files(group).report["diagnoses"]}


@pytest.mark.slow
def test_real_ranks_name_the_slow_rank_and_the_rank_with_other_labels(tmp_path):
    found = run_skew(tmp_path, 3, "mlp", "slow:1,labels:2")
    assert found[STRAGGLER]["message"].startswith("Rank 1 spends a median")
    assert found[LOSS_DIFFERS]["message"].startswith("Rank 2's loss was the highest")
    assert SAME_BATCHES not in found


@pytest.mark.slow
def test_real_ranks_on_the_same_batches(tmp_path):
    found = run_skew(tmp_path, 2, "gru", "same")
    assert SAME_BATCHES in found and found.keys() & SKEW_KINDS == {SAME_BATCHES}


@pytest.mark.slow
def test_real_ranks_with_their_own_data_are_quiet(tmp_path):
    found = run_skew(tmp_path, 3, "cnn", "none")
    assert not found.keys() & SKEW_KINDS, found
