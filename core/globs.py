"""Repository globs for narrowed push tokens: `*` and `?` stay within one path component,
`**` crosses components (`charts/*` matches `charts/a`, not `charts/a/b`; `charts/**`
matches both). One translation serves the access check (Python) and the catalog query
(the database's regex operator), so both agree."""

import re


def glob_to_regex(pattern: str) -> str:
    parts = re.split(r"(\*\*|\*|\?)", pattern)
    translated = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
    return "".join(translated.get(part, re.escape(part)) for part in parts)


def globs_regex(namespace: str, patterns: tuple[str, ...] | list[str]) -> str:
    """An anchored regex for full repository names `<namespace>/<path>` matching any glob."""
    alternatives = "|".join(glob_to_regex(p) for p in patterns)
    return f"^{re.escape(namespace)}/(?:{alternatives})$"


def globs_match(patterns: tuple[str, ...] | list[str], path: str) -> bool:
    return any(re.fullmatch(glob_to_regex(p), path) for p in patterns)
