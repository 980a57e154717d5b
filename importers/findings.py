"""Findings: the errors and warnings one import collects outside what the store itself checks."""

from __future__ import annotations

from dataclasses import dataclass, field

from registry.errors import ImportRejected, Problem

MAX_PROBLEMS = 1000


@dataclass
class Findings:
    """Errors and warnings of one import, outside what the store itself checks."""

    file: str
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    error_count: int = 0  # every error, listed or not
    # Whether the entries go straight to the store's staging, which takes rows built by columns whole
    # (registry.entries.EncodedBlock; importers.columnar); other consumers get entries only.
    takes_blocks: bool = False

    def error(self, problem: Problem) -> None:
        """Record an error (the import will be rejected); lists the first MAX_PROBLEMS and counts them all."""
        self.error_count += 1
        if len(self.errors) < MAX_PROBLEMS:
            self.errors.append(problem)

    def warn(self, problem: Problem) -> None:
        """Record a warning (listed in the report; the import goes on)."""
        problem.severity = "warning"
        if len(self.warnings) < MAX_PROBLEMS:
            self.warnings.append(problem)

    def raise_if_errors(self) -> None:
        """Stop the import with every error found so far."""
        if self.errors:
            raise ImportRejected(self.errors, self.warnings, total=self.error_count)
