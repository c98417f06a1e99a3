"""Pipeline progress: the running pipeline's stages in order, each with its state and elapsed time.

Fed by the engine's StageEvents (low rate), so a Static repaint per event is cheap enough.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from hedgetui.domain.stages import PIPELINE_STAGES, PipelineKind, Stage, StageState

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


class PipelineProgress(Static):
    """``✓ guards 0 ms  ✓ risk 41 ms  ⟳ orders  · fills ...`` for the current (or last) pipeline."""

    DEFAULT_CSS = """
    PipelineProgress {
        height: auto;
        min-height: 1;
        padding: 0 1;
        background: $panel;
    }
    PipelineProgress.-failed { background: $danger 30%; }
    PipelineProgress.-running { background: $accent 20%; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.border_title = "Pipeline"
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

    def render_text(self) -> Text:
        text = Text(f"{self.border_title}  ", style="bold")
        if self.kind is None:
            text.append("no pipeline has run yet", style="dim")
            return text
        for i, (stage, (state, elapsed)) in enumerate(self.states.items()):
            if i:
                text.append("  ")
            label = f"{_MARK[state]} {stage.value}"
            if elapsed is not None and state in (StageState.DONE, StageState.FAILED):
                label += f" {elapsed:.0f} ms"
            text.append(label, style=_STYLE[state])
        return text

    def _draw(self) -> None:
        states = {s for s, _ in self.states.values()}
        self.set_class(StageState.FAILED in states, "-failed")
        self.set_class(StageState.RUNNING in states, "-running")
        title = "Pipeline"
        if self.kind is not None:
            title = f"{self.kind.value.upper()}" + (f" {self.intent_id}" if self.intent_id else "")
        self.border_title = title
        self.update(self.render_text())
