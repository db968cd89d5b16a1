"""Test support used by ``tests/`` and ``bench/``: the Discord stand-in, the paper fixture server, the bot harness.

Plain library code with no pytest import, so ``python -m bench`` runs where only the bot's dependencies are
installed; pytest fixtures built on it live in ``tests/conftest.py``.
"""
