"""The pipelines' stages: one explicit list per pipeline, shared by the engine, the journal, the progress
widget and the tests, so every place names a stage the same way and shows them in the same order."""

from __future__ import annotations

import enum


class PipelineKind(enum.StrEnum):
    ENTER = "enter"
    EXIT = "exit"
    CORRECT = "correct"
    RECONCILE = "reconcile"
    TRANSFER = "transfer"


class Stage(enum.StrEnum):
    """Every stage name any pipeline uses."""

    GUARDS = "guards"
    RISK = "risk"
    SLIPPAGE = "slippage"
    QUANTITY = "quantity"
    JOURNAL = "journal"
    ORDERS = "orders"
    FILLS = "fills"
    PARTIALS = "partials"
    UNWIND = "unwind"
    DRIFT = "drift"
    VERIFY_FLAT = "verify flat"
    ORDER = "order"
    FILL = "fill"
    LOOKUP = "lookup"
    POSITIONS = "positions"
    WALLETS = "wallets"
    TRANSFER = "transfer"
    CONFIRM = "confirm"
    DONE = "done"


class StageState(enum.StrEnum):
    WAITING = "waiting"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


#: The stages of each pipeline, in the order they run.
PIPELINE_STAGES: dict[PipelineKind, tuple[Stage, ...]] = {
    PipelineKind.ENTER: (
        Stage.GUARDS,
        Stage.RISK,
        Stage.SLIPPAGE,
        Stage.QUANTITY,
        Stage.JOURNAL,
        Stage.ORDERS,
        Stage.FILLS,
        Stage.PARTIALS,
        Stage.UNWIND,
        Stage.DRIFT,
        Stage.DONE,
    ),
    PipelineKind.EXIT: (
        Stage.GUARDS,
        Stage.RISK,
        Stage.JOURNAL,
        Stage.ORDERS,
        Stage.FILLS,
        Stage.PARTIALS,
        Stage.VERIFY_FLAT,
        Stage.DONE,
    ),
    PipelineKind.CORRECT: (Stage.GUARDS, Stage.DRIFT, Stage.ORDER, Stage.FILL, Stage.DONE),
    PipelineKind.RECONCILE: (Stage.LOOKUP, Stage.POSITIONS, Stage.DONE),
    PipelineKind.TRANSFER: (Stage.GUARDS, Stage.WALLETS, Stage.JOURNAL, Stage.TRANSFER, Stage.CONFIRM, Stage.DONE),
}
