"""What a run tells its display (the CLI's TerminalProgress implements it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from lueur_net.driver.spec import ItemSpec


class RunListener(Protocol):
    def scenario_started(self, index: int, total: int, title: str, specs: list[ItemSpec]) -> None:
        """`specs`: the scenario's ItemSpecs (what each item will do: strategy, planned calls)."""

    def progress(self, event: dict[str, Any]) -> None:
        """A driver progress event (lueur_net.driver.progress); called from a reader thread."""

    def scenario_finished(self, index: int, document: dict[str, Any]) -> None: ...

    def note(self, text: str) -> None: ...

    def warning(self, text: str) -> None:
        """Something the user must not miss (a fault that touched no packet): the CLI prints it on stderr."""
