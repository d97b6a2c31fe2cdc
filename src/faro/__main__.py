"""`python -m faro` is the same as the `faro` command."""

from faro.cli.main import main

main()
