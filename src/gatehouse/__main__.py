"""``python -m gatehouse``: the same as the ``gatehouse`` command."""

from gatehouse.cli import main

main()
