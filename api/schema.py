"""OpenAPI additions drf-spectacular cannot infer: every operation may answer with a
problem+json error (api/problems.py), so the schema says so and clients (and the
schemathesis checks in tests/api) know the shape of each error status."""

PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
}
ERRORS = {
    "400": "Malformed input (field errors in `errors`)",
    "401": "No valid credentials",
    "403": "Not allowed for this token or role",
    "404": "Not found (or another vendor's)",
    "405": "Method not allowed",
    "406": "Not acceptable",
    "409": "Conflicts with the current state",
    "410": "Gone (a license key whose license was deleted)",
    "412": "If-Match does not match the current ETag",
    "415": "Unsupported media type",
    "422": "Refused by the domain rules, or an Idempotency-Key reused for another request",
    "429": "Rate limit exceeded (see Retry-After)",
}


def problem_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    ref = {"$ref": "#/components/schemas/Problem"}
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/") or path.startswith("/api/v1/analytics/"):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERRORS.items():
                responses.setdefault(
                    status,
                    {
                        "description": description,
                        "content": {"application/problem+json": {"schema": ref}},
                    },
                )
    return result
