"""The Excel round trip of mapping review: export a worksheet, let reviewers fill it in, import the decisions.

The "Review" sheet has one row per mapping: source code and name, current
status and target, the matcher's top candidates with scores, then the columns
reviewers fill in (decision and relationship with drop-down lists, target code,
comment). Hidden columns keep the mapping's revision at export time, so a row
that someone changed in the registry since the export is refused instead of
overwriting their work. A hidden "_meta" sheet names the map set. Importing
checks every row and applies all decisions in one transaction, or none.

A cell that holds a formula counts with the value Excel computed and saved for
it. Without one (a file written by another program, or text Excel took for a
formula and could not compute), a comment keeps the formula's text, which is
what the reviewer typed, and any other column refuses the row with the reason.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from registry import config
from registry.errors import BadRequest, ImportRejected, NsiError, Problem
from registry.exports import escape_formula
from registry.mapping.decisions import DECISIONS, Decision, apply_decisions
from registry.mapping.mapsets import get_map_set, list_mappings
from registry.models.mapping import RELATIONSHIPS

SHEET = "Review"
META = "_meta"
EXCEL_DECISIONS = [d for d in DECISIONS if d != "assign"]
FIXED = ["source_code", "source_name", "status", "current_target", "current_target_name"]
INPUT = ["decision", "relationship", "target_code", "comment"]
HIDDEN = ["revision"]
HEADERS = {"source_code": "Source code", "source_name": "Source name", "status": "Status",
           "current_target": "Current target", "current_target_name": "Current target name",
           "decision": "Decision", "relationship": "Relationship", "target_code": "Other target code",
           "comment": "Comment", "revision": "revision (do not edit)"}
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
INSTRUCTIONS = [
    "How to fill in this worksheet / Как заполнять этот лист",
    "",
    "Each row of the Review sheet is one source code. Fill in the yellow columns; leave a row's Decision empty to skip it.",
    "Decision: approve (accept the current target, or the code in 'Other target code'), reject (the suggestion is "
    "wrong), remap (map to the code in 'Other target code'), not-mappable (no target code fits), propose (suggest "
    "a target for a second reviewer to approve), comment (only record the comment).",
    "Relationship (for approve, remap, propose): equivalent, broader (the target is broader than the source), "
    "narrower (the target is narrower), related. Empty means equivalent.",
    "Other target code: a code of the target catalog version; to approve candidate 2 or 3, copy its code here.",
    "Comment: why you decided so; it is kept in the mapping's history. A comment Excel takes for a formula keeps "
    "the value Excel shows, or the text you typed; a formula without a value in any other yellow column refuses "
    "its row.",
    "Do not change the source codes, insert rows in the middle, or edit the hidden revision column: rows changed in "
    "the registry since this export are refused, so nobody's work is overwritten.",
    "Import with: nsi mapset import-decisions MAPSET FILE --reviewer YOUR-NAME. If any row is wrong, nothing is "
    "applied and every wrong row is listed; fix them and import again.",
    "",
    "Каждая строка листа Review — один исходный код. Заполните жёлтые столбцы; пустое решение — строка пропускается.",
    "Decision (решение): approve — утвердить текущий код или код из 'Other target code'; reject — отклонить; "
    "remap — сопоставить с кодом из 'Other target code'; not-mappable — подходящего кода нет; propose — предложить "
    "для утверждения вторым экспертом; comment — только комментарий.",
    "Relationship (отношение): equivalent — равнозначно, broader — целевой код шире, narrower — уже, related — связан.",
    "Comment (комментарий) — почему принято решение; сохраняется в истории. Если Excel принял комментарий за формулу, "
    "берётся показанное значение или набранный текст; формула без значения в другом жёлтом столбце отклоняет строку.",
    "Не меняйте исходные коды и скрытый столбец revision: строки, изменённые в реестре после выгрузки, отклоняются.",
]


def _headers(candidates: int) -> list[str]:
    cols = list(FIXED)
    for i in range(1, candidates + 1):
        cols += [f"candidate_{i}", f"candidate_{i}_name", f"candidate_{i}_score"]
    return cols + INPUT + HIDDEN


def _title(col: str) -> str:
    if col.startswith("candidate_"):
        parts = col.split("_")
        return f"Candidate {parts[1]}" + (f" {parts[2]}" if len(parts) == 3 else "")
    return HEADERS[col]


def export_xlsx(store, slug: str, path: str | Path, *, status: str = "candidate,proposed,rejected",
                candidates: int = 3) -> int:
    """Write the review worksheet of map set `slug` (mappings in `status`) to `path`; return the row count."""
    ms = get_map_set(store, slug)
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    cols = _headers(candidates)
    ws.append([_title(c) for c in cols])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    count, offset = 0, 0
    while True:
        page = list_mappings(store, slug, status=status, limit=1000, offset=offset)
        for m in page["items"]:
            values = {"source_code": m.source_code, "source_name": m.source_display, "status": m.status,
                      "current_target": m.target_code, "current_target_name": m.target_display,
                      "revision": m.revision}
            for i, c in enumerate(m.candidates[:candidates], 1):
                values.update({f"candidate_{i}": c.get("code"), f"candidate_{i}_name": c.get("display"),
                                f"candidate_{i}_score": c.get("score")})
            ws.append([escape_formula(values.get(c)) for c in cols])
            count += 1
        offset += 1000
        if offset >= page["total"]:
            break
    last = max(count + 1, 2)
    letter = {c: ws.cell(row=1, column=i + 1).column_letter for i, c in enumerate(cols)}
    decision_dv = DataValidation(type="list", formula1='"' + ",".join(EXCEL_DECISIONS) + '"', allow_blank=True,
                                 showErrorMessage=True, errorTitle="Decision",
                                 error="Choose one of: " + ", ".join(EXCEL_DECISIONS))
    relationship_dv = DataValidation(type="list", formula1='"' + ",".join(r for r in RELATIONSHIPS
                                                                          if r != "not-mappable") + '"',
                                     allow_blank=True, showErrorMessage=True, errorTitle="Relationship",
                                     error="Choose equivalent, broader, narrower or related")
    ws.add_data_validation(decision_dv)
    ws.add_data_validation(relationship_dv)
    decision_dv.add(f"{letter['decision']}2:{letter['decision']}{last}")
    relationship_dv.add(f"{letter['relationship']}2:{letter['relationship']}{last}")
    for col in INPUT:
        for row in range(2, count + 2):
            ws[f"{letter[col]}{row}"].fill = INPUT_FILL
    widths = {"source_name": 40, "current_target_name": 30, "comment": 40}
    for c in cols:
        ws.column_dimensions[letter[c]].width = widths.get(c, 28 if c.endswith("_name") else 14)
    ws.column_dimensions[letter["revision"]].hidden = True
    ws.freeze_panes = "C2"
    info = wb.create_sheet("Instructions")
    for line in INSTRUCTIONS:
        info.append([line])
    info.column_dimensions["A"].width = 140
    for row in info.iter_rows():
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
    info["A1"].font = Font(bold=True, size=14)
    meta = wb.create_sheet(META)
    for key, value in [("map_set", ms.slug), ("source", f"{ms.source_catalog}@{ms.source_version}"),
                       ("target", f"{ms.target_catalog}@{ms.target_version}"), ("format", "nsi-review-1")]:
        meta.append([key, value])
    meta.sheet_state = "hidden"
    wb.save(path)
    return count


OUTCOMES = ("approved", "proposed", "rejected", "commented", "assigned", "unchanged")


@dataclass
class ImportReport:
    """What an import of decisions did: rows read, decisions applied, rows skipped (no decision).

    `by_decision` counts what the rows asked for; `by_outcome` what happened
    (approved, proposed, rejected, commented, or unchanged for a row that asked
    for the state the mapping already had). They differ under the four-eyes
    rule, where an approval of something nobody proposed yet is recorded as a
    proposal: `proposed_under_four_eyes` counts those.
    """

    map_set: str
    file: str
    rows: int = 0
    applied: int = 0
    skipped: int = 0
    by_decision: dict = field(default_factory=dict)
    by_outcome: dict = field(default_factory=dict)
    proposed_under_four_eyes: int = 0

    def to_dict(self) -> dict:
        """A JSON-ready form."""
        return dict(self.__dict__)

    def summary(self, reviewer: str) -> str:
        """One line for people: what was applied, counted by outcome, and the rows left alone."""
        outcomes = ", ".join(f"{self.by_outcome[k]} {k}" for k in OUTCOMES if self.by_outcome.get(k))
        line = f"Applied {self.applied} decisions of {reviewer} from {self.file}" + (f": {outcomes}" if outcomes else "")
        if self.proposed_under_four_eyes:
            line += (f" ({self.proposed_under_four_eyes} recorded as proposals under the four-eyes rule; "
                     f"another reviewer must approve them)")
        return line + f"; {self.skipped} rows without a decision left as they were"


def _outcome(decision: str, status: str) -> str:
    if decision == "comment":
        return "commented"
    if decision == "assign":
        return "assigned"
    return status


def _check_size(path: Path) -> None:
    limit = config.get("NSI_XLSX_MAX_UNCOMPRESSED_MB") * 1024 * 1024
    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile:
        raise BadRequest(f"{path.name} is not an xlsx file") from None
    if total > limit:
        raise BadRequest(f"{path.name} unpacks to {total // 1048576} MiB, more than NSI_XLSX_MAX_UNCOMPRESSED_MB")


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


FORMULA_ELEMENT = re.compile(rb"<(?:\w+:)?f[ >/]")


def _has_formulas(path: Path) -> bool:
    """Whether any sheet of the workbook holds a formula (read as raw XML: most worksheets have none)."""
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                continue
            with zf.open(name) as part:
                tail = b""
                for chunk in iter(lambda: part.read(1 << 20), b""):
                    if FORMULA_ELEMENT.search(tail + chunk):
                        return True
                    tail = chunk[-16:]
    return False


def _uncomputed(value, formula) -> bool:
    """True for a formula cell (read with data_only=False) whose computed value was not saved, or is an
    error such as #NAME?; a cell whose value is there reads the same both ways."""
    return (isinstance(formula, str) and formula.startswith("=") and value != formula
            and (value is None or value in ERROR_CODES))


