"""Turns a stream of token bytes into text that is safe to show.

Only complete UTF-8 characters are released, and text that could be the start of a stop
sequence is held back until it is known not to be one; a matched stop sequence is never
emitted, not even in part.
"""

from __future__ import annotations

import codecs


class StreamText:
    def __init__(self, stops: tuple[str, ...] = ()) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._stops = tuple(s for s in stops if s)
        self._pending = ""
        self.stopped = False
        self.matched_stop: str | None = None

    def feed(self, data: bytes) -> str:
        """Add token bytes; return the text that can be emitted now."""
        if self.stopped:
            return ""
        self._pending += self._decoder.decode(data)
        return self._release()

    def finish(self) -> str:
        """End of generation: flush everything held back (an incomplete character becomes U+FFFD)."""
        if self.stopped:
            return ""
        self._pending += self._decoder.decode(b"", final=True)
        text, self._pending = self._pending, ""
        return text

    def _release(self) -> str:
        cut = -1
        for stop in self._stops:
            index = self._pending.find(stop)
            if index != -1 and (cut == -1 or index < cut):
                cut, self.matched_stop = index, stop
        if cut != -1:
            text = self._pending[:cut]
            self._pending = ""
            self.stopped = True
            return text
        hold = self._longest_stop_prefix_suffix()
        split = len(self._pending) - hold
        text, self._pending = self._pending[:split], self._pending[split:]
        return text

    def _longest_stop_prefix_suffix(self) -> int:
        """Length of the longest tail of the pending text that starts some stop sequence."""
        best = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(self._pending)), best, -1):
                if self._pending.endswith(stop[:size]):
                    best = size
                    break
        return best
