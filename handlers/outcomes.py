"""Business-case outcomes: baseline, target, current (with history) and the benefit they carry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import Cat, Day, Money, Pct, _
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
            _(
                "target:%(target)s equals baseline:%(baseline)s; an outcome must move something.",
                target=number(target),
                baseline=number(baseline),
            ),
            'outcome add PROJECT metric:"NAME" baseline:N target:N [unit:U] [benefit:AMOUNT] [due:YYYY-MM-DD]',
        )
    if benefit is not None and benefit < 0:
        return error(_("benefit: must not be negative."))
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
    params = {
        "id": outcome.id,
        "project": project.name,
        "metric": metric,
        "baseline": _with_unit(baseline, unit),
        "target": _with_unit(target, unit),
    }
    return info(
        _(
            "Outcome #%(id)s added to %(project)s: %(metric)s from %(baseline)s to %(target)s by %(due)s.",
            due=Day(due),
            **params,
        )
        if due
        else _("Outcome #%(id)s added to %(project)s: %(metric)s from %(baseline)s to %(target)s.", **params)
    )


async def record(session: AsyncSession, org_id: int, outcome_id: int, current: float, person_id: int) -> View:
    outcome = await session.get(Outcome, outcome_id)
    if outcome is None or outcome.org_id != org_id:
        return error(_("There is no outcome #%(id)s. Type 'outcomes' to see them.", id=outcome_id))
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
        _(
            "Outcome #%(id)s (%(metric)s) is now %(current)s: %(progress)s.",
            id=outcome.id,
            metric=outcome.metric,
            current=_with_unit(current, outcome.unit),
            progress=_progress_text(outcome),
        )
    )


async def listing(
    session: AsyncSession, org_id: int, projects: list[Project] | None, currency: str | None = None
) -> View:
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
        return info(_('No outcomes yet. Add one with: outcome add PROJECT metric:"NAME" baseline:N target:N'))
    lines = []
    for outcome, project_name in rows:
        due = Cat(" · ", _("due %(date)s", date=Day(outcome.due))) if outcome.due else ""
        benefit = (
            Cat(" · ", _("benefit %(amount)s", amount=Money(outcome.benefit, currency)))
            if outcome.benefit
            else ""
        )
        lines.append(
            Cat(
                f"#{outcome.id} {project_name} · {outcome.metric}: ",
                _(
                    "%(baseline)s → %(target)s, now %(current)s (%(progress)s)",
                    baseline=_with_unit(outcome.baseline, outcome.unit),
                    target=_with_unit(outcome.target, outcome.unit),
                    current=_with_unit(outcome.current, outcome.unit),
                    progress=_progress_text(outcome),
                ),
                due,
                benefit,
            )
        )
    title = (
        _("Outcomes")
        if projects is None or len(projects) != 1
        else _("Outcomes of %(project)s", project=projects[0].name)
    )
    return View(title=title, lines=tuple(lines))


def _with_unit(value: float | None, unit: str | None) -> str:
    return Cat(number(value), f" {unit}" if unit and value is not None else "")


def _progress_text(outcome: Outcome) -> str:
    p = progress(outcome)
    return (
        _("achieved") if p >= 1 else _("%(pct)s of the way", pct=Pct(100 * max(0.0, min(p, 1.0)), digits=0))
    )
