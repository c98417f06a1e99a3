"""Pipeline progress: the running pipeline's stages in order, each with its state and elapsed time.

Fed by the engine's StageEvents (low rate), so a text repaint per event is cheap enough.
"""

from __future__ import annotations

from rich.text import Text

from hedgetui.domain.stages import PIPELINE_STAGES, PipelineKind, Stage, StageState
from hedgetui.ui.widgets.text_line import TextLine

_MARK = {
    StageState.WAITING: "·",
    StageState.RUNNING: "⟳",
    StageState.DONE: "✓",
    StageState.FAILED: "✗",
    StageState.SKIPPED: "–",
}
_STYLE = {
    StageState.WAITING: "dim",
    StageState.RUNNING: "bold",
    StageState.DONE: "",
    StageState.FAILED: "bold reverse",
    StageState.SKIPPED: "dim",
}


class PipelineProgress(TextLine):
    """``ENTER 7f3a  ✓ guards 0  ✓ risk 41  ⟳ orders  · fills ...`` for the current (or last) pipeline.

    Fits its width: with stage times (ms) when there is room, without them otherwise, and as
    ``⟳ orders (6/11)`` when even the names do not fit; it never wraps.
    """

    DEFAULT_CSS = """
    PipelineProgress {
        height: 1;
        padding: 0 1;
        background: $panel;
    }
    PipelineProgress.-failed { background: $danger 30%; }
    PipelineProgress.-running { background: $accent 20%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.kind: PipelineKind | None = None
        self.intent_id: str | None = None
        self.states: dict[Stage, tuple[StageState, float | None]] = {}

    def begin(self, kind: PipelineKind, intent_id: str | None) -> None:
        """Show a new pipeline with every stage waiting."""
        self.kind = kind
        self.intent_id = intent_id
        self.states = {stage: (StageState.WAITING, None) for stage in PIPELINE_STAGES[kind]}
        self._draw()

    def stage(
        self,
        kind: PipelineKind,
        intent_id: str | None,
        stage: Stage,
        state: StageState,
        elapsed_ms: float | None,
    ) -> None:
        """Apply one stage event (starting a new display when the pipeline or intent changed)."""
        if kind is not self.kind or (intent_id and intent_id != self.intent_id):
            self.begin(kind, intent_id)
        if stage in self.states:
            self.states[stage] = (state, elapsed_ms)
        self._draw()

    def title(self) -> str:
        if self.kind is None:
            return "Pipeline"
        return self.kind.value.upper() + (f" {self.intent_id[:8]}" if self.intent_id else "")

    def render_text(self, width: int = 0) -> Text:
        """The strip for ``width`` cells (0: no limit)."""
        head = f"{self.title()}  "
        if self.kind is None:
            return Text(head + "no pipeline has run yet", style="dim")
        for timed in (True, False):
            text = Text(head, style="bold")
            for i, (stage, (state, elapsed)) in enumerate(self.states.items()):
                if i:
                    text.append("  " if timed else " ")
                label = f"{_MARK[state]} {stage.value}"
                if timed and elapsed is not None and state in (StageState.DONE, StageState.FAILED):
                    label += f" {elapsed:.0f}"
                text.append(label, style=_STYLE[state])
            if timed:
                text.append("  (ms)", style="dim")
            if not width or text.cell_len <= width:
                return text
        current: tuple[Stage, StageState] | None = next(
            ((s, st) for s, (st, _) in self.states.items() if st in (StageState.RUNNING, StageState.FAILED)),
            None,
        )
        if current is None:  # between stages or ended: the last one that moved
            moved = [(s, st) for s, (st, _) in self.states.items() if st is not StageState.WAITING]
            current = moved[-1] if moved else None
        done = sum(1 for st, _ in self.states.values() if st in (StageState.DONE, StageState.SKIPPED))
        text = Text(head, style="bold")
        if current is not None:
            text.append(f"{_MARK[current[1]]} {current[0].value}", style=_STYLE[current[1]])
        text.append(f" ({done}/{len(self.states)})")
        return text

    def _draw(self) -> None:
        states = {s for s, _ in self.states.values()}
        self.set_class(StageState.FAILED in states, "-failed")
        self.set_class(StageState.RUNNING in states, "-running")
        self.set(self.render_text(max(0, self.size.width - 2)))

    def on_resize(self) -> None:
        self._draw()
