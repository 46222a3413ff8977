"""How many examples of a hypothesis property reach its assertion (the ``reach`` fixture)."""

from __future__ import annotations

from hypothesis import event, settings


class Reach:
    """How many examples of a hypothesis property reach its assertion.

    A property that returns early for most examples checks much less than its
    ``max_examples`` says. Call :meth:`reached` where an example reaches the
    assertion (it also records a hypothesis ``event``, which ``pytest
    --hypothesis-show-statistics`` prints for a property that is a test itself), run
    the property, then :meth:`at_least_half` prints the count (``pytest -rP`` shows
    it) and fails unless half of ``max_examples`` got there.
    """

    def __init__(self) -> None:
        self.count = 0

    def reached(self, label: str = "reached the assertion") -> None:
        event(label)
        self.count += 1

    def at_least_half(self, runs: settings) -> None:
        wanted = runs.max_examples // 2
        print(f"{self.count} of {runs.max_examples} examples reached the assertion")  # -rP
        assert self.count >= wanted, (
            f"only {self.count} examples reached the assertion; at least {wanted} of "
            f"{runs.max_examples} must: draw more examples that get past the early returns"
        )
