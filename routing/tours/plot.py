"""A PNG of the tours: the railhead, the sites, and each truck's trips as straight lines."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import IO, Any

import matplotlib

matplotlib.use("Agg")
from matplotlib import pyplot as plt

from routing.tours.problem import Delivery

__all__ = ["plot_tours"]

_STYLES = ("-", "--", ":", "-.")


def plot_tours(
    answer: Mapping[str, Any],
    depot: tuple[float, float],
    deliveries: Sequence[Delivery],
    fileobj: IO[bytes],
) -> None:
    """Draw a tours answer (the JSON of :func:`routing.deliveries.tours_to_dict`).

    ``depot`` is ``(lat, lon)``; deliveries give the sites' positions. One colour per truck, one
    line style per trip; unserved deliveries are crosses. Lines are straight between stops: the
    answer's distances follow the roads.
    """
    where = {d.id: (d.lat, d.lon) for d in deliveries if d.lat is not None and d.lon is not None}

    def position(delivery_id: str) -> tuple[float, float] | None:
        # Split loads are named "<id>/<part>" and go where their delivery goes.
        return where.get(delivery_id) or where.get(delivery_id.rsplit("/", 1)[0])

    fig, ax = plt.subplots(figsize=(8, 7), dpi=100)
    colours = plt.get_cmap("tab10")
    for n, truck in enumerate(answer["trucks"]):
        colour = colours(n % 10)
        for trip in truck["trips"]:
            line = [depot]
            line += [p for s in trip["stops"] if (p := position(s["delivery"])) is not None]
            line.append(depot)
            ax.plot(
                [p[1] for p in line],
                [p[0] for p in line],
                _STYLES[(trip["trip"] - 1) % len(_STYLES)],
                color=colour,
                linewidth=1.6,
                label=f"{truck['truck']} trip {trip['trip']}",
            )
    served: list[tuple[float, float] | None] = [
        position(s["delivery"]) for t in answer["trucks"] for tr in t["trips"] for s in tr["stops"]
    ]
    unserved = [position(u["delivery"]) for u in answer["unserved"]]
    groups: tuple[tuple[list[tuple[float, float] | None], str, str], ...] = (
        (served, "o", "served"),
        (unserved, "x", "unserved"),
    )
    for points, marker, label in groups:
        shown = [p for p in points if p is not None]
        if shown:
            ax.scatter(
                [p[1] for p in shown],
                [p[0] for p in shown],
                marker=marker,
                color="black",
                zorder=3,
                label=label,
            )
    ax.scatter([depot[1]], [depot[0]], marker="s", s=80, color="black", zorder=4, label="railhead")
    # Degrees of longitude shrink with latitude: keep the map's shape true near the railhead.
    ax.set_aspect(1 / max(0.1, math.cos(math.radians(depot[0]))), adjustable="datalim")
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(
        f"{answer['served']} deliveries, {answer['trucks_used']} trucks, {answer['trips']} trips, "
        f"{answer['distance_km']:,.0f} km"
    )
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(fileobj, format="png", metadata={"Software": None})
    plt.close(fig)
