"""Spikes: a step whose gradient norm or loss leaves its recent band, and what followed.

An episode starts on the first step that is out of band (the total gradient norm, the loss, or
one layer's gradient norm). The bands stop learning while it lasts, so "back to normal" means
back near the values before it. The episode recovers once the gradient norm and the loss are
back near those values for SPIKE_CALM_STEPS steps in a row: a note that names the step, the
first layer out of its band and whether the gradients led the loss. One that has not recovered
after SPIKE_PATIENCE steps with the loss still high, or that turned non-finite, is kept as the
onset of a divergence: the divergence finding then names its first layer and step.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from gradtui.diagnosis import texts_spike
from gradtui.diagnosis import thresholds as T
from gradtui.diagnosis.context import Finding, RunInfo, StepView
from gradtui.diagnosis.spikes import Band
from gradtui.events import Diagnosis, StepStats

GRADIENT_SPIKE = "gradient_spike"


@dataclass
class Episode:
    start: int
    base_grad: float | None  # the medians before the spike
    base_loss: float | None
    window: int  # how many steps those medians cover
    grad_step: int | None = None
    grad_ratio: float = 0.0
    loss_step: int | None = None
    loss_ratio: float = 0.0
    layer_step: int | None = None
    layers: tuple[tuple[int, float], ...] = ()  # (layer, ratio) out of band at layer_step
    clipped_to: float | None = None  # the norm clipping left at the spike, when it clipped
    calm: int = 0
    end: int | None = None


class SpikeRule:
    def __init__(self, run: RunInfo) -> None:
        self.run = run
        self.total = Band(T.SPIKE_RATIO)
        self.loss = Band(T.LOSS_SPIKE_RATIO)
        self.layer_bands = [Band(T.SPIKE_RATIO) for _ in run.layers]
        self.episode: Episode | None = None
        self.recovered: list[Episode] = []
        self.just_recovered: Episode | None = None
        self.onset: Episode | None = None  # an episode that did not recover
        self._stopped = False
        # (step, ((layer, ratio), ...)) of the last few steps on which a layer left its band
        self.lead: deque[tuple[int, tuple[tuple[int, float], ...]]] = deque(maxlen=T.SPIKE_LEAD)
        self.start_loss: float | None = None

    def step(self, view: StepView) -> list[Finding]:
        s = view.stats
        self.just_recovered = None
        self.start_loss = view.loss.start
        if self._stopped:
            return []
        if self.episode is None:
            self.episode = self._start(s)
            if self.episode is None:
                self._learn(s)
            return []
        return self._follow(self.episode, s)

    def _learn(self, s: StepStats) -> None:
        while self.lead and s.step - self.lead[0][0] >= T.SPIKE_LEAD:
            self.lead.popleft()
        self.total.add(s.grad_norm_total)
        self.loss.add(s.loss)
        for band, norm in zip(self.layer_bands, s.grad_norm, strict=True):
            band.add(norm)

    def _start(self, s: StepStats) -> Episode | None:
        episode = Episode(s.step, self.total.median, self.loss.median, len(self.total.values))
        grad, loss, layers = self._excesses(s)
        if layers:
            self.lead.append((s.step, tuple(layers)))
        _note(episode, s, (grad, loss, ()))
        if episode.grad_step is not None:
            # a layer may leave its band a few steps before the total does: the earliest
            # such step in the lead window is where the spike began
            if self.lead:
                episode.layer_step, found = self.lead[0]
                episode.layers = _largest(found)
            return episode
        if episode.loss_step is None or self.loss.median is None or self.start_loss is None:
            return None
        # A loss that jumps while every gradient stays in its band: only a large jump counts.
        rise = s.loss - self.loss.median
        return episode if rise >= T.LOSS_ALONE_OF_START * self.start_loss else None

    def _excesses(self, s: StepStats) -> tuple[float | None, float | None, list]:
        layers = [
            (i, r)
            for i, (band, norm) in enumerate(zip(self.layer_bands, s.grad_norm, strict=True))
            if self.run.trainable[i] and (r := band.excess(norm)) is not None
        ]
        return self.total.excess(s.grad_norm_total), self._loss_excess(s.loss), layers

    def _loss_excess(self, loss: float) -> float | None:
        """A loss spike must also be large against the run's starting loss: near convergence
        a loss of 0.02 against a median of 0.008 is a 2.5x rise and still only noise."""
        ratio = self.loss.excess(loss)
        median = self.loss.median
        if ratio is None or median is None or self.start_loss is None:
            return None
        return ratio if loss - median >= T.LOSS_SPIKE_OF_START * self.start_loss else None

    def _follow(self, episode: Episode, s: StepStats) -> list[Finding]:
        if not (math.isfinite(s.loss) and math.isfinite(s.grad_norm_total)):
            self.onset, self.episode, self._stopped = episode, None, True
            return []
        _note(episode, s, self._excesses(s))
        calm = self._calm(episode, s)
        episode.calm = episode.calm + 1 if calm else 0
        if episode.calm >= T.SPIKE_CALM_STEPS:
            episode.end = s.step
            self.episode, self.just_recovered = None, episode
            self.recovered.append(episode)
            return [(f"{GRADIENT_SPIKE}:recovered", self._diagnosis())]
        if s.step - episode.start >= T.SPIKE_PATIENCE:
            if not self._loss_near(episode, s.loss):
                self.onset = episode
            self.episode = None
            self._rebase()
        return []

    def _calm(self, episode: Episode, s: StepStats) -> bool:
        grad_ok = episode.base_grad is None or self.total.within(
            s.grad_norm_total, episode.base_grad
        )
        return grad_ok and self._loss_near(episode, s.loss)

    @staticmethod
    def _loss_near(episode: Episode, loss: float) -> bool:
        base = episode.base_loss
        return base is None or (math.isfinite(loss) and loss <= T.SPIKE_LOSS_RECOVER * base)

    def _rebase(self) -> None:
        """A lasting change of level is not a spike: learn the new level afresh."""
        self.total = Band(T.SPIKE_RATIO)
        self.loss = Band(T.LOSS_SPIKE_RATIO)
        self.layer_bands = [Band(T.SPIKE_RATIO) for _ in self.run.layers]

    def _diagnosis(self) -> Diagnosis:
        first = self.recovered[0]
        names = self.run.names([i for i, _ in first.layers])
        message = texts_spike.recovered_message(self.recovered, self.run.layers)
        return Diagnosis(
            GRADIENT_SPIKE,
            "info",
            first.start,
            names,
            message,
            texts_spike.RECOVERED_WHY,
            texts_spike.recovered_fix(self.recovered),
        )

    @property
    def unrecovered(self) -> Episode | None:
        """The spike a divergence began with: one still open, or one that never recovered."""
        return self.episode or self.onset

    def onset_sentence(self) -> str:
        """For the divergence finding: where the unrecovered spike began."""
        e = self.unrecovered
        return "" if e is None else texts_spike.onset_sentence(e, self.run.layers)

    def onset_layers(self) -> tuple[str, ...]:
        e = self.unrecovered
        return () if e is None else self.run.names([i for i, _ in e.layers])


def _note(episode: Episode, s: StepStats, excesses: tuple) -> None:
    grad, loss, layers = excesses
    if grad is not None:
        if episode.grad_step is None:
            episode.grad_step = s.step
            clipped = s.grad_norm_clipped
            if clipped is not None and clipped < s.grad_norm_total:
                episode.clipped_to = clipped
        episode.grad_ratio = max(episode.grad_ratio, grad)
    if loss is not None:
        if episode.loss_step is None:
            episode.loss_step = s.step
        episode.loss_ratio = max(episode.loss_ratio, loss)
    if layers and episode.layer_step is None:
        episode.layer_step = s.step
        episode.layers = _largest(layers)


def _largest(layers) -> tuple[tuple[int, float], ...]:
    return tuple(sorted(layers, key=lambda item: item[1], reverse=True)[:3])
