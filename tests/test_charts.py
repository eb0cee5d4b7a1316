"""Uncertainty charts: real PNGs whose drawn content follows the forecast and the sweep."""

from __future__ import annotations

import io
from datetime import timedelta

import numpy as np
from matplotlib.image import imread

from graphs import Network
from routing import Cargo, Shipment, find_routes
from routing.charts import arrival_chart, tornado_chart
from routing.reliability import forecast_arrival
from routing.sweep import Exposure, sweep


def _pixels(data: bytes) -> np.ndarray:
    return imread(io.BytesIO(data), format="png")


def test_arrival_chart_is_a_png_that_marks_the_due_date(bundled: Network) -> None:
    route = find_routes(bundled, Shipment("Xi'an", "Almaty", Cargo(teu=2), ready="2026-12-02"))[0]
    forecast = forecast_arrival(bundled, route, due=route.arrive + timedelta(days=1), draws=500)
    out = io.BytesIO()
    arrival_chart(forecast, route.ready, out, title="Xi'an to Almaty")
    image = _pixels(out.getvalue())
    assert image.shape[1] > 600 and image.shape[0] > 300
    red = (image[..., 0] > 0.75) & (image[..., 1] < 0.3) & (image[..., 2] < 0.3)
    assert red.sum() > 50  # the due line is drawn
    again = io.BytesIO()
    arrival_chart(forecast, route.ready, again, title="Xi'an to Almaty")
    assert again.getvalue() == out.getvalue()  # same forecast, same bytes


def test_tornado_chart_draws_one_bar_per_cause(bundled: Network) -> None:
    exposures = []
    for i, (o, d) in enumerate([("Xi'an", "Almaty"), ("Urumqi", "Almaty")]):
        route = find_routes(bundled, Shipment(o, d, Cargo(teu=2), ready="2026-12-02"))[0]
        exposures.append(Exposure(str(i), route, route.arrive, 2.0))
    result = sweep(bundled, exposures, draws=200, scheduler="inline")
    out = io.BytesIO()
    tornado_chart(result, out)
    image = _pixels(out.getvalue())
    blue = (image[..., 2] > 0.55) & (image[..., 0] < 0.45)
    assert blue.sum() > 200
    causes = [d for d in result.drivers if d.late_days_mean > 0]
    assert 1 <= len(causes) <= 12
