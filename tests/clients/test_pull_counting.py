"""One image pulled is one pull, for each real client, whichever requests it makes (R7).

Each test pulls a single-platform image and a two-platform index with a real client
against the live gunicorn, records the manifest requests the registry answered (the
request sequence docs/analytics.md describes), runs an ingestion pass in this process
(the live server wrote its events to the same database outbox, or to the Redis stream
when REDIS_URL is set) and checks the rollups: exactly one pull per image, under the tag
asked for. A second pull of an image already present locally counts only when the client
fetches the image manifest again (docs/analytics.md, "A pull of an image already there").

crane is not installable here (no Go module proxy, not in Debian): its sequence (GET the
tag with an Accept list, then GET the platform image by digest) is replayed over plain
HTTP below, with the sequence that dodged counting before (HEAD the index's tag, then GET
every platform image by digest).
"""

import pytest
import requests

from analytics.ingestion import ingest_pass
from analytics.models import PullRollup
from tests.clients.conftest import (
    HOST_ARCH,
    OTHER_ARCH,
    make_image,
    push_image,
    push_index,
)
from tests.support.registry_client import DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST
from tests.support.requirements import require_command

ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))


def manifest_requests(registry_log, repo: str) -> list[str]:
    """`METHOD reference STATUS` of the manifest requests for `repo` that got past
    authentication, sorted (the two gunicorn workers log in their own order)."""
    prefix = f"/v2/{repo}/manifests/"
    lines = []
    for entry in registry_log.requests():
        if entry["path"].startswith(prefix) and entry["status"] != 401:
            lines.append(f"{entry['method']} {entry['path'][len(prefix) :]} {entry['status']}")
    return sorted(lines)


def counted(repo: str) -> list[tuple[str, str, int]]:
    """(tag, digest, pulls) of `repo`'s rollups after an ingestion pass."""
    ingest_pass()
    return sorted(PullRollup.objects.filter(repository=repo).values_list("tag", "digest", "pulls"))


@pytest.fixture
def pushed(live_registry, repo_name):
    """`1.0`: a single-platform image; `multi`: an index of this host's platform and
    another; their digests."""
    native, foreign = make_image("count multi", HOST_ARCH), make_image("count multi", OTHER_ARCH)
    single = make_image("count 1.0")
    image = push_image(live_registry, repo_name, "1.0", single)
    index = push_index(live_registry, repo_name, "multi", [native, foreign])
    raw = requests.get(
        f"{live_registry.url}/v2/{repo_name}/manifests/multi",
        headers={"Accept": OCI_INDEX, "Authorization": live_registry.auth_header},
        timeout=10,
    ).json()
    children = {c["platform"]["architecture"]: c["digest"] for c in raw["manifests"]}
    ingest_pass()  # that GET of the index, out of the way (it is not a pull either)
    return {
        "image": image["digest"],
        "index": index["digest"],
        "native": children[HOST_ARCH],
        "foreign": children[OTHER_ARCH],
        "ids": {"single": single.id, "native": native.id},
    }


# --- the Docker engine ------------------------------------------------------------------


def test_docker_pull_counts_once_per_image(
    docker, live_registry, live_credentials, repo_name, pushed, registry_log
):
    host = live_registry.host
    assert "Login Succeeded" in docker.login(host, *live_credentials).stdout
    docker.run("pull", f"{host}/{repo_name}:1.0")
    docker.run("pull", f"{host}/{repo_name}:multi")
    assert manifest_requests(registry_log, repo_name) == sorted(
        [
            "HEAD 1.0 200",
            f"GET {pushed['image']} 200",
            "HEAD multi 200",
            f"GET {pushed['index']} 200",
            f"GET {pushed['native']} 200",
        ]
    )
    assert counted(repo_name) == sorted(
        [("1.0", pushed["image"], 1), ("multi", pushed["native"], 1)]
    )

    # Pulled again while present: docker only checks the tag (HEAD); nothing is fetched
    # and nothing more is counted.
    start = registry_log.start
    registry_log.start = registry_log.path.stat().st_size
    out = docker.run("pull", f"{host}/{repo_name}:1.0").stdout
    assert f"Status: Image is up to date for {host}/{repo_name}:1.0\n" in out
    docker.run("pull", f"{host}/{repo_name}:multi")
    assert manifest_requests(registry_log, repo_name) == ["HEAD 1.0 200", "HEAD multi 200"]
    assert counted(repo_name) == sorted(
        [("1.0", pushed["image"], 1), ("multi", pushed["native"], 1)]
    )
    registry_log.start = start
    docker.run("rmi", f"{host}/{repo_name}:1.0", f"{host}/{repo_name}:multi")


