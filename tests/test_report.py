"""The HTML plan report: well-formed, self-contained, honest charts and one row per shipment."""

from __future__ import annotations

import base64
import io
import re
import struct
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg

from graphs import Network
from graphs.errors import InputError
from routing import report
from routing.model import Cargo, Shipment
from routing.plan import Plan, plan
from routing.report import corridor, report_html, write_report
from routing.scenario import apply_scenario

VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
URL_ATTRIBUTES = frozenset({"src", "href", "action", "srcset", "poster", "data", "formaction"})
HOSTILE_ID = "<script>alert('x')</script>&co"


def _requests() -> list[Shipment]:
    """Forty-TEU lots alpha to delta over two weeks (enough to fill the Monday train and the rail
    crossing when squeezed), one blade too long for any link, and one id with markup in it."""
    lots = [
        Shipment(
            "alpha",
            "delta",
            Cargo(teu=40),
            ready=f"2026-12-{5 + 7 * (i % 2):02d}",
            due=f"2026-12-{12 + 7 * (i % 2):02d}",
            id=f"s{i:02d}",
        )
        for i in range(8)
    ]
    blade = Shipment(
        "alpha", "delta", Cargo(pieces=1, length_m=100, width_m=4, height_m=4, weight_t=20),
        ready="2026-12-05", due="2026-12-20", id="blade",
    )  # fmt: skip
    hostile = Shipment(
        "alpha", "gamma", Cargo(teu=2), ready="2026-12-06", due="2026-12-07", id=HOSTILE_ID
    )
    return [*lots, blade, hostile]


@pytest.fixture(scope="module")
def requests() -> list[Shipment]:
    return _requests()


@pytest.fixture(scope="module")
def base_plan(tiny: Network, requests: list[Shipment]) -> Plan:
    """The tiny network as it is: everything fits but the blade."""
    return plan(tiny, requests, time_limit_s=10)


@pytest.fixture(scope="module")
def squeezed(tiny: Network) -> Network:
    """The rail crossing at a tenth of its capacity (70 TEU a week): lots move to the road."""
    return apply_scenario(tiny, {"capacity": [{"crossing": "tiny-rail", "scale": 0.1}]})


@pytest.fixture(scope="module")
def scenario_plan(squeezed: Network, requests: list[Shipment]) -> Plan:
    return plan(squeezed, requests, time_limit_s=10)


@pytest.fixture(scope="module")
def page(tiny: Network, base_plan: Plan, requests: list[Shipment]) -> str:
    return report_html(tiny, base_plan, shipments=requests)


@pytest.fixture(scope="module")
def comparison(tiny: Network, base_plan: Plan, scenario_plan: Plan) -> str:
    return report_html(tiny, scenario_plan, base_plan, "Rail crossing squeezed")


class _Checker(HTMLParser):
    """Records what an offline browser would need: the tag tree, URLs, images, table rows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.urls: list[str] = []
        self.images: list[str] = []
        self.counts: dict[str, int] = {}
        self.ids: list[str] = []
        self.table: str | None = None
        self.rows: dict[str, list[list[str]]] = {}
        self.cell: list[str] | None = None
        self.in_tbody = False
        self.doctype = False

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag not in VOID:
            self.stack.append(tag)
        for name, value in attrs:
            if value is None:
                continue
            if name in URL_ATTRIBUTES:
                self.urls.append(value)
            if name == "id":
                self.ids.append(value)
            if name == "style" and "url(" in value:
                self.problems.append(f"url() in a style attribute: {value}")
        attributes = dict(attrs)
        if tag == "img":
            self.images.append(attributes.get("src") or "")
            if not attributes.get("alt"):
                self.problems.append("an image without alt text")
        if tag == "table":
            self.table = attributes.get("id")
        if tag == "tbody":
            self.in_tbody = True
        if tag == "tr" and self.in_tbody and self.table:
            self.rows.setdefault(self.table, []).append([])
        if tag in ("td", "th") and self.in_tbody and self.table:
            self.cell = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            self.problems.append(f"end tag for void element <{tag}>")
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()
        if tag in ("td", "th") and self.cell is not None and self.table:
            self.rows[self.table][-1].append("".join(self.cell).strip())
            self.cell = None
        if tag == "tbody":
            self.in_tbody = False
        if tag == "table":
            self.table = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def _parse(html: str) -> _Checker:
    checker = _Checker()
    checker.feed(html)
    checker.close()
    return checker


def _png(uri: str) -> bytes:
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix), uri[:40]
    return base64.b64decode(uri.removeprefix(prefix), validate=True)


# -- the page ------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["page", "comparison"])
def test_html_is_well_formed(which: str, request: pytest.FixtureRequest) -> None:
    html: str = request.getfixturevalue(which)
    checker = _parse(html)
    assert checker.doctype
    assert checker.problems == []
    assert checker.stack == [], f"unclosed: {checker.stack}"
    for tag in ("html", "head", "body", "title", "h1"):
        assert checker.counts.get(tag) == 1, tag
    assert len(checker.ids) == len(set(checker.ids)), "duplicate ids"
    assert '<meta charset="utf-8">' in html


@pytest.mark.parametrize("which", ["page", "comparison"])
def test_html_is_self_contained(which: str, request: pytest.FixtureRequest) -> None:
    html: str = request.getfixturevalue(which)
    checker = _parse(html)
    assert checker.urls, "the page has images"
    assert all(url.startswith("data:") for url in checker.urls), [u[:40] for u in checker.urls]
    assert "http://" not in html
    assert "https://" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?//""", html)
    # Nothing to run or fetch: no scripts, stylesheets, imports, fonts or frames.
    for needle in ("<script", "<link", "@import", "url(", "<iframe", "<object", "@font-face"):
        assert needle not in html.lower(), needle
    assert "default-src 'none'" in html  # and the browser is told to fetch nothing


