"""Enter, exit and correct (or accept the reconciliation proposal): the plan, the confirmation, then the
engine's task.

Reading a plan is not an order flow, so a worker may do it; the order flow itself is always the engine's
task (``Engine.start_*``), which the dashboard only observes. Every order-sending action asks the one way:
a confirmation with the plan (:mod:`.plans`), the word LIVE in live mode.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text

from hedgetui.domain.execution import ExecutionResult
from hedgetui.domain.margin import TransferDirection
from hedgetui.domain.venue import VenueMode
from hedgetui.engine.engine import Busy
from hedgetui.engine.settings import Denied
from hedgetui.engine.transfer import TransferResult
from hedgetui.ui.alerts import readable
from hedgetui.ui.plans import correct_plan, entry_plan, exit_plan
from hedgetui.ui.screens.confirm import ConfirmScreen
from hedgetui.ui.screens.proposal import ProposalScreen
from hedgetui.ui.screens.transfer import TransferRequest, TransferScreen, wallet_lines

if TYPE_CHECKING:
    from hedgetui.ui.app import HedgeApp


class OrderActions:
    """The dashboard's order-sending actions."""

    def __init__(self, app: HedgeApp) -> None:
        self.app = app
        self.engine = app.engine

    @property
    def live(self) -> bool:
        return self.app.settings.mode is VenueMode.LIVE

    def enter(self) -> None:
        self.app.run_worker(self._plan_entry(), group="plans", exclusive=False)

    async def _plan_entry(self) -> None:
        app = self.app
        try:
            preview = await self.engine.preview(app.size_usd)
        except Exception as exc:  # an exchange error while planning: show it, send nothing
            app.notify(readable(str(exc)), title="cannot plan the entry", severity="error", markup=False)
            return
        text = entry_plan(
            preview, app.poller.legs(), app.markets, self.engine.settings.leg_mode, self.engine.spot_rules.base
        )
        size = app.size_usd
        self.confirm("Enter hedge: short perp + buy spot", text, lambda: self.engine.start_enter(size), preview.denial)

    def exit(self) -> None:
        legs = self.app.poller.legs()
        estimate = self.app.poller.exit_estimate(legs) if legs is not None else None
        text = exit_plan(legs, estimate, self.app.markets, self.engine.spot_rules.base)
        self.confirm("Exit hedge: sell spot + buy back perp (reduce-only)", text, self.engine.start_exit)

    def correct(self) -> None:
        """The pending proposal when there is one (choose an option), else the drift correction."""
        proposal = self.engine.proposal
        if proposal is None:
            text = correct_plan(self.app.poller.drift(), self.app.markets, self.engine.spot_rules.base)
            self.confirm("Correct drift", text, lambda: self.engine.start_correct())
            return

        def chosen(index: int | None) -> None:
            if index is None:
                self.app.log_line("info", "OPERATOR", "", "proposal: nothing accepted")
                return
            accept = self.engine.accept_proposal
            if self.live:  # LIVE asks for the word LIVE, the one way every order-sending action asks
                option = Text(proposal.options[index].describe())
                self.confirm(f"Accept option {index + 1}", option, lambda: accept(index))
            else:
                self.start(lambda: accept(index))

        self.app.push_screen(ProposalScreen(proposal, live=self.live), chosen)

    def transfer(self) -> None:
        """Top up margin (or take it back): amount and direction, the confirmation, then the engine's task."""
        app = self.app
        asset = self.engine.perp_rules.quote
        balances = app.feed.spot_balances.latest()
        held = balances.value.get(asset) if balances is not None else None
        perp = self.engine.status().perp

        def asked(request: TransferRequest | None) -> None:
            if request is None:
                app.log_line("info", "OPERATOR", "", "transfer: cancelled")
                return
            amount, direction = request
            plan = Text(
                f"move {amount:,f} {asset} from the {direction.source} wallet to the {direction.target} wallet\n"
            )
            plan.append(wallet_lines(asset, held.free if held is not None else None, perp))
            plan.append("\nNo order is sent; the wallets are read again to confirm the move.")

            def done(confirmed: bool | None) -> None:
                if not confirmed:
                    app.log_line("info", "OPERATOR", "", "transfer: cancelled")
                    return
                try:
                    task = self.engine.start_transfer(amount, direction)
                except Busy as exc:
                    app.refused("transfer", str(exc))
                    return
                task.add_done_callback(self._transfer_done)
                app.refresh_engine_panes()

            title = "Top up margin" if direction is TransferDirection.TO_FUTURES else "Move margin back to spot"
            app.push_screen(ConfirmScreen(title, plan, live=self.live), done)

        screen = TransferScreen(asset, held.free if held is not None else None, perp, self.engine.why_transfer_refused)
        app.push_screen(screen, asked)

    def _transfer_done(self, task: asyncio.Task[TransferResult]) -> None:
        app = self.app
        if task.cancelled() or task.exception() is not None or app.closing or not app.is_running:
            return
        result = task.result()
        app.log_line("info" if result.success else "warn", "TRANSFER", result.intent_id, result.describe())
        app.notify(
            readable(result.describe(), 300),
            severity="information" if result.success else "warning",
            markup=False,
            timeout=8,
        )
        app.refresh_engine_panes()

    def confirm(
        self,
        title: str,
        text: Text,
        start: Callable[[], asyncio.Task[ExecutionResult]],
        blocked: str | None = None,
    ) -> None:
        def done(confirmed: bool | None) -> None:
            if confirmed:
                self.start(start)
            else:
                self.app.log_line("info", "OPERATOR", "", f"{title}: cancelled")

        self.app.push_screen(ConfirmScreen(title, text, live=self.live, blocked=blocked), done)

    def start(self, start: Callable[[], asyncio.Task[ExecutionResult]]) -> None:
        try:
            task = start()
        except (Busy, Denied) as exc:
            self.app.refused("start", str(exc))
            return
        task.add_done_callback(self._done)
        self.app.refresh_engine_panes()

    def _done(self, task: asyncio.Task[ExecutionResult]) -> None:
        app = self.app
        if task.cancelled() or task.exception() is not None:
            return
        result = task.result()
        app.results.append(result)
        if app.closing or not app.is_running or not app.screen_stack:
            return
        app.notify(
            readable(f"{result.pipeline.value} → {result.end_state.value}: {result.reason}", 300),
            severity="information" if result.success else "warning",
            markup=False,
            timeout=8,
        )
        app.refresh_engine_panes()
