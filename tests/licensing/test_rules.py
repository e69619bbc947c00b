"""Tag rules (licensing/rules.py): parsing with readable errors, and which tags each kind
of rule (exact, glob, semver range) matches."""

import pytest

from licensing.rules import RuleInvalid, rule_matches, rule_parse


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "a tag rule is exact:TAG, glob:PATTERN or semver:RANGE"),
        ("1.0", "a tag rule is exact:TAG, glob:PATTERN or semver:RANGE"),
        ("glob", "a tag rule is exact:TAG, glob:PATTERN or semver:RANGE"),
        ("glob:", "a tag rule is exact:TAG, glob:PATTERN or semver:RANGE"),
        (":1.0", "a tag rule is exact:TAG, glob:PATTERN or semver:RANGE"),
        ("regex:1\\..*", "a tag rule is exact:TAG, glob:PATTERN or semver:RANGE"),
        ("EXACT:1.0", "a tag rule is exact:TAG, glob:PATTERN or semver:RANGE"),
        ("semver:>>1", "invalid version range '>>1' (e.g. >=1.0,<2)"),
        ("semver:1.x", "invalid version range '1.x' (e.g. >=1.0,<2)"),
        ("semver:>=1.0;<2", "invalid version range '>=1.0;<2' (e.g. >=1.0,<2)"),
    ],
)
def test_rule_parse_rejects_bad_input_readably(text, message):
    with pytest.raises(RuleInvalid) as raised:
        rule_parse(text)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    "text, parsed",
    [
        ("exact:1.0", ("exact", "1.0")),
        ("glob:1.*", ("glob", "1.*")),
        ("semver:>=1.0,<2", ("semver", ">=1.0,<2")),
        ("semver:>=1.0, <2", ("semver", ">=1.0, <2")),
        ("semver:~=1.4", ("semver", "~=1.4")),
    ],
)
def test_rule_parse_accepts(text, parsed):
    assert rule_parse(text) == parsed


@pytest.mark.parametrize(
    "kind, pattern, tag, expected",
    [
        ("exact", "1.0", "1.0", True),
        ("exact", "1.0", "1.0.0", False),
        ("exact", "1.0", "v1.0", False),
        ("exact", "Latest", "latest", False),
        ("glob", "1.*", "1.0", True),
        ("glob", "1.*", "1.10.3", True),
        ("glob", "1.*", "11.0", False),
        ("glob", "1.*", "2.0", False),
        ("glob", "1.?", "1.1", True),
        ("glob", "1.?", "1.10", False),
        ("glob", "1.[01]", "1.1", True),
        ("glob", "1.[01]", "1.2", False),
        ("glob", "*-alpine", "1.0-alpine", True),
        ("glob", "*-alpine", "1.0-ALPINE", False),
        ("semver", ">=1.0,<2", "1.0", True),
        ("semver", ">=1.0,<2", "1.99.7", True),
        ("semver", ">=1.0,<2", "2.0", False),
        ("semver", ">=1.0,<2", "0.9", False),
        ("semver", ">=1.0,<2", "v1.5.0", True),
        ("semver", ">=1.0,<2", "V1.5.0", True),
        ("semver", ">=1.0,<2", "v2.0.0", False),
        ("semver", ">=1.0, <2", "1.5", True),
        ("semver", ">=1.0,<2", "latest", False),
        ("semver", ">=1.0,<2", "main", False),
        ("semver", ">=1.0,<2", "v", False),
        ("semver", ">=1.0,<2", "1.0-alpine", False),
        ("semver", ">=1.0,<2", "1.5.0-rc1", False),  # pre-release: not unless named
        ("semver", ">=1.5.0rc1,<2", "1.5.0-rc1", True),
        ("semver", ">=2.0,<3", "2.0", True),
        ("semver", ">=2.0,<3", "1.1", False),
        ("semver", "==1.*", "1.4.2", True),
        ("semver", "==1.*", "2.0", False),
        ("semver", "~=1.4", "1.9", True),
        ("semver", "~=1.4", "2.0", False),
    ],
)
def test_rule_matches(kind, pattern, tag, expected):
    assert rule_matches(kind, pattern, tag) is expected
