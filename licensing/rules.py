"""Rules of license grants: which repositories (a name or a pattern, below) and which
tags (`exact:1.2.0`, `glob:1.*`, `semver:>=1.0,<2`).

Semantic-version ranges use `packaging` (PyPA's maintained version/specifier library):
comma-separated comparison clauses, a leading `v` on tags ignored, tags that are no version
never match, pre-releases only when the range names one.
"""

import re
from fnmatch import fnmatchcase
from functools import lru_cache

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from core.versions import tag_version  # the one version parser (leading "v" allowed)
from registry.names import NAME_MAX_LENGTH, repository_name_is_valid


class RuleInvalid(ValueError):
    pass


def rule_parse(text: str) -> tuple[str, str]:
    """`kind:pattern` → (kind, pattern); raises RuleInvalid with a readable message."""
    kind, sep, pattern = text.partition(":")
    pattern = pattern.strip()  # "exact:1.0 " from a shell would otherwise match nothing
    if not sep or kind not in ("exact", "glob", "semver") or not pattern:
        raise RuleInvalid("a tag rule is exact:TAG, glob:PATTERN or semver:RANGE")
    rule_validate(kind, pattern)
    return kind, pattern


def rule_validate(kind: str, pattern: str) -> None:
    if kind == "semver":
        try:
            _specifier(pattern)
        except InvalidSpecifier:
            raise RuleInvalid(f"invalid version range {pattern!r} (e.g. >=1.0,<2)") from None


@lru_cache(maxsize=1024)
def _specifier(pattern: str) -> SpecifierSet:
    return SpecifierSet(pattern.replace(" ", ""))


def rule_matches(kind: str, pattern: str, tag: str) -> bool:
    if kind == "exact":
        return tag == pattern
    if kind == "glob":
        return fnmatchcase(tag, pattern)
    version = tag_version(tag)
    specifier = _specifier(pattern)
    # Pre-releases only when the range itself names one (packaging's default varies).
    return version is not None and specifier.contains(
        version, prereleases=bool(specifier.prereleases)
    )


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
