"""Garbage collection at scale: distr's online GC against Distribution's offline
`registry garbage-collect` (Debian's docker-registry) on comparable filesystem stores.

Builds a store of BLOBS small blob objects (one file each) and their rows: manifests of
one config and eight layers, each tagged, cover 90% of the blobs; the other 10% are
garbage (uploaded, linked, never referenced). Times a full mark and sweep, then adds 1%
more garbage and times the next run. The same blobs, manifests and tags are laid out as a
Distribution store and collected with `docker-registry garbage-collect` (which needs the
registry stopped or read-only; distr's runs while it serves). bench/README.md has figures.

    .venv/bin/python bench/gc.py                    # 100,000 blobs, SQLite
    .venv/bin/python bench/gc.py --blobs 1000000    # the issue's size (slow to build)
    .venv/bin/python bench/gc.py --postgres         # PostgreSQL at 127.0.0.1 (gc_bench db)
"""

import argparse
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

PER_MANIFEST = 9  # a config and eight layers
REPOSITORIES = 100
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def blob_bytes(i: int) -> bytes:
    return f"blob {i}".encode()


def setup_django(data_dir: str, postgres: bool) -> None:
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "DEBUG", "STORAGE_BACKEND"):
        os.environ.pop(name, None)
    os.environ.update(DJANGO_SETTINGS_MODULE="distr.settings", DATA_DIR=data_dir)
    if postgres:
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-qc",
                "DROP DATABASE IF EXISTS gc_bench",
            ],
            check=True,
        )
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", "CREATE DATABASE gc_bench"],
            check=True,
        )
        os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/gc_bench"
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def manifest_raw(layer_digests: list[tuple[str, int]]) -> bytes:
    (config, config_size), *layers = layer_digests
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config,
                "size": config_size,
            },
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": s}
                for d, s in layers
            ],
        }
    ).encode()


class Store:
    """The same content as distr rows + files and as a Distribution tree."""

    def __init__(self, blobs: int, data_dir: Path, distribution_dir: Path):
        self.blobs = blobs
        self.data_dir = data_dir
        self.distribution_dir = distribution_dir
        self.next_blob = 0

    def build(self) -> None:
        from customers.services import vendor_create
        from registry.models import Repository

        vendor = vendor_create(slug="acme", name="Acme")[0]
        self.repositories = Repository.objects.bulk_create(
            [Repository(vendor=vendor, name=f"acme/app{r}") for r in range(REPOSITORIES)]
        )
        referenced = int(self.blobs * 0.9) // PER_MANIFEST * PER_MANIFEST
        self.add_blobs(referenced, referenced=True)
        self.add_blobs(self.blobs - referenced, referenced=False)

    def add_blobs(self, count: int, *, referenced: bool) -> None:
        from django.db import transaction

        from registry.models import Blob, Manifest, ManifestReference, RepositoryBlob, Tag

        past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
        batch = 9000
        for start in range(0, count, batch):
            n = min(batch, count - start)
            ids = range(self.next_blob, self.next_blob + n)
            self.next_blob += n
            contents = [blob_bytes(i) for i in ids]
            digests = [digest_of(c) for c in contents]
            for digest, content in zip(digests, contents, strict=True):
                self._write_distr(digest, content)
                self._write_distribution_blob(digest, content)
            with transaction.atomic():
                Blob.objects.bulk_create(
                    [Blob(digest=d, size=len(c)) for d, c in zip(digests, contents, strict=True)]
                )
                links = []
                manifests = []
                groups = [
                    list(
                        zip(
                            digests[i : i + PER_MANIFEST],
                            contents[i : i + PER_MANIFEST],
                            strict=True,
                        )
                    )
                    for i in range(0, n, PER_MANIFEST)
                ]
                for g, group in enumerate(groups):
                    repository = self.repositories[(start // PER_MANIFEST + g) % REPOSITORIES]
                    links += [RepositoryBlob(repository=repository, blob_id=d) for d, _ in group]
                    for d, _ in group:
                        self._write_distribution_link(repository.name, "_layers", d)
                    if referenced:
                        raw = manifest_raw([(d, len(c)) for d, c in group])
                        manifests.append((repository, raw, group))
                RepositoryBlob.objects.bulk_create(links)
                rows = Manifest.objects.bulk_create(
                    [
                        Manifest(
                            repository=r,
                            digest=digest_of(raw),
                            media_type=MANIFEST_TYPE,
                            size=len(raw),
                            content=raw,
                        )
                        for r, raw, _ in manifests
                    ]
                )
                ManifestReference.objects.bulk_create(
                    [
                        ManifestReference(manifest=m, blob_id=d)
                        for m, (_, _, group) in zip(rows, manifests, strict=True)
                        for d, _ in group
                    ]
                )
                Tag.objects.bulk_create(
                    [Tag(repository=m.repository, name=f"t{m.id}", manifest=m) for m in rows]
                )
                for m, (repository, raw, _) in zip(rows, manifests, strict=True):
                    self._write_distribution_manifest(repository.name, f"t{m.id}", raw)
            Blob.objects.filter(digest__in=digests).update(created_at=past)
            RepositoryBlob.objects.filter(blob_id__in=digests).update(created_at=past)
            Manifest.objects.filter(digest__in=[digest_of(raw) for _, raw, _ in manifests]).update(
                created_at=past
            )

    def _write_distr(self, digest: str, content: bytes) -> None:
        hex_ = digest.split(":")[1]
        path = self.data_dir / "registry" / "blobs" / "sha256" / hex_[:2] / hex_
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)

    def _v2(self) -> Path:
        return self.distribution_dir / "docker" / "registry" / "v2"

    def _write_distribution_blob(self, digest: str, content: bytes) -> None:
        hex_ = digest.split(":")[1]
        path = self._v2() / "blobs" / "sha256" / hex_[:2] / hex_ / "data"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)

    def _write_distribution_link(self, repository: str, kind: str, digest: str) -> None:
        hex_ = digest.split(":")[1]
        path = self._v2() / "repositories" / repository / kind / "sha256" / hex_ / "link"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(digest)

    def _write_distribution_manifest(self, repository: str, tag: str, raw: bytes) -> None:
        digest = digest_of(raw)
        self._write_distribution_blob(digest, raw)
        self._write_distribution_link(repository, "_manifests/revisions", digest)
        base = self._v2() / "repositories" / repository / "_manifests" / "tags" / tag
        for link in (base / "current" / "link", base / "index" / "sha256" / digest[7:] / "link"):
            link.parent.mkdir(parents=True, exist_ok=True)
            link.write_text(digest)


