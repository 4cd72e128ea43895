"""Validation of check-run requests against the Checks API limits.

At most 50 annotations and 3 actions per request, 65535 characters of summary and text,
`conclusion` required with `status: completed`, the statuses an App may set, and the field
rules of each annotation and action. Every violation is a 422.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.errors import ApiError, invalid_request
from bot.sandbox.model import Json

APP_STATUSES = ("queued", "in_progress", "completed")
CONCLUSIONS = (
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
    "timed_out",
)
LEVELS = ("notice", "warning", "failure")
MAX_TEXT = 65535
MAX_DETAIL = 64 * 1024
MAX_ANNOTATIONS = 50
MAX_ACTIONS = 3
ACTION_LIMITS = {"label": 20, "description": 40, "identifier": 20}


def _too_long(field: str, value: str, limit: int) -> ApiError:
    return invalid_request(
        f"For '{field}', only {limit} characters are allowed; {len(value)} were supplied."
    )


def _annotation(index: int, item: Any) -> Json:
    where = f"annotations[{index}]"
    if not isinstance(item, dict):
        raise invalid_request(f"For '{where}', the annotation must be an object.")
    for name in ("path", "message", "annotation_level"):
        if not isinstance(item.get(name), str) or not item[name]:
            raise invalid_request(f'"{name}" wasn\'t supplied for {where}.')
    for name in ("start_line", "end_line"):
        if not isinstance(item.get(name), int) or item[name] < 1:
            raise invalid_request(f'"{name}" wasn\'t supplied for {where}.')
    if item["annotation_level"] not in LEVELS:
        raise invalid_request(
            f"For '{where}.annotation_level', {item['annotation_level']!r} is invalid."
        )
    if item["end_line"] < item["start_line"]:
        raise invalid_request(f"For '{where}', end_line must not be before start_line.")
    columns = [name for name in ("start_column", "end_column") if item.get(name) is not None]
    if columns and item["start_line"] != item["end_line"]:
        raise invalid_request(
            f"For '{where}', start_column and end_column are only allowed on a single line."
        )
    if len(str(item.get("title") or "")) > 255:
        raise _too_long(f"{where}.title", str(item["title"]), 255)
    for name in ("message", "raw_details"):
        text = str(item.get(name) or "")
        if len(text.encode()) > MAX_DETAIL:
            raise _too_long(f"{where}.{name}", text, MAX_DETAIL)
    keys = ("path", "start_line", "end_line", "start_column", "end_column", "annotation_level")
    clean = {key: item.get(key) for key in keys}
    clean.update({key: item.get(key) for key in ("title", "message", "raw_details")})
    return clean


def validate_output(output: Any) -> tuple[Json, list[Json]]:
    """(title/summary/text, annotations) from a request's `output`."""
    if not isinstance(output, dict):
        raise invalid_request("For 'output', the value must be an object.")
    for name in ("title", "summary"):
        if not isinstance(output.get(name), str):
            raise invalid_request(f'"{name}" wasn\'t supplied.')
    for name in ("summary", "text"):
        value = output.get(name)
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise _too_long(f"output.{name}", value, MAX_TEXT)
    annotations = output.get("annotations") or []
    if not isinstance(annotations, list):
        raise invalid_request("For 'output.annotations', the value must be an array.")
    if len(annotations) > MAX_ANNOTATIONS:
        raise invalid_request(
            f"Only {MAX_ANNOTATIONS} annotations are allowed per request; "
            f"{len(annotations)} were supplied."
        )
    texts = {name: output.get(name) for name in ("title", "summary", "text")}
    return texts, [_annotation(i, item) for i, item in enumerate(annotations)]


def validate_actions(actions: Any) -> list[Json]:
    if not isinstance(actions, list):
        raise invalid_request("For 'actions', the value must be an array.")
    if len(actions) > MAX_ACTIONS:
        raise invalid_request(
            f"Only {MAX_ACTIONS} actions are allowed; {len(actions)} were supplied."
        )
    clean: list[Json] = []
    for index, action in enumerate(actions):
        if not isinstance(action, dict):
            raise invalid_request(f"For 'actions[{index}]', the action must be an object.")
        for name, limit in ACTION_LIMITS.items():
            value = action.get(name)
            if not isinstance(value, str) or not value:
                raise invalid_request(f'"{name}" wasn\'t supplied for actions[{index}].')
            if len(value) > limit:
                raise _too_long(f"actions[{index}].{name}", value, limit)
        clean.append({name: action[name] for name in ACTION_LIMITS})
    return clean


def validate_progress(
    status: str | None, conclusion: str | None, completed_at: str | None
) -> str | None:
    """The status the run ends up in; 422 for combinations GitHub refuses."""
    if status is not None and status not in APP_STATUSES:
        raise invalid_request(f"For 'status', {status!r} is not one an App may set.")
    if conclusion is not None:
        if conclusion not in CONCLUSIONS:
            raise invalid_request(f"For 'conclusion', {conclusion!r} is invalid.")
        if conclusion == "stale":
            raise invalid_request("Only GitHub can set a conclusion of stale.")
        return "completed"
    if status == "completed" or completed_at is not None:
        raise invalid_request('"conclusion" wasn\'t supplied.')
    return status
