"""Errors that end a command with a message and a documented exit status (no traceback)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1  # the run completed and an expectation or SLO failed
EXIT_BAD_INPUT = 2
EXIT_ENVIRONMENT = 3
EXIT_INTERRUPTED = 130


class LueurError(Exception):
    """Base of the errors the CLI prints as one message and turns into an exit status."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message}\n  hint: {self.hint}"


class BadInput(LueurError):
    """The user's input (scenario file, flag, target) is wrong; nothing was changed."""

    exit_code = EXIT_BAD_INPUT


class EnvironmentProblem(LueurError):
    """The machine cannot do what was asked: not root, missing kernel feature, missing tool."""

    exit_code = EXIT_ENVIRONMENT
