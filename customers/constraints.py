"""Tenancy invariants the database enforces: a row that names a vendor and another
vendor-owned row must name the same vendor (a license's customer, a grant's repository, a
pull token's customer), and a grant's repository name or pattern lies inside its vendor's
namespace (`namespace_trigger`). Django has no composite foreign keys, so these are
triggers, written for SQLite and PostgreSQL; a violation is an IntegrityError, whatever
code wrote the row.

`same_vendor_trigger(...)` returns a migration operation for one such rule.
"""

from django.db import migrations


def same_vendor_trigger(
    *, table: str, vendor_sql: str, other_vendor_sql: str, columns: tuple[str, ...], message: str
) -> migrations.RunPython:
    """A trigger on `table` (before INSERT, and UPDATE of `columns`) that aborts unless
    `vendor_sql` and `other_vendor_sql` (expressions over NEW) are the same vendor. A NULL
    `other_vendor_sql` (no such row, e.g. a push token without a customer) passes."""
    condition = f"({other_vendor_sql}) IS NOT NULL AND ({other_vendor_sql}) <> ({vendor_sql})"
    return _check_trigger(f"{table}_same_vendor", table, columns, condition, message)


def namespace_trigger(
    *, table: str, column: str, vendor_slug_sql: str, columns: tuple[str, ...], message: str
) -> migrations.RunPython:
    """A trigger on `table` (before INSERT, and UPDATE of `columns`) that aborts unless the
    text in `column` starts with `<slug>/`, the slug being `vendor_slug_sql` (an expression
    over NEW): a repository name or pattern inside the vendor's namespace."""
    slug = f"({vendor_slug_sql})"
    # substr/length/|| mean the same on SQLite and PostgreSQL.
    condition = f"{slug} IS NULL OR substr(NEW.{column}, 1, length({slug}) + 1) <> {slug} || '/'"
    return _check_trigger(f"{table}_namespace", table, columns, condition, message)


def _check_trigger(
    name: str, table: str, columns: tuple[str, ...], condition: str, message: str
) -> migrations.RunPython:
    """Abort an INSERT, or an UPDATE of `columns`, of `table` when `condition` (SQL over
    NEW, the same text on both databases) holds, with `message`."""

    def create(apps, schema_editor):
        cursor = schema_editor.connection.cursor()
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$ BEGIN "
                f"IF {condition} THEN RAISE EXCEPTION '{message}' "
                "USING ERRCODE = 'integrity_constraint_violation'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER {name} BEFORE INSERT OR UPDATE OF {', '.join(columns)} "
                f"ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()"
            )
        elif schema_editor.connection.vendor == "sqlite":
            for event, suffix in (
                ("INSERT", "insert"),
                (f"UPDATE OF {', '.join(columns)}", "update"),
            ):
                cursor.execute(
                    f"CREATE TRIGGER {name}_{suffix} BEFORE {event} ON {table} "
                    f"WHEN {condition} BEGIN SELECT RAISE(ABORT, '{message}'); END"
                )

    def drop(apps, schema_editor):
        cursor = schema_editor.connection.cursor()
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            cursor.execute(f"DROP FUNCTION IF EXISTS {name}()")
        elif schema_editor.connection.vendor == "sqlite":
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}_insert")
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}_update")

    return migrations.RunPython(create, drop)
