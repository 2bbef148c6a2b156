"""What a lesson's answer quotes about a run, absorbed one event at a time (no torch).

The course tees every event of a lesson's runs into a ``RunDigest``, so an answer states the
numbers of the run the learner just watched, whatever its seed or learning rate.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from gradtui.events import Event, RunFailed, RunFinished, RunStarted, StepStats


@dataclass
class RunDigest:
    name: str = ""
    layers: tuple[str, ...] = ()
    lr: float | None = None
    steps: int = 0
    first_loss: float | None = None
    final_loss: float | None = None
    max_grad_norm: float = 0.0  # the largest total gradient norm seen (inf when non-finite)
    max_finite_grad_norm: float = 0.0  # the largest that was still finite
    first_nonfinite_step: int | None = None
    # Latest step at which both ends were measured: first layer's |∂L/∂W| and the last one's.
    first_layer_grad: float | None = None
    last_layer_grad: float | None = None
    first_block_grad: float | None = None  # |∂L/∂(output)| at the first and the last block
    last_block_grad: float | None = None
    missing: tuple[str, ...] = ()  # layers whose .grad was None at the latest step
    failure: RunFailed | None = None
    finished: bool = False
    _update_medians: list[float] = field(default_factory=list)

    def absorb(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.__init__()  # a restart begins a new digest
            self.name = event.scenario
            self.layers = tuple(layer.name for layer in event.layers)
            self.lr = (event.spec.get("train") or {}).get("lr")
        elif isinstance(event, StepStats):
            self._step(event)
        elif isinstance(event, RunFailed):
            self.failure = event
            self.finished = True
        elif isinstance(event, RunFinished):
            self.finished = True

    def _step(self, stats: StepStats) -> None:
        self.steps = stats.step + 1
        if self.first_loss is None:
            self.first_loss = stats.loss
        self.final_loss = stats.loss
        total = stats.grad_norm_total
        finite = math.isfinite(stats.loss) and math.isfinite(total)
        if not finite and self.first_nonfinite_step is None:
            self.first_nonfinite_step = stats.step
        self.max_grad_norm = max(self.max_grad_norm, total if math.isfinite(total) else math.inf)
        if math.isfinite(total):
            self.max_finite_grad_norm = max(self.max_finite_grad_norm, total)
        norms = stats.grad_norm
        self.missing = tuple(name for name, n in zip(self.layers, norms, strict=False) if n is None)
        if norms and norms[0] and norms[-1] and finite:
            self.first_layer_grad, self.last_layer_grad = norms[0], norms[-1]
        blocks = stats.block_grad_norm or ()
        if len(blocks) > 1 and blocks[0] is not None and blocks[-1] and finite:
            self.first_block_grad, self.last_block_grad = blocks[0], blocks[-1]
        ratios = [r for r in stats.update_ratio if math.isfinite(r) and r > 0]
        if ratios:
            self._update_medians.append(statistics.median(ratios))

    @property
    def layer_ratio(self) -> float | None:
        """First layer's gradient over the last layer's, at the latest finite step."""
        if self.first_layer_grad is None or not self.last_layer_grad:
            return None
        return self.first_layer_grad / self.last_layer_grad

    @property
    def chain_ratio(self) -> float | None:
        """|∂L/∂(first block's output)| over the last block's: the whole chain's product."""
        if self.first_block_grad is None or not self.last_block_grad:
            return None
        return self.first_block_grad / self.last_block_grad

    @property
    def update_ratio(self) -> float | None:
        """The median over steps of the median |ΔW|/|W| across layers."""
        return statistics.median(self._update_medians) if self._update_medians else None
