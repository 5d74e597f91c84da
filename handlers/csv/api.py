"""CSV import and export of projects, responses, outcomes and pain points (CONTRACT.md section 6).

The one place callers import from. The work is split by job:

- `csv_format`: the columns and how one cell is read and written (shared by both directions);
- `csv_rows`: one row of each kind checked and typed, no database;
- `csv_import`: the two streaming passes and the all-or-nothing result;
- `csv_refs`, `csv_store`, `csv_bulk`: resolving names, writing rows, fast executemany;
- `csv_export`: streaming rows out in the same columns.

See docs/csv.md for the file formats and rules.
"""

from __future__ import annotations

from handlers.csv.export import export_csv
from handlers.csv.formats import COLUMNS, KINDS
from handlers.csv.importer import ImportResult, RowError, import_csv, import_csv_file

__all__ = ["COLUMNS", "KINDS", "ImportResult", "RowError", "export_csv", "import_csv", "import_csv_file"]
