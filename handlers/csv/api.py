"""CSV import and export of projects, responses, outcomes and pain points (CONTRACT.md section 6).

The one place callers import from. The work is split by job:

- `kinds`: the one table of kinds, their columns and the code for each (start here);
- `formats`: how one cell is read and written (shared by both directions);
- `rows`: one row of each kind checked and typed, no database;
- `importer`: the two streaming passes and the all-or-nothing result, with `problems` and the
  first pass's `plans`;
- `refs`, `store`, `bulk`: resolving names, writing rows, fast executemany;
- `export` and `streams`: rows out of the database in the same columns.

See docs/csv.md for the file formats and rules.
"""

from __future__ import annotations

from handlers.csv.export import export_csv
from handlers.csv.importer import ImportResult, RowError, import_csv, import_csv_file
from handlers.csv.kinds import COLUMNS, KINDS

__all__ = ["COLUMNS", "KINDS", "ImportResult", "RowError", "export_csv", "import_csv", "import_csv_file"]
