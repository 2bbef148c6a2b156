"""Run a Textual app and turn how it ended into the command's exit status."""

from __future__ import annotations

from typing import Any


def app_status(app: Any) -> int:
    """Run the app; non-zero when it ended by a crash (Textual sets return_code 1)."""
    app.run()
    return app.return_code or 0
