import re

import pytest

from core.globs import globs_match, globs_regex


@pytest.mark.parametrize(
    "pattern, path, matches",
    [
        ("app", "app", True),
        ("app", "app2", False),
        ("app*", "app2", True),
        ("charts/*", "charts/a", True),
        ("charts/*", "charts/a/b", False),
        ("charts/**", "charts/a/b", True),
        ("a?c", "abc", True),
        ("a?c", "a/c", False),
        ("a.b", "axb", False),  # dots are literal
    ],
)
def test_globs(pattern, path, matches):
    assert globs_match([pattern], path) is matches
    assert bool(re.search(globs_regex("acme", [pattern]), f"acme/{path}")) is matches
    assert not re.search(globs_regex("acme", [pattern]), f"other/{path}")