# --- containerd ---------------------------------------------------------------------------


def test_containerd_cri_and_ctr_pulls_count_once_per_image(
    containerd, live_registry, live_credentials, repo_name, pushed, registry_log
):
    host = live_registry.host
    assert (
        containerd.pull_image(f"{host}/{repo_name}:1.0", *live_credentials)
        == (pushed["ids"]["single"])
    )
    assert (
        containerd.pull_image(f"{host}/{repo_name}:multi", *live_credentials)
        == (pushed["ids"]["native"])
    )
    assert manifest_requests(registry_log, repo_name) == sorted(
        [
            "HEAD 1.0 200",
            f"GET {pushed['image']} 200",
            "HEAD multi 200",
            f"GET {pushed['index']} 200",
            f"GET {pushed['native']} 200",
        ]
    )
    assert counted(repo_name) == sorted(
        [("1.0", pushed["image"], 1), ("multi", pushed["native"], 1)]
    )

    # ctr pulling a fresh index the same way, then the kubelet pulling again the images
    # the node has: HEAD only (containerd has the content), not counted.
    fresh = [make_image("count ctr", HOST_ARCH), make_image("count ctr", OTHER_ARCH)]
    ctr_index = push_index(live_registry, repo_name, "ctr", fresh)
    ctr_native = requests.get(
        f"{live_registry.url}/v2/{repo_name}/manifests/ctr",
        headers={"Accept": OCI_INDEX, "Authorization": live_registry.auth_header},
        timeout=10,
    ).json()["manifests"][0]["digest"]
    ingest_pass()
    registry_log.start = registry_log.path.stat().st_size
    user = ":".join(live_credentials)
    ctr_pull = ("images", "pull", "--plain-http", "--snapshotter", "native", "--user", user)
    containerd.ctr(*ctr_pull, f"{host}/{repo_name}:ctr")
    assert (
        containerd.pull_image(f"{host}/{repo_name}:1.0", *live_credentials)
        == (pushed["ids"]["single"])
    )
    assert (
        containerd.pull_image(f"{host}/{repo_name}:multi", *live_credentials)
        == (pushed["ids"]["native"])
    )
    assert manifest_requests(registry_log, repo_name) == sorted(
        [
            "HEAD ctr 200",
            f"GET {ctr_index['digest']} 200",
            f"GET {ctr_native} 200",
            "HEAD 1.0 200",
            "HEAD multi 200",
        ]
    )
    assert counted(repo_name) == sorted(
        [("1.0", pushed["image"], 1), ("ctr", ctr_native, 1), ("multi", pushed["native"], 1)]
    )


# --- podman ---------------------------------------------------------------------------------


def test_podman_pull_counts_once_per_image(
    podman, live_registry, live_credentials, repo_name, pushed, registry_log
):
    host = live_registry.host
    tls = "--tls-verify=false"
    assert podman.login(host, *live_credentials).stdout == "Login Succeeded!\n"
    podman.run("pull", tls, f"{host}/{repo_name}:1.0")
    podman.run("pull", tls, f"{host}/{repo_name}:multi")
    assert manifest_requests(registry_log, repo_name) == sorted(
        [
            "GET 1.0 200",
            "GET multi 200",
            f"GET {pushed['native']} 200",
        ]
    )
    assert counted(repo_name) == sorted(
        [("1.0", pushed["image"], 1), ("multi", pushed["native"], 1)]
    )

    # Pulled again while present: podman fetches the manifests again (it keeps no copy of
    # the registry's answer), so this is a pull again, one per image.
    registry_log.start = registry_log.path.stat().st_size
    podman.run("pull", tls, f"{host}/{repo_name}:1.0")
    podman.run("pull", tls, f"{host}/{repo_name}:multi")
    assert manifest_requests(registry_log, repo_name) == sorted(
        ["GET 1.0 200", "GET multi 200", f"GET {pushed['native']} 200"]
    )
    assert counted(repo_name) == sorted(
        [("1.0", pushed["image"], 2), ("multi", pushed["native"], 2)]
    )
    podman.run("rmi", f"{host}/{repo_name}:1.0", f"{host}/{repo_name}:multi")


