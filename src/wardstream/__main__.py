"""`python -m wardstream` is the `wardstream` command."""

from wardstream.cli.main import main

main()
