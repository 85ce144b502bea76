"""`python -m jalsa.cli`: the `jalsa` command."""

from jalsa.cli import main

main()
