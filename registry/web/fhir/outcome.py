"""OperationOutcome, built in one place: the FHIR wing's errors and the `issues` of $validate-code.

Every error under /fhir leaves as an OperationOutcome with its HTTP status (never
HTML, never a stack trace). Issues about codes carry a `details.coding` from the
tx-issue-type code system, as the HL7 terminology tests expect.
"""

from __future__ import annotations

TX_ISSUE_TYPE = "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type"


class FhirError(Exception):
    """An error answered with an OperationOutcome: HTTP status, issue type and text."""

    def __init__(self, status: int, code: str, message: str, tx_code: str | None = None,
                 expression: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.tx_code = tx_code
        self.expression = expression

    def outcome(self) -> dict:
        """This error as an OperationOutcome resource."""
        return operation_outcome([issue("error", self.code, self.message, self.tx_code, self.expression)])


def not_found(message: str, tx_code: str | None = "not-found") -> FhirError:
    """404 `not-found`: an unknown resource, code system or value set."""
    return FhirError(404, "not-found", message, tx_code)


def bad_request(message: str, expression: str | None = None) -> FhirError:
    """400 `invalid`: a missing, malformed or contradictory parameter."""
    return FhirError(400, "invalid", message, "invalid-data" if expression else None, expression)


MESSAGE_ID = "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id"


def issue(severity: str, code: str, text: str, tx_code: str | None = None, expression: str | None = None,
          message_id: str | None = None) -> dict:
    """One OperationOutcome.issue: severity, code, details (text and tx-issue-type coding) and expression.

    `message_id` names the HL7 reference server's message (the operationoutcome-message-id extension).
    """
    details: dict = {"text": text}
    if tx_code:
        details = {"coding": [{"system": TX_ISSUE_TYPE, "code": tx_code}], "text": text}
    out = {"severity": severity, "code": code, "details": details}
    if message_id:
        out = {"extension": [{"url": MESSAGE_ID, "valueString": message_id}], **out}
    if expression:
        out["location"] = [expression]
        out["expression"] = [expression]
    return out


def operation_outcome(issues: list[dict]) -> dict:
    """An OperationOutcome resource holding `issues`."""
    return {"resourceType": "OperationOutcome", "issue": issues}