def read_decisions(path: str | Path, slug: str) -> tuple[list[Decision], list[Problem], int]:
    """The decisions in a filled worksheet, the problems found reading it, and the number of data rows."""
    path = Path(path)
    if not path.is_file():
        raise BadRequest(f"{path}: no such file")
    _check_size(path)
    name = path.name
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
        # The same cells' formulas, read only when there are any (a second pass costs as much as the first).
        formula_wb = load_workbook(path, read_only=True, data_only=False) if _has_formulas(path) else None
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise BadRequest(f"{name} cannot be read as an xlsx workbook: {exc}") from None
    try:
        if SHEET not in wb.sheetnames:
            raise BadRequest(f"{name} has no sheet {SHEET!r}: is it a review worksheet exported by nsi?")
        if META in wb.sheetnames:
            meta = {r[0]: r[1] for r in wb[META].iter_rows(values_only=True) if r and r[0]}
            if meta.get("map_set") != slug:
                raise BadRequest(f"{name} was exported from map set {meta.get('map_set')!r}, not {slug!r}")
        rows = wb[SHEET].iter_rows(values_only=True)
        header = list(next(rows, []) or [])
        titles = {_title(c): c for c in _headers(10)}
        index = {titles[h]: i for i, h in enumerate(header) if h in titles}
        missing = [HEADERS[c] for c in ["source_code", *INPUT, *HIDDEN] if c not in index]
        if missing:
            raise BadRequest(f"{name}, sheet {SHEET}: missing columns {', '.join(missing)}")
        formula_rows = formula_wb[SHEET].iter_rows(min_row=2, values_only=True) if formula_wb else None
        decisions, problems, count = [], [], 0
        for rownum, values in enumerate(rows, start=2):
            formulas = next(formula_rows, ()) if formula_rows else ()
            get = {c: _text(values[i]) if i < len(values) else None for c, i in index.items()}
            uncomputed = [c for c, i in index.items()
                          if i < len(values) and i < len(formulas) and _uncomputed(values[i], formulas[i])]
            if "comment" in uncomputed:
                get["comment"] = _text(formulas[index["comment"]])
                uncomputed.remove("comment")
            if not any(get.values()) and not uncomputed:
                continue
            count += 1
            where = {"file": name, "sheet": SHEET, "row": rownum, "code": get.get("source_code")}
            if uncomputed:
                column = uncomputed[0]
                problems.append(Problem(f"the cell holds the formula {formulas[index[column]]} but no value computed "
                                        f"from it; type the value itself, or open and save the file in Excel",
                                        column=HEADERS[column], kind="formula_without_value", **where))
                continue
            decision = get.get("decision")
            if not decision:
                continue
            if not get.get("source_code"):
                problems.append(Problem("the source code is empty", column=HEADERS["source_code"], **where))
                continue
            if decision.lower() not in EXCEL_DECISIONS:
                problems.append(Problem(f"decision {decision!r} is not one of {', '.join(EXCEL_DECISIONS)}",
                                        column=HEADERS["decision"], kind="bad_decision", **where))
                continue
            try:
                revision = int(get["revision"])
            except (TypeError, ValueError):
                problems.append(Problem("the hidden revision cell is empty or changed; export the worksheet again",
                                        column=HEADERS["revision"], kind="bad_revision", **where))
                continue
            relationship = (get.get("relationship") or "").lower() or None
            decisions.append(Decision(get["source_code"], decision.lower(), revision, relationship,
                                      get.get("target_code"), get.get("comment"), row=rownum))
        return decisions, problems, count
    finally:
        wb.close()
        if formula_wb:
            formula_wb.close()


