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


def repository_name_is_valid(name: str) -> bool:
    return len(name) <= NAME_MAX_LENGTH and _NAME.fullmatch(name) is not None


def tag_is_valid(tag: str) -> bool:
    return bool(_TAG.fullmatch(tag))


def tag_validate(tag: str) -> str:
    if not tag_is_valid(tag):
        raise TagInvalid(f"invalid tag {tag[:200]!r}", detail={"tag": tag[:200]})
    return tag


def reference_is_digest(reference: str) -> bool:
    """A reference containing ':' is a digest (tags cannot contain ':')."""
    return ":" in reference


def reference_outside_grammar(reference: str) -> bool:
    """Neither digest-shaped nor a valid tag (".x", a tag over 128 characters, …).

    How the registry answers each kind of reference on /manifests/<reference>:

    - a valid tag or a valid digest: looked up (404 MANIFEST_UNKNOWN when absent);
    - digest-shaped (contains ':') but malformed or of an unsupported algorithm:
      400 DIGEST_INVALID on every method (the spec's DIGEST_INVALID; the conformance
      suite accepts 400 or 404 for "sha256:totallywrong");
    - outside the grammar: GET, HEAD and DELETE answer 404 MANIFEST_UNKNOWN, since no
      manifest can have such a reference (the conformance suite requires 404 for
      ".INVALID_MANIFEST_NAME", and Distribution's router answers 404); a PUT stays
      400 MANIFEST_INVALID because the client asks to create something the spec
      forbids (the tag grammar is a MUST).
    """
    return not reference_is_digest(reference) and not tag_is_valid(reference)
