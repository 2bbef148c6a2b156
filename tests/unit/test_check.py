"""gradtui.check: each planted bug fails its own line, the fixed models pass every line, and
the user's model, optimizer, gradients and random state are left as they were."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import gradtui
from tests.unit import check_examples
from tests.unit import check_targets as targets

ROOT = Path(__file__).resolve().parents[2]
TARGETS = "tests/unit/check_targets.py"


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("maker", ["make_healthy", "make_healthy_classifier"])
def test_the_fixed_models_pass_every_line(maker: str):
    report = gradtui.check(*getattr(targets, maker)(), show=False)
    assert [item.status for item in report.items] == ["pass"] * 6, str(report)
    assert report.ok and bool(report)
    assert report.loss_curve[-1] < 0.05 * report.loss_curve[0]


@pytest.mark.parametrize(("maker", "line"), sorted(targets.BUGS.items()))
def test_each_planted_bug_fails_its_line(maker: str, line: str):
    report = gradtui.check(*getattr(targets, maker)(), show=False)
    assert report.item(line).status == "fail", str(report)
    assert not report.ok
    item = report.item(line)
    assert item.why and item.fix


def test_the_failures_name_what_is_wrong():
    def summary(maker: str) -> str:
        report = gradtui.check(*getattr(targets, maker)(), show=False)
        return report.item(targets.BUGS[maker]).summary

    assert "scale" in summary("make_plain_tensor")
    assert "0.weight, 0.bias" in summary("make_optimizer_missing")
    assert "encoder.0.weight, encoder.0.bias" in summary("make_detached")
    assert "head" not in summary("make_detached")
    assert "log(softmax(x)) at " in summary("make_log_softmax")
    assert "check_targets.py" in summary("make_log_softmax")
    assert summary("make_exploding_init").startswith("exploding")
    assert summary("make_vanishing_init").startswith("vanishing")
    assert "0.3805 -> 0.3805" in summary("make_lr_zero")
    assert "does not require grad" in summary("make_frozen")
    assert "inplace" in summary("make_inplace")
    assert "check_targets.py" in summary("make_inplace")  # the line that made the tensor


def test_only_its_own_lines_fail_for_a_bug_that_is_not_about_gradients():
    report = gradtui.check(*targets.make_optimizer_missing(), show=False)
    assert report.failed() == ["optimizer"]
    report = gradtui.check(*targets.make_log_softmax(), show=False)
    assert report.failed() == ["graph"]


def test_the_users_model_optimizer_grads_and_rng_are_untouched():
    model, loss_fn, batch, opt = targets.make_healthy()
    loss_fn(model(batch[0]), batch[1]).backward()
    opt.step()  # some optimizer state to keep
    opt.zero_grad(set_to_none=False)
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    state = {k: {n: t.clone() for n, t in s.items()} for k, s in opt.state_dict()["state"].items()}
    rng = torch.random.get_rng_state()

    gradtui.check(model, loss_fn, batch, optimizer=opt, show=False)

    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    after = opt.state_dict()["state"]
    assert all(torch.equal(state[k][n], after[k][n]) for k in state for n in state[k])
    assert all(p.grad is not None and not p.grad.any() for p in model.parameters())
    assert torch.equal(rng, torch.random.get_rng_state())
    assert opt.param_groups[0]["params"][0] is next(model.parameters())


def test_no_optimizer_is_could_not_tell_and_the_overfit_uses_adam():
    model, loss_fn, batch, _opt = targets.make_healthy()
    report = gradtui.check(model, loss_fn, batch, show=False)
    assert report.item("optimizer").status == "unknown"
    assert report.item("overfit").status == "pass"
    assert report.ok  # an unknown is not a failure


def test_text_and_json():
    report = gradtui.check(*targets.make_exploding_init(), show=False)
    text = str(report)
    assert "[FAIL] one step's gradients" in text and "why: " in text and "fix: " in text
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))  # nan became null
    assert data["schema"] == "gradtui.check/1" and data["ok"] is False
    assert {c["id"] for c in data["checks"] if c["status"] == "fail"} >= {"magnitudes"}
    healthy = str(gradtui.check(*targets.make_healthy(), show=False))
    assert "log10(loss) over" in healthy and "all checks pass" in healthy


def test_bad_arguments_are_type_errors():
    model, loss_fn, batch, _opt = targets.make_healthy()
    with pytest.raises(TypeError, match="batch"):
        gradtui.check(model, loss_fn, batch[0])
    with pytest.raises(TypeError, match="optimizer"):
        gradtui.check(model, loss_fn, batch, optimizer="adam")


def test_importing_gradtui_does_not_import_torch():
    code = "import sys, gradtui; gradtui.check; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gradtui", "check", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


@pytest.mark.slow
def test_cli_exit_codes_and_json():
    healthy = _cli(f"{TARGETS}:make_healthy")
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "all checks pass" in healthy.stdout
    broken = _cli(f"{TARGETS}:make_detached", "--json", "--steps", "50")
    assert broken.returncode == 1
    data = json.loads(broken.stdout)
    assert [c["id"] for c in data["checks"] if c["status"] == "fail"] == ["loss_reaches_params"]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no/such/file.py", "no/such/file.py: no such file"),
        (f"{TARGETS}:make_nothing", "no function make_nothing()"),
        (f"{TARGETS}:_data", "_data(): expected it to return (model, loss_fn, batch"),
        (f"{TARGETS}:ScaledMLP", "expected it to return (model, loss_fn, batch[, optimizer])"),
    ],
)
def test_cli_unusable_input_is_one_line_and_exit_2(target: str, message: str):
    result = _cli(target)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cli_a_script_that_raises_is_exit_2(tmp_path: Path):
    script = tmp_path / "train.py"
    script.write_text("import torch\n\ndef make():\n    raise ValueError('no data here')\n")
    result = _cli(str(script))
    assert result.returncode == 2
    assert "make() raised ValueError: no data here (at " in result.stderr
    script.write_text("def make(:\n")
    assert "syntax error" in _cli(str(script)).stderr


PLAIN_SCRIPT = """import sys
import torch
from torch import nn

