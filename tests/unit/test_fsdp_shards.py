"""Shard statistics: single-process behaviour of gradtui.probe.shards."""

import math

import torch

from gradtui.probe.shards import global_stats, shard_groups


def test_plain_tensor_stats_match_whole_tensor() -> None:
    t = torch.tensor([3.0, -4.0, float("nan"), 0.0])
    (s,) = global_stats([t])
    assert math.isclose(s.norm, 5.0)
    assert s.max_abs == 4.0
    assert s.nonfinite == 1
    assert s.numel == 4


def test_empty_tensor_gives_zero_stats() -> None:
    (s,) = global_stats([torch.zeros(0)])
    assert (s.sum_sq, s.max_abs, s.nonfinite, s.numel) == (0.0, 0.0, 0, 0)


def test_plain_tensor_has_no_shard_groups() -> None:
    assert shard_groups(torch.ones(2)) == []
