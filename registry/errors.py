"""One error hierarchy for the whole registry.

Every error a user can cause is an `NsiError`. The CLI prints its message on one
line and exits non-zero; the web layer turns it into the JSON error shape with
`http_status`. Anything that is not an `NsiError` is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class NsiError(Exception):
    """Base of every user-facing error: a message, a machine code and details."""

    code = "error"
    http_status = 400
    exit_code = 1

    def __init__(self, message: str, details: dict | list | None = None):
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict:
        """The JSON error body shared by every API response."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class NotFound(NsiError):
    """A catalog, version, entry or other object does not exist."""

    code = "not_found"
    http_status = 404


class AlreadyExists(NsiError):
    """Something with that identifier exists already."""

    code = "already_exists"
    http_status = 409


class Conflict(NsiError):
    """The operation conflicts with the current state (a racing publish, a stale decision)."""

    code = "conflict"
    http_status = 409


class InvalidState(NsiError):
    """The object is in the wrong state for the operation (publishing a retired version)."""

    code = "invalid_state"
    http_status = 409


class BadRequest(NsiError):
    """The request or command line is wrong in itself."""

    code = "bad_request"
    http_status = 400


class TooLarge(NsiError):
    """A request body larger than the server takes."""

    code = "too_large"
    http_status = 413


class ConfigError(NsiError):
    """A setting is missing or wrong, or the database is not initialised."""

    code = "config_error"
    http_status = 500


class Unauthorized(NsiError):
    """No token, or a token that is not valid."""

    code = "unauthorized"
    http_status = 401


class Forbidden(NsiError):
    """A valid token whose role does not allow the operation."""

    code = "forbidden"
    http_status = 403


@dataclass
class Problem:
    """One finding of an import: where it is and what is wrong.

    `file`, `sheet`, `row` and `column` name the place in the source so that an
    operator can open the file and fix it.
    """

    message: str
    severity: str = "error"
    file: str | None = None
    sheet: str | None = None
    row: int | str | None = None
    column: str | None = None
    code: str | None = None
    kind: str = "invalid"

    def where(self) -> str:
        """The position as `file, sheet S, row R, column C` (only the parts that are known)."""
        parts = []
        if self.file:
            parts.append(self.file)
        if self.sheet:
            parts.append(f"sheet {self.sheet}")
        if self.row is not None:
            parts.append(row_label(self.row))
        if self.column:
            parts.append(f"column {self.column}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict:
        """A JSON-ready form for reports and API responses."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


def row_label(row: int | str) -> str:
    """`row 5` for a row number; a named position (`record 5` of a JSON list) as it is."""
    return row if isinstance(row, str) and not row[:1].isdigit() else f"row {row}"


@dataclass(slots=True)  # one per imported row: slots make it cheaper to create
class Position:
    """Where a record came from: file, sheet (or XPath) and row (1-based, as a spreadsheet shows it).

    `columns` maps the canonical fields of the entry ("code", "display",
    "status", "parents", "attributes.<name>", "hierarchy.id",
    "hierarchy.parent_id") to the column, or XML path, the file holds them in.
    The mapper shares one such dict among all rows of a field set; whoever
    checks a canonical field names the file's column with `column_for`.
    """

    file: str | None = None
    sheet: str | None = None
    row: int | str | None = None
    columns: dict[str, str] | None = None

    def column_for(self, field: str | None, default: str | None = None) -> str | None:
        """The file's name of canonical `field` (e.g. "code" -> "MKB_CODE"); `default` or `field` if unknown."""
        if self.columns and field is not None:
            name = self.columns.get(field)
            if name:
                return name
        return default if default is not None else field

    def problem(self, message: str, column: str | None = None, code: str | None = None,
                severity: str = "error", kind: str = "invalid") -> Problem:
        """A Problem located at this position."""
        return Problem(message, severity=severity, file=self.file, sheet=self.sheet, row=self.row,
                       column=column, code=code, kind=kind)


class ImportRejected(NsiError):
    """An import found errors: nothing was staged. `problems` lists every one with its place."""

    code = "import_rejected"
    http_status = 422
    max_listed = 20

    def __init__(self, problems: list[Problem], warnings: list[Problem] | None = None,
                 message: str | None = None, total: int | None = None):
        self.problems = problems
        self.warnings = warnings or []
        # Checks stop listing problems after a thousand; `total` counts those left out too.
        self.total = max(total or 0, len(problems))
        first = str(problems[0]) if problems else "unknown problem"
        others = self.total - 1
        more = f" (and {others} more {'error' if others == 1 else 'errors'})" if others > 0 else ""
        super().__init__(message or f"import rejected: {first}{more}",
                         details={"errors": [p.to_dict() for p in problems[:1000]],
                                  "error_count": self.total})


@dataclass
class Report:
    """What an import did or would do: counts, errors and warnings."""

    catalog: str
    version: str
    source: str | None = None
    source_sha256: str | None = None
    entries: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    status: str = "staged"
    checksum: str | None = None
    seconds: float = 0.0
    warnings: list[Problem] = field(default_factory=list)
    message: str | None = None

    def to_dict(self) -> dict:
        """A JSON-ready form, used by the CLI's --json and by import jobs."""
        d = dict(self.__dict__)
        d["warnings"] = [w.to_dict() for w in self.warnings]
        return d
