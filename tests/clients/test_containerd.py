"""containerd against distr, the way a Kubernetes node pulls: the kubelet's CRI call
`runtime.v1.ImageService/PullImage` with an imagePullSecret's username and password (a
customer's pull token), and containerd's own `ctr images pull`.

containerd 1.6 resolves a tag with HEAD only and reports a refusal as its status code
(`... failed with status code [manifests 2.0]: 403 Forbidden`): a HEAD answer has no body,
so distr's reason cannot reach it. The refusal tests therefore assert containerd's exact
error, that distr answered that HEAD 403 for the customer's token, and that the same GET
with the same token carries the license message (what `kubectl describe pod` cannot show).
"""

import grpc
import pytest
import requests

from customers.services import token_mint
from tests.clients.conftest import HOST_ARCH, OTHER_ARCH, make_image, push_image, push_index
from tests.conftest import license_grant

CTR_PULL = ("images", "pull", "--plain-http", "--snapshotter", "native")


@pytest.fixture
def released(live_registry, live_credentials, repo_name, customer):
    """acme pushed 1.0 and 2.0; globex's license covers 1.*; its pull token (minted after
    the push, see the report on per-worker caches)."""
    images = {tag: make_image(f"cri {tag}") for tag in ("1.0", "2.0")}
    manifests = {tag: push_image(live_registry, repo_name, tag, images[tag]) for tag in images}
    license_grant(customer, repo_name, "glob:1.*", name="Support 1.x")
    secret = token_mint(vendor=customer.vendor, customer=customer, kind="pull", name="k8s").secret
    return {"images": images, "manifests": manifests, "secret": secret}


def refused(host: str, repo_name: str) -> str:
    reference = f"{host}/{repo_name}:2.0"
    return (
        f'failed to resolve reference "{reference}": pulling from host {host} failed with '
        "status code [manifests 2.0]: 403 Forbidden"
    )


def assert_distr_refused_with_the_license(live_registry, repo_name, registry_log, secret):
    manifest = f"/v2/{repo_name}/manifests/2.0"
    seen = {line.split(" token:")[0] for line in registry_log.lines("containerd/", manifest)}
    # containerd first asks anonymously, then with the token; never a GET
    assert seen == {f"HEAD {manifest} 401 anonymous", f"HEAD {manifest} 403"}
    response = requests.get(
        f"{live_registry.url}/v2/{repo_name}/manifests/2.0", auth=("globex", secret), timeout=10
    )
    assert response.status_code == 403
    assert response.json()["errors"] == [
        {
            "code": "DENIED",
            "message": f"tag '2.0' of {repo_name} is not covered by your license",
            "detail": [{"Type": "repository", "Name": repo_name, "Action": "pull"}],
        }
    ]


def test_cri_pull_image_with_a_pull_secret(
    containerd, live_registry, repo_name, released, registry_log
):
    host = live_registry.host
    image_ref = containerd.pull_image(f"{host}/{repo_name}:1.0", "globex", released["secret"])
    # The CRI image reference is the image id: the digest of the config we made.
    assert image_ref == released["images"]["1.0"].id
    listed = containerd.ctr("-n", "k8s.io", "images", "ls", "-q").stdout.split()
    digest = released["manifests"]["1.0"]["digest"]
    assert f"{host}/{repo_name}:1.0" in listed
    assert f"{host}/{repo_name}@{digest}" in listed

    with pytest.raises(grpc.RpcError) as raised:
        containerd.pull_image(f"{host}/{repo_name}:2.0", "globex", released["secret"])
    assert raised.value.code() == grpc.StatusCode.UNKNOWN
    assert raised.value.details() == (
        f'failed to pull and unpack image "{host}/{repo_name}:2.0": ' + refused(host, repo_name)
    )
    assert_distr_refused_with_the_license(
        live_registry, repo_name, registry_log, released["secret"]
    )


def test_cri_pull_of_an_index_takes_the_node_platform(
    containerd, live_registry, live_credentials, repo_name
):
    host = live_registry.host
    native, foreign = make_image("cri multi", HOST_ARCH), make_image("cri multi", OTHER_ARCH)
    push_index(live_registry, repo_name, "multi", [native, foreign])
    image_ref = containerd.pull_image(f"{host}/{repo_name}:multi", *live_credentials)
    assert image_ref == native.id


def test_ctr_pull_with_a_pull_token(containerd, live_registry, repo_name, released, registry_log):
    host = live_registry.host
    user = f"globex:{released['secret']}"
    out = containerd.ctr(*CTR_PULL, "--user", user, f"{host}/{repo_name}:1.0").stdout
    digest = released["manifests"]["1.0"]["digest"]
    assert f"unpacking linux/{HOST_ARCH} {digest}...\n" in out
    listed = containerd.ctr("images", "ls", "-q").stdout.split()
    assert f"{host}/{repo_name}:1.0" in listed

    result = containerd.ctr(*CTR_PULL, "--user", user, f"{host}/{repo_name}:2.0", check=False)
    assert result.returncode == 1
    assert result.stderr == f"ctr: {refused(host, repo_name)}\n"
    assert f"{host}/{repo_name}:2.0" not in containerd.ctr("images", "ls", "-q").stdout.split()
    assert_distr_refused_with_the_license(
        live_registry, repo_name, registry_log, released["secret"]
    )
