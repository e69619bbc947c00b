"""Garbage collection keeps what a kit still streams (docs/gc.md, "What GC keeps"): a kit
is a frozen selection, so moving the license and deleting a release it holds must not
break its download; once the kit is deleted, GC frees those blobs."""

import hashlib

import pytest

from airgap.models import Kit
from airgap.services import kit_create
from licensing.services import grant_add, grant_remove
from registry.gc import gc_run
from registry.models import Repository
from registry.services.manifests import manifest_delete
from tests.airgap.conftest import kit_bytes, members
from tests.registry.test_gc import HOUR, age, stored
from tests.support.licensing import REPO

pytestmark = pytest.mark.django_db


def test_gc_keeps_a_kits_blobs_until_the_kit_is_deleted(customer, license, pushed):
    kit = kit_create(customer=customer)
    released = pushed["1.0"]["own"]  # the layer only 1.0 has
    assert released in {b["digest"] for b in kit.blobs}
    # The license no longer covers 1.0 and 1.0 is deleted: nothing but the kit needs it.
    for grant in license.grants.all():
        grant_remove(grant=grant)
    grant_add(license=license, repository_name=REPO, tag_rule="exact:1.1")
    manifest_delete(repository=Repository.objects.get(name=REPO), reference=pushed["1.0"]["digest"])
    age()

    gc_run(grace=HOUR)
    assert stored(released)
    files = members(kit_bytes(Kit.objects.get(pk=kit.pk)))  # every member, blobs included
    for line in files["SHA256SUMS"].decode().splitlines():
        digest, name = line.split("  ", 1)
        assert hashlib.sha256(files[name]).hexdigest() == digest, name

    kit.delete()
    run = gc_run(grace=HOUR)
    assert not stored(released)
    assert run.blobs_freed >= 1
