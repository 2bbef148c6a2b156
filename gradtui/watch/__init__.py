"""``gradtui.watch(model, ...)``: watch your own model's gradients while it trains.

This package is itself callable, so ``gradtui.watch(model)`` works however it was imported,
and importing it does not import torch (``gradtui report`` and ``attach`` stay light); torch
loads on the first call.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from gradtui.callable_module import make_callable

if TYPE_CHECKING:
    from gradtui.watch.disabled import DisabledMonitor
    from gradtui.watch.monitor import Monitor


def watch(
    model: Any, optimizer: Any = None, record: Any = None, **options: Any
) -> Monitor | DisabledMonitor:
    """Start watching ``model``; returns a ``Monitor``.

    Call ``monitor.step(loss)`` after ``loss.backward()`` and before ``optimizer.step()``, once
    per optimizer step, and ``monitor.close()`` at the end (or use ``with``).

    model: any ``nn.Module`` (DDP and torch.compile wrappers are looked through; see
        docs/watch.md for what a compiled model shows).
    optimizer: when given, each update is measured right after ``optimizer.step()``;
        otherwise at the next forward pass.
    record: a JSON Lines file for ``gradtui attach`` / ``replay`` / ``report``; in a
        distributed run each rank writes ``NAME.rankN.jsonl``.
    every (16): steps between the heavier statistics (the chain's link gains, activation
        fractions, mean and max |grad|, zero fractions).
    finite_checks ("sampled"): how the module whose output first went non-finite is found.
        "sampled": the first non-finite step is replayed with a check on every module's
        output, and the checks stay on while steps stay non-finite; "always": every step
        is checked as it runs (no replay); "off": only the backward side is named.
    name: the run's name (default: the recording's file name, or the model's class).
    total_steps: for the progress display, when known.
    diagnose (True): run the diagnosis rules as it goes and log each finding once.
    on_event: a callable that receives every event (StepStats, ...), in order, on gradtui's
        writer thread; with it, the rules and the recording run on that thread too, and
        without it in a writer process of gradtui's (``monitor.writer`` says which).
    keep_every_step (False): record every step; by default a run longer than 10,000 steps
        keeps one step in 16 after that, plus every step where a rule fired or that went
        non-finite (the recording says so).
    """
    from gradtui.recording import RecordingError
    from gradtui.watch.disabled import DisabledMonitor, disabled_monitor
    from gradtui.watch.monitor import Monitor, Unsupported

    try:
        return Monitor(model, optimizer, record, **options)
    except (TypeError, ValueError):
        raise
    except Unsupported as exc:
        logging.getLogger("gradtui.watch").warning(
            "gradtui.watch cannot watch %s yet; your training goes on, unwatched.", exc
        )
        return DisabledMonitor(model)
    except RecordingError as exc:  # the file is taken, a folder, on a full disk, ...
        logging.getLogger("gradtui.watch").warning(
            "gradtui.watch cannot record: %s; your training goes on, unwatched.", exc
        )
        return DisabledMonitor(model)
    except Exception as exc:
        return disabled_monitor(exc, model)


def __getattr__(name: str) -> Any:
    if name == "Monitor":
        from gradtui.watch.monitor import Monitor

        return Monitor
    raise AttributeError(name)


make_callable(__name__, watch)
