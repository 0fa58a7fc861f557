"""OpenAPI schema postprocessing (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]): document the error answers every
endpoint can give, so clients (and the schemathesis fuzz test) can rely on the schema for them too.

    400  invalid query parameters or body: {"field": ["message", ...]} or {"detail": "..."}
    401, 403  not signed in, or not allowed (also a missing CSRF token on a signed-in POST): {"detail": "..."}
    404  no such object (path lookups), or a page past the end of a list: {"detail": "..."}
    429  throttled (with Retry-After): {"detail": "..."}
"""
from __future__ import annotations

ERROR = {"$ref": "#/components/schemas/Error"}
VALIDATION_ERROR = {"$ref": "#/components/schemas/ValidationError"}


def _response(description: str, schema: dict, headers: dict | None = None) -> dict:
    out = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        out["headers"] = headers
    return out


def add_error_responses(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
    schemas["ValidationError"] = {
        "type": "object", "description": "Messages per field name, or {\"detail\": message}",
        "additionalProperties": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"},
                                           {"type": "object"}]}}
    for path, operations in result.get("paths", {}).items():
        for method, op in operations.items():
            responses = op.setdefault("responses", {})
            params = op.get("parameters", [])
            if "{" in path or any(p.get("name") == "page" for p in params):
                responses.setdefault("404", _response("Not found", ERROR))
            if params or "requestBody" in op:
                responses.setdefault("400", _response("Invalid input", VALIDATION_ERROR))
            security = op.get("security")
            if security and {} not in security:
                responses.setdefault("401", _response("Not signed in", ERROR))
                responses.setdefault("403", _response("Not signed in, or not allowed", ERROR))
            elif method in {"post", "put", "patch", "delete"}:
                responses.setdefault("403", _response("CSRF check failed (signed-in browser session)", ERROR))
            responses.setdefault("429", _response("Too many requests", ERROR, {
                "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}}))
    return result
