"""The tar layout engine alone: offsets, total size, any range equals the same slice of
the whole, tarfile and GNU tar read it, and blobs of 8 GiB or more get a pax size."""

import hashlib
import io
import os
import random
import subprocess
import tarfile

import pytest

from airgap.layout import BLOCK, Entry, Layout

SIZES = (0, 1, 511, 512, 513, 70_000)
BLOBS = {f"sha256:{hashlib.sha256(d).hexdigest()}": d for d in map(os.urandom, SIZES)}


def reader(digest, offset, length):
    data = BLOBS[digest][offset : offset + length]
    for i in range(0, len(data), 1000):  # in uneven chunks, as storage would
        yield data[i : i + 1000]


def entries():
    found = [Entry("oci-layout", 5, data=b"hello"), Entry("blobs", directory=True)]
    found += [
        Entry(f"blobs/sha256/{d.split(':')[1]}", len(b), digest=d) for d, b in sorted(BLOBS.items())
    ]
    return found


def whole(layout):
    return b"".join(layout.stream(0, layout.total_size - 1, reader))


def test_the_tar_is_what_tarfile_reads_and_sizes_add_up():
    layout = Layout(entries(), mtime=1_700_000_000)
    data = whole(layout)
    assert len(data) == layout.total_size
    assert layout.total_size % BLOCK == 0
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = archive.getmembers()
        assert [m.name for m in members] == [e.name for e in entries()]
        assert archive.extractfile("oci-layout").read() == b"hello"
        for digest, blob in BLOBS.items():
            member = archive.getmember(f"blobs/sha256/{digest.split(':')[1]}")
            assert (member.mtime, member.uid, member.uname, member.mode) == (
                1_700_000_000, 0, "", 0o644,
            )  # fmt: skip
            assert archive.extractfile(member).read() == blob


def test_gnu_tar_lists_it(tmp_path):
    path = tmp_path / "kit.tar"
    path.write_bytes(whole(Layout(entries(), mtime=0)))
    listed = subprocess.run(["tar", "-tf", path], capture_output=True, text=True, check=True)
    assert listed.stdout.split() == ["oci-layout", "blobs/"] + [e.name for e in entries()[2:]]


def test_any_range_is_the_same_slice_of_the_whole():
    layout = Layout(entries(), mtime=0)
    data = whole(layout)
    rng = random.Random(7)
    edges = [p.start for p in layout.placed] + [p.data_start for p in layout.placed]
    points = edges + [e - 1 for e in edges if e] + [layout.total_size - 1]
    points += [rng.randrange(layout.total_size) for _ in range(200)]
    for start in points:
        end = min(layout.total_size - 1, start + rng.choice([0, 1, 511, 513, 5000, 10**6]))
        assert b"".join(layout.stream(start, end, reader)) == data[start : end + 1], (start, end)


def test_two_layouts_of_the_same_entries_are_byte_identical():
    assert whole(Layout(entries(), mtime=5)) == whole(Layout(entries(), mtime=5))


def test_a_range_outside_the_tar_is_refused():
    layout = Layout(entries(), mtime=0)
    with pytest.raises(ValueError):
        list(layout.stream(0, layout.total_size, reader))


def test_a_blob_shorter_than_recorded_fails_the_stream():
    digest = next(iter(BLOBS))
    layout = Layout([Entry("b", 10, digest=digest)], mtime=0)
    with pytest.raises(OSError, match="shorter"):
        list(layout.stream(0, layout.total_size - 1, lambda d, o, n: iter([b"abc"])))


def test_a_blob_of_8_gib_or_more_gets_a_pax_size_record():
    size = 9 * 1024**3
    layout = Layout([Entry("big", size, digest="sha256:x")], mtime=0)
    header = layout.placed[0].header
    assert len(header) > BLOCK and f"size={size}".encode() in header
    assert layout.total_size == len(header) + size + 1024
    # The header and the trailer are readable without touching the blob.
    assert b"".join(layout.stream(0, len(header) - 1, reader)) == header
    tail = b"".join(layout.stream(layout.total_size - 1024, layout.total_size - 1, reader))
    assert tail == b"\0" * 1024