@pytest.mark.parametrize("which", ["page", "comparison"])
def test_images_are_real_non_blank_pngs(which: str, request: pytest.FixtureRequest) -> None:
    html: str = request.getfixturevalue(which)
    images = _parse(html).images
    # map, heat map, capacity lines, timeline, cost by corridor, cost by mode
    assert len(images) == 6
    for uri in images:
        data = _png(uri)
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert data[12:16] == b"IHDR"
        width, height = struct.unpack(">II", data[16:24])
        assert 500 <= width <= 2500 and 150 <= height <= 3000, (width, height)
        pixels = mpimg.imread(io.BytesIO(data), format="png")
        assert pixels.shape[:2] == (height, width)
        rgb = (pixels[..., :3] * 255).astype(np.uint32)
        colours = np.unique(rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2])
        assert len(colours) >= 8, "a chart of one or two colours is blank"
        background = np.all(pixels[..., :3] > 0.98, axis=-1).mean()
        assert background < 0.97, "almost nothing drawn"


def test_shipments_table_has_one_row_per_shipment(page: str, base_plan: Plan) -> None:
    rows = _parse(page).rows["shipments"]
    assert [row[0] for row in rows] == [s.id for s in base_plan.shipments]
    by_id = {row[0]: row for row in rows}
    assert by_id["blade"][1] == "unplanned"
    assert "length 100 m" in by_id["blade"][3]  # the reason
    assert all(len(row) == len(rows[0]) for row in rows)


def test_shipments_table_shows_requested_dates(page: str, requests: list[Shipment]) -> None:
    rows = {row[0]: row for row in _parse(page).rows["shipments"]}
    for shipment in requests:
        assert shipment.due_at is not None
        assert rows[shipment.id][8] == shipment.due_at.strftime("%Y-%m-%d %H:%M")
        assert rows[shipment.id][5] == shipment.ready_at.strftime("%Y-%m-%d %H:%M")


def test_without_the_requests_due_dates_come_from_lateness(tiny: Network, base_plan: Plan) -> None:
    html = report_html(tiny, base_plan)
    rows = {row[0]: row for row in _parse(html).rows["shipments"]}
    for result in base_plan.shipments:
        due = rows[result.id][8]
        if result.status == "late":
            assert result.route is not None
            assert due != "—"
        elif result.status == "on_time":
            assert due == "—"
    assert "not drawn" in html  # the unplanned blade has no dates to draw


def test_markup_in_a_shipment_id_is_escaped(page: str, comparison: str) -> None:
    for html in (page, comparison):
        assert "<script" not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;co" in html
        ids = [row[0] for row in _parse(html).rows["shipments"]]
        assert HOSTILE_ID in ids  # and reads back as the id itself


def test_the_same_plan_gives_the_same_page(
    page: str, tiny: Network, base_plan: Plan, requests: list[Shipment]
) -> None:
    assert report_html(tiny, base_plan, shipments=requests) == page


