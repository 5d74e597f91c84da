"""When a sponsor is asked: the occurrences of a project's schedule in the sponsor's time zone.

Pure functions of (schedule, zone, interval), with no database and no clock of their own, so that
tests can walk them across daylight-saving changes, the date line and month ends with exact
expectations, and the clock can ask "what fell due between then and now?" as often as it likes.

The rules (CONTRACT section 5, and the demo's history in bot/demo.py uses the same rhythm):

- weekly: every `day`; biweekly: every other `day`, the weeks counted from BIWEEKLY_EPOCH so the
  rhythm never skips or doubles at a year end (ISO week numbers would, in 53-week years);
  monthly: the first `day` of each month; quarterly: the first `day` of January, April, July
  and October.
- the pain-point prompt comes on the first cadence day of each month (ask: monthly) or of each
  quarter's first month (ask: quarterly); with cadence `off` the first `day` of the month.
- both at `time` on the sponsor's local calendar. A local time that does not exist (the hour a
  spring-forward skips) is sent that many minutes later, at the same instant as the time read
  with the old offset; a local time that happens twice (fall back) is sent at the first.

Each occurrence carries its `slot`: the sponsor's local date. The delivery ledger allows one
send per (kind, project, slot), so a sponsor who moves to another time zone after today's check-in
is not asked again today at the new zone's 10:00.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage.models import ASK_CADENCES, CADENCES, DAYS, KIND_PAINPOINT, KIND_TASTE

BIWEEKLY_EPOCH = dt.date(2024, 1, 1)  # a Monday: weeks 0, 2, 4 … since then are the biweekly weeks
QUARTER_MONTHS = (1, 4, 7, 10)
KINDS = (KIND_TASTE, KIND_PAINPOINT)
HORIZON_DAYS = 400  # next_occurrence looks this far ahead (a quarterly schedule recurs within 98 days)


@dataclass(frozen=True)
class Schedule:
    """A project's schedule as `/pmo project add` stores it; bad values raise ValueError saying which."""

    cadence: str = "biweekly"
    day: str = "tue"
    time: str = "10:00"
    ask: str = "monthly"

    def __post_init__(self) -> None:
        if self.cadence not in CADENCES:
            raise ValueError(f"cadence must be one of {', '.join(CADENCES)}, not {self.cadence!r}")
        if self.day not in DAYS:
            raise ValueError(f"day must be one of {', '.join(DAYS)}, not {self.day!r}")
        if self.ask not in ASK_CADENCES:
            raise ValueError(f"ask must be one of {', '.join(ASK_CADENCES)}, not {self.ask!r}")
        wall_time(self.time)

    @property
    def weekday(self) -> int:
        return DAYS.index(self.day)


@dataclass(frozen=True)
class Occurrence:
    """One moment a sponsor is asked: `at` in naive UTC, `slot` the sponsor's local date."""

    at: dt.datetime
    kind: str
    slot: dt.date


@lru_cache(maxsize=2048)
def wall_time(text: str) -> dt.time:
    """'HH:MM' (24-hour) as a time; ValueError with the reason otherwise."""
    try:
        hours, minutes = text.split(":")
        if len(hours) != 2 or len(minutes) != 2:
            raise ValueError
        return dt.time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"time must be HH:MM on a 24-hour clock, not {text!r}") from None


@lru_cache(maxsize=1024)
def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    """The sponsor's zone; an unknown or empty name (platforms send odd ones) means the fallback."""
    for candidate in (name, fallback, "UTC"):
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            continue
    return ZoneInfo("UTC")


def utc_moment(day: dt.date, at: dt.time, tz: ZoneInfo) -> dt.datetime:
    """Naive UTC for a wall time on a local date (gap: moved forward; repeated hour: the first)."""
    return dt.datetime.combine(day, at, tzinfo=tz).astimezone(dt.UTC).replace(tzinfo=None)


def local_date(moment: dt.datetime, tz: ZoneInfo) -> dt.date:
    """The local calendar date of a naive UTC moment."""
    return moment.replace(tzinfo=dt.UTC).astimezone(tz).date()


def _biweekly_week(day: dt.date) -> bool:
    return (day - BIWEEKLY_EPOCH).days // 7 % 2 == 0


def is_taste_day(schedule: Schedule, day: dt.date) -> bool:
    """Whether the taste check-in falls on this local date."""
    if schedule.cadence == "off" or day.weekday() != schedule.weekday:
        return False
    if schedule.cadence == "weekly":
        return True
    if schedule.cadence == "biweekly":
        return _biweekly_week(day)
    if schedule.cadence == "monthly":
        return day.day <= 7
    return day.day <= 7 and day.month in QUARTER_MONTHS  # quarterly


def is_prompt_day(schedule: Schedule, day: dt.date) -> bool:
    """Whether the pain-point prompt falls on this local date: the month's first cadence day."""
    if schedule.ask == "off" or day.weekday() != schedule.weekday:
        return False
    if schedule.ask == "quarterly" and day.month not in QUARTER_MONTHS:
        return False
    if schedule.cadence == "biweekly":
        return _biweekly_week(day) and day.day <= 14  # the first on-week `day` of the month
    return day.day <= 7


def is_due_day(schedule: Schedule, kind: str, day: dt.date) -> bool:
    return is_taste_day(schedule, day) if kind == KIND_TASTE else is_prompt_day(schedule, day)


def occurrences(
    schedule: Schedule,
    tz: ZoneInfo,
    after: dt.datetime,
    until: dt.datetime,
    kinds: Iterable[str] = KINDS,
) -> list[Occurrence]:
    """Every occurrence with `after < at <= until` (naive UTC), in time order."""
    if until <= after:
        return []
    at = wall_time(schedule.time)
    kinds = tuple(kinds)
    found: list[Occurrence] = []
    # A local date is at most one day away from the UTC date of the same instant (offsets are
    # within ±14 h), so the local dates worth checking run from the day before to the day after.
    day = after.date() - dt.timedelta(days=1)
    last = until.date() + dt.timedelta(days=1)
    while day <= last:
        if day.weekday() == schedule.weekday:
            for kind in kinds:
                if is_due_day(schedule, kind, day):
                    moment = utc_moment(day, at, tz)
                    if after < moment <= until:
                        found.append(Occurrence(moment, kind, day))
            day += dt.timedelta(days=7)
        else:
            day += dt.timedelta(days=(schedule.weekday - day.weekday()) % 7)
    found.sort(key=lambda o: (o.at, KINDS.index(o.kind)))  # the taste check-in before the prompt
    return found


def next_occurrence(
    schedule: Schedule, tz: ZoneInfo, after: dt.datetime, kind: str = KIND_TASTE
) -> Occurrence | None:
    """The first occurrence of `kind` strictly after `after`; None when the schedule is off."""
    if (kind == KIND_TASTE and schedule.cadence == "off") or (
        kind == KIND_PAINPOINT and schedule.ask == "off"
    ):
        return None
    start = after
    for _ in range(HORIZON_DAYS // 28 + 1):
        end = start + dt.timedelta(days=28)
        found = occurrences(schedule, tz, start, end, (kind,))
        if found:
            return found[0]
        start = end
    return None
