"""Keeps chat tickets out of the server's log.

uvicorn logs every WebSocket handshake with its query string (``/ws/chat?ticket=...``) whether or
not the access log is on; a ticket in a log file is a credential for as long as it lives.
"""

from __future__ import annotations

import logging
import re

TICKET = re.compile(r"(ticket=)[^&\s\"']+")


class TicketRedaction(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(TICKET.sub(r"\1[redacted]", a) if isinstance(a, str) else a for a in args)
        if isinstance(record.msg, str) and "ticket=" in record.msg:
            record.msg = TICKET.sub(r"\1[redacted]", record.msg)
        return True


def redact_tickets(*logger_names: str) -> None:
    """Install the filter once on each named logger (uvicorn's, after it configured logging)."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, TicketRedaction) for f in logger.filters):
            logger.addFilter(TicketRedaction())
