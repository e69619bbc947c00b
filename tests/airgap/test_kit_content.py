"""What a kit holds: exactly the customer's entitlement closure (adversarial cases as in
the licensing suite), frozen at build, with kit.json, SHA256SUMS and the layout files."""

import hashlib
import json

import pytest

from airgap.content import KitEmpty
from airgap.models import Kit
from airgap.services import kit_create
from customers.models import AuditEvent
from customers.services import customer_create
from tests.airgap.conftest import kit_bytes, members
from tests.conftest import license_grant
from tests.support.licensing import REPO

pytestmark = pytest.mark.django_db


def blob_names(files) -> set[str]:
    return {"sha256:" + n.split("/")[-1] for n in files if n.startswith("blobs/")}


def test_a_kit_holds_the_licensed_tags_their_referrers_and_shared_layers_only(
    customer, license, pushed, settings
):
    kit = kit_create(customer=customer)
    files = members(kit_bytes(kit))
    held = blob_names(files)
    # 1.0 and 1.1 (glob:1.*), 1.1's signature, the shared base and their own layers.
    assert [(i["tag"], i["digest"]) for i in kit.images] == [
        ("1.0", pushed["1.0"]["digest"]),
        ("1.1", pushed["1.1"]["digest"]),
    ]
    assert {pushed["1.0"]["digest"], pushed["1.1"]["digest"], pushed["1.1"]["sig"]} <= held
    assert {pushed["base"], pushed["1.0"]["own"], pushed["1.1"]["own"]} <= held
    # Not 2.0, its own layer, nor the signature of the unentitled 2.0.
    assert pushed["2.0"]["digest"] not in held
    assert pushed["2.0"]["own"] not in held
    assert pushed["2.0"]["sig"] not in held
    # Every blob is byte for byte its digest, and SHA256SUMS lists every file but itself.
    for name, data in files.items():
        if name.startswith("blobs/"):
            assert hashlib.sha256(data).hexdigest() == name.split("/")[-1]
    sums = dict(reversed(line.split("  ")) for line in files["SHA256SUMS"].decode().splitlines())
    assert set(sums) == set(files) - {"SHA256SUMS"}
    assert all(hashlib.sha256(files[n]).hexdigest() == h for n, h in sums.items())
    registry = settings.REGISTRY_SERVICE
    index = json.loads(files["index.json"])
    refs = [m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]]
    sig_tag = pushed["1.1"]["sig"].replace(":", "-")
    assert refs == [
        f"{registry}/{REPO}:1.0",
        f"{registry}/{REPO}:1.1",
        f"{registry}/{REPO}:{sig_tag}",
    ]
    described = json.loads(files["kit.json"])
    assert described["id"] == str(kit.pk)
    assert described["kind"] == "full" and described["since"] is None
    assert [lic["name"] for lic in described["licenses"]] == ["Support 1.x"]
    assert {b["digest"] for b in described["blobs"]} == held
    assert described["images"][1]["referrers"] == [pushed["1.1"]["sig"]]
    docker = json.loads(files["manifest.json"])
    assert [e["RepoTags"] for e in docker] == [
        [f"{registry}/{REPO}:1.0"],
        [f"{registry}/{REPO}:1.1"],
    ]
    assert files["oci-layout"] == b'{"imageLayoutVersion":"1.0.0"}\n'
    event = AuditEvent.objects.get(action=AuditEvent.Action.KIT_CREATED)
    assert event.target == f"kit:{kit.pk}" and event.details["customer"] == "globex"


def test_two_downloads_of_a_kit_are_byte_identical_and_its_size_is_exact(customer, license):
    kit = kit_create(customer=customer)
    first = kit_bytes(kit)
    again = kit_bytes(Kit.objects.get(pk=kit.pk))
    assert first == again
    assert len(first) == kit.total_size


def test_a_tag_filter_narrows_the_kit_and_cannot_widen_it(customer, license, pushed):
    kit = kit_create(customer=customer, tags=[f"{REPO}:1.0", "2.0"])
    assert [i["tag"] for i in kit.images] == ["1.0"]
    held = blob_names(members(kit_bytes(kit)))
    assert pushed["1.1"]["own"] not in held and pushed["2.0"]["own"] not in held
    with pytest.raises(KitEmpty):
        kit_create(customer=customer, tags=["2.0"])


def test_newest_takes_the_newest_tags_per_repository(customer, license):
    kit = kit_create(customer=customer, newest=1)
    assert [i["tag"] for i in kit.images] == ["1.1"]


def test_a_delta_holds_the_manifests_but_only_new_layers(client, customer, license, pushed):
    from tests.support.licensing import image, put

    full = kit_create(customer=customer)
    raw, own = image(client, pushed["base_descriptor"], "1.2")
    new_digest = put(client, "1.2", raw)
    delta = kit_create(customer=customer, since=full)
    files = members(kit_bytes(delta))
    held = blob_names(files)
    assert [i["tag"] for i in delta.images] == ["1.0", "1.1", "1.2"]
    assert {pushed["1.0"]["digest"], pushed["1.1"]["digest"], new_digest, own} <= held
    assert pushed["base"] not in held and pushed["1.0"]["own"] not in held
    described = json.loads(files["kit.json"])
    assert described["kind"] == "delta" and described["since"] == str(full.pk)
    omitted = {b["digest"] for b in described["omittedBlobs"]}
    assert {pushed["base"], pushed["1.0"]["own"], pushed["1.1"]["own"]} <= omitted
    assert "manifest.json" not in files  # docker load needs a full kit
    assert f'DELTA="{full.pk}"' in files["import.sh"].decode()


def test_another_customers_kit_cannot_be_the_base_of_a_delta(vendor, customer, license):
    other, _ = customer_create(vendor=vendor, slug="initial", name="Initial")
    license_grant(other, REPO, "glob:*", name="All")
    theirs = kit_create(customer=other)
    from airgap.services import KitInvalid

    with pytest.raises(KitInvalid):
        kit_create(customer=customer, since=theirs)


def test_a_customer_without_a_license_gets_no_kit(vendor, pushed):
    other, _ = customer_create(vendor=vendor, slug="nolicense", name="No license")
    with pytest.raises(KitEmpty):
        kit_create(customer=other)
