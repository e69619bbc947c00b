import datetime

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from registry.models import Upload

pytestmark = pytest.mark.django_db


def test_purgeuploads_removes_only_stale_uploads(client, capsys):
    stale_id = client.post("/v2/acme/app/blobs/uploads/")["Docker-Upload-UUID"]
    fresh_id = client.post("/v2/acme/app/blobs/uploads/")["Docker-Upload-UUID"]
    Upload.objects.filter(id=stale_id).update(
        updated_at=timezone.now() - datetime.timedelta(hours=30)
    )
    call_command("purgeuploads", "--older-than-hours", "24")
    assert capsys.readouterr().out.strip() == "purged 1 stale upload(s)"
    assert list(Upload.objects.values_list("id", flat=True).order_by("id")) == [
        Upload.objects.get(id=fresh_id).id
    ]
    uploads = settings.DATA_DIR / "registry" / "uploads"
    assert not (uploads / stale_id).exists()
    assert (uploads / fresh_id / "data").exists()
    assert client.get(f"/v2/acme/app/blobs/uploads/{stale_id}").status_code == 404
