"""`manage.py gc` in its own process, on the test database and store, and the checks a
store must pass after any run: every tag pulls, every blob row has its object and every
object its row."""

import json
import os
import subprocess
import sys

from django.conf import settings

from registry.digests import digest_parse
from registry.models import Blob, Manifest, ManifestReference, Tag
from registry.storage import blob_store
from tests.support.server import ROOT, database_url


def gc_process(*args: str, env: dict | None = None, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "gc", *args],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATA_DIR": str(settings.DATA_DIR),
            "DATABASE_URL": database_url(),
            **(env or {}),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **popen,
    )


def store_consistent(repositories: list[str], digests: set[str]) -> list[str]:
    """What is wrong with the store for these repositories and blob digests ([] if
    nothing): a referenced blob without row or object, a row without its object, an
    object (among `digests`) without its row."""
    store = blob_store()
    problems = []
    referenced = set(
        ManifestReference.objects.filter(
            manifest__repository__name__in=repositories, blob__isnull=False
        ).values_list("blob_id", flat=True)
    )
    rows = set(
        Blob.objects.filter(digest__in=digests | referenced).values_list("digest", flat=True)
    )
    problems += [f"referenced, no row: {d}" for d in referenced - rows]
    for digest in sorted(digests | referenced):
        has_object = store.blob_exists(digest_parse(digest))
        if digest in rows and not has_object:
            problems.append(f"row without object: {digest}")
        if digest not in rows and has_object:
            problems.append(f"object without row: {digest}")
    for tag in Tag.objects.filter(repository__name__in=repositories).select_related("manifest"):
        json.loads(bytes(tag.manifest.content))  # the manifest row is whole
    assert Manifest.objects.filter(repository__name__in=repositories).exists() or not repositories
    return problems
