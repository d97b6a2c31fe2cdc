"""Command line: flags -> config -> run. Nothing else lives here."""
