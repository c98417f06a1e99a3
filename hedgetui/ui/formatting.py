"""Number and text formatting for the dashboard: Decimal in, display strings out.

Every string that came from an exchange goes through :func:`safe_text` before it reaches a widget, so
markup-looking text (``[/requested]``) can never crash the app or restyle the screen.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from rich.markup import escape


def decimals_of(step: Decimal) -> int:
    """Number of decimal places a tick or step size implies (0.01 -> 2, 0.10 -> 1, 1 -> 0)."""
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def fmt_price(value: Decimal | None, places: int) -> str:
    """A price with thousands separators and exactly ``places`` decimals; an em dash when unknown."""
    if value is None:
        return "—"
    q = (
        value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
        if places
        else value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    )
    return f"{q:,.{places}f}"


def fmt_qty(value: Decimal | None, places: int) -> str:
    """A base quantity with exactly ``places`` decimals (no separators: sizes are read digit by digit)."""
    if value is None:
        return "—"
    return f"{value:.{places}f}"


def fmt_bps(value: Decimal | None, places: int = 1, signed: bool = True) -> str:
    """Basis points, e.g. ``+5.3 bps``."""
    if value is None:
        return "— bps"
    sign = "+" if signed and value > 0 else ""
    return f"{sign}{value:.{places}f} bps"


def fmt_pct(value: Decimal | None, places: int = 4, signed: bool = True) -> str:
    """A fraction shown as a percentage: 0.0001 -> ``+0.0100 %``."""
    if value is None:
        return "— %"
    pct = value * 100
    sign = "+" if signed and pct > 0 else ""
    return f"{sign}{pct:.{places}f} %"


def fmt_age(seconds: float | None) -> str:
    """A data age for humans: ``<100 ms``, ``300 ms``, ``2.4 s``, ``3 m 05 s``; ``—`` when never received.

    Below a second the age is shown in 100 ms steps: a fresh feed reads the same from frame to frame, so
    the panes showing it do not repaint at the refresh rate for a figure nobody reads to the millisecond.
    """
    if seconds is None:
        return "—"
    if seconds < 0.1:
        return "<100 ms"
    if seconds < 1:
        return f"{int(seconds * 10) * 100} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} m {secs:02d} s"


def fmt_duration_hms(seconds: float) -> str:
    """A countdown as ``HH:MM:SS`` (never negative)."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def funding_countdown(next_funding_ms: int, now_ms: int) -> str:
    """``in HH:MM:SS`` to the next funding, or ``settling`` once that time has come and the exchange has not
    yet announced the following one (a countdown stuck at 00:00:00 would look like a frozen screen)."""
    if next_funding_ms <= now_ms:
        return "settling"
    return f"in {fmt_duration_hms((next_funding_ms - now_ms) / 1000)}"


def safe_text(text: object) -> str:
    """Escape exchange-supplied text for any widget that interprets markup."""
    return escape(str(text))


def fmt_span(ms: int | None) -> str:
    """A time span for humans: ``2 d 04 h``, ``3 h 12 m``, ``12 m 05 s``, ``40 s``; ``—`` when unknown."""
    if ms is None or ms < 0:
        return "—"
    seconds = ms // 1000
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours:02d} h"
    if hours:
        return f"{hours} h {minutes:02d} m"
    if minutes:
        return f"{minutes} m {secs:02d} s"
    return f"{secs} s"


def fmt_money(value: Decimal | None, places: int = 2) -> str:
    """A signed amount with thousands separators (``+1,234.56``); ``—`` when unknown."""
    return "—" if value is None else f"{value:+,.{places}f}"
