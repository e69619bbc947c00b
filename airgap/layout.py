"""The byte layout of a kit tar, computed from its entries alone (pure: no database, no
storage). Given the entries in their fixed order with their sizes, every header, offset and
the total size follow, so any byte range of the tar can be produced on demand by streaming
the blobs it overlaps straight from storage: no kit is ever materialised.

Headers are POSIX pax (ustar plus a pax record only where ustar cannot hold a value, such
as a blob of 8 GiB or more), with one fixed mtime, uid/gid 0, no user names and fixed
modes, so the same entries always give the same bytes.
"""

import bisect
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

BLOCK = 512
TRAILER = b"\0" * (2 * BLOCK)  # end of archive: two zero blocks

# (digest, offset in the blob, length) -> the blob's bytes from there, in chunks; a chunk
# may instead be an int: that many bytes the reader sent to the client itself (sendfile).
BlobReader = Callable[[str, int, int], Iterator[bytes | int]]


@dataclass(frozen=True)
class Entry:
    """One member: a directory, a small file held inline (`data`), or a blob streamed
    from storage by `digest` (its `size` as recorded)."""

    name: str
    size: int = 0
    data: bytes | None = None
    digest: str | None = None
    directory: bool = False


@dataclass(frozen=True)
class Placed:
    entry: Entry
    header: bytes
    start: int  # offset of the header
    data_start: int  # offset of the first data byte
    end: int  # offset after the data's padding


def _header(entry: Entry, mtime: int) -> bytes:
    info = tarfile.TarInfo(entry.name.rstrip("/") + ("/" if entry.directory else ""))
    info.type = tarfile.DIRTYPE if entry.directory else tarfile.REGTYPE
    info.mode = 0o755 if entry.directory else 0o644
    info.size = 0 if entry.directory else entry.size
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "strict")


def _padding(size: int) -> int:
    return -size % BLOCK


class Layout:
    def __init__(self, entries: list[Entry], *, mtime: int):
        placed, offset = [], 0
        for entry in entries:
            if entry.data is not None and len(entry.data) != entry.size:
                raise ValueError(f"{entry.name}: size {entry.size} but {len(entry.data)} bytes")
            header = _header(entry, mtime)
            data_start = offset + len(header)
            size = 0 if entry.directory else entry.size
            end = data_start + size + _padding(size)
            placed.append(Placed(entry, header, offset, data_start, end))
            offset = end
        self.placed = placed
        self._starts = [p.start for p in placed]
        self.total_size = offset + len(TRAILER)

    def stream(self, start: int, end: int, read_blob: BlobReader) -> Iterator[bytes]:
        """The tar's bytes [start, end] (inclusive), blob data read through `read_blob`."""
        if not 0 <= start <= end < self.total_size:
            raise ValueError(f"range {start}-{end} outside 0-{self.total_size - 1}")
        stop = end + 1
        index = max(bisect.bisect_right(self._starts, start) - 1, 0)
        position = start
        while position < stop and index < len(self.placed):
            member = self.placed[index]
            if position < member.end:
                yield from _member_bytes(member, position, min(stop, member.end), read_blob)
                position = min(stop, member.end)
            index += 1
        if position < stop:  # inside the trailer
            trailer_start = self.total_size - len(TRAILER)
            yield TRAILER[position - trailer_start : stop - trailer_start]


def _member_bytes(member: Placed, lo: int, hi: int, read_blob: BlobReader) -> Iterator[bytes]:
    """Bytes [lo, hi) of one member (header, data, padding)."""
    entry = member.entry
    size = 0 if entry.directory else entry.size
    data_end = member.data_start + size
    if lo < member.data_start:
        yield member.header[lo - member.start : min(hi, member.data_start) - member.start]
    a, b = max(lo, member.data_start), min(hi, data_end)
    if a < b:
        if entry.data is not None:
            yield entry.data[a - member.data_start : b - member.data_start]
        else:
            expected = b - a
            for chunk in read_blob(entry.digest, a - member.data_start, expected):
                if isinstance(chunk, int):
                    expected -= chunk  # already on the wire
                    continue
                expected -= len(chunk)
                yield chunk
            if expected != 0:
                raise OSError(f"blob {entry.digest} is shorter than its recorded size")
    a = max(lo, data_end)
    if a < hi:
        yield b"\0" * (hi - a)
