"""Drivers' hours: how long a truck takes for a given number of driving hours.

The rules are the AETR agreement's, which EU Regulation 561/2006 mirrors for trucks over
3.5 t, and which Kazakhstan, Kyrgyzstan, Uzbekistan, Turkey and the Caucasus have signed:

- at most 4.5 h of driving, then a 45 min break (a co-driver's time in the passenger seat is
  that break, so a double-crewed truck does not stop for it);
- at most 9 h of driving a day, 10 h on two days a week;
- a daily rest of 11 h, or 9 h on three days a week; a double crew rests 9 h together within
  each 30 h;
- at most 56 h of driving a week per driver, and a weekly rest after six 24 h periods at the
  latest: 45 h, or 24 h away from base on every other week.

:func:`drive` lays out the fastest legal schedule from a driver fresh from a weekly rest:
extended days and reduced rests as early as the rules allow, which is how a haulier plans a
long run. Its segments (drive, break, daily rest, weekly rest) add up to the elapsed hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from graphs.errors import InputError

__all__ = ["AETR", "DriverRules", "Schedule", "drive"]

Segment = tuple[Literal["drive", "break", "daily_rest", "weekly_rest"], float]


@dataclass(frozen=True)
class DriverRules:
    """Limits in hours (AETR article 6-8; EU Regulation 561/2006 articles 6-8)."""

    continuous_driving_h: float = 4.5
    break_h: float = 0.75
    daily_driving_h: float = 9.0
    extended_daily_driving_h: float = 10.0
    extended_days_per_week: int = 2
    daily_rest_h: float = 11.0
    reduced_daily_rest_h: float = 9.0
    reduced_rests_per_week: int = 3
    multi_manning_rest_h: float = 9.0
    weekly_driving_h: float = 56.0
    days_between_weekly_rests: int = 6
    weekly_rest_h: float = 45.0
    reduced_weekly_rest_h: float = 24.0


AETR = DriverRules()


@dataclass(frozen=True)
class Schedule:
    """A laid-out road leg: its segments in order, and what they add up to."""

    crew: int
    segments: tuple[Segment, ...]

    @property
    def driving_hours(self) -> float:
        return sum(h for kind, h in self.segments if kind == "drive")

    @property
    def elapsed_hours(self) -> float:
        return sum(h for _, h in self.segments)

    @property
    def rest_hours(self) -> float:
        return self.elapsed_hours - self.driving_hours


def drive(driving_hours: float, crew: int = 1, rules: DriverRules = AETR) -> Schedule:
    """The fastest legal schedule for ``driving_hours`` of driving with 1 or 2 drivers."""
    if crew not in (1, 2):
        raise InputError(f"a truck has one or two drivers, not {crew!r}", "crew")
    if not driving_hours >= 0 or driving_hours == float("inf"):
        raise InputError(f"must be a finite number of hours, got {driving_hours!r}", "hours")
    segments: list[Segment] = []
    left = driving_hours
    week_driven = 0.0  # per driver
    days = extended = reduced = 0
    weeks = 0
    while left > 1e-9:
        if week_driven >= rules.weekly_driving_h - 1e-9 or days == rules.days_between_weekly_rests:
            regular = weeks % 2 == 1  # reduced away from base, then regular, alternately
            segments.append(
                ("weekly_rest", rules.weekly_rest_h if regular else rules.reduced_weekly_rest_h)
            )
            weeks += 1
            week_driven = 0.0
            days = extended = reduced = 0
        long_day = extended < rules.extended_days_per_week
        daily = rules.extended_daily_driving_h if long_day else rules.daily_driving_h
        per_driver = min(daily, rules.weekly_driving_h - week_driven)
        today = min(left, per_driver * crew)
        _day(segments, today, crew, rules)
        left -= today
        week_driven += today / crew
        days += 1
        if long_day and today / crew > rules.daily_driving_h:
            extended += 1
        if left > 1e-9 and week_driven < rules.weekly_driving_h - 1e-9:
            if crew == 2:
                segments.append(("daily_rest", rules.multi_manning_rest_h))
            elif reduced < rules.reduced_rests_per_week:
                segments.append(("daily_rest", rules.reduced_daily_rest_h))
                reduced += 1
            else:
                segments.append(("daily_rest", rules.daily_rest_h))
    return Schedule(crew, tuple(segments))


def _day(segments: list[Segment], hours: float, crew: int, rules: DriverRules) -> None:
    """One day's driving: with one driver, a break after every 4.5 h block but the last."""
    if crew == 2:
        segments.append(("drive", hours))
        return
    while hours > 1e-9:
        block = min(hours, rules.continuous_driving_h)
        segments.append(("drive", block))
        hours -= block
        if hours > 1e-9:
            segments.append(("break", rules.break_h))
