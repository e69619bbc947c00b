"""deploy/: the Kubernetes overlay renders and validates against the Kubernetes schemas,
the compose file has the shape docs/deploy.md describes, the Dockerfile passes a
structural lint, and `manage.py check --deploy` is clean with the documented settings."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.requirements import require_command

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBECTL = shutil.which("kubectl")
K8S_VERSION = "1.30.0"  # the oldest minor the manifests promise to support


def require_kubectl():
    require_command("kubectl")


@pytest.fixture(scope="module")
def rendered() -> list[dict]:
    require_kubectl()
    result = subprocess.run(
        [KUBECTL, "kustomize", str(DEPLOY / "kubernetes" / "overlays" / "example")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def by_kind(docs: list[dict], kind: str, name: str) -> dict:
    (doc,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def test_every_rendered_resource_validates_strictly(rendered):
    for doc in rendered:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    kinds = sorted((d["kind"], d["metadata"]["name"]) for d in rendered)
    assert kinds == [
        ("ConfigMap", "distr"),
        ("Deployment", "distr-beat"),
        ("Deployment", "distr-web"),
        ("Deployment", "distr-worker"),
        ("HorizontalPodAutoscaler", "distr-web"),
        ("Ingress", "distr"),
        ("Job", "distr-migrate"),
        ("Namespace", "distr"),
        ("PodDisruptionBudget", "distr-web"),
        ("Service", "distr-web"),
        ("ServiceAccount", "distr"),
    ]


def test_an_invalid_manifest_is_caught(rendered):
    """The validator really checks: a typo in a probe port type is refused."""
    web = json.loads(json.dumps(by_kind(rendered, "Deployment", "distr-web")))
    web["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(web, K8S_VERSION, strict=True)


def test_web_has_probes_resources_and_waits_for_migrations(rendered):
    web = by_kind(rendered, "Deployment", "distr-web")
    pod = web["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert "migrate --check" in " ".join(pod["initContainers"][0]["command"])
    assert web["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    for deployment in ("distr-web", "distr-worker", "distr-beat"):
        spec = by_kind(rendered, "Deployment", deployment)["spec"]["template"]["spec"]
        for c in spec["containers"]:
            assert c["image"] == "ghcr.io/example/distr:0.1.0"
            refs = {next(iter(ref)): next(iter(ref.values()))["name"] for ref in c["envFrom"]}
            assert refs == {"configMapRef": "distr", "secretRef": "distr"}


def test_autoscaling_and_disruption_budget_target_the_web_pods(rendered):
    web = by_kind(rendered, "Deployment", "distr-web")
    labels = web["spec"]["template"]["metadata"]["labels"]
    hpa = by_kind(rendered, "HorizontalPodAutoscaler", "distr-web")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "distr-web"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 6)  # overlay patch
    pdb = by_kind(rendered, "PodDisruptionBudget", "distr-web")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service = by_kind(rendered, "Service", "distr-web")
    assert service["spec"]["selector"].items() <= labels.items()


def test_worker_beat_and_migration_job(rendered):
    worker = by_kind(rendered, "Deployment", "distr-worker")["spec"]["template"]["spec"]
    assert worker["containers"][0]["command"][:4] == ["celery", "-A", "distr", "worker"]
    beat = by_kind(rendered, "Deployment", "distr-beat")["spec"]
    assert beat["replicas"] == 1 and beat["strategy"]["type"] == "Recreate"
    assert beat["template"]["spec"]["containers"][0]["command"][:4] == [
        "celery",
        "-A",
        "distr",
        "beat",
    ]
    job = by_kind(rendered, "Job", "distr-migrate")["spec"]["template"]["spec"]
    assert job["containers"][0]["command"] == ["python", "manage.py", "migrate", "--noinput"]


def test_ingress_allows_multi_gigabyte_layers(rendered):
    ingress = by_kind(rendered, "Ingress", "distr")
    notes = ingress["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/proxy-body-size"] == "0"
    assert notes["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "off"
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 600
    assert ingress["spec"]["tls"][0]["hosts"] == ["registry.example.com"]
    config = by_kind(rendered, "ConfigMap", "distr")["data"]
    assert config["STORAGE_BACKEND"] == "s3" and config["DISTR_PUBLIC_URL"].startswith("https://")


# compose ------------------------------------------------------------------------------------


def test_compose_file_has_the_documented_services():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {
        "proxy",
        "web",
        "migrate",
        "worker",
        "beat",
        "postgres",
        "redis",
        "minio",
        "minio-bucket",
    }
    assert services["web"]["deploy"]["replicas"] == 2
    assert services["web"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["worker"]["command"][:4] == ["celery", "-A", "distr", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "distr", "beat"]
    assert "deploy" not in services["beat"]  # one beat only
    for name in ("web", "migrate", "worker", "beat"):
        env = services[name]["environment"]
        assert env["STORAGE_BACKEND"] == "s3" and env["AWS_S3_ENDPOINT_URL"] == "http://minio:9000"
        assert services[name]["image"] == services["web"]["image"]
    assert "mc mb" in services["minio-bucket"]["command"][0]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in services["proxy"]["volumes"]


def test_proxy_streams_uploads_without_buffering_or_limits():
    """Blob uploads stream through with no size limit; every other body is small and read
    whole by nginx first (slow clients then cost nginx a connection, not a distr thread)."""
    conf = (DEPLOY / "nginx.conf").read_text()
    directive = r"^\s*(proxy_request_buffering|client_max_body_size)\s+(\S+);"
    upload = re.search(r"location ~ \^/v2/\.\+/blobs/uploads\(/\|\$\) \{(.*?)\}", conf, re.S)
    assert upload, "deploy/nginx.conf has no streaming location for blob uploads"
    assert dict(re.findall(directive, upload.group(1), re.M)) == {
        "proxy_request_buffering": "off",
        "client_max_body_size": "0",
    }
    server = conf.replace(upload.group(0), "")
    assert dict(re.findall(directive, server, re.M)) == {
        "proxy_request_buffering": "on",
        "client_max_body_size": "16m",
    }
    for timeout in ("client_header_timeout 10s;", "client_body_timeout 10s;"):
        assert timeout in conf
    assert "server web:8000" in conf


# Dockerfile ---------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def test_dockerfile_lint():
    instructions = dockerfile_instructions()
    known = {"FROM", "RUN", "COPY", "ENV", "WORKDIR", "USER", "EXPOSE", "HEALTHCHECK", "CMD"}
    assert {op for op, _ in instructions} <= known
    stages = [args for op, args in instructions if op == "FROM"]
    assert len(stages) >= 2, "multi-stage build"
    for stage in stages:
        image = stage.split()[0]
        assert ":" in image and not image.endswith(":latest"), f"pin {image}"
    final = instructions[max(i for i, (op, _) in enumerate(instructions) if op == "FROM") :]
    users = [args for op, args in final if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root"), "runs as non-root"
    assert any(op == "COPY" and args.startswith("--from=build") for op, args in final)
    build = instructions[: len(instructions) - len(final)]
    assert any(op == "RUN" and "collectstatic" in args for op, args in build)
    (cmd,) = [args for op, args in final if op == "CMD"]
    assert json.loads(cmd) == ["gunicorn", "--config", "deploy/gunicorn.conf.py", "distr.wsgi"]
    assert any(op == "HEALTHCHECK" and "/healthz" in args for op, args in final)
    assert not any(
        op == "RUN" and "apt-get install" in args and "--no-install-recommends" not in args
        for op, args in instructions
    )
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert {".git", ".venv", "data"} <= set(ignored)


# manage.py check --deploy -------------------------------------------------------------------


def production_env() -> dict:
    env = {}
    for line in (DEPLOY / "production.env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value
    return env


def test_check_deploy_passes_with_the_documented_production_environment(tmp_path):
    env = production_env()
    assert env["DISTR_PRODUCTION"] == "true" and env["STORAGE_BACKEND"] == "s3"
    # The example cannot ship a key; an operator generates one (docs/deploy.md).
    env["REGISTRY_TOKEN_KEY"] = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    env.update(
        PATH=os.environ["PATH"],
        HOME=str(tmp_path),
        DATA_DIR=str(tmp_path / "data"),
        DJANGO_SETTINGS_MODULE="distr.settings",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_about_a_single_host_setup(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DATA_DIR": str(tmp_path / "data"),
        "DJANGO_SETTINGS_MODULE": "distr.settings",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    for check_id in ("distr.W001", "distr.W002", "distr.W003"):
        assert check_id in output
