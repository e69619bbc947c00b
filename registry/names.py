"""Repository names, tags and references, validated by the distribution spec's grammar."""

import re

from registry.errors import NameInvalid, TagInvalid

# distribution-spec: <name> and <reference> grammars.
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_NAME = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_TAG = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
NAME_MAX_LENGTH = 255


def repository_name_validate(name: str) -> str:
    if len(name) > NAME_MAX_LENGTH or not _NAME.fullmatch(name):
        raise NameInvalid(f"invalid repository name {name[:300]!r}", detail={"name": name[:300]})
    return name


def tag_is_valid(tag: str) -> bool:
    return bool(_TAG.fullmatch(tag))


def tag_validate(tag: str) -> str:
    if not tag_is_valid(tag):
        raise TagInvalid(f"invalid tag {tag[:200]!r}", detail={"tag": tag[:200]})
    return tag


def reference_is_digest(reference: str) -> bool:
    """A reference containing ':' is a digest (tags cannot contain ':')."""
    return ":" in reference
