"""Top up margin (or take it back): the amount and the direction, checked, one clear error line on bad input.

Nothing is sent from here: the screen returns what the operator asked for, and the app asks for the
confirmation (the word LIVE in live mode) before the engine's transfer task starts.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, RadioButton, RadioSet, Static

from hedgetui.config.sizes import parse_transfer_amount
from hedgetui.domain.margin import PerpHealth, TransferDirection

TransferRequest = tuple[Decimal, TransferDirection]


def wallet_lines(asset: str, spot_free: Decimal | None, perp: PerpHealth | None) -> str:
    """Both wallets and the margin figures as the exchange last showed them."""
    spot = "—" if spot_free is None else f"{spot_free:,.2f}"
    lines = [f"spot wallet    {spot} {asset} free"]
    if perp is None:
        lines.append("futures wallet — (not read yet)")
    else:
        ratio = "—" if perp.margin_ratio_pct is None else f"{perp.margin_ratio_pct:.1f} %"
        lines.append(f"futures wallet {perp.wallet:,.2f} {asset} ({perp.available:,.2f} available)")
        lines.append(f"margin ratio   {ratio} (warn {perp.thresholds.margin_ratio_warn_pct:g} %)")
    return "\n".join(lines)


class TransferScreen(ModalScreen[TransferRequest | None]):
    """Returns (amount, direction), or None when cancelled."""

    DEFAULT_CSS = """
    TransferScreen { align: center middle; }
    TransferScreen > Vertical {
        width: 64; max-width: 95%; height: auto; max-height: 95%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    TransferScreen .transfer-title { text-style: bold; }
    TransferScreen .transfer-wallets { height: auto; margin-bottom: 1; }
    TransferScreen RadioSet { width: 100%; }
    TransferScreen .transfer-error { color: $danger; height: auto; }
    """

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(
        self,
        asset: str,
        spot_free: Decimal | None,
        perp: PerpHealth | None,
        refusal: Callable[[TransferDirection], str | None],
    ) -> None:
        super().__init__()
        self.asset = asset
        self.spot_free = spot_free
        self.perp = perp
        self.refusal = refusal

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"Move {self.asset} between the spot and futures wallets"), classes="transfer-title")
            yield Static(Text(wallet_lines(self.asset, self.spot_free, self.perp)), classes="transfer-wallets")
            with RadioSet(id="transfer-direction"):
                yield RadioButton("to futures (top up margin)", value=True, id="to-futures")
                yield RadioButton("back to spot", id="to-spot")
            yield Label(Text(f"Amount in {self.asset} (Enter to review, Escape to cancel)"))
            yield Input(placeholder="500", id="transfer-amount")
            yield Static("", classes="transfer-error", id="transfer-error")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @property
    def direction(self) -> TransferDirection:
        spot = self.query_one("#to-spot", RadioButton).value
        return TransferDirection.TO_SPOT if spot else TransferDirection.TO_FUTURES

    def error(self, line: str) -> None:
        self.query_one("#transfer-error", Static).update(Text(line))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            amount = parse_transfer_amount(event.value, self.asset)
        except ValueError as exc:
            self.error(f"amount: {exc}")
            return
        direction = self.direction
        why = self.refusal(direction)
        if why:
            self.error(f"not now: {why}")
            return
        if direction is TransferDirection.TO_FUTURES and self.spot_free is not None and amount > self.spot_free:
            self.error(f"the spot wallet has {self.spot_free:,.2f} {self.asset} free, less than {amount:,f}")
            return
        if direction is TransferDirection.TO_SPOT and self.perp is not None and amount > self.perp.available:
            self.error(
                f"the futures wallet has {self.perp.available:,.2f} {self.asset} available, less than {amount:,f}"
            )
            return
        self.dismiss((amount, direction))

    def action_cancel(self) -> None:
        self.dismiss(None)
