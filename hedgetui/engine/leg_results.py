"""What a run's result says of its legs: summaries, realised slippage, the failure in the exchange's words.

Pure functions of the legs' fills (``hedgetui.engine.legs``) and the pre-trade estimates: no I/O, no
journal. The pipeline kit (``hedgetui.engine.kit``) reports them as events and puts them in the
:class:`~hedgetui.domain.execution.ExecutionResult`.
"""

from __future__ import annotations

from decimal import Decimal

from hedgetui.domain.execution import LegSummary, SlippageAnalysis
from hedgetui.domain.orders import Side
from hedgetui.domain.slippage import BPS, SlippageEstimate
from hedgetui.engine.legs import LegFill


def leg_summary(fill: LegFill | None) -> LegSummary | None:
    """The result's summary of one leg's fill (None when the leg was never sent)."""
    if fill is None:
        return None
    return LegSummary(
        leg=fill.request.leg.value,
        market=fill.request.kind.value,
        side=fill.request.side.value,
        target=fill.request.quantity,
        filled=fill.filled,
        average=fill.average,
        fees=tuple((f.currency, f.cost) for f in fill.fees),
        client_order_ids=tuple(fill.cids),
        order_ids=tuple(o.order_id for o in fill.orders),
        status=fill.status.value,
    )


def realized_slippage(
    fill: LegFill | None, est: SlippageEstimate | None, leg: str, limit_bps: Decimal
) -> SlippageAnalysis | None:
    """Realised slippage of a fill against its estimate's mid, in bps (positive: worse), with the estimate's
    figure and ``limit_bps``; None when the fill has no average or the estimate no mid."""
    if fill is None or est is None or fill.average is None or est.mid is None:
        return None
    raw = (fill.average - est.mid) / est.mid * BPS
    realized = raw if fill.request.side is Side.BUY else -raw
    expected = est.slippage_bps
    return SlippageAnalysis(
        leg=leg,
        expected_bps=expected,
        realized_bps=realized,
        difference_bps=None if expected is None else realized - expected,
        limit_bps=limit_bps,
        within_limits=realized <= limit_bps,
    )


def bps_text(value: Decimal | None) -> str:
    """A figure in basis points as the run's events print it (signed, two decimals; an em dash for none)."""
    return "—" if value is None else f"{value:+.2f} bps"


def why(*fills: LegFill | None) -> str:
    """What went wrong with these legs, in the exchange's words."""
    parts = []
    for f in fills:
        if f is None:
            continue
        if f.error is not None:
            parts.append(f"{f.request.leg.value} {f.error.source} {f.error.code}: {f.error.exchange_message}")
        else:
            parts.append(f"{f.request.leg.value} {f.status.value}")
    return "; ".join(parts) or "no order sent"


def failure_code(*fills: LegFill | None) -> str:
    """The reason code of a failed leg: ``LEG_FAILED`` with the exchange's error code when it gave one."""
    for f in fills:
        if f is not None and f.error is not None and f.error.code is not None:
            return f"LEG_FAILED_{f.error.code}"
    return "LEG_FAILED"
