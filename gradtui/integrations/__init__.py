"""Callbacks that put ``gradtui.watch`` inside a framework's trainer.

``gradtui.integrations.lightning`` (Lightning) and ``gradtui.integrations.transformers`` (the
Hugging Face Trainer) each offer a ``GradtuiCallback``. Importing this package imports
neither framework; each module says in one line how to install what it needs.
"""
