"""Runs as JSON Lines: a header line with the format version, then one event a line."""

from gradtui.recording.parser import FORMAT, RecordingError
from gradtui.recording.reader import Loaded, read_recording
from gradtui.recording.writer import Recorder

__all__ = ["FORMAT", "Loaded", "Recorder", "RecordingError", "read_recording"]