# -- the comparison ------------------------------------------------------------------------------


def test_comparison_shows_both_plans(comparison: str, base_plan: Plan, scenario_plan: Plan) -> None:
    checker = _parse(comparison)
    assert "<h1>Rail crossing squeezed</h1>" in comparison
    table = {row[0]: row[1:] for row in checker.rows["comparison"]}
    before, after = base_plan.summary(), scenario_plan.summary()
    assert table["Cost, USD"][:2] == [f"{before['cost_usd']:,.0f}", f"{after['cost_usd']:,.0f}"]
    assert table["Unplanned"][:2] == [str(before["unplanned"]), str(after["unplanned"])]
    delta = after["cost_usd"] - before["cost_usd"]
    assert table["Cost, USD"][2] == f"{delta:+,.0f}"
    # Squeezing the rail crossing moves lots; each move is listed with both corridors.
    changed = checker.rows["changes"]
    assert changed
    assert any("Tiny rail crossing" in row[2] for row in changed)
    assert any("Tiny road crossing" in row[4] for row in changed)
    # The shipments table is the scenario's.
    assert [r[0] for r in checker.rows["shipments"]] == [s.id for s in scenario_plan.shipments]
    assert len(checker.rows["corridors"][0]) == 1 + 2 * 4  # corridor, then four columns a plan


def test_comparison_heat_map_has_both_panels(
    tiny: Network, base_plan: Plan, scenario_plan: Plan
) -> None:
    base_grid, scenario_grid = report._grids(tiny, [base_plan, scenario_plan])
    assert base_grid.ids == scenario_grid.ids and base_grid.weeks == scenario_grid.weeks
    rail = base_grid.ids.index("tiny-rail")
    assert np.nanmax(scenario_grid.share[rail]) > np.nanmax(base_grid.share[rail])


# -- the facts behind the charts -----------------------------------------------------------------


def test_heat_map_cells_are_used_over_capacity(tiny: Network, scenario_plan: Plan) -> None:
    (grid,) = report._grids(tiny, [scenario_plan])
    by_cell = {(i, w): j for i in grid.ids for j, w in enumerate(grid.weeks)}
    for resource, used in scenario_plan.resources:
        if resource.id not in tiny.services:  # a service's cell is its fullest departure
            j = by_cell[(resource.id, report._period_week(resource.period))]
            i = grid.ids.index(resource.id)
            assert grid.share[i, j] == pytest.approx(used / resource.capacity_teu)
    # Rows are fullest first.
    peaks = [float(np.nanmax(row)) for row in grid.share]
    assert peaks == sorted(peaks, reverse=True)


def test_service_cell_is_its_fullest_departure(tiny: Network, base_plan: Plan) -> None:
    departures = [(r, u) for r, u in base_plan.resources if r.id == "alpha-gamma-train"]
    assert departures
    weekly = report._weekly_use(base_plan)["alpha-gamma-train"]
    for week, (used, capacity) in weekly.items():
        same_week = [
            u / r.capacity_teu for r, u in departures if report._period_week(r.period) == week
        ]
        assert used / capacity == pytest.approx(max(same_week))


def test_corridor_names_the_crossings(tiny: Network, base_plan: Plan) -> None:
    names = {corridor(tiny, s.route) for s in base_plan.shipments if s.route}
    assert names <= {"Tiny rail crossing (rail)", "Tiny road crossing (road)"}
    assert corridor(tiny, None) == "—"


def test_corridor_and_mode_totals_add_up_to_the_plan(tiny: Network, base_plan: Plan) -> None:
    summary = base_plan.summary()
    corridors = report._by_corridor(tiny, base_plan)
    assert sum(t.cost_usd for t in corridors.values()) == pytest.approx(summary["cost_usd"])
    assert sum(t.co2e_kg for t in corridors.values()) == pytest.approx(summary["co2e_kg"])
    assert sum(t.shipments for t in corridors.values()) == summary["planned"]
    cost, co2e = report._by_mode(base_plan)
    assert sum(cost.values()) == pytest.approx(summary["cost_usd"])
    assert sum(co2e.values()) == pytest.approx(summary["co2e_kg"])