model = nn.Linear(2, 1)
opt = torch.optim.SGD(model.parameters(), lr=float(sys.argv[1]) if len(sys.argv) > 1 else 0.1)
for step in range(3):
    opt.zero_grad()
    model(torch.randn(4, 2)).pow(2).mean().backward()
    opt.step()
"""


def test_cli_a_script_that_trains_at_import_is_told_to_guard_it(tmp_path: Path):
    script = tmp_path / "train.py"
    script.write_text(PLAIN_SCRIPT)
    result = _cli(str(script))
    assert result.returncode == 2
    assert f"{script}:7: the file trains when it is imported" in result.stderr
    assert 'if __name__ == "__main__":' in result.stderr
    assert "could not convert" not in result.stderr and "Traceback" not in result.stderr
    script.write_text("import sys\n\nRATE = float(sys.argv[1])\n\ndef make():\n    pass\n")
    result = _cli(str(script))  # reads its own arguments at import: sees none, not check's
    assert result.returncode == 2 and "IndexError" in result.stderr
    assert 'put the training under `if __name__ == "__main__":`' in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("maker", check_examples.EXAMPLE_MAKERS)
def test_the_examples_models_pass_every_line(maker: str):
    """The models in examples/ (MLP, CNN with BatchNorm, transformer block, LSTM) are healthy."""
    model, loss_fn, batch, opt = getattr(check_examples, maker)()
    report = gradtui.check(model, loss_fn, batch, optimizer=opt, examples=4, show=False)
    assert report.ok and not report.failed(), str(report)
    assert all(item.status == "pass" for item in report.items), str(report)


@pytest.mark.slow
def test_cli_on_an_example():
    result = _cli("tests/unit/check_examples.py:make_cnn", "--json", "--examples", "4")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["ok"] is True


@pytest.mark.slow
def test_the_shipped_check_example_fails_its_two_bugs_and_its_fix_passes():
    broken = _cli("examples/check_before_training.py:make", "--json", "--steps", "100")
    assert broken.returncode == 1
    failed = [c["id"] for c in json.loads(broken.stdout)["checks"] if c["status"] == "fail"]
    assert failed == ["optimizer", "graph"]
    fixed = _cli("examples/check_before_training.py:make_fixed", "--steps", "100")
    assert fixed.returncode == 0, fixed.stdout


def test_a_model_that_cannot_be_copied_is_refused_in_one_line():
    import threading

    from gradtui.check.load import CheckInputError

    model, loss_fn, batch, opt = targets.make_healthy()
    model.lock = threading.Lock()  # deepcopy cannot copy a lock
    with pytest.raises(CheckInputError, match="cannot copy the model"):
        gradtui.check(model, loss_fn, batch, optimizer=opt, show=False)
