"""What watching costs: per-step time of a user-style training loop, bare and watched.

For each model the same loop runs, in this process, interleaved in rounds so that machine
noise hits every variant alike:

- bare: zero_grad, forward, backward, loss.item(), optimizer step;
- gradtui.watch (every=16, the default; recording to a file, diagnoses on);
- gradtui.watch every=1 (heavy statistics and finiteness checks on every step);
- TensorBoard: SummaryWriter.add_histogram of every parameter's gradient, every step;
- anomaly mode: the loop under torch.autograd.set_detect_anomaly(True).

Prints milliseconds per step (median of the rounds) and the ratio to the bare loop.
TensorBoard is not a gradtui dependency: without it (``pip install tensorboard``) its column
says so and the rest is measured.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from torch import nn

import gradtui

Batch = tuple[torch.Tensor, torch.Tensor]


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


def mlp() -> tuple[nn.Module, Batch]:
    layers: list[nn.Module] = [nn.Linear(64, 256), nn.ReLU()]
    for _ in range(6):
        layers += [nn.Linear(256, 256), nn.ReLU()]
    layers.append(nn.Linear(256, 10))
    return nn.Sequential(*layers), (torch.randn(128, 64), torch.randint(0, 10, (128,)))


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
    "mlp 8x256": mlp,
    "cnn 3 conv": cnn,
    "transformer 2x128": transformer,
    "transformer 6x512": transformer_large,  # 23M parameters: by default on a GPU only
}
SMALL = list(MODELS)[:3]


@contextlib.contextmanager
def no_extra(model: nn.Module, opt: torch.optim.Optimizer, folder: Path) -> Iterator[Callable]:
    yield lambda loss: None


def watch_variant(every: int) -> Callable:
    @contextlib.contextmanager
    def variant(model: nn.Module, opt: torch.optim.Optimizer, folder: Path) -> Iterator[Callable]:
        monitor = gradtui.watch(model, opt, record=folder / f"w{every}.jsonl", every=every)
        yield monitor.step
        monitor.close()

    return variant


@contextlib.contextmanager
def tensorboard(model: nn.Module, opt: torch.optim.Optimizer, folder: Path) -> Iterator[Callable]:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(folder / "tb"))
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    state = {"step": 0}

    def log(_loss: torch.Tensor) -> None:
        for name, p in named:
            if p.grad is not None:
                writer.add_histogram(f"grad/{name}", p.grad, state["step"])
        state["step"] += 1

    yield log
    writer.close()


@contextlib.contextmanager
def anomaly(model: nn.Module, opt: torch.optim.Optimizer, folder: Path) -> Iterator[Callable]:
    with torch.autograd.set_detect_anomaly(True):
        yield lambda loss: None


def has_tensorboard() -> bool:
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        return False
    return True


def timed_loop(
    make: Callable, variant: Callable, steps: int, device: torch.device, compile: bool = False
) -> float:
    torch.manual_seed(0)
    model, (x, y) = make()
    model, x, y = model.to(device), x.to(device), y.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    if compile:  # compiled at the first warm-up step, which is not timed
        model = torch.compile(model)
    with tempfile.TemporaryDirectory() as tmp, variant(model, opt, Path(tmp)) as after_backward:
        for _ in range(3):  # warm-up steps, not timed
            _one_step(model, opt, x, y, after_backward)
        _sync(device)
        start = time.perf_counter()
        for _ in range(steps):
            _one_step(model, opt, x, y, after_backward)
        _sync(device)
        return (time.perf_counter() - start) / steps


def syncs_per_step(make: Callable, variant: Callable, steps: int, device: torch.device) -> float:
    """Host-device synchronisations per step (CUDA's sync debug mode counts them)."""
    torch.manual_seed(0)
    model, (x, y) = make()
    model, x, y = model.to(device), x.to(device), y.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    with tempfile.TemporaryDirectory() as tmp, variant(model, opt, Path(tmp)) as after_backward:
        for _ in range(3):
            _one_step(model, opt, x, y, after_backward)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                for _ in range(steps):
                    _one_step(model, opt, x, y, after_backward)
            finally:
                torch.cuda.set_sync_debug_mode(0)
    return sum("synchroniz" in str(w.message) for w in caught) / steps


def _one_step(model, opt, x, y, after_backward: Callable) -> None:
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
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
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--models", nargs="*", choices=list(MODELS), help="default: all on a GPU")
    parser.add_argument(
        "--compile", action="store_true", help="torch.compile each model (bare and watched only)"
    )
    args = parser.parse_args()
    device = torch.device(args.device)
    if not args.models:
        args.models = list(MODELS) if device.type == "cuda" else SMALL
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
        f"{args.steps} steps x {args.rounds} rounds, median ms/step (ratio to bare)"
    )
    if args.compile:
        print("every model under torch.compile (compiled in the untimed warm-up)")
    elif variants["tensorboard"] is None:
        print("tensorboard is not installed (pip install tensorboard): its column is skipped")
    names = [n for n, v in variants.items() if v is not None]
    print(f"{'model':<20}" + "".join(f"{n:>20}" for n in names))
    for label in args.models:
        times: dict[str, list[float]] = {n: [] for n in names}
        for _ in range(args.rounds):
            for name in names:
                loop = timed_loop(MODELS[label], variants[name], args.steps, device, args.compile)
                times[name].append(loop)
        median = {n: statistics.median(t) for n, t in times.items()}
        cells = [f"{median[n] * 1e3:9.2f} ({median[n] / median['bare']:5.2f}x)" for n in names]
        print(f"{label:<20}" + "".join(f"{c:>20}" for c in cells), flush=True)
    if device.type == "cuda":
        print("host-device synchronisations per step (the bare loop's loss.item() is one):")
        for label in args.models:
            counts = [
                f"{name} {syncs_per_step(MODELS[label], variants[name], 32, device):.2f}"
                for name in names
                if name != "tensorboard"  # histograms copy every gradient to the host
            ]
            print(f"  {label:<18} " + ", ".join(counts), flush=True)


if __name__ == "__main__":
    main()
