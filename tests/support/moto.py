"""A real S3 endpoint on loopback: moto in server mode (see TOOLING.md section 5).

moto does not verify presigned signatures or expiry, so tests never assert that S3
refuses a URL; they assert what distr hands out and that clients get the right bytes.
"""

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import requests
from botocore.config import Config

from tests.support.server import free_port

MIB = 1024 * 1024
ACCESS_KEY = SECRET_KEY = "testing"
REGION = "us-east-1"


class MotoServer:
    def __init__(self, log_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        executable = shutil.which("moto_server", path=str(Path(sys.executable).parent))
        self._log = open(log_dir / f"moto-{self.port}.log", "wb")  # noqa: SIM115 - stop()
        self.process = subprocess.Popen(
            [executable, "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/moto-api/", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            raise RuntimeError("moto_server did not start")
        self.client = boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def bucket_create(self) -> str:
        name = f"distr-{uuid.uuid4().hex[:12]}"
        self.client.create_bucket(Bucket=name)
        return name

    def env(self, bucket: str, **extra: str) -> dict:
        """The environment distr's settings read for this bucket."""
        return {
            "STORAGE_BACKEND": "s3",
            "AWS_STORAGE_BUCKET_NAME": bucket,
            "AWS_S3_ENDPOINT_URL": self.url,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_S3_ADDRESSING_STYLE": "path",
            "S3_PART_BYTES": str(5 * MIB),
            **extra,
        }

    def storage_options(self, bucket: str, location: str = "") -> dict:
        return {
            "BACKEND": "registry.storage.s3.BlobObjectStorage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": self.url,
                "region_name": REGION,
                "access_key": ACCESS_KEY,
                "secret_key": SECRET_KEY,
                "addressing_style": "path",
                "signature_version": "s3v4",
                "location": location,
            },
        }

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def multipart_uploads(self, bucket: str) -> list[dict]:
        return self.client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])

    def read(self, bucket: str, key: str) -> bytes:
        return self.client.get_object(Bucket=bucket, Key=key)["Body"].read()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()
