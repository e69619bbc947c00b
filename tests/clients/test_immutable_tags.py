"""Immutable tags as the real clients see them: docker push and skopeo copy of a new image
onto an immutable tag fail, and their output shows the registry's message naming the rule;
pushing the same image again succeeds. The rule is made in this process (the database the
live registry reads), so the refusal also shows the server reads rules per request."""

import re

import pytest

from registry.services.guards import immutable_rule_create
from tests.clients.conftest import make_image, write_docker_archive
from tests.support.oci_layout import image_layout
from tests.support.skopeo import skopeo


def test_docker_push_onto_an_immutable_tag_is_denied_with_the_rule(
    docker, live_registry, live_credentials, repo_name, vendor, tmp_path
):
    host = live_registry.host
    first, second = make_image("immutable first"), make_image("immutable second")
    archive = write_docker_archive(
        tmp_path / "images.tar", {"local/imm:first": first, "local/imm:second": second}
    )
    docker.run("load", "-i", str(archive))
    assert "Login Succeeded" in docker.login(host, *live_credentials).stdout
    rule = immutable_rule_create(
        vendor=vendor, repository_pattern=repo_name.partition("/")[2], tag_rule="semver:>=1"
    )
    target = f"{host}/{repo_name}:1.0.0"
    docker.run("tag", "local/imm:first", target)
    assert re.search(r"^1\.0\.0: digest: sha256:", docker.run("push", target).stdout, re.M)
    assert docker.run("push", target).returncode == 0  # the same image again: allowed

    docker.run("tag", "local/imm:second", target)
    refused = docker.run("push", target, check=False)
    assert refused.returncode == 1
    output = refused.stdout + refused.stderr
    assert (
        f"denied: tag 1.0.0 of {repo_name} is immutable and cannot be moved (rule {rule.id}: "
        f"repositories '{rule.repository_pattern}', tags 'semver:>=1')"
    ) in output, output


def test_skopeo_copy_onto_an_immutable_tag_is_denied_with_the_rule(
    live_registry, live_credentials, repo_name, vendor, tmp_path
):
    rule = immutable_rule_create(vendor=vendor, repository_pattern="**", tag_rule="exact:stable")
    first = image_layout(tmp_path / "one", [1000], tag="stable")
    second = image_layout(tmp_path / "two", [2000], tag="stable")
    dest = f"docker://{live_registry.host}/{repo_name}:stable"
    flags = ("copy", "--preserve-digests", "--dest-tls-verify=false")
    skopeo(*flags, first.ref, dest)
    skopeo(*flags, first.ref, dest)  # the identical digest again
    with pytest.raises(AssertionError) as failed:  # the helper's failure carries stderr
        skopeo(*flags, second.ref, dest)
    refused = str(failed.value)
    assert (
        f"is immutable and cannot be moved (rule {rule.id}: repositories '**', tags 'exact:stable')"
    ) in refused, refused
