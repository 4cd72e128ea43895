"""GitHub's error responses: the `basic-error` and `validation-error` bodies and their statuses."""

from __future__ import annotations

from typing import Any

DOCS = "https://docs.github.com/rest"


class ApiError(Exception):
    """Raised anywhere in a request; the pipeline turns it into GitHub's JSON error response."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[Any] | None = None,
        documentation_url: str = DOCS,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.errors = errors
        self.documentation_url = documentation_url
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message": self.message,
            "documentation_url": self.documentation_url,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        body["status"] = str(self.status)
        return body


def not_found(message: str = "Not Found") -> ApiError:
    return ApiError(404, message)


def bad_credentials() -> ApiError:
    return ApiError(401, "Bad credentials")


def forbidden_for_integration(accepted: str = "") -> ApiError:
    headers = {"x-accepted-github-permissions": accepted} if accepted else None
    return ApiError(403, "Resource not accessible by integration", headers=headers)


def validation_failed(
    resource: str, field: str, code: str, message: str | None = None, value: Any = None
) -> ApiError:
    error: dict[str, Any] = {"resource": resource, "field": field, "code": code}
    if message is not None:
        error["message"] = message
    if value is not None:
        error["value"] = value
    return ApiError(422, "Validation Failed", errors=[error])


def invalid_request(detail: str) -> ApiError:
    """The 422 GitHub sends for a malformed body, e.g. `"sha" wasn't supplied.`"""
    return ApiError(422, f"Invalid request.\n\n{detail}")


def unprocessable(message: str) -> ApiError:
    return ApiError(422, message)
