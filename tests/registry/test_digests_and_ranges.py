"""Unit tests of the pure helpers: digest grammar and HTTP range parsing."""

import pytest

from registry.digests import Digest, digest_parse
from registry.errors import BlobUploadInvalid, DigestInvalid
from registry.http import content_range_parse, range_parse

HEX64 = "a" * 64


@pytest.mark.parametrize(
    "value, expected",
    [
        (f"sha256:{HEX64}", Digest("sha256", HEX64)),
        ("sha512:" + "0" * 128, Digest("sha512", "0" * 128)),
    ],
)
def test_valid_digests(value, expected):
    assert digest_parse(value) == expected
    assert str(digest_parse(value)) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "sha256:",
        f"sha256:{HEX64.upper()}",  # registered algorithms are lower-case hex
        f"sha256:{HEX64}0",
        "sha256:" + "a" * 63,
        "sha512:" + "0" * 64,
        f"md5:{'0' * 32}",
        f"sha256:../../{HEX64}",
        f"sha256:{HEX64}/x",
        f"SHA256:{HEX64}",
        HEX64,
    ],
)
def test_invalid_digests(value):
    with pytest.raises(DigestInvalid):
        digest_parse(value)


@pytest.mark.parametrize(
    "header, size, expected",
    [
        (None, 100, None),
        ("bytes=0-9", 100, (0, 9)),
        ("bytes=90-", 100, (90, 99)),
        ("bytes=95-200", 100, (95, 99)),
        ("bytes=-10", 100, (90, 99)),
        ("bytes=-500", 100, (0, 99)),
        ("bytes=0-1,5-6", 100, None),  # multiple ranges: serve the whole blob
        ("items=0-1", 100, None),
    ],
)
def test_range_parse(header, size, expected):
    assert range_parse(header, size) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=100-200", "bytes=5-2", "bytes=-0"])
def test_range_not_satisfiable(header):
    with pytest.raises(ValueError):
        range_parse(header, 100)


def test_content_range_parse():
    assert content_range_parse("0-99") == (0, 99)
    assert content_range_parse("bytes 100-199/*") == (100, 199)
    assert content_range_parse(None) is None
    for bad in ("abc", "5-2", "-5", "1-"):
        with pytest.raises(BlobUploadInvalid):
            content_range_parse(bad)
