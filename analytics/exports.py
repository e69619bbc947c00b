"""CSV and JSON renderings of the dashboard tables (the API, pullreport and the console's
export links all go through here)."""

import csv
import datetime
import io
import json


def rows_to_csv(rows: list[dict], columns: list[str] | None = None) -> str:
    """CSV with a header row; lists are joined with "; ", dates are ISO 8601, None is
    empty. Cells starting with = + - @ are prefixed with ' so spreadsheets do not run them
    as formulas (names come from vendors and customers)."""
    columns = columns or (list(rows[0]) if rows else [])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return out.getvalue()


def csv_stream(rows, columns: list[str]):
    """The same CSV as rows_to_csv, a line at a time (for StreamingHttpResponse): an
    export of any length never sits in memory."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for values in ([columns], ([_cell(row.get(c)) for c in columns] for row in rows)):
        for line in values:
            writer.writerow(line)
            yield out.getvalue()
            out.seek(0)
            out.truncate()


def rows_to_json(rows: list[dict]) -> str:
    return json.dumps(rows, default=_json_default, indent=2)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = "; ".join(str(v) for v in value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value)
    if text[:1] in ("=", "+", "-", "@") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _json_default(value):
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
