"""What a listener the admin can restart in-process says about itself (LAN and direct path)."""

from __future__ import annotations

from typing import Literal

# stopped: disabled (or not started); restarting: an Apply in progress; failed: the last start
# could not listen (its ``last_error`` says why); running: serving on its address.
ListenerState = Literal["stopped", "restarting", "running", "failed"]
