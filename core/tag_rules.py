"""Tag rules (`exact:1.2.0`, `glob:1.*`, `semver:>=1.0,<2`): one parser and matcher for
every app that decides something per tag (license grants, immutable-tag rules), so a rule
means the same thing wherever it is written.

Semantic-version ranges use `packaging` (PyPA's maintained version/specifier library):
comma-separated comparison clauses, a leading `v` on tags ignored, tags that are no version
never match, pre-releases only when the range names one.
"""

from fnmatch import fnmatchcase
from functools import lru_cache

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from core.versions import tag_version  # the one version parser (leading "v" allowed)


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
