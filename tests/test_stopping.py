"""The stop object every solver shares: deadline on the monotonic clock and a cancel flag."""

import threading
import time

import pytest

from routing.stopping import Stop, StoppedError


def test_no_limit_never_stops_until_cancelled() -> None:
    stop = Stop()
    assert not stop()
    assert stop.remaining_s() is None
    stop.cancel()
    assert stop() and stop.cancelled


def test_deadline_passes() -> None:
    stop = Stop(0.3)
    assert not stop()
    time.sleep(0.35)
    assert stop()
    assert stop.remaining_s() == 0.0
    assert not stop.cancelled


def test_cancel_from_another_thread() -> None:
    stop = Stop(60)
    threading.Thread(target=stop.cancel).start()
    deadline = time.monotonic() + 5
    while not stop() and time.monotonic() < deadline:
        time.sleep(0.001)
    assert stop.cancelled


@pytest.mark.parametrize("limit", [0, -1, float("nan")])
def test_nonsense_limits_are_refused(limit: float) -> None:
    with pytest.raises(ValueError, match="time limit"):
        Stop(limit)


def test_stopped_error_is_a_timeout() -> None:
    assert issubclass(StoppedError, TimeoutError)


def test_a_cancelled_route_search_raises_instead_of_answering() -> None:
    from graphs import load_network
    from routing import Cargo, Shipment, find_routes

    net = load_network()
    ship = Shipment("Xi'an", "Duisburg", Cargo(teu=2), ready="2026-12-01")
    stop = Stop()
    stop.cancel()
    with pytest.raises(StoppedError, match="before it found a route"):
        find_routes(net, ship, stop=stop)
    assert find_routes(net, ship, stop=Stop(60))  # a generous budget answers as before
