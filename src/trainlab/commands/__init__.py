"""Subcommands of the ``trainlab`` command (see :mod:`trainlab.cli`)."""
