"""The registry core's skopeo round trip and live-HTTP upload tests, run again under
gunicorn with blobs in S3 (this package's `live_registry` stores in a moto bucket), plus
what only object storage has: presigned redirects and aborted multipart uploads."""

import os

import pytest

from registry.models import Blob, Upload
from tests.registry.test_skopeo_roundtrip import (  # noqa: F401 - collected again here
    test_copy_between_repositories_keeps_every_byte,
    test_inspect_and_list_tags_agree_with_pushed_images,
    test_multi_layer_image_round_trips_byte_for_byte,
    test_multi_platform_index_round_trips_byte_for_byte,
    test_recompressing_push_pulls_back_and_digests_agree,
)
from tests.registry.test_upload_live_http import (  # noqa: F401 - collected again here
    test_chunked_transfer_encoding_monolithic_post,
    test_chunked_transfer_encoding_on_the_finishing_put,
    test_chunked_transfer_encoding_patch,
    test_chunks_on_fresh_connections_verify_whichever_worker_finishes,
    test_out_of_order_chunk_over_http,
)
from tests.support.moto import MIB
from tests.support.oci_layout import image_layout
from tests.support.server import live_http
from tests.support.skopeo import skopeo
from tests.support.uploads import OCTETS, hand_sent_request, sha256, start_live, wait_until


def pending_for(moto, bucket: str, upload_id: str) -> list[dict]:
    return [u for u in moto.multipart_uploads(bucket) if f"uploads/{upload_id}/" in u["Key"]]


def lease_released(upload_id: str) -> bool:
    upload = Upload.objects.filter(id=upload_id).first()
    return upload is None or upload.lease_holder is None


@pytest.mark.requires_command("skopeo")
def test_skopeo_pull_follows_the_presigned_redirect(
    live_registry, repo_name, tmp_path, moto, s3_live_bucket
):
    source = image_layout(tmp_path / "src", [6 * MIB + 1, 1000])
    ref = f"docker://{live_registry.host}/{repo_name}:v1"
    skopeo("copy", "--dest-tls-verify=false", "--preserve-digests", source.ref, ref)

    layer = next(d for d in source.blobs if source.blobs[d].stat().st_size == 6 * MIB + 1)
    response = live_http.get(
        f"{live_registry.url}/v2/{repo_name}/blobs/{layer}", allow_redirects=False, timeout=10
    )
    assert response.status_code == 307
    assert response.headers["Docker-Content-Digest"] == layer
    hex_ = layer.split(":")[1]
    assert response.headers["Location"].startswith(
        f"{moto.url}/{s3_live_bucket}/blobs/sha256/{hex_[:2]}/{hex_}?"
    )

    skopeo(
        "copy", "--src-tls-verify=false", "--preserve-digests", ref, f"oci:{tmp_path / 'back'}:v1"
    )
    back = tmp_path / "back" / "blobs" / "sha256" / hex_
    assert back.read_bytes() == source.blobs[layer].read_bytes()


def test_interrupted_multipart_patch_then_cancel_leaves_nothing(
    live_registry, repo_name, moto, s3_live_bucket
):
    url, upload_id = start_live(live_registry, repo_name)
    first = os.urandom(6 * MIB)
    assert live_http.patch(url, data=first, headers=OCTETS, timeout=60).status_code == 202
    assert len(pending_for(moto, s3_live_bucket, upload_id)) == 1

    # Cut off after a second part reached S3 within the request.
    with hand_sent_request(
        live_registry, "PATCH", url.removeprefix(live_registry.url), None
    ) as send:
        send(os.urandom(6 * MIB))
        wait_until(lambda: not lease_released(upload_id), what="the PATCH to take the lease")
    wait_until(lambda: lease_released(upload_id), what="the cut-off PATCH to give up")
    assert Upload.objects.get(id=upload_id).size == len(first)

    assert live_http.delete(url, timeout=30).status_code == 204
    assert pending_for(moto, s3_live_bucket, upload_id) == []
    assert moto.keys(s3_live_bucket, f"uploads/{upload_id}/") == []
    assert not Upload.objects.filter(id=upload_id).exists()


def test_interrupted_multipart_patch_resumes_byte_exact(
    live_registry, repo_name, moto, s3_live_bucket
):
    """The cut-off request sent part 2 before dying; the resent chunk overwrites it."""
    url, upload_id = start_live(live_registry, repo_name)
    first, rest = os.urandom(6 * MIB), os.urandom(7 * MIB)
    assert live_http.patch(url, data=first, headers=OCTETS, timeout=60).status_code == 202
    path = url.removeprefix(live_registry.url)
    with hand_sent_request(live_registry, "PATCH", path, 20 * MIB) as send:
        send(os.urandom(6 * MIB))  # different bytes than the client will resend
        wait_until(lambda: not lease_released(upload_id), what="the PATCH to take the lease")
    wait_until(lambda: lease_released(upload_id), what="the cut-off PATCH to give up")

    response = live_http.patch(
        url,
        data=rest,
        headers={**OCTETS, "Content-Range": f"{len(first)}-{len(first) + len(rest) - 1}"},
        timeout=60,
    )
    assert response.status_code == 202, response.text
    digest = sha256(first + rest)
    assert live_http.put(f"{url}?digest={digest}", timeout=60).status_code == 201
    hex_ = digest.split(":")[1]
    assert moto.read(s3_live_bucket, f"blobs/sha256/{hex_[:2]}/{hex_}") == first + rest
    assert pending_for(moto, s3_live_bucket, upload_id) == []
    assert moto.keys(s3_live_bucket, f"uploads/{upload_id}/") == []


def test_monolithic_post_cut_off_aborts_its_multipart_upload(
    live_registry, repo_name, moto, s3_live_bucket
):
    data = os.urandom(12 * MIB)
    digest = sha256(data)
    path = f"/v2/{repo_name}/blobs/uploads/?digest={digest}"
    with hand_sent_request(live_registry, "POST", path, len(data)) as send:
        send(data[: 7 * MIB])
        wait_until(
            lambda: (
                Upload.objects.filter(repository__name=repo_name).exclude(multipart_id="").exists()
            ),
            what="the first part to reach S3",
        )
        upload_id = str(Upload.objects.get(repository__name=repo_name).id)
    wait_until(
        lambda: not Upload.objects.filter(id=upload_id).exists(),
        what="the cut-off upload to be cancelled",
    )
    assert pending_for(moto, s3_live_bucket, upload_id) == []
    assert moto.keys(s3_live_bucket, f"uploads/{upload_id}/") == []
    assert not Blob.objects.filter(digest=digest).exists()
