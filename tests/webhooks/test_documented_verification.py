"""The verification code in docs/webhooks.md, run as written: the Python snippet in this
process, the Node snippet with `node`, against requests a real receiver got from distr.
Also the spec authors' own verifier (standardwebhooks) and secret rotation."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from customers.services import customer_create
from webhooks.delivery import delivery_attempt
from webhooks.models import WebhookDelivery
from webhooks.services import endpoint_rotate_secret

pytestmark = pytest.mark.django_db
DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def _snippet(language: str) -> str:
    blocks = re.findall(
        rf"<!-- tested: [^>]+ -->\n```{language}\n(.*?)```", DOC.read_text(), flags=re.S
    )
    assert len(blocks) == 1, f"one tested {language} block in docs/webhooks.md"
    return blocks[0]


def python_verify():
    namespace: dict = {}
    exec(compile(_snippet("python"), str(DOC), "exec"), namespace)  # noqa: S102 - our doc
    return namespace["verify"]


NODE_HARNESS = """
let input = "";
process.stdin.on("data", (c) => (input += c));
process.stdin.on("end", () => {
  const { secret, headers, body } = JSON.parse(input);
  try {
    const data = verify(secret, headers, Buffer.from(body, "base64"));
    console.log(JSON.stringify({ ok: true, type: JSON.parse(data).type }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, error: e.message }));
  }
});
"""


def node_verify(secret: str, headers: dict, body: bytes) -> dict:
    import base64

    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("node is not installed")
    result = subprocess.run(
        [node, "-e", _snippet("javascript") + NODE_HARNESS],
        input=json.dumps(
            {"secret": secret, "headers": headers, "body": base64.b64encode(body).decode()}
        ),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.fixture
def received(vendor, endpoint, receiver):
    customer_create(vendor=vendor, slug="initech", name="Initech — ünïcode")
    delivery = WebhookDelivery.objects.get()
    assert delivery_attempt(delivery_id=delivery.pk) == "delivered"
    (request,) = receiver.received
    return request


def test_the_documented_python_code_verifies_a_delivery(endpoint, received):
    verify = python_verify()
    assert verify(endpoint.secret, received.headers, received.body) == received.body
    event = json.loads(received.body)
    assert event["type"] == "dev.distr.customer.created"
    assert event["id"] == received.headers["webhook-id"]
    assert event["data"]["name"] == "Initech — ünïcode"
    with pytest.raises(ValueError, match="no valid signature"):
        verify(endpoint.secret, received.headers, received.body.replace(b"initech", b"evil"))
    with pytest.raises(ValueError, match="no valid signature"):
        other = "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
        verify(other, received.headers, received.body)
    stale = {
        **received.headers,
        "webhook-timestamp": str(int(received.headers["webhook-timestamp"]) - 3600),
    }
    with pytest.raises(ValueError, match="timestamp"):
        verify(endpoint.secret, stale, received.body)


def test_the_documented_node_code_verifies_a_delivery(endpoint, received):
    assert node_verify(endpoint.secret, received.headers, received.body) == {
        "ok": True,
        "type": "dev.distr.customer.created",
    }
    tampered = received.body.replace(b"initech", b"evil")
    assert node_verify(endpoint.secret, received.headers, tampered)["ok"] is False
    forged = {**received.headers, "webhook-id": "msg_forged"}
    assert node_verify(endpoint.secret, forged, received.body)["ok"] is False


def test_the_standard_webhooks_library_accepts_it(endpoint, received):
    event = Webhook(endpoint.secret).verify(received.body, received.headers)
    assert event["id"] == received.headers["webhook-id"]


def test_after_rotation_both_secrets_verify_for_a_while(vendor, endpoint, receiver):
    old = endpoint.secret
    rotated = endpoint_rotate_secret(endpoint=endpoint.endpoint)
    assert rotated.secret != old and rotated.secret.startswith("whsec_")
    customer_create(vendor=vendor, slug="initech")
    delivery_attempt(delivery_id=WebhookDelivery.objects.get().pk)
    (request,) = receiver.received
    assert len(request.headers["webhook-signature"].split()) == 2
    verify = python_verify()
    for secret in (old, rotated.secret):
        assert verify(secret, request.headers, request.body)
        assert node_verify(secret, request.headers, request.body)["ok"] is True