def test_timeline_keeps_the_most_critical(
    tiny: Network, base_plan: Plan, requests: list[Shipment]
) -> None:
    by_id = {s.id: s for s in requests}
    dates = {s.id: report._dates(tiny, s, by_id[s.id]) for s in base_plan.shipments}
    chosen = report._critical(base_plan.shipments, dates, len(base_plan.shipments))
    statuses = [s.status for s in chosen]
    assert statuses == sorted(statuses, key=["late", "unplanned", "on_time"].index)
    late = [s.late_days for s in chosen if s.status == "late"]
    assert late and late == sorted(late, reverse=True)
    slack = [
        dates[s.id].due - dates[s.id].arrive  # type: ignore[operator]
        for s in chosen
        if s.status == "on_time"
    ]
    assert slack == sorted(slack)
    assert report._critical(base_plan.shipments, dates, 2) == chosen[:2]


# -- writing -------------------------------------------------------------------------------------


def test_write_report_writes_index_html_only(
    tmp_path: Path, tiny: Network, base_plan: Plan, scenario_plan: Plan, comparison: str
) -> None:
    target = tmp_path / "report"
    path = write_report(tiny, scenario_plan, target, base=base_plan, title="Rail crossing squeezed")
    assert path == target / "index.html"
    assert [p.name for p in target.iterdir()] == ["index.html"]
    assert path.read_text(encoding="utf-8") == comparison


def test_a_failed_report_leaves_the_old_one(
    tmp_path: Path, tiny: Network, base_plan: Plan, page: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "report_html", lambda *args, **kwargs: page)
    path = write_report(tiny, base_plan, tmp_path)
    before = path.read_bytes()

    def full_disk(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(report.os, "replace", full_disk)
    with pytest.raises(OSError, match="disk full"):
        write_report(tiny, base_plan, tmp_path, title="never written")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]  # no temporary file left


def test_an_empty_plan_still_reports(tiny: Network) -> None:
    html = report_html(tiny, plan(tiny, [], time_limit_s=1))
    checker = _parse(html)
    assert checker.problems == [] and checker.stack == []
    assert checker.rows.get("shipments", []) == []
    assert "No shipment uses a crossing" in html


def test_plot_capacity_draws_the_heat_map(tiny: Network, base_plan: Plan) -> None:
    """The README's chart: the same heat map, as PNG bytes."""
    buffer = io.BytesIO()
    report.plot_capacity(tiny, base_plan, buffer, title="Tiny capacity")
    data = buffer.getvalue()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = mpimg.imread(io.BytesIO(data), format="png")
    assert pixels.shape[1] >= 500
    with pytest.raises(InputError, match="no crossing"):
        report.plot_capacity(tiny, plan(tiny, [], time_limit_s=1), io.BytesIO())


def test_changed_shipments_show_arrival_and_lateness_deltas(
    comparison: str, base_plan: Plan, scenario_plan: Plan
) -> None:
    rows = {row[0]: row for row in _parse(comparison).rows["changes"]}
    before = {s.id: s for s in base_plan.shipments}
    moved = 0
    for after in scenario_plan.shipments:
        old = before[after.id]
        if old.route is None or after.route is None:
            continue
        slip = (after.route.arrive - old.route.arrive).total_seconds() / 86400
        late = after.late_days - old.late_days
        if abs(slip) > 1 / 24 or abs(late) > 1e-3:
            moved += 1
            assert after.id in rows, f"{after.id} arrives {slip:+.2f} days later but is not listed"
            assert rows[after.id][6] == report._signed(slip, 1)
            assert rows[after.id][7] == report._signed(late, 1)
    assert moved >= 1


def test_closures_are_named_for_the_timeline(tiny: Network) -> None:
    closed = apply_scenario(
        tiny,
        {"closures": [{"crossing": "tiny-rail", "from": "2026-12-07", "to": "2026-12-10"}]},
    )
    spans = report._closure_spans(closed)
    assert len(spans) == 1
    label, start, end = spans[0]
    assert label == "Tiny rail crossing (rail)"
    assert end - start == 3
    assert report._closure_spans(tiny) == []


def test_report_has_a_map_of_the_plan(page: str) -> None:
    assert 'id="plan-map"' in page
    images = _parse(page).images
    data = _png(images[0])
    pixels = mpimg.imread(io.BytesIO(data), format="png")[..., :3]
    land = np.all(np.abs(pixels - np.array([0xF4, 0xF1, 0xEA]) / 255) < 0.02, axis=-1).mean()
    assert land > 0.2, "the map shows the countries"
