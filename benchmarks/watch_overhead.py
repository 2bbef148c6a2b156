"""What watching costs: per-step time of a user-style training loop, bare and watched.

Models: three MLPs on a batch of 128 (64 inputs, 10 outputs, MSE, plain SGD): W1 20x256
sigmoid, W2 20x64 ReLU, W3 8x1024 ReLU; a small CNN and a 2-block transformer (Adam, cross
entropy); and a large-layer model, 4 x Linear(3500, 3500) on a batch of 8 (Adam, MSE), whose
peak memory is also measured, bare and watched, each in a fresh process.

For each model the same loop runs, in this process, interleaved in rounds so that machine
noise hits every variant alike:

- bare: zero_grad, forward, backward, loss.item(), optimizer step;
- gradtui.watch (every=16, the default; recording to a file, diagnoses on);
- gradtui.watch every=1 (heavy statistics and finiteness checks on every step);
- TensorBoard: SummaryWriter.add_histogram of every parameter's gradient, every step;
- anomaly mode: the loop under torch.autograd.set_detect_anomaly(True).

Prints milliseconds per step (median of the rounds), the ratio to the bare loop and the
spread of the per-round ratios (min-max).
TensorBoard is not a gradtui dependency: without it (``pip install tensorboard``) its column
says so and the rest is measured.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from torch import nn

import gradtui

Batch = tuple[torch.Tensor, torch.Tensor]
Setup = tuple[nn.Module, Batch]


class Block(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, 4, batch_first=True)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.ln1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


class Transformer(nn.Module):
    def __init__(self, vocab: int, dim: int, depth: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.blocks = nn.ModuleList(Block(dim) for _ in range(depth))
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x)).flatten(0, 1)


def deep_mlp(depth: int, width: int, activation: type[nn.Module]) -> Callable[[], Setup]:
    """``depth`` hidden Linear layers of ``width``, then a head: 64 inputs, 10 outputs."""

    def make() -> Setup:
        layers: list[nn.Module] = [nn.Linear(64, width), activation()]
        for _ in range(depth - 1):
            layers += [nn.Linear(width, width), activation()]
        layers.append(nn.Linear(width, 10))
        return nn.Sequential(*layers), (torch.randn(128, 64), torch.randn(128, 10))

    return make


def large_layers() -> Setup:
    model = nn.Sequential(*[nn.Linear(3500, 3500) for _ in range(4)])  # 49M parameters
    return model, (torch.randn(8, 3500), torch.randn(8, 3500))


def cnn() -> tuple[nn.Module, Batch]:
    model = nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10),
    )  # fmt: skip
    return model, (torch.randn(32, 3, 32, 32), torch.randint(0, 10, (32,)))


def transformer() -> tuple[nn.Module, Batch]:
    tokens = torch.randint(0, 256, (16, 64))
    return Transformer(256, 128, 2), (tokens, tokens.roll(1, 1).flatten())


def transformer_large() -> tuple[nn.Module, Batch]:
    tokens = torch.randint(0, 4096, (16, 256))
    return Transformer(4096, 512, 6), (tokens, tokens.roll(1, 1).flatten())


MODELS = {
    "W1 mlp 20x256 sigm": deep_mlp(20, 256, nn.Sigmoid),
    "W2 mlp 20x64 relu": deep_mlp(20, 64, nn.ReLU),
    "W3 mlp 8x1024 relu": deep_mlp(8, 1024, nn.ReLU),
    "cnn 3 conv": cnn,
    "transformer 2x128": transformer,
    "large 4x3500": large_layers,
    "transformer 6x512": transformer_large,  # 23M parameters: by default on a GPU only
    "mlp 8x256": deep_mlp(8, 256, nn.ReLU),  # the compiled-model table's MLP
}
ON_CPU = list(MODELS)[:6]
# The loss and optimizer of each model: the MLPs train as the issue measured them.
SGD_MSE = {"W1 mlp 20x256 sigm", "W2 mlp 20x64 relu", "W3 mlp 8x1024 relu"}
MSE = SGD_MSE | {"large 4x3500"}
# Histograms of every gradient of these, every step, take too long to time.
NO_TENSORBOARD = {"large 4x3500"}
# Models slow enough per step on a CPU to run fewer steps a round.
STEPS_SCALE = {"large 4x3500": 0.05, "W3 mlp 8x1024 relu": 0.5}


# Each variant is a context manager that yields (after_backward, finish): after_backward runs
# in every step, finish once at the end of the timed loop, inside the timing, so that work a
# variant leaves to a thread of its own (gradtui's writer, TensorBoard's) is paid for.
Hooks = tuple[Callable[[torch.Tensor], None], Callable[[], None]]


def _nothing(*_: object) -> None:
    return None


@contextlib.contextmanager
def no_extra(model: nn.Module, opt: torch.optim.Optimizer, folder: Path) -> Iterator[Hooks]:
    yield _nothing, _nothing


def watch_variant(every: int) -> Callable:
    @contextlib.contextmanager
    def variant(model: nn.Module, opt: torch.optim.Optimizer, folder: Path) -> Iterator[Hooks]:
        monitor = gradtui.watch(model, opt, record=folder / f"w{every}.jsonl", every=every)
        yield monitor.step, monitor.flush
        monitor.close()

    return variant


@contextlib.contextmanager
def tensorboard(model: nn.Module, opt: torch.optim.Optimizer, folder: Path) -> Iterator[Hooks]:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(folder / "tb"))
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    state = {"step": 0}

    def log(_loss: torch.Tensor) -> None:
        for name, p in named:
            if p.grad is not None:
                writer.add_histogram(f"grad/{name}", p.grad, state["step"])
        state["step"] += 1

    yield log, writer.flush
    writer.close()


@contextlib.contextmanager
def anomaly(model: nn.Module, opt: torch.optim.Optimizer, folder: Path) -> Iterator[Hooks]:
    with torch.autograd.set_detect_anomaly(True):
        yield _nothing, _nothing


def has_tensorboard() -> bool:
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        return False
    return True


def setup(label: str, device: torch.device):
    torch.manual_seed(0)
    model, (x, y) = MODELS[label]()
    model, x, y = model.to(device), x.to(device), y.to(device)
    if label in SGD_MSE:
        opt: torch.optim.Optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.functional.mse_loss if label in MSE else nn.functional.cross_entropy
    return model, x, y, opt, loss_fn


def timed_loop(
    label: str, variant: Callable, steps: int, device: torch.device, compile: bool = False
) -> float:
    model, x, y, opt, loss_fn = setup(label, device)
    if compile:  # compiled at the first warm-up step, which is not timed
        model = torch.compile(model)
    with tempfile.TemporaryDirectory() as tmp, variant(model, opt, Path(tmp)) as hooks:
        after_backward, finish = hooks
        for _ in range(3):  # warm-up steps, not timed
            _one_step(model, opt, x, y, loss_fn, after_backward)
        _sync(device)
        finish()
        start = time.perf_counter()
        for _ in range(steps):
            _one_step(model, opt, x, y, loss_fn, after_backward)
        _sync(device)
        finish()
        return (time.perf_counter() - start) / steps


def syncs_per_step(label: str, variant: Callable, steps: int, device: torch.device) -> float:
    """Host-device synchronisations per step (CUDA's sync debug mode counts them)."""
    model, x, y, opt, loss_fn = setup(label, device)
    with tempfile.TemporaryDirectory() as tmp, variant(model, opt, Path(tmp)) as hooks:
        after_backward, _ = hooks
        for _ in range(3):
            _one_step(model, opt, x, y, loss_fn, after_backward)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                for _ in range(steps):
                    _one_step(model, opt, x, y, loss_fn, after_backward)
            finally:
                torch.cuda.set_sync_debug_mode(0)
    return sum("synchroniz" in str(w.message) for w in caught) / steps


def peak_memory(label: str, variant: str, steps: int) -> tuple[int, int]:
    """Peak resident bytes of a fresh process that trains ``label`` for ``steps`` steps, and
    of its writer process (0 for none)."""
    code = f"import watch_overhead as w; w.memory_child({label!r}, {variant!r}, {steps})"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        check=True,
    )
    trainer, writer = done.stdout.split()[-2:]
    return int(trainer), int(writer)


