"""The OpenAPI description of ``/api/v1``: each package contributes its paths."""
from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}

_PATHS: dict[str, dict] = {}


def register_paths(paths: dict) -> None:
    for path, operations in paths.items():
        _PATHS.setdefault(path, {}).update(operations)


def error_responses(*statuses: int) -> dict:
    text = {400: "Malformed request", 401: "No or bad credentials", 403: "Not allowed",
            404: "Absent or not visible to you", 409: "Conflict", 422: "Invalid field", 429: "Rate limited",
            503: "Briefly unavailable (the database connection was lost): nothing is wrong with the request; "
                 "send it again after Retry-After seconds (a write with the same Idempotency-Key)"}
    return {str(s): {"description": text.get(s, "Error"),
                     "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            for s in statuses}


register_paths({
    "/me": {"get": {"summary": "The caller, their role and organisation",
                    "responses": {"200": {"description": "The caller"}, **error_responses(401)}}},
})


def build_spec() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Samskap API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR_SCHEMA},
        },
        "security": [{"bearer": []}],
        "paths": dict(sorted(_PATHS.items())),
    }
