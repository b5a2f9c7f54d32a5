"""Progress reporting of long integrations (k-points done, rate, ETA) on stderr."""

from __future__ import annotations

import sys


def _rate_column_class():  # noqa: ANN202
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """k-points per second."""

        def render(self, task):  # noqa: ANN001, ANN202
            speed = task.speed
            return Text("" if speed is None else f"{speed:,.0f} k/s")

    return RateColumn


def _RateColumn():  # noqa: ANN202, N802
    return _rate_column_class()()


class RichProgress:
    """A rich progress bar used as ``progress=callable(done_k, total_k)``."""

    def __init__(self, description: str = "k-points") -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(file=sys.stderr),
            transient=False,
        )
        self._task = None
        self._description = description

    def __call__(self, done: int, total: int) -> None:
        if self._task is None:
            self._progress.start()
            self._task = self._progress.add_task(self._description, total=total)
        self._progress.update(self._task, completed=done, total=total)

    def close(self) -> None:
        if self._task is not None:
            self._progress.stop()
