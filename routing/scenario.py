"""What-if scenarios: close a crossing, node or link for a date range, scale a capacity, add
dwell, change a tariff. A scenario yields a new ``Network`` through the same builder as a pack.

A scenario is a mapping (read from JSON or YAML by the caller)::

    name: Khorgos closed two weeks
    closures:                       # nothing passes in [from, to)
      - {crossing: khorgos-altynkol-rail, from: 2026-12-01, to: 2026-12-15}
      - {node: aktau, from: 2027-01-10, to: 2027-01-12}
    capacity:                       # multiply weekly / per-departure capacity
      - {crossing: alashankou-dostyk-rail, scale: 0.5}
    dwell:                          # add hours to a crossing's typical and bad-day dwell
      - {crossing: brest-malaszewicze-rail, add_hours: 72}
    tariffs:                        # multiply a link's, service's or crossing's prices
      - {service: xian-almaty-train, scale: 1.3}

Ids are data-row ids (both directions are affected).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import yaml

from graphs.errors import DataPackError, InputError
from graphs.network import Closure, Network, build_network
from routing.model import parse_datetime

_KINDS = ("crossing", "node", "link", "service")
_SECTIONS = ("name", "closures", "capacity", "dwell", "tariffs")
MAX_NAME_LENGTH = 200
MAX_ENTRIES = 10_000


class SafeScenarioLoader(yaml.SafeLoader):
    """PyYAML's safe loader without aliases: a scenario needs none, and anchors referring to
    anchors multiply a few hundred bytes into billions of entries ("billion laughs")."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None,
                None,
                "uses a YAML alias (*name); write the value out instead",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def _text(value: Any, file: str, where: str, what: str) -> str:
    """A short string with no lone surrogate (it could not be written as UTF-8 later)."""
    if not isinstance(value, str):
        shown = type(value).__name__
        raise _error(file, where, f"{what} is a string, not a {shown}")
    if len(value) > MAX_NAME_LENGTH:
        raise _error(file, where, f"is longer than {MAX_NAME_LENGTH} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _error(file, where, "is not valid text (a lone UTF-16 surrogate)") from None
    return value


@dataclass(frozen=True)
class Scenario:
    """A validated scenario; ``apply`` gives the modified network."""

    name: str
    data: Mapping[str, Any]
    file: str = "scenario"

    def apply(self, network: Network) -> Network:
        return apply_scenario(network, self.data, self.file)


def _error(file: str, where: str, message: str) -> DataPackError:
    return DataPackError(message, file=file, column=where)


def _target(
    entry: Any, where: str, file: str, network: Network, kinds: tuple[str, ...]
) -> tuple[str, str]:
    if not isinstance(entry, Mapping):
        raise _error(file, where, "each entry must be a mapping such as {crossing: ID, ...}")
    named = [kind for kind in kinds if kind in entry]
    if len(named) != 1:
        raise _error(file, where, f"name exactly one of {', '.join(kinds)}")
    kind = named[0]
    target = _text(entry[kind], file, f"{where}.{kind}", f"a {kind} id")
    known: set[str] = {
        "crossing": {c.base_id for c in network.crossings.values()},
        "node": set(network.nodes),
        "link": {k.base_id for k in network.links.values()},
        "service": set(network.services),
    }[kind]
    if target not in known:
        raise _error(file, f"{where}.{kind}", f"'{target}' is not a {kind} of the network")
    return kind, target


def _number(
    entry: Mapping[str, Any], key: str, where: str, file: str, low: float, high: float
) -> float:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _error(file, f"{where}.{key}", f"needs a number, got {value!r}")
    if not low <= value <= high:  # also rejects NaN, and ints too big for math.isfinite
        raise _error(file, f"{where}.{key}", f"{value} is out of range [{low:g}, {high:g}]")
    return float(value)


def _when(entry: Mapping[str, Any], key: str, where: str, file: str) -> datetime:
    if key not in entry:
        raise _error(file, f"{where}.{key}", "is required (YYYY-MM-DD)")
    try:
        return parse_datetime(entry[key], key)
    except InputError as exc:
        raise _error(file, f"{where}.{key}", exc.detail) from None


def apply_scenario(network: Network, data: Mapping[str, Any], file: str = "scenario") -> Network:
    """The network as the scenario changes it; a bad entry is named by its path in the file."""
    if not isinstance(data, Mapping):
        raise _error(
            file, "", "a scenario must be a mapping with closures, capacity, dwell, tariffs"
        )
    unknown = [key for key in data if key not in _SECTIONS]
    if unknown:
        raise _error(file, str(unknown[0]), f"unknown section (expected {', '.join(_SECTIONS)})")

    def entries(section: str) -> list[Any]:
        value = data.get(section) or []
        if not isinstance(value, list):
            raise _error(file, section, "must be a list of entries")
        if len(value) > MAX_ENTRIES:
            raise _error(file, section, f"has more than {MAX_ENTRIES} entries")
        return value

    name = file if data.get("name") is None else _text(data["name"], file, "name", "a name")
    name = name or file

    closures = list(network.closures)
    for i, entry in enumerate(entries("closures")):
        where = f"closures[{i}]"
        kind, target = _target(entry, where, file, network, ("crossing", "node", "link"))
        start, end = _when(entry, "from", where, file), _when(entry, "to", where, file)
        if end <= start:
            raise _error(file, f"{where}.to", "must be after 'from'")
        closures.append(Closure(kind, target, start, end))

    crossing_edits: dict[str, list[Callable[[Any], Any]]] = {}
    link_edits: dict[str, list[Callable[[Any], Any]]] = {}
    service_edits: dict[str, list[Callable[[Any], Any]]] = {}
    edits = {"crossing": crossing_edits, "link": link_edits, "service": service_edits}

    for i, entry in enumerate(entries("capacity")):
        where = f"capacity[{i}]"
        kind, target = _target(entry, where, file, network, ("crossing", "link", "service"))
        scale = _number(entry, "scale", where, file, 0.0, 100.0)
        edits[kind].setdefault(target, []).append(_scale_capacity(kind, scale))
    for i, entry in enumerate(entries("dwell")):
        where = f"dwell[{i}]"
        _, target = _target(entry, where, file, network, ("crossing",))
        hours = _number(entry, "add_hours", where, file, -1000.0, 10_000.0)
        crossing_edits.setdefault(target, []).append(_add_dwell(hours))
    for i, entry in enumerate(entries("tariffs")):
        where = f"tariffs[{i}]"
        kind, target = _target(entry, where, file, network, ("crossing", "link", "service"))
        scale = _number(entry, "scale", where, file, 0.0, 100.0)
        edits[kind].setdefault(target, []).append(_scale_tariff(kind, scale))

    def edited(
        records: tuple[Any, ...], table: dict[str, list[Callable[[Any], Any]]], key: str
    ) -> tuple[Any, ...]:
        out = []
        for record in records:
            for change in table.get(getattr(record, key), []):
                record = change(record)
            out.append(record)
        return tuple(out)

    tables = network.tables
    changed = replace(
        tables,
        crossings=edited(tables.crossings, crossing_edits, "base_id"),
        links=edited(tables.links, link_edits, "base_id"),
        services=edited(tables.services, service_edits, "id"),
    )
    return build_network(
        changed, source=f"{network.source} + scenario {name}", closures=tuple(closures)
    )


def _scale_capacity(kind: str, scale: float) -> Callable[[Any], Any]:
    def change(record: Any) -> Any:
        if kind == "service":
            return replace(record, capacity_teu=max(record.capacity_teu * scale, 1e-9))
        if record.capacity_teu_per_week is None:
            return record
        return replace(
            record, capacity_teu_per_week=max(record.capacity_teu_per_week * scale, 1e-9)
        )

    return change


def _add_dwell(hours: float) -> Callable[[Any], Any]:
    def change(record: Any) -> Any:
        return replace(
            record,
            dwell_hours=max(0.0, record.dwell_hours + hours),
            dwell_p90_hours=max(0.0, record.dwell_p90_hours + hours),
        )

    return change


def _scale_tariff(kind: str, scale: float) -> Callable[[Any], Any]:
    def change(record: Any) -> Any:
        if kind == "service":
            return replace(record, usd_per_teu=record.usd_per_teu * scale)
        if kind == "crossing":
            return replace(
                record,
                fee_usd_per_teu=record.fee_usd_per_teu * scale,
                transhipment_usd_per_teu=record.transhipment_usd_per_teu * scale,
            )
        return replace(
            record,
            usd_per_teu=record.usd_per_teu * scale,
            usd_per_teu_km=record.usd_per_teu_km * scale,
            usd_per_t_km=record.usd_per_t_km * scale,
        )

    return change
