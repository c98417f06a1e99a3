"""Keeping credentials out of text: a scrubber and a logging filter (shared by config and exchange)."""

from __future__ import annotations

import logging
from collections.abc import Iterable


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every credential string in ``text`` with ``****``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "****")
    return text


class RedactingFilter(logging.Filter):
    """Replaces known secret strings in every record that passes through (a second net behind SecretStr)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s and len(s) >= 4)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(s in message for s in self.secrets):
            record.msg, record.args = scrub(message, self.secrets), None
        return True
