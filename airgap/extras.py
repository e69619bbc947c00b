"""Extra files a kit carries for its licenses: the place license keys travel (issue 16).

A provider is a function `(vendor, customer, licenses) -> [(name, bytes)]` whose names are
`licenses/<license-id>.jwt` (the license key) and `licenses/<license-id>.lease.jwt` (its
lease). The kit builder calls every registered provider while it builds, lists the files
in kit.json (`licenseFiles`) and SHA256SUMS, and puts them in the tar under `licenses/`.
`airgap.apps.AirgapConfig.ready()` registers the license keys' provider
(`airgap/license_files.py`; airgap may import licensing, not the other way round).
"""

import re
from collections.abc import Callable, Iterable

ExtraProvider = Callable[..., Iterable[tuple[str, bytes]]]

_NAME = re.compile(r"licenses/[0-9]+(\.lease)?\.jwt")
_providers: list[ExtraProvider] = []


def kit_extra_provider_register(provider: ExtraProvider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def kit_extra_provider_unregister(provider: ExtraProvider) -> None:
    if provider in _providers:
        _providers.remove(provider)


def kit_extra_files(*, vendor, customer, licenses) -> list[tuple[str, bytes]]:
    """Every provider's files, sorted by name; a name outside `licenses/<id>[.lease].jwt`
    or a license the kit was not built under is a programming error."""
    ids = {str(license.pk) for license in licenses}
    files: dict[str, bytes] = {}
    for provider in _providers:
        for name, content in provider(vendor=vendor, customer=customer, licenses=licenses):
            if not _NAME.fullmatch(name) or name.split("/")[1].split(".")[0] not in ids:
                raise ValueError(f"kit extra file {name!r} is not licenses/<license id>.jwt")
            files[name] = bytes(content)
    return sorted(files.items())
