"""The learning material's plain-Python side: the hand-backprop values against autograd, the
oracle worker's protocol, the digest the answers read, progress, and the sweep."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from gradtui.events import LayerInfo, RunFailed, RunStarted, StepStats
from gradtui.learn import handprop, oracle
from gradtui.learn.client import OracleClient
from gradtui.learn.digest import RunDigest
from gradtui.learn.progress import Progress, progress_path
from gradtui.learn.sweep import parse_lrs, run_sweep, sweep_specs
from gradtui.scenario.spec import ScenarioError, resolve


@pytest.mark.parametrize("activation", handprop.ACTIVATIONS)
@pytest.mark.parametrize("seed", range(6))
def test_every_line_by_hand_matches_autograd(activation: str, seed: int):
    net = handprop.random_net(seed, activation)
    theirs = oracle.autograd_values(net.to_dict())
    lines = handprop.backward_lines(net)
    assert [line.key for line in lines] == ["y", "W2", "b2", "h", "z1", "W1", "b1"]
    for line in lines:
        assert len(theirs[line.key]) == math.prod(line.shape or (1,))
        assert handprop.difference(line.value, tuple(theirs[line.key])) < 1e-12, line.label
    assert any(abs(v) > 1e-3 for line in lines for v in line.value)  # not trivially zero


def test_the_activation_changes_the_local_factor_only():
    sigmoid = handprop.random_net(3, "sigmoid")
    tanh = handprop.random_net(3, "tanh")
    assert sigmoid.W1 == tanh.W1 and sigmoid.x == tanh.x
    assert handprop.forward(sigmoid).h != handprop.forward(tanh).h
    assert "⊙ h ⊙ (1 − h)" in handprop.backward_lines(sigmoid)[4].formula
    assert "⊙ (1 − h²)" in handprop.backward_lines(tanh)[4].formula  # not ⊙ 1 − h²


def test_the_first_example_is_seven():
    assert handprop.first_example() == (10.0, 7.0)
    assert oracle.first_example(2.0) == 7.0


def test_the_oracle_worker_answers_over_its_pipe():
    client = OracleClient()
    net = handprop.random_net(5, "tanh")
    try:
        answer = client.ask({"net": net.to_dict(), "first": 2.0})
        again = client.ask({"first": 2.0})  # the same process, a second question
    finally:
        client.close()
    assert answer["first"] == 7.0 and again["first"] == 7.0
    for line in handprop.backward_lines(net):
        assert handprop.difference(line.value, tuple(answer["grads"][line.key])) < 1e-12


def test_the_oracle_answers_a_bad_request_with_an_error():
    result = subprocess.run(
        [sys.executable, "-m", "gradtui.learn.oracle"],
        input='{"net": {"W1": 3}}\n',
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "error" in json.loads(result.stdout)


def _started(layers: int = 3) -> RunStarted:
    infos = tuple(LayerInfo(f"l{i}", "Linear", i, 10) for i in range(layers))
    return RunStarted("demo", "Demo", "", {"train": {"lr": 0.1}}, infos, ("b0", "b1"), 5, 10)


def _step(step: int, loss: float, norms: tuple, blocks=(1e-3, 1.0), total=1.0) -> StepStats:
    return StepStats(step, loss, total, None, norms, (0,) * len(norms), (1.0,) * len(norms),
                     (1e-3,) * len(norms), blocks)  # fmt: skip


def test_the_digest_keeps_what_the_answers_quote():
    digest = RunDigest()
    digest.absorb(_started())
    digest.absorb(_step(0, 2.0, (1e-6, 1e-3, 1e-1), total=3.0))
    digest.absorb(_step(1, 1.0, (2e-6, None, 2e-1), total=5.0))
    digest.absorb(_step(2, math.nan, (math.nan, 1.0, 1.0), total=math.inf))
    assert digest.name == "demo" and digest.lr == 0.1 and digest.steps == 3
    assert digest.first_loss == 2.0 and math.isnan(digest.final_loss)
    assert digest.layer_ratio == pytest.approx(1e-5)  # the last finite step's
    assert digest.chain_ratio == pytest.approx(1e-3)
    assert digest.max_finite_grad_norm == 5.0 and digest.max_grad_norm == math.inf
    assert digest.first_nonfinite_step == 2 and digest.missing == ()
    digest.absorb(RunFailed(3, "RuntimeError", "boom"))
    assert digest.finished and digest.failure.message == "boom"
    digest.absorb(_started())  # a restart starts over
    assert digest.steps == 0 and digest.failure is None


def test_progress_persists_under_xdg_config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert progress_path() == tmp_path / "gradtui" / "course.json"
    Progress().mark(3)
    Progress().mark(1)
    assert Progress().done == {1, 3}
    assert json.loads(progress_path().read_text()) == {"done": [1, 3]}


def test_a_damaged_progress_file_starts_afresh(tmp_path):
    path = tmp_path / "course.json"
    for text in ("{not json", '{"done": "x"}', "[1, 2]", '{"done": [99, 2]}'):
        path.write_text(text)
        assert Progress(path).done <= {2}


def test_sweep_rows_show_the_threshold():
    specs = sweep_specs(resolve("exploding_no_clip").with_overrides(steps=30), [0.01, 0.25])
    assert [s.train.lr for s in specs] == [0.01, 0.25]
    low, high = run_sweep(specs)
    assert low["nonfinite_step"] is None and math.isfinite(low["final_loss"])
    assert high["nonfinite_step"] is not None and high["nonfinite_step"] < 30


def test_sweep_learning_rates_are_validated():
    assert parse_lrs("0.01, 0.1,1") == [0.01, 0.1, 1.0]
    for bad in ("", "x", "0.1,-1", "nan"):
        with pytest.raises(ScenarioError, match="--lr"):
            parse_lrs(bad)


@pytest.mark.slow
def test_sweep_command_json_and_table():
    base = [sys.executable, "-m", "gradtui", "sweep", "exploding_no_clip", "--steps", "30"]
    out = subprocess.run([*base, "--lr", "0.01,0.25", "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    runs = json.loads(out.stdout)["runs"]
    assert runs[0]["nonfinite_step"] is None and runs[1]["final_loss"] is None
    table = subprocess.run([*base, "--lr", "0.01,0.25"], capture_output=True, text=True)
    assert "blows up at lr 0.25" in table.stdout
    bad = subprocess.run([*base, "--lr", "fast"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("gradtui: --lr:")


def test_help_lists_the_new_commands():
    result = subprocess.run(
        [sys.executable, "-m", "gradtui", "--help"], capture_output=True, text=True, timeout=60
    )
    assert all(name in result.stdout for name in ("check", "learn", "sweep"))