# --- skopeo -----------------------------------------------------------------------------------


def test_skopeo_copy_counts_once_per_image(
    live_registry, live_credentials, repo_name, pushed, registry_log, tmp_path
):
    require_command("skopeo")
    from tests.support.skopeo import skopeo

    def copy(tag: str, *flags: str) -> None:
        source = f"docker://{live_registry.host}/{repo_name}:{tag}"
        skopeo("copy", "--src-tls-verify=false", *flags, source, f"dir:{tmp_path / tag}")

    copy("1.0")
    copy("multi")
    assert manifest_requests(registry_log, repo_name) == sorted(
        ["GET 1.0 200", "GET multi 200", f"GET {pushed['native']} 200"]
    )
    assert counted(repo_name) == sorted(
        [("1.0", pushed["image"], 1), ("multi", pushed["native"], 1)]
    )

    # --all copies every platform image: one pull each.
    registry_log.start = registry_log.path.stat().st_size
    skopeo(
        "copy",
        "--src-tls-verify=false",
        "--all",
        f"docker://{live_registry.host}/{repo_name}:multi",
        f"dir:{tmp_path / 'all'}",
    )
    assert manifest_requests(registry_log, repo_name) == sorted(
        ["GET multi 200", f"GET {pushed['native']} 200", f"GET {pushed['foreign']} 200"]
    )
    assert counted(repo_name) == sorted(
        [
            ("1.0", pushed["image"], 1),
            ("multi", pushed["foreign"], 1),
            ("multi", pushed["native"], 2),
        ]
    )


# --- plain HTTP: crane's sequence and the dodge ----------------------------------------------


def _get(live_registry, repo: str, reference: str, method: str = "GET") -> requests.Response:
    response = requests.request(
        method,
        f"{live_registry.url}/v2/{repo}/manifests/{reference}",
        headers={"Accept": ACCEPT, "Authorization": live_registry.auth_header},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response


def test_crane_sequence_counts_once_per_image(live_registry, repo_name, pushed):
    # crane pull: GET the tag with its Accept list; for an index, GET the platform image.
    single = _get(live_registry, repo_name, "1.0")
    assert single.headers["Content-Type"] == OCI_MANIFEST
    index = _get(live_registry, repo_name, "multi")
    assert index.headers["Content-Type"] == OCI_INDEX
    platforms = {m["platform"]["architecture"]: m["digest"] for m in index.json()["manifests"]}
    _get(live_registry, repo_name, platforms[HOST_ARCH])
    assert counted(repo_name) == sorted(
        [("1.0", pushed["image"], 1), ("multi", pushed["native"], 1)]
    )


def test_head_of_the_index_tag_then_every_platform_counts_each_platform(
    live_registry, repo_name, pushed
):
    # The dodge R7 reported (it counted 0): HEAD the tag, GET each child by digest. Each
    # platform image fetched is an image pulled.
    head = _get(live_registry, repo_name, "multi", method="HEAD")
    assert head.headers["Docker-Content-Digest"] == pushed["index"]
    _get(live_registry, repo_name, pushed["native"])
    _get(live_registry, repo_name, pushed["foreign"])
    assert counted(repo_name) == sorted(
        [("multi", pushed["foreign"], 1), ("multi", pushed["native"], 1)]
    )


def test_pinned_pulls_of_an_index_and_of_a_platform_count_once(live_registry, repo_name, pushed):
    # image@sha256:<index>: the index, then the platform image.
    _get(live_registry, repo_name, pushed["index"])
    _get(live_registry, repo_name, pushed["native"])
    # image@sha256:<platform image>: that image only.
    _get(live_registry, repo_name, pushed["foreign"])
    # A single-platform image by digest; its tag is its own.
    _get(live_registry, repo_name, pushed["image"])
    assert counted(repo_name) == sorted(
        [
            ("1.0", pushed["image"], 1),
            ("multi", pushed["foreign"], 1),
            ("multi", pushed["native"], 1),
        ]
    )
