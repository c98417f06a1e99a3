"""The execution log: one line per event that matters, in columns that fit, filterable by level.

Built on Textual's ``Log`` (a Line API widget that never interprets markup), so exchange text with
brackets is shown as it is and cannot crash the app. The active filter is in the border title.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from textual.widgets import Log

from hedgetui.ui.alerts import readable

LEVELS = ("debug", "info", "warn", "error", "critical")
FILTERS = {"all": "info", "warn": "warn", "error": "error"}
FILTER_TEXT = {"all": "all", "warn": "warnings and errors", "error": "errors only"}
TAG_W = 8
#: Journal vocabulary → a tag that fits the column.
SHORT_TAGS = {
    "TRADING_STATE": "STATE",
    "RECONCILE": "RECONC",
    "AMBIGUOUS": "AMBIG",
    "CLOCK_RESYNC": "CLOCK",
    "BOOK_RESYNC": "RESYNC",
    "BOOK_SOURCE": "SOURCE",
    "BOOK_STALE": "STALE",
    "OPERATOR": "OPER",
    "ACCOUNT_STALE": "ACCOUNT",
    "ACCOUNT_FRESH": "ACCOUNT",
    "DISCREPANCY": "DISCREP",
    "PERP_WATCH": "PERP",
    "TRANSFER_INTENT": "TRANSFER",
    "ADOPT_POSITION": "ADOPT",
    "EXTERNAL_FILL": "EXTERNAL",
    "FILL_TIMEOUT": "TIMEOUT",
    "REMAINDER_BELOW_MIN": "REMAIN",
    "SHUTDOWN": "SHUTDOWN",
}


def short_tag(kind: str) -> str:
    star = kind.endswith("*")
    base = kind.rstrip("*")
    tag = SHORT_TAGS.get(base, base)[: TAG_W - (1 if star else 0)]
    return tag + ("*" if star else "")


@dataclass(frozen=True)
class LogLine:
    """One log entry; ``tag`` is the event kind (``*`` marks one from an earlier session)."""

    ts_ms: int
    level: str
    tag: str
    intent: str
    message: str

    def render(self) -> str:
        ts = datetime.fromtimestamp(self.ts_ms / 1000, UTC).strftime("%H:%M:%S.%f")[:-3]
        flag = {"warn": "!", "error": "✗", "critical": "‼"}.get(self.level, " ")
        intent = self.intent[:8]
        return f"{ts} {flag} {short_tag(self.tag):<{TAG_W}} {intent:<8} {readable(self.message, 400)}"


class ExecLog(Log):
    """Keeps every line (bounded) and shows those at or above the current filter level."""

    DEFAULT_CSS = """
    ExecLog {
        border: round $panel-lighten-2;
        height: 1fr;
    }
    """

    def __init__(self, max_lines: int = 5000, *, id: str | None = None) -> None:
        super().__init__(max_lines=max_lines, highlight=False, auto_scroll=True, id=id)
        self.lines_kept: deque[LogLine] = deque(maxlen=max_lines)
        self.filter_name = "all"
        self.detail_key = "i"
        self.filter_key = "f"
        self._update_title()

    def _update_title(self) -> None:
        self.border_title = (
            f"Execution log · showing {FILTER_TEXT[self.filter_name]} ({self.filter_key} filter) · "
            f"{self.detail_key} intent detail"
        )

    def _visible(self, line: LogLine) -> bool:
        minimum = FILTERS[self.filter_name]
        return LEVELS.index(line.level if line.level in LEVELS else "info") >= LEVELS.index(minimum)

    def add(self, line: LogLine) -> None:
        self.lines_kept.append(line)
        if self._visible(line):
            self.write_line(line.render())

    def cycle_filter(self) -> str:
        """all → warn → error → all; redraws from the kept lines."""
        names = list(FILTERS)
        self.filter_name = names[(names.index(self.filter_name) + 1) % len(names)]
        self.clear()
        self.write_lines([line.render() for line in self.lines_kept if self._visible(line)])
        self._update_title()
        return self.filter_name
