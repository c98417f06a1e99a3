"""The ledger in words and rows: the P&L lines of ``status``, the rows of ``history --csv``, their times.

Pure formatting of :class:`HedgePnl` (and the configured fee rates the ledger estimates an exit with), apart
from :mod:`hedgetui.commands` because it opens nothing: no venue, no journal, no stack.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from hedgetui.config.model import AppConfig
from hedgetui.domain.pnl import HedgePnl, pnl_json


def fee_rates(config: AppConfig) -> tuple[Decimal, Decimal]:
    """The configured taker rates (spot, perp) as fractions: the ledger's estimate of an exit's cost."""
    return config.ui.spot_taker_fee_pct / 100, config.ui.perp_taker_fee_pct / 100


def utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def span(ms: int) -> str:
    """A duration as the desk reads it: ``3d 04h``, ``2h 05m``, ``4m 10s``."""
    s = max(0, ms) // 1000
    d, h, m = s // 86_400, s % 86_400 // 3600, s % 3600 // 60
    if d:
        return f"{d}d {h:02d}h"
    return f"{h}h {m:02d}m" if h else f"{m}m {s % 60:02d}s"


def describe_pnl(pnl: HedgePnl, *, now_ms: int) -> str:
    """The open hedge's P&L in a few lines (``status``)."""
    q = pnl.quote
    lines = [
        f"pnl: net {pnl.net:+,.2f} {q} (funding {pnl.funding:+,.2f}, fees {pnl.fees:+,.2f}, price {pnl.price:+,.2f})"
        f"  open since {utc(pnl.opened_ms)} UTC ({span(now_ms - pnl.opened_ms)})"
    ]
    basis = f"entry basis {pnl.entry_basis_bps:+.2f} bps" if pnl.entry_basis_bps is not None else "entry basis ?"
    if pnl.basis_now_bps is not None:
        basis += f", now {pnl.basis_now_bps:+.2f} bps"
    carry = f"APR {pnl.apr * 100:+.2f} %" if pnl.apr is not None else "APR ?"
    even = f"break-even {span(pnl.break_even_ms)}" if pnl.break_even_ms is not None else "no break-even at this rate"
    lines.append(f"  {basis}; {carry}; {even}")
    if pnl.next_funding_ms is not None and pnl.next_funding_estimate is not None:
        lines.append(
            f"  next funding {utc(pnl.next_funding_ms)} UTC (in {span(pnl.next_funding_ms - now_ms)})"
            f" about {pnl.next_funding_estimate:+,.2f} {q}"
        )
    return "\n".join(lines)


#: The columns of ``history --csv``: one row per hedge, oldest first; amounts in ``quote``, times in ms and UTC.
CSV_COLUMNS = (
    "opened_ms",
    "opened_utc",
    "closed_ms",
    "closed_utc",
    "quote",
    "funding",
    "fees",
    "price",
    "net",
    "entry_spot",
    "entry_perp",
    "entry_basis_bps",
    "fundings",
)


def csv_rows(hedges: list[HedgePnl]) -> list[dict[str, object]]:
    """The ledger as ``history --csv`` writes it (see :data:`CSV_COLUMNS`)."""
    rows = []
    for h in reversed(hedges):
        j = pnl_json(h)
        rows.append(
            {
                **{k: j[k] for k in CSV_COLUMNS if k in j},
                "opened_utc": utc(h.opened_ms),
                "closed_utc": utc(h.closed_ms) if h.closed_ms is not None else "",
                "closed_ms": h.closed_ms if h.closed_ms is not None else "",
            }
        )
    return rows


def writable_target(path: Path) -> bool:
    """Whether ``path`` can be a new or replaced file (checked before the exchange is asked anything)."""
    return not path.is_dir() and path.parent.is_dir()
