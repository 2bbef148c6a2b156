"""Learning material: the hand-backprop exercise and the course (no torch, except oracle.py)."""
