"""Keeps secrets (bot tokens, agent tokens) out of every log line, whoever logs it."""

from __future__ import annotations

import logging

MASK = "***"


def mask_secret(secret: str, keep: int = 4) -> str:
    """``123456:ABCDEF...wxyz`` -> ``123456:***wxyz``: enough to recognise, useless to steal."""
    if not secret:
        return ""
    prefix, _, rest = secret.partition(":") if ":" in secret else ("", "", secret)
    tail = rest[-keep:] if len(rest) > keep * 2 else ""
    return f"{prefix}:{MASK}{tail}" if prefix else f"{MASK}{tail}"


class SecretRedactor(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()

    def add(self, secret: str) -> None:
        if secret and len(secret) >= 8:
            self._secrets.add(secret)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, mask_secret(secret))
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            message = record.getMessage()
            redacted = self.redact(message)
            if redacted != message or record.exc_info:
                if record.exc_info:
                    formatter = logging.Formatter()
                    redacted += "\n" + self.redact(formatter.formatException(record.exc_info))
                    record.exc_info = None
                    record.exc_text = None
                record.msg, record.args = redacted, None
        return True

    def install(self) -> None:
        """Attach to every handler of the root logger and of loggers with their own handlers."""
        loggers = [logging.getLogger()] + [
            logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
        ]
        for logger in loggers:
            for handler in getattr(logger, "handlers", []):
                if self not in handler.filters:
                    handler.addFilter(self)
