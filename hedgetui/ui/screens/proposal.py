"""The engine's reconciliation proposal as a confirmation: pick an option (1, 2), then confirm."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from hedgetui.engine.proposal import Proposal
from hedgetui.ui.plans import proposal_plan


class ProposalScreen(ModalScreen[int | None]):
    """Returns the index of the accepted option, or None (nothing is sent)."""

    DEFAULT_CSS = """
    ProposalScreen { align: center middle; }
    ProposalScreen > Vertical {
        width: 110; max-width: 95%; height: auto; max-height: 90%;
        border: thick $warn; background: $surface; padding: 1 2;
    }
    ProposalScreen .proposal-keys { margin-top: 1; text-style: bold; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "cancel"),
        Binding("n", "cancel", "no", show=False),
        Binding("y", "confirm", "yes", show=False),
        Binding("1", "choose(0)", "option 1", show=False),
        Binding("2", "choose(1)", "option 2", show=False),
    ]

    def __init__(self, proposal: Proposal, *, live: bool = False, blocked: str | None = None) -> None:
        super().__init__()
        self.proposal = proposal
        self.index = 0
        self.live = live
        self.blocked = blocked
        self.plan = Static(proposal_plan(proposal, 0))

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text("Reconciliation proposal: accept an option?"))
            yield self.plan
            keys = "y accept the marked option · n / Escape send nothing"
            if self.blocked:
                keys = f"Not allowed now: {self.blocked} · Escape closes"
            elif self.live:
                keys = "LIVE: " + keys
            yield Static(Text(keys), classes="proposal-keys")

    def action_choose(self, index: int) -> None:
        if 0 <= index < len(self.proposal.options):
            self.index = index
            self.plan.update(proposal_plan(self.proposal, index))

    def action_confirm(self) -> None:
        if self.blocked or not self.proposal.options:
            return
        self.dismiss(self.index)

    def action_cancel(self) -> None:
        self.dismiss(None)
