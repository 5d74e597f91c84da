"""The occurrence maths of bot/clock/occurrences.py, with exact expectations across the awkward cases."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest

from bot import demo
from bot.clock.occurrences import (
    Occurrence,
    Schedule,
    is_prompt_day,
    is_taste_day,
    local_date,
    next_occurrence,
    occurrences,
    zone,
)
from storage.models import KIND_PAINPOINT, KIND_TASTE

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")
AUCKLAND = ZoneInfo("Pacific/Auckland")
UTC = ZoneInfo("UTC")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def tastes(schedule: Schedule, tz: ZoneInfo, after: str, until: str) -> list[dt.datetime]:
    return [o.at for o in occurrences(schedule, tz, at(after), at(until), (KIND_TASTE,))]


def prompts(schedule: Schedule, tz: ZoneInfo, after: str, until: str) -> list[dt.date]:
    return [o.slot for o in occurrences(schedule, tz, at(after), at(until), (KIND_PAINPOINT,))]


# ---- daylight-saving changes ------------------------------------------------------------------


def test_new_york_weekly_follows_the_wall_clock_across_both_changes() -> None:
    weekly = Schedule("weekly", "tue", "10:00")
    spring = tastes(weekly, NY, "2026-03-01", "2026-03-15")
    assert spring == [at("2026-03-03 15:00"), at("2026-03-10 14:00")]  # EST, then EDT (from 8 March)
    autumn = tastes(weekly, NY, "2026-10-25", "2026-11-08")
    assert autumn == [at("2026-10-27 14:00"), at("2026-11-03 15:00")]  # EDT, then EST (from 1 November)


def test_new_york_time_in_the_spring_gap_is_sent_once_an_hour_later() -> None:
    sunday = Schedule("weekly", "sun", "02:30")  # 02:00-03:00 does not exist on 8 March 2026
    [occurrence] = occurrences(sunday, NY, at("2026-03-07"), at("2026-03-09"), (KIND_TASTE,))
    assert occurrence.at == at("2026-03-08 07:30")  # 03:30 EDT
    assert occurrence.slot == dt.date(2026, 3, 8)
    assert occurrence.at.replace(tzinfo=dt.UTC).astimezone(NY).strftime("%H:%M %Z") == "03:30 EDT"


def test_new_york_time_in_the_repeated_hour_is_sent_once_at_the_first() -> None:
    sunday = Schedule("weekly", "sun", "01:30")  # 01:00-02:00 happens twice on 1 November 2026
    [occurrence] = occurrences(sunday, NY, at("2026-10-31"), at("2026-11-02"), (KIND_TASTE,))
    assert occurrence.at == at("2026-11-01 05:30")  # 01:30 EDT, not 06:30 (01:30 EST)


def test_berlin_across_both_changes_and_their_edge_hours() -> None:
    weekly = Schedule("weekly", "tue", "10:00")
    assert tastes(weekly, BERLIN, "2026-03-20", "2026-04-01") == [
        at("2026-03-24 09:00"),
        at("2026-03-31 08:00"),
    ]
    assert tastes(weekly, BERLIN, "2026-10-20", "2026-11-01") == [
        at("2026-10-20 08:00"),
        at("2026-10-27 09:00"),
    ]
    gap = Schedule("weekly", "sun", "02:30")
    assert tastes(gap, BERLIN, "2026-03-28", "2026-03-30") == [at("2026-03-29 01:30")]  # 03:30 CEST
    repeated = Schedule("weekly", "sun", "02:30")
    assert tastes(repeated, BERLIN, "2026-10-24", "2026-10-26") == [at("2026-10-25 00:30")]  # the CEST one


# ---- odd offsets and the date line --------------------------------------------------------------


def test_kolkata_half_hour_offset_and_a_time_on_the_previous_utc_day() -> None:
    assert tastes(Schedule("weekly", "wed", "10:00"), KOLKATA, "2026-05-01", "2026-05-08") == [
        at("2026-05-06 04:30")
    ]
    [early] = occurrences(
        Schedule("weekly", "wed", "03:00"), KOLKATA, at("2026-05-01"), at("2026-05-08"), (KIND_TASTE,)
    )
    assert early.at == at("2026-05-05 21:30") and early.slot == dt.date(2026, 5, 6)


def test_auckland_tuesday_is_monday_in_utc_and_follows_new_zealand_time() -> None:
    weekly = Schedule("weekly", "tue", "10:00")
    found = occurrences(weekly, AUCKLAND, at("2026-03-30"), at("2026-04-08"), (KIND_TASTE,))
    # NZDT (+13) until 5 April 2026, NZST (+12) after.
    assert found == [
        Occurrence(at("2026-03-30 21:00"), KIND_TASTE, dt.date(2026, 3, 31)),
        Occurrence(at("2026-04-06 22:00"), KIND_TASTE, dt.date(2026, 4, 7)),
    ]


def test_auckland_first_tuesday_of_september_falls_in_august_utc() -> None:
    monthly = Schedule("monthly", "tue", "10:00", "monthly")
    found = occurrences(monthly, AUCKLAND, at("2026-07-25"), at("2026-09-10"))
    assert [(o.kind, o.slot, o.at) for o in found] == [
        (KIND_TASTE, dt.date(2026, 8, 4), at("2026-08-03 22:00")),
        (KIND_PAINPOINT, dt.date(2026, 8, 4), at("2026-08-03 22:00")),
        (KIND_TASTE, dt.date(2026, 9, 1), at("2026-08-31 22:00")),
        (KIND_PAINPOINT, dt.date(2026, 9, 1), at("2026-08-31 22:00")),
    ]


# ---- cadences ------------------------------------------------------------------------------------


def test_biweekly_is_every_fourteen_days_through_a_53_week_year() -> None:
    biweekly = Schedule("biweekly", "thu", "09:00")
    found = tastes(biweekly, UTC, "2026-01-01", "2028-01-01")  # 2026 has 53 ISO weeks
    gaps = {later - earlier for earlier, later in itertools.pairwise(found)}
    assert gaps == {dt.timedelta(days=14)}
    assert len(found) == 53 and found[0] == at("2026-01-01 09:00")


def test_monthly_is_the_first_such_weekday_including_the_seventh() -> None:
    monthly = Schedule("monthly", "mon", "10:00")
    days = [d.date() for d in tastes(monthly, UTC, "2026-01-01", "2027-01-01")]
    assert len(days) == 12 and all(d.weekday() == 0 and d.day <= 7 for d in days)
    assert dt.date(2026, 9, 7) in days  # September 2026 starts on a Tuesday
    assert dt.date(2026, 2, 2) in days


def test_quarterly_is_the_first_weekday_of_each_quarter() -> None:
    quarterly = Schedule("quarterly", "fri", "16:00")
    days = [d.date() for d in tastes(quarterly, UTC, "2026-01-01", "2027-01-01")]
    assert days == [dt.date(2026, 1, 2), dt.date(2026, 4, 3), dt.date(2026, 7, 3), dt.date(2026, 10, 2)]


def test_month_ends_february_and_a_year_end() -> None:
    weekly = Schedule("weekly", "sat", "23:30")
    found = occurrences(weekly, NY, at("2026-02-27"), at("2026-03-02"), (KIND_TASTE,))
    # Saturday 28 February, 23:30 in New York is 1 March in UTC; its slot stays the 28th.
    assert [(o.slot, o.at) for o in found] == [(dt.date(2026, 2, 28), at("2026-03-01 04:30"))]
    quarterly = Schedule("quarterly", "fri", "08:00")
    # Friday 1 January 2027 starts the quarter; 08:00 in Auckland (NZDT) is still 2026 in UTC.
    [new_year] = occurrences(quarterly, AUCKLAND, at("2026-12-25"), at("2027-01-10"), (KIND_TASTE,))
    assert (new_year.slot, new_year.at) == (dt.date(2027, 1, 1), at("2026-12-31 19:00"))


def test_the_schedule_agrees_with_the_demo_history() -> None:
    """The demo's six months of history must look like what the clock will send next."""
    day = dt.date(2026, 1, 1)
    for cadence in ("weekly", "biweekly", "monthly", "quarterly", "off"):
        schedule = Schedule(cadence, "wed", "10:00")
        for offset in range(800):
            current = day + dt.timedelta(days=offset)
            assert is_taste_day(schedule, current) == demo._taste_day(cadence, 2, current), (cadence, current)


