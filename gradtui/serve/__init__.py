"""``gradtui serve``: the dashboard in a browser, through textual-serve (see server.py)."""
