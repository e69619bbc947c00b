"""The client commands the artifacts page shows: the right tool for each kind of content
(docker cannot pull a Helm chart or an OCI artifact), each with its login, and the flags a
plain-HTTP registry needs."""

from dataclasses import dataclass

from django.conf import settings
from django.utils.text import slugify


@dataclass(frozen=True)
class Command:
    id: str
    label: str
    text: str


def registry_plain_http() -> bool:
    """The registry is reached over plain HTTP (the embedded default, a lab install)."""
    return settings.DISTR_PUBLIC_URL.startswith("http://")


def login_commands(*, host: str, user: str, kinds: set[str]) -> list[Command]:
    """One login per tool the listed content needs; the password is a pull token."""
    plain = " --plain-http" if registry_plain_http() else ""
    commands = []
    if kinds & {"image", "multi-platform image"} or not kinds:
        commands.append(
            Command("cmd-login", "docker login command", f"docker login {host} -u {user}")
        )
    if "Helm chart" in kinds:
        commands.append(
            Command(
                "cmd-login-helm",
                "helm registry login command",
                f"helm registry login {host} -u {user}{plain}",
            )
        )
    if "artifact" in kinds:
        commands.append(
            Command("cmd-login-oras", "oras login command", f"oras login {host} -u {user}{plain}")
        )
    return commands


def pull_commands(*, host: str, repository: str, tag: str, kind: str, digest: str) -> list[Command]:
    ref = f"{host}/{repository}"
    base = f"cmd-{slugify(repository)}-{slugify(tag)}"
    plain = " --plain-http" if registry_plain_http() else ""
    if kind == "Helm chart":
        return [
            Command(
                f"{base}-helm",
                f"helm pull command for {tag}",
                f"helm pull oci://{ref} --version {tag}{plain}",
            )
        ]
    if kind == "artifact":
        return [
            Command(
                f"{base}-oras", f"oras pull command for {tag}", f"oras pull {ref}:{tag}{plain}"
            ),
            Command(
                f"{base}-digest", f"pull by digest for {tag}", f"oras pull {ref}@{digest}{plain}"
            ),
        ]
    return [
        Command(f"{base}-pull", f"docker pull command for {tag}", f"docker pull {ref}:{tag}"),
        Command(f"{base}-digest", f"pull by digest for {tag}", f"docker pull {ref}@{digest}"),
    ]
