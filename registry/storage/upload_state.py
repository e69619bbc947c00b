"""An upload's progress in object storage, as its Upload row records it."""

from dataclasses import dataclass, field


@dataclass
class UploadState:
    """What the Upload row records about an upload's bytes in object storage."""

    size: int = 0
    multipart_id: str = ""
    parts: list = field(default_factory=list)  # [{"PartNumber", "ETag", "Size"}]
    tail_key: str = ""

    @property
    def tail_size(self) -> int:
        return self.size - sum(part["Size"] for part in self.parts)
