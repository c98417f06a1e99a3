"""The execution log: every stage event, fill, alert and operator action, timestamped, filterable.

Built on Textual's ``Log`` (a Line API widget that never interprets markup), so exchange text with
brackets is shown as it is and cannot crash the app.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from textual.widgets import Log

LEVELS = ("debug", "info", "warn", "error", "critical")
FILTERS = {"all": "info", "warn": "warn", "error": "error"}


@dataclass(frozen=True)
class LogLine:
    ts_ms: int
    level: str
    tag: str
    intent: str
    message: str

    def render(self) -> str:
        ts = datetime.fromtimestamp(self.ts_ms / 1000, UTC).strftime("%H:%M:%S.%f")[:-3]
        flag = {"warn": "!", "error": "✗", "critical": "‼"}.get(self.level, " ")
        # One line per entry: newlines in exchange text would break the layout.
        text = " ".join(self.message.split())
        return f"{ts} {flag} {self.tag:<10} {self.intent[:12]:<12} {text}"


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
        self._update_title()

    def _update_title(self) -> None:
        self.border_title = f"Execution log [{self.filter_name}]"

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
        for line in self.lines_kept:
            if self._visible(line):
                self.write_line(line.render())
        self._update_title()
        return self.filter_name