# ---- pain-point prompts ------------------------------------------------------------------------


def test_prompts_come_on_the_first_cadence_day_of_the_month() -> None:
    weekly = Schedule("weekly", "tue", "10:00", "monthly")
    assert prompts(weekly, UTC, "2026-01-01", "2026-04-01") == [
        dt.date(2026, 1, 6),
        dt.date(2026, 2, 3),
        dt.date(2026, 3, 3),
    ]
    biweekly = Schedule("biweekly", "tue", "10:00", "monthly")
    taste_days = [d.date() for d in tastes(biweekly, UTC, "2026-01-01", "2026-04-01")]
    prompt_days = prompts(biweekly, UTC, "2026-01-01", "2026-04-01")
    assert set(prompt_days) <= set(taste_days)  # always together with a taste check-in
    assert prompt_days == [min(d for d in taste_days if d.month == m) for m in (1, 2, 3)]
    assert dt.date(2026, 3, 10) in prompt_days  # 3 March is an off week


def test_quarterly_and_off_prompts() -> None:
    quarterly_ask = Schedule("weekly", "mon", "10:00", "quarterly")
    assert prompts(quarterly_ask, UTC, "2026-01-01", "2027-01-01") == [
        dt.date(2026, 1, 5),
        dt.date(2026, 4, 6),
        dt.date(2026, 7, 6),
        dt.date(2026, 10, 5),
    ]
    assert prompts(Schedule("weekly", "mon", "10:00", "off"), UTC, "2026-01-01", "2027-01-01") == []
    no_tastes = Schedule("off", "mon", "10:00", "monthly")
    assert tastes(no_tastes, UTC, "2026-01-01", "2027-01-01") == []
    assert len(prompts(no_tastes, UTC, "2026-01-01", "2027-01-01")) == 12
    quarterly_cadence = Schedule("quarterly", "mon", "10:00", "monthly")
    assert len(prompts(quarterly_cadence, UTC, "2026-01-01", "2027-01-01")) == 12
    assert not is_prompt_day(quarterly_ask, dt.date(2026, 2, 2))


