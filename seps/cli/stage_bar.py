"""One progress bar per stage (collect / encode / cluster / train) for the CLI, drawn with tqdm."""

from __future__ import annotations

from typing import Any

from tqdm import tqdm

from seps.progress import StageProgress


class StageBar:
    """Shows the current stage's progress; a new stage closes the previous bar and opens its own."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._bar: Any = None
        self._stage = ""

    def __call__(self, update: StageProgress) -> None:
        if not self.enabled:
            return
        if update.stage != self._stage or self._bar is None or self._bar.total != update.total:
            self.close()
            self._stage = update.stage
            self._bar = tqdm(
                total=update.total,
                desc=f"{update.stage:<8}",
                unit=update.unit,
                unit_scale=update.unit == "step",
                dynamic_ncols=True,
            )
        self._bar.update(update.done - self._bar.n)
        if update.detail:
            self._bar.set_postfix_str(update.detail, refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> StageBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