def distribution_gc(distribution_dir: Path, work: Path) -> float:
    config = work / "distribution.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {distribution_dir}\n  delete:\n    enabled: true\n"
        "http:\n  addr: 127.0.0.1:0\n"
    )
    started = time.perf_counter()
    subprocess.run(
        ["docker-registry", "garbage-collect", str(config)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def count_files(root: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(root))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blobs", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="distr-bench-gc-"))
    try:
        data_dir, distribution_dir = work / "distr", work / "distribution"
        data_dir.mkdir()
        setup_django(str(data_dir), args.postgres)
        from registry.gc import gc_run
        from registry.models import Blob

        store = Store(args.blobs, data_dir, distribution_dir)
        started = time.perf_counter()
        store.build()
        build = time.perf_counter() - started
        print(f"built {Blob.objects.count():,} blob rows and objects (x2 stores) in {build:.0f} s")

        figures = []
        for label, extra in (
            ("full, 10% garbage", 0),
            ("next run, +1% garbage", args.blobs // 100),
        ):
            if extra:
                store.add_blobs(extra, referenced=False)
            before = Blob.objects.count()
            run = gc_run(grace=datetime.timedelta(0))
            files_before = count_files(distribution_dir / "docker/registry/v2/blobs")
            distribution = distribution_gc(distribution_dir, work)
            freed_distribution = files_before - count_files(
                distribution_dir / "docker/registry/v2/blobs"
            )
            figures.append(
                (
                    label,
                    before,
                    run.blobs_freed,
                    run.duration_seconds,
                    freed_distribution,
                    distribution,
                )
            )
        database = "PostgreSQL" if args.postgres else "SQLite"
        print(
            f"\n| run ({args.blobs:,} blobs, {database}) | blob rows | distr freed | distr s"
            " | Distribution freed | Distribution s |"
        )
        print("|---|---|---|---|---|---|")
        for label, before, freed, seconds, d_freed, d_seconds in figures:
            print(
                f"| {label} | {before:,} | {freed:,} | {seconds:.1f}"
                f" | {d_freed:,} | {d_seconds:.1f} |"
            )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
