"""``python -m rareopt``: the command line."""

from rareopt.cli import main

main()
