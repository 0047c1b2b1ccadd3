"""Signals a lower package sends so that a higher one can act on it without being imported.

A package connects its receivers in its own module (imported by the package, so connecting
happens whenever the package is loaded). Receivers run in the sender's transaction: they may
flush, never commit, and raise a `DomainError` to refuse what is being done.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()
