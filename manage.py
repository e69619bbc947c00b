#!/usr/bin/env python
"""Django's command-line utility for distr."""

import os
import sys

_OWN_APPS = ("registry", "customers", "licensing", "portal", "analytics", "ops")


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "distr.settings")
    from django.core.management import execute_from_command_line

    _refuse_without_database(sys.argv)
    execute_from_command_line(sys.argv)


def _refuse_without_database(argv: list[str]) -> None:
    """distr's own commands on an embedded install whose database does not exist (usually
    DATA_DIR differs from the server's): say so in one line instead of a traceback, and do
    not leave an empty database file behind."""
    if len(argv) < 2:
        return
    import django
    from django.conf import settings
    from django.core.management import get_commands

    django.setup()  # get_commands() lists the apps' commands only once apps are loaded
    app = get_commands().get(argv[1], "")
    database = settings.DATABASES["default"]
    if app not in _OWN_APPS or not database["ENGINE"].endswith("sqlite3"):
        return
    if not os.path.exists(database["NAME"]):
        sys.stderr.write(
            f"distr: no database at {database['NAME']} (DATA_DIR={settings.DATA_DIR}). "
            "Start distr first (`make run`), or set DATA_DIR to the one the server uses.\n"
        )
        sys.exit(2)


if __name__ == "__main__":
    main()
