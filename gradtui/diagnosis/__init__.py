"""Diagnosis rules: pure Python over the event stream. No torch, no textual."""

from gradtui.diagnosis.chain import ChainLink, ChainTracker, Link, chain_links
from gradtui.diagnosis.diagnoser import Diagnoser

__all__ = ["ChainLink", "ChainTracker", "Diagnoser", "Link", "chain_links"]