# ---- sponsor time-zone changes --------------------------------------------------------------------


def test_a_sponsor_who_moves_keeps_the_same_slot_and_gets_the_new_zone_time() -> None:
    weekly = Schedule("weekly", "tue", "10:00")
    [in_berlin] = occurrences(weekly, BERLIN, at("2026-06-08"), at("2026-06-10"), (KIND_TASTE,))
    [in_new_york] = occurrences(weekly, NY, at("2026-06-08"), at("2026-06-10"), (KIND_TASTE,))
    assert in_berlin.slot == in_new_york.slot == dt.date(2026, 6, 9)  # one send for that Tuesday
    assert (in_berlin.at, in_new_york.at) == (at("2026-06-09 08:00"), at("2026-06-09 14:00"))
    moved_at = at("2026-06-09 12:00")  # after the Berlin one, before the New York one
    following = next_occurrence(weekly, NY, moved_at)
    assert following is not None and following.at == at("2026-06-09 14:00")  # same slot: the ledger skips it
    after_slot = next_occurrence(weekly, NY, following.at)
    assert after_slot is not None and after_slot.at == at("2026-06-16 14:00")


def test_auckland_to_honolulu_the_same_tuesday_a_day_apart_in_utc() -> None:
    weekly = Schedule("weekly", "tue", "10:00")
    honolulu = ZoneInfo("Pacific/Honolulu")
    first = next_occurrence(weekly, AUCKLAND, at("2026-06-07"))
    second = next_occurrence(weekly, honolulu, at("2026-06-07"))
    assert first is not None and second is not None
    assert first.slot == second.slot == dt.date(2026, 6, 9)
    assert second.at - first.at == dt.timedelta(hours=22)


# ---- edges of the API -----------------------------------------------------------------------------


def test_window_is_after_exclusive_until_inclusive() -> None:
    weekly = Schedule("weekly", "tue", "10:00")
    assert tastes(weekly, UTC, "2026-06-09 10:00", "2026-06-16 10:00") == [at("2026-06-16 10:00")]
    assert tastes(weekly, UTC, "2026-06-09 10:00", "2026-06-09 10:00") == []


def test_next_occurrence_of_an_off_schedule_is_none() -> None:
    assert next_occurrence(Schedule("off", ask="off"), UTC, at("2026-01-01")) is None
    assert next_occurrence(Schedule(ask="off"), UTC, at("2026-01-01"), KIND_PAINPOINT) is None
    quarterly = next_occurrence(Schedule("quarterly", "mon"), UTC, at("2026-01-06"))
    assert quarterly is not None and quarterly.slot == dt.date(2026, 4, 6)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cadence": "daily"}, "cadence must be one of"),
        ({"day": "monday"}, "day must be one of"),
        ({"time": "9:00"}, "time must be HH:MM"),
        ({"time": "24:00"}, "time must be HH:MM"),
        ({"ask": "weekly"}, "ask must be one of"),
    ],
)
def test_bad_schedules_say_what_is_wrong(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Schedule(**fields)


def test_unknown_zone_falls_back() -> None:
    assert zone("Mars/Olympus", "Europe/Berlin") == BERLIN
    assert zone(None, "Nowhere/At_All") == UTC
    assert zone("Asia/Kolkata") == KOLKATA
    assert local_date(at("2026-05-05 21:30"), KOLKATA) == dt.date(2026, 5, 6)
