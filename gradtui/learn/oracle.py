"""Autograd's side of the hand-backprop exercise (torch): run as a worker process.

    python -m gradtui.learn.oracle      # one JSON request a line on stdin, one answer a line out

A request is a ``Net`` as a dict; the answer maps each line's key (y, W2, b2, h, z1, W1, b1) to
the gradient autograd computed (flattened, float64), plus ``first``: x.grad for y = x**2 + 3x.
The UI talks to this process and never imports torch itself.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def autograd_values(net: dict[str, Any]) -> dict[str, list[float]]:
    import torch

    def leaf(value: Any) -> torch.Tensor:
        return torch.tensor(value, dtype=torch.float64, requires_grad=True)

    W1, b1, b2 = leaf(net["W1"]), leaf(net["b1"]), leaf([net["b2"]])
    W2 = leaf([net["W2"]])
    x = torch.tensor(net["x"], dtype=torch.float64)
    z1 = W1 @ x + b1
    h = torch.sigmoid(z1) if net["activation"] == "sigmoid" else torch.tanh(z1)
    y = (W2 @ h + b2).squeeze()
    loss = (y - net["t"]) ** 2
    for tensor in (z1, h, y):
        tensor.retain_grad()
    loss.backward()
    grads = {"y": y.grad, "W2": W2.grad, "b2": b2.grad, "h": h.grad, "z1": z1.grad}
    grads |= {"W1": W1.grad, "b1": b1.grad}
    return {key: [float(v) for v in grad.reshape(-1)] for key, grad in grads.items()}


def first_example(x_value: float) -> float:
    import torch

    x = torch.tensor(x_value, requires_grad=True)
    y = x**2 + 3 * x
    y.backward()
    return float(x.grad)


def main() -> None:
    for raw in sys.stdin:
        try:
            request = json.loads(raw)
            answer: dict[str, Any] = {"id": request.get("id")}
            if "net" in request:
                answer["grads"] = autograd_values(request["net"])
            if "first" in request:
                answer["first"] = first_example(float(request["first"]))
        except Exception as exc:  # a bad request is answered, not fatal
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
