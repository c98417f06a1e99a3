"""How a taker order meets a book's synthetic liquidity: plans of fills, level by level, computed without
touching the book so that an order can be checked in full before anything is booked."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hedgetui.sandbox.book import Book, BookSide
from hedgetui.sandbox.model import Side

ZERO = Decimal(0)


@dataclass(frozen=True)
class Fill:
    """One planned execution against one synthetic level: outward ticks, price, steps and quantity."""

    u: int
    price: Decimal
    steps: int
    qty: Decimal


def plan_taker(book: Book, taken: BookSide, steps: int, limit_u: int | None) -> list[Fill]:
    """The fills a taker of ``steps`` would get from the synthetic liquidity of ``taken``, best level first,
    never beyond ``limit_u`` (outward ticks of a limit price)."""
    out: list[Fill] = []
    remaining = steps
    qty = taken.qty
    for u in taken.us:
        if remaining <= 0 or (limit_u is not None and u > limit_u):
            break
        available = qty[u]
        if available <= 0:
            continue  # consumed, growing back
        take = min(available, remaining)
        out.append(Fill(u, book.price(taken, u), take, book.quantity(take)))
        remaining -= take
    return out


def plan_quote(book: Book, taken: BookSide, quote: Decimal, side: Side) -> list[Fill]:
    """The fills of a spot MARKET order for ``quote`` of the quote asset (``quoteOrderQty``): whole steps,
    never more than ``quote`` in total."""
    out: list[Fill] = []
    remaining = quote
    for u in taken.us:
        available = taken.qty[u]
        if available <= 0:
            continue
        price = book.price(taken, u)
        take = min(available, int(remaining // (price * book.step)))
        if take > 0:
            fill = Fill(u, price, take, book.quantity(take))
            out.append(fill)
            remaining -= fill.price * fill.qty
        if take < available and side is Side.BUY:
            break  # asks only get dearer; a seller may still fit a step at a lower bid
    return out


def truncate(fills: list[Fill], qty: Decimal) -> list[Fill]:
    """The prefix of ``fills`` that executes at most ``qty`` (a partly taken last level is split)."""
    out: list[Fill] = []
    remaining = qty
    for fill in fills:
        if remaining <= 0:
            break
        if fill.qty <= remaining:
            out.append(fill)
            remaining -= fill.qty
        else:
            step = fill.qty / fill.steps
            steps = int(remaining / step)
            if steps > 0:
                out.append(Fill(fill.u, fill.price, steps, step * steps))
            break
    return out


def tail_notional(fills: list[Fill], qty: Decimal) -> Decimal:
    """Notional of the last ``qty`` of a plan (the part that opens a position after closing one)."""
    notional, remaining = ZERO, qty
    for fill in reversed(fills):
        take = min(fill.qty, remaining)
        notional += take * fill.price
        remaining -= take
        if remaining <= 0:
            break
    return notional