def memory_child(label: str, variant: str, steps: int) -> None:
    """Prints this process's peak resident bytes, and the writer process's (0 if none)."""
    torch.set_num_threads(1)
    device = torch.device("cpu")
    with tempfile.TemporaryDirectory() as tmp:
        model, x, y, opt, loss_fn = setup(label, device)
        monitor = gradtui.watch(model, opt, record=Path(tmp) / "w.jsonl") if variant else None
        for _ in range(steps):
            _one_step(model, opt, x, y, loss_fn, monitor.step if monitor else _nothing)
        writer = 0
        if monitor is not None:
            monitor.flush()
            if monitor.writer == "process":
                writer = peak_resident(monitor._worker._process.pid)
            monitor.close()
    print(peak_resident(), writer)


def peak_resident(pid: int | str = "self") -> int:
    """A process's peak resident bytes: VmHWM (ru_maxrss would carry over the parent's peak
    across fork and exec)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))
        return int(kb) * 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 if pid == "self" else 0


def _one_step(model, opt, x, y, loss_fn: Callable, after_backward: Callable) -> None:
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    after_backward(loss)
    loss.item()  # a user's loop reads its loss (to print or log it)
    opt.step()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads on a CPU")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--models", nargs="*", choices=list(MODELS), help="default: all on a GPU")
    parser.add_argument(
        "--compile", action="store_true", help="torch.compile each model (bare and watched only)"
    )
    parser.add_argument(
        "--memory-steps", type=int, default=3, help="steps of the large model's memory runs"
    )
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    if not args.models:
        args.models = list(MODELS) if device.type == "cuda" else ON_CPU
    variants: dict[str, Callable | None] = {
        "bare": no_extra,
        "watch": watch_variant(16),
        "watch k=1": watch_variant(1),
        "tensorboard": tensorboard if has_tensorboard() and not args.compile else None,
        "anomaly": None if args.compile else anomaly,
    }
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(
        f"torch {torch.__version__} on {where}, {torch.get_num_threads()} threads; "
        f"{args.steps} steps x {args.rounds} rounds, median ms/step (ratio to bare) "
        "[spread of the per-round ratios]"
    )
    if args.compile:
        print("every model under torch.compile (compiled in the untimed warm-up)")
    elif variants["tensorboard"] is None:
        print("tensorboard is not installed (pip install tensorboard): its column is skipped")
    names = [n for n, v in variants.items() if v is not None]
    print(f"{'model':<20}" + "".join(f"{n:>30}" for n in names))
    for label in args.models:
        steps = max(2, round(args.steps * STEPS_SCALE.get(label, 1.0)))
        timed = [n for n in names if not (n == "tensorboard" and label in NO_TENSORBOARD)]
        times: dict[str, list[float]] = {n: [] for n in timed}
        for _ in range(args.rounds):
            for name in timed:
                loop = timed_loop(label, variants[name], steps, device, args.compile)
                times[name].append(loop)
        median = {n: statistics.median(t) for n, t in times.items()}
        cells = [
            f"{median[n] * 1e3:9.2f} ({median[n] / median['bare']:5.2f}x)"
            + (f" [{_spread(times[n], times['bare'])}]" if n != "bare" else "")
            if n in times
            else "-"
            for n in names
        ]
        print(f"{label:<20}" + "".join(f"{c:>30}" for c in cells), flush=True)
    if "large 4x3500" in args.models and device.type == "cpu" and not args.compile:
        model, *_ = setup("large 4x3500", device)
        state = 3 * sum(p.numel() * p.element_size() for p in model.parameters())  # w + Adam
        bare, _ = peak_memory("large 4x3500", "", args.memory_steps)
        watched, writer = peak_memory("large 4x3500", "watch", args.memory_steps)
        extra = watched - bare + writer
        print(
            f"large 4x3500 peak memory: bare {bare / 2**20:.0f} MB, watched {watched / 2**20:.0f}"
            f" MB, and its writer process {writer / 2**20:.0f} MB: +{extra / 2**20:.0f} MB in "
            f"all, {100 * extra / state:.1f}% of the parameters and Adam's state "
            f"({state / 2**20:.0f} MB)"
        )
    if device.type == "cuda":
        print("host-device synchronisations per step (the bare loop's loss.item() is one):")
        for label in args.models:
            counts = [
                f"{name} {syncs_per_step(label, variants[name], 32, device):.2f}"
                for name in names
                if name != "tensorboard"  # histograms copy every gradient to the host
            ]
            print(f"  {label:<18} " + ", ".join(counts), flush=True)


def _spread(times: list[float], bare: list[float]) -> str:
    """Min-max of the ratios of rounds run side by side."""
    ratios = [t / b for t, b in zip(times, bare, strict=True)]
    return f"{min(ratios):.2f}-{max(ratios):.2f}"


if __name__ == "__main__":
    main()