def import_decisions(store, slug: str, path: str | Path, *, reviewer: str) -> ImportReport:
    """Apply the decisions of a filled review worksheet, all or nothing.

    Every row is checked (unknown source or target codes, bad decisions or
    relationships, rows changed since the export, the four-eyes rule); if any
    row is wrong, ImportRejected lists each one with its row and nothing is applied.
    """
    path = Path(path)
    decisions, problems, rows = read_decisions(path, slug)
    report = ImportReport(map_set=slug, file=path.name, rows=rows)
    applied = []
    if decisions:
        try:
            applied = apply_decisions(store, slug, decisions, actor=reviewer, dry_run=bool(problems))
        except NsiError as exc:
            by_row = {d.row: d for d in decisions}
            for err in (exc.details or {}).get("errors", []):
                d = by_row.get(err.get("row"))
                problems.append(Problem(err["message"], file=path.name, sheet=SHEET, row=err.get("row"),
                                        column=HEADERS.get(err.get("field")), code=str(d.mapping) if d else None,
                                        kind=err.get("code", "invalid")))
            if not (exc.details or {}).get("errors"):
                raise
    if problems:
        problems.sort(key=lambda p: p.row if isinstance(p.row, int) else 0)
        raise ImportRejected(problems, message=f"{path.name}: {len(problems)} rows refused, no decision applied; "
                                               f"first: {problems[0]}")
    report.applied = len(applied)
    report.skipped = rows - len(applied)
    for d, result in zip(decisions, applied):  # apply_decisions returns the new states in the decisions' order
        report.by_decision[d.decision] = report.by_decision.get(d.decision, 0) + 1
        outcome = "unchanged" if result.revision == d.revision else _outcome(d.decision, result.status)
        report.by_outcome[outcome] = report.by_outcome.get(outcome, 0) + 1
        if d.decision != "propose" and outcome == "proposed":
            report.proposed_under_four_eyes += 1
    return report
