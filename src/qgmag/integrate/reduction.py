"""The ordered reduction of chunk results shared by every backend (and by checkpoints).

Floating-point addition is not associative, so a sum over chunks depends on the order in
which they are added. :class:`OrderedSum` makes the order fixed — chunk 0, 1, 2, ... —
whatever the order in which results *arrive*: a result that arrives early waits in
``pending`` until every chunk before it has been folded into ``prefix``. Serial runs,
Dask runs with any number of workers or completion order, and interrupted-then-resumed
runs therefore perform the same sequence of additions and agree to the last bit (up to
BLAS differences inside a chunk). Backends bound memory by submitting chunk ``i`` only
while ``i < folded + window`` (see :mod:`qgmag.parallel`), so ``pending`` holds at most
``window`` results.
"""

from __future__ import annotations

from collections.abc import Iterator

from qgmag.integrate.chunk import PartialSums


class OrderedSum:
    """Partial sums of chunks [0, folded) plus results of later chunks not yet folded in.

    Parameters
    ----------
    bounds : (start, stop) mesh-point ranges of the chunks, in order.
    prefix, folded, pending : a state restored from a checkpoint (default: nothing done).
    """

    def __init__(
        self,
        bounds: list[tuple[int, int]],
        *,
        prefix: PartialSums | None = None,
        folded: int = 0,
        pending: dict[int, PartialSums] | None = None,
    ) -> None:
        self.bounds = list(bounds)
        # (prefix, folded) change together: one attribute store, so an interrupt (SIGINT
        # raises between bytecodes) never sees a prefix without its matching count.
        self._fold: tuple[PartialSums, int] = (prefix or PartialSums(), int(folded))
        self.pending: dict[int, PartialSums] = dict(pending or {})

    @property
    def n_chunks(self) -> int:
        return len(self.bounds)

    @property
    def prefix(self) -> PartialSums:
        return self._fold[0]

    @property
    def folded(self) -> int:
        """Chunks [0, folded) are summed into :attr:`prefix`."""
        return self._fold[1]

    @property
    def n_points(self) -> int:
        """Mesh points of the whole pass."""
        return self.bounds[-1][1] if self.bounds else 0

    def later_results(self) -> dict[int, PartialSums]:
        """Results received but not yet folded (chunks after the first missing one)."""
        folded = self.folded
        return {i: r for i, r in sorted(self.pending.items()) if i >= folded}

    def is_done(self, index: int) -> bool:
        return index < self.folded or index in self.pending

    def todo(self) -> Iterator[int]:
        """Indices of the chunks still to compute, ascending (evaluated lazily)."""
        for index in range(self.folded, self.n_chunks):
            if not self.is_done(index):
                yield index

    @property
    def n_done(self) -> int:
        return self.folded + len(self.later_results())

    @property
    def points_done(self) -> int:
        folded = self.folded
        later = sum(self.bounds[i][1] - self.bounds[i][0] for i in self.pending if i >= folded)
        return (self.bounds[folded - 1][1] if folded else 0) + later

    @property
    def complete(self) -> bool:
        return self.folded == self.n_chunks

    def add(self, index: int, result: PartialSums) -> None:
        """Record chunk ``index`` and fold every contiguous result into the prefix, in order.

        A chunk already recorded (a task that a Dask scheduler ran twice) is ignored.
        """
        if self.is_done(index):
            return
        self.pending[index] = result
        while True:
            prefix, folded = self._fold
            nxt = self.pending.get(folded)
            if nxt is None:
                return
            self._fold = (prefix + nxt, folded + 1)
            del self.pending[folded]

    def total(self) -> PartialSums:
        """The sum over all chunks (only once every chunk is in)."""
        if not self.complete:
            raise RuntimeError(
                f"only {self.n_done} of {self.n_chunks} chunks are done; the sum is incomplete."
            )
        return self.prefix
