"""The error hierarchy of the library; ``cli.py`` maps it to exit codes once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem in an input file, located at ``path:line:column`` (both 1-based)."""

    path: str
    line: int
    column: int
    message: str
    severity: Severity = "error"
    # What the problem is about, for code that acts on it (never shown): "private-key" (a
    # private key in the file), "certificate" (the OAuthTokenIssuer certificate), or "".
    code: str = field(default="", compare=False)

    def format(self) -> str:
        """Render compiler style: ``path:line:column: message`` (warnings say so)."""
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.path}:{self.line}:{self.column}: {prefix}{self.message}"


class RunbookError(Exception):
    """Base of every error the library raises on purpose."""


class InputError(RunbookError):
    """One or more environment files are invalid; carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics)
        super().__init__("\n".join(d.format() for d in self.diagnostics))


class TemplateError(RunbookError):
    """A template is broken (syntax error, undefined name); names the template and line."""


class MachineError(RunbookError):
    """A library this machine lacks (the PDFs' Pango): not a mistake in the project."""


class OutputError(RunbookError):
    """A file could not be written, or writing it would clobber a file we did not generate."""
