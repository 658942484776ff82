"""How long a test waits for something that must happen.

Tests wait for the condition itself (a lock is waited on, a server answers /readyz, a thread
reaches a barrier), never for a time they bet is enough. HANG_SECONDS only turns a hang — the
condition will never come — into a failure with a message; a busy machine must never reach it.
"""

from __future__ import annotations

HANG_SECONDS = 300.0
