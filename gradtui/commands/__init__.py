"""The CLI's subcommands that sit above the UI and the engine: each parses its arguments and
calls into the packages below it (learn, check)."""
