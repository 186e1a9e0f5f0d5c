"""One module per command: each has ``add_parser(subparsers)`` and ``run(args) -> exit code``.

A command module's top imports only what its parser needs; ``run`` imports the work, so that the
command line loads the machinery of the one command it runs (tests/commands/test_count_cli.py).
"""
