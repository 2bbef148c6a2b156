"""The integer limits a recording holds, shared by the writers' inputs and the reader.

What an input accepts (a scenario file, ``watch()``'s arguments, the command line), the reader
must read back; both sides check against these names, so they cannot drift apart.
"""

from __future__ import annotations

MAX_INT = 2**63 - 1  # a signed 64-bit integer: what JSON readers elsewhere (and numpy) hold
MAX_LAYERS = 100_000  # layers in one run_started; more would be a recording of many megabytes
