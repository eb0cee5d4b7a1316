"""Drivers' hours (AETR / EU 561/2006) against schedules worked out by hand."""

from __future__ import annotations

import pytest

from graphs.errors import InputError
from routing.drivers import AETR, drive

KM = 2000.0
SPEED_KMH = 60.0  # 2,000 km at 60 km/h: 33 h 20 min at the wheel


def test_a_single_driver_on_a_2000_km_leg() -> None:
    # day 1: 4.5 + 0.75 break + 4.5 + 0.75 + 1 (an extended 10 h day) = 11.5, reduced rest 9
    # day 2: the same again (second extended day, second reduced rest): 41 h so far
    # day 3: 4.5 + 0.75 + 4.5 = 9.75, third reduced rest 9: 59.75 h, 29 h driven
    # day 4: the last 4 h 20 min: 64 h 05 min in all
    schedule = drive(KM / SPEED_KMH, crew=1)
    assert schedule.driving_hours == pytest.approx(KM / SPEED_KMH)
    assert schedule.elapsed_hours == pytest.approx(59.75 + KM / SPEED_KMH - 29)
    kinds = [kind for kind, _ in schedule.segments]
    assert kinds.count("daily_rest") == 3 and kinds.count("weekly_rest") == 0
    assert all(h <= AETR.continuous_driving_h + 1e-9 for k, h in schedule.segments if k == "drive")


def test_a_double_crew_on_the_same_leg() -> None:
    # 20 h of driving (10 h each, breaks taken in the passenger seat), 9 h rest together,
    # then the last 13 h 20 min: 42 h 20 min in all
    schedule = drive(KM / SPEED_KMH, crew=2)
    assert schedule.elapsed_hours == pytest.approx(20 + 9 + KM / SPEED_KMH - 20)
    assert [kind for kind, _ in schedule.segments] == ["drive", "daily_rest", "drive"]


def test_a_week_at_the_wheel_ends_in_a_weekly_rest() -> None:
    # 10 + 10 + 9 + 9 + 9 + 9 = 56 h, the weekly limit, after three reduced and two regular
    # daily rests: 111 h; then a reduced weekly rest of 24 h away from base; then 4 h more
    schedule = drive(60, crew=1)
    kinds = [kind for kind, _ in schedule.segments]
    assert kinds.count("weekly_rest") == 1
    assert schedule.elapsed_hours == pytest.approx(111 + 24 + 4)


def test_short_legs_need_no_rest() -> None:
    assert drive(4.5).elapsed_hours == 4.5
    assert drive(6).elapsed_hours == pytest.approx(6.75)
    assert drive(0).elapsed_hours == 0


@pytest.mark.parametrize(("hours", "crew"), [(-1, 1), (float("nan"), 1), (float("inf"), 2), (5, 3)])
def test_nonsense_is_refused(hours: float, crew: int) -> None:
    with pytest.raises(InputError):
        drive(hours, crew=crew)
