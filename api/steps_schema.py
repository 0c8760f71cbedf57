"""The refusals every operation of the API may answer, written into the schema (a drf-spectacular postprocessing
hook: ``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``), so that a client (and schemathesis) knows each status code
and its body: 400 for a value that is not valid (a filter, a field), 401 without a valid key, 403 (a session without
its CSRF token), 404 outside the scope (as the pages), 429 over the throttle. An operation that documents a code
itself keeps its own description; the schema and its page, served to anyone, are left as they are."""

PUBLIC = ("/api/v1/schema/", "/api/v1/docs/")
MESSAGES = {
    "type": "object",
    "description": "Each parameter or field (or `non_field_errors`) with its messages, or `detail` for the request.",
    "additionalProperties": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]},
}
DETAIL = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
REFUSALS = {
    "400": ("A value that is not valid: the messages by parameter or field.", MESSAGES),
    "401": ("No key, or a key that is not valid (or revoked).", DETAIL),
    "403": ("Forbidden (a session without its CSRF token).", DETAIL),
    "404": ("Not in your scope (or no such object): as the pages.", DETAIL),
    "429": ("Too many requests: wait and retry.", DETAIL),
}


def document_refusals(result, generator, request, public):
    for path, operations in result.get("paths", {}).items():
        if path in PUBLIC:
            continue
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            for code, (description, schema) in REFUSALS.items():
                responses.setdefault(
                    code, {"description": description, "content": {"application/json": {"schema": schema}}}
                )
    return result
