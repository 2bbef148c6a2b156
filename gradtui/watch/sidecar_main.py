"""The writer process's side (see sidecar.py): consume the batches the monitor sends, write
the recording, and answer with findings, diagnoses and errors. Started by the monitor with
the recording's file already open (and locked) as a file descriptor. No torch.

Messages in: first a config dict, then lists whose items are events, or tuples:
``("flush", n)`` (answered ``("flushed", n, diagnoses, layer_status)``), ``("end", event)``
(a last line written past the rules) and ``("stop", n)`` (answered ``("stopped", n, ...)``).
Messages out: ``("ready",)``, ``("found", [diagnosis, ...])``, ``("failed", text)``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from gradtui.diagnosis import Diagnoser
from gradtui.recording import Recorder
from gradtui.watch.consumer import Consumer
from gradtui.watch.frames import receive, send

# The recording is flushed after each batch; a batch is at most about 32 steps or 0.1 s.
FILE_BUFFER = 1 << 16


def main() -> None:
    with contextlib.suppress(KeyboardInterrupt):  # a SIGINT sent here: keep what was written
        _main()


def _main() -> None:
    source, replies = sys.stdin.buffer.fileno(), sys.stdout.buffer.fileno()
    sys.stdout = sys.stderr  # a stray print must not land among the replies
    config: dict[str, Any] = receive(source)  # type: ignore[assignment]
    recorder = _recorder(config)
    consumer = Consumer(
        Diagnoser() if config["diagnose"] else None,
        recorder,
        config["thinning"],
        announce=lambda fired: send(replies, ("found", fired)),
    )
    try:
        send(replies, ("ready",))
        _serve(source, replies, consumer)
    except OSError:
        pass  # the monitor's process is gone: keep what was written
    finally:
        if recorder is not None:
            recorder.close()


def _recorder(config: dict[str, Any]) -> Recorder | None:
    if config["fd"] is None:
        return None
    file = os.fdopen(config["fd"], "w", encoding="utf-8", buffering=FILE_BUFFER)
    path = Path(config["path"])
    return Recorder.continuing(file, path, config["layer_digits"], config.get("header"))


def _serve(source: int, replies: int, consumer: Consumer) -> None:
    failed = False
    while (batch := receive(source)) is not None:
        for item in batch:  # type: ignore[attr-defined]
            if not isinstance(item, tuple):
                if not failed:
                    failed = _consume(consumer, item, replies)
                continue
            tag = item[0]
            if tag == "end":
                consumer.end(item[1])
            elif tag in ("flush", "stop"):
                failed = failed or _flush(consumer, replies)
                answer = "flushed" if tag == "flush" else "stopped"
                send(replies, (answer, item[1], consumer.diagnoses(), consumer.layer_status()))
                if tag == "stop":
                    return
        failed = failed or _flush(consumer, replies)


def _consume(consumer: Consumer, event: object, replies: int) -> bool:
    try:
        consumer(event)  # type: ignore[arg-type]
    except Exception as exc:
        send(replies, ("failed", f"{type(exc).__name__}: {exc}"))
        return True
    return False


def _flush(consumer: Consumer, replies: int) -> bool:
    if consumer.recorder is None:
        return False
    try:
        consumer.recorder.flush()
    except OSError as exc:
        send(replies, ("failed", f"{type(exc).__name__}: {exc}"))
        return True
    return False


if __name__ == "__main__":
    main()
