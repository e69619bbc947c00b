"""Rules of license grants: which repositories (a name or a pattern, below) and which
tags (`exact:1.2.0`, `glob:1.*`, `semver:>=1.0,<2`).

The tag rules themselves live in `core/tag_rules.py` (shared with immutable-tag rules).
"""

import re
from functools import lru_cache

# The tag rules moved to core so the registry's immutable-tag rules share them; re-exported
# here for the license code that names them from this module.
from core.tag_rules import RuleInvalid, rule_matches, rule_parse, rule_validate  # noqa: F401
from registry.names import NAME_MAX_LENGTH, repository_name_is_valid

# --- Repository names and patterns of grants -------------------------------------------
#
# A grant names its repositories by the full name, inside the vendor's namespace:
#   acme/app            one repository (it need not exist yet: it is covered once pushed)
#   acme/charts/*       `*` and `?` match within one path component: acme/charts/web,
#                       not acme/charts/web/x, acme/charts-evil/x or acme/chartsx
#   acme/charts/**      a trailing `/**` matches one or more components below acme/charts
# Nothing else is special (no brackets, no `**` elsewhere). A name matches only when it is
# a valid repository name itself (lower case, distribution-spec grammar), so `..`,
# upper-case and percent-encoded spellings never match anything.

_COMPONENT_GLOB = re.compile(r"[a-z0-9*?]+(?:(?:\.|_|__|-+)[a-z0-9*?]+)*")


def repository_pattern_is_glob(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def repository_pattern_validate(*, vendor_slug: str, pattern: str) -> str:
    """The pattern, or RuleInvalid with a readable message."""
    pattern = pattern.strip()
    namespace, _, path = pattern.partition("/")
    if namespace != vendor_slug or not path:
        raise RuleInvalid(
            f"a grant names repositories inside {vendor_slug}/ (e.g. {vendor_slug}/app "
            f"or {vendor_slug}/charts/*)"
        )
    if len(pattern) > NAME_MAX_LENGTH:
        raise RuleInvalid(f"a repository name is at most {NAME_MAX_LENGTH} characters")
    components = path.split("/")
    for index, component in enumerate(components):
        if component == "**" and index == len(components) - 1:
            continue
        if "**" in component:
            raise RuleInvalid("** may only stand alone as the last component (acme/charts/**)")
        if not _COMPONENT_GLOB.fullmatch(component):
            raise RuleInvalid(
                f"invalid repository name or pattern {pattern[:300]!r}: lower-case letters, "
                "digits and . _ - separators, with * or ? as wildcards"
            )
    return pattern


@lru_cache(maxsize=1024)
def _repository_regex(pattern: str) -> re.Pattern[str]:
    head, trailing_any = (pattern[:-3], True) if pattern.endswith("/**") else (pattern, False)
    parts = re.split(r"(\*|\?)", head)
    translated = {"*": "[^/]*", "?": "[^/]"}
    regex = "".join(translated.get(part, re.escape(part)) for part in parts)
    return re.compile(regex + ("/.+" if trailing_any else ""))


def repository_pattern_matches(pattern: str, repository_name: str) -> bool:
    """Does a grant's repository name or pattern cover `repository_name`?"""
    if not repository_name_is_valid(repository_name):
        return False
    if not repository_pattern_is_glob(pattern):
        return repository_name == pattern
    return _repository_regex(pattern).fullmatch(repository_name) is not None
