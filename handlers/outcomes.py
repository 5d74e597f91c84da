"""Business-case outcomes: baseline, target, current (with history) and the benefit they carry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.views import View, error, info, number
from handlers.webhooks.events import OUTCOME_MEASURED, outcome_data, outcome_key, record_event
from storage.db import utcnow
from storage.models import Measurement, Outcome, Person, Project


def progress(outcome: Outcome) -> float:
    """METRICS.md: p = (current − baseline) / (target − baseline); 0 with no current yet."""
    if outcome.current is None:
        return 0.0
    return (outcome.current - outcome.baseline) / (outcome.target - outcome.baseline)


async def add(
    session: AsyncSession,
    project: Project,
    *,
    metric: str,
    baseline: float,
    target: float,
    unit: str | None,
    benefit: float | None,
    due: dt.date | None,
) -> View:
    if target == baseline:
        return error(
            f"target:{number(target)} equals baseline:{number(baseline)}; an outcome must move something.",
            'outcome add PROJECT metric:"NAME" baseline:N target:N [unit:U] [benefit:AMOUNT] [due:YYYY-MM-DD]',
        )
    if benefit is not None and benefit < 0:
        return error("benefit: must not be negative.")
    outcome = Outcome(
        org_id=project.org_id,
        project_id=project.id,
        metric=metric,
        unit=unit,
        baseline=baseline,
        target=target,
        benefit=benefit,
        due=due,
        added_on=utcnow().date(),
    )
    session.add(outcome)
    await session.flush()
    return info(
        f"Outcome #{outcome.id} added to {project.name}: {metric} from {_with_unit(baseline, unit)} "
        f"to {_with_unit(target, unit)}" + (f" by {due.isoformat()}" if due else "") + "."
    )


async def record(session: AsyncSession, org_id: int, outcome_id: int, current: float, person_id: int) -> View:
    outcome = await session.get(Outcome, outcome_id)
    if outcome is None or outcome.org_id != org_id:
        return error(f"There is no outcome #{outcome_id}. Type 'outcomes' to see them.")
    outcome.current = current
    session.add(
        Measurement(
            org_id=org_id, outcome_id=outcome.id, value=current, measured_at=utcnow(), person_id=person_id
        )
    )

    async def data() -> dict[str, Any]:
        return await outcome_data(session, outcome, await session.get(Person, person_id), progress(outcome))

    await record_event(session, org_id, OUTCOME_MEASURED, data, outcome_key(outcome))
    return info(
        f"Outcome #{outcome.id} ({outcome.metric}) is now {_with_unit(current, outcome.unit)}: {_progress_text(outcome)}."
    )


async def listing(session: AsyncSession, org_id: int, projects: list[Project] | None) -> View:
    """Outcomes with their progress; `projects` None means every project of the organisation."""
    query = (
        select(Outcome, Project.name)
        .join(Project, Project.id == Outcome.project_id)
        .where(Outcome.org_id == org_id)
    )
    if projects is not None:
        query = query.where(Outcome.project_id.in_([p.id for p in projects]))
    rows = (await session.execute(query.order_by(Project.name, Outcome.id))).all()
    if not rows:
        return info('No outcomes yet. Add one with: outcome add PROJECT metric:"NAME" baseline:N target:N')
    lines = []
    for outcome, project_name in rows:
        due = f" · due {outcome.due.isoformat()}" if outcome.due else ""
        benefit = f" · benefit {number(outcome.benefit)}" if outcome.benefit else ""
        lines.append(
            f"#{outcome.id} {project_name} · {outcome.metric}: {_with_unit(outcome.baseline, outcome.unit)} → "
            f"{_with_unit(outcome.target, outcome.unit)}, now {_with_unit(outcome.current, outcome.unit)} "
            f"({_progress_text(outcome)}){due}{benefit}"
        )
    title = "Outcomes" if projects is None or len(projects) != 1 else f"Outcomes of {projects[0].name}"
    return View(title=title, lines=tuple(lines))


def _with_unit(value: float | None, unit: str | None) -> str:
    return number(value) + (f" {unit}" if unit and value is not None else "")


def _progress_text(outcome: Outcome) -> str:
    p = progress(outcome)
    return "achieved" if p >= 1 else f"{100 * max(0.0, min(p, 1.0)):.0f}% of the way"
