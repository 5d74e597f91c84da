"""CSV export (CONTRACT.md section 6): the same columns import reads, streamed from the database.

What each kind's rows are, and in which order, is `handlers.csv.streams`; this writes them.
"""

from __future__ import annotations

import csv
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.csv.kinds import kind_named


async def export_csv(session: AsyncSession, org_id: int, kind: str, out: TextIO) -> int:
    """Write the header and every row of `kind` to `out` (opened with newline=""); returns the rows written."""
    table = kind_named(kind)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    written = 0
    async for chunk in table.rows(session, org_id):
        writer.writerows(chunk)
        written += len(chunk)
    return written
