"""https receivers: the connection goes to the address resolved once, and TLS is spoken to
the host name (SNI and the certificate check), not to the IP address."""

import datetime
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from customers.services import customer_create
from tests.webhooks.dns_addresses import AddressDnsServer
from tests.webhooks.receiver import Receiver
from webhooks.delivery import delivery_attempt
from webhooks.models import WebhookDelivery
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db
HOST = "hooks.example.test"


def _certificate(tmp_path, name: str):
    """A CA (written to ca.pem) and a server context whose certificate names `name`."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "leaf.pem").write_bytes(
        leaf.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "leaf.pem")
    server_names: list[str] = []
    context.sni_callback = lambda sock, server_name, ctx: server_names.append(server_name)
    return context, server_names


@pytest.fixture
def dns(settings):
    with AddressDnsServer() as server:
        server.a[HOST] = ["127.0.0.1", "192.0.2.1"]  # a second answer would go nowhere
        settings.DISTR_DNS_NAMESERVERS = [server.address]
        yield server


def test_tls_is_spoken_to_the_host_name_at_the_pinned_address(vendor, dns, tmp_path, settings):
    context, server_names = _certificate(tmp_path, HOST)
    settings.WEBHOOK_CA_FILE = str(tmp_path / "ca.pem")
    with Receiver(tls=context) as receiver:
        endpoint_create(
            vendor=vendor,
            url=f"https://{HOST}:{receiver.port}/in",
            event_types=["customer.created"],
        )
        customer_create(vendor=vendor, slug="initech")
        delivery = WebhookDelivery.objects.get()
        assert delivery_attempt(delivery_id=delivery.pk) == "delivered"
        (request,) = receiver.received
    assert server_names == [HOST]
    assert request.headers["host"] == f"{HOST}:{receiver.port}"
    assert dns.a_queries == [HOST]


def test_a_certificate_for_another_name_is_a_failed_attempt(vendor, dns, tmp_path, settings):
    context, _ = _certificate(tmp_path, "someone-else.test")
    settings.WEBHOOK_CA_FILE = str(tmp_path / "ca.pem")
    with Receiver(tls=context) as receiver:
        endpoint_create(
            vendor=vendor,
            url=f"https://{HOST}:{receiver.port}/in",
            event_types=["customer.created"],
        )
        customer_create(vendor=vendor, slug="initech")
        delivery = WebhookDelivery.objects.get()
        assert delivery_attempt(delivery_id=delivery.pk) == "pending"  # retried later
        assert receiver.received == []
    delivery.refresh_from_db()
    assert "certificate" in delivery.last_error.lower()
