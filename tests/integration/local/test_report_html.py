"""The HTML report, rendered by a real browser (headless Chromium): the page shows the APIs and findings."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api_discovery.local.cli import app
from api_discovery.local.report import Report, build_report, load_estate
from tests.unit.report_store import HOSTILE, build

BROWSERS = ("chromium", "chromium-browser")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def all_text(self) -> str:
        return "".join(self.text) + "".join(c.all_text() for c in self.children)

    def find(self, tag: str | None = None, cls: str | None = None, id_: str | None = None) -> list[Node]:
        found = []
        for child in self.children:
            classes = child.attrs.get("class", "").split()
            tag_ok, cls_ok = tag is None or child.tag == tag, cls is None or cls in classes
            if tag_ok and cls_ok and (id_ is None or child.attrs.get("id") == id_):
                found.append(child)
            found.extend(child.find(tag, cls, id_))
        return found


class DomParser(HTMLParser):
    VOID = frozenset({"meta", "link", "br", "img", "input", "hr", "col", "source"})

    def __init__(self) -> None:
        super().__init__()
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].text.append(data)


def _browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        "headless Chromium is required to render the HTML report: install Debian's `chromium` package "
        "(`apt-get install -y chromium`; `make test` does this)"
    )


def _rendered(page: Path) -> Node:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        done = subprocess.run(
            [_browser(), *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    parser = DomParser()
    parser.feed(done.stdout)
    return parser.root


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Node, Report, str]:
    folder = tmp_path_factory.mktemp("runs")
    store = build(folder)
    page = folder / "report.html"
    result = CliRunner().invoke(app, ["report", "--data", str(folder), "--format", "html", "--output", str(page)])
    assert result.exit_code == 0, result.output
    source = page.read_text()
    return _rendered(page), build_report(load_estate(store)), source


def test_the_page_is_one_file_without_external_assets(rendered: tuple[Node, Report, str]) -> None:
    _, _, source = rendered
    for reference in ('src="http', 'href="http', "<link", "@import", 'src="//'):
        assert reference not in source


def test_the_browser_ran_the_page_script(rendered: tuple[Node, Report, str]) -> None:
    dom, _, _ = rendered
    (body,) = dom.find("body")
    assert body.attrs.get("data-rendered") == "true"


def test_the_inventory_shows_every_api(rendered: tuple[Node, Report, str]) -> None:
    dom, report, _ = rendered
    (inventory,) = dom.find("table", id_="inventory")
    rows = inventory.find("tr", cls="api")
    names = sorted(n.all_text() for row in rows for n in row.find("b", cls="api-name"))
    assert names == sorted(a["name"] for a in report.apis) == sorted(["orders", "ledger", "payments", HOSTILE])
    routes = inventory.find("tr", cls="route")
    assert len(routes) == sum(len(a["routes"]) for a in report.apis)
    assert any("/orders" in r.all_text() and "public-unauthenticated" in r.all_text() for r in routes)


def test_the_findings_are_shown_by_severity(rendered: tuple[Node, Report, str]) -> None:
    dom, report, _ = rendered
    (section,) = dom.find("section", id_="findings")
    rows = section.find("tr", cls="finding")
    assert len(rows) == len(report.findings) > 0
    shown = {(r.attrs["data-rule"], r.attrs["data-severity"]) for r in rows}
    assert ("public-route-unauthenticated", "high") in shown and ("domain-legacy-tls", "medium") in shown
    groups = [g.attrs["data-severity"] for g in section.find("div", cls="severity-group")]
    assert groups == list(report.severity_summary())  # most severe first
    assert any("rest/r1 GET /orders" in r.all_text() for r in rows)


def test_the_exposure_summary_and_changes_are_shown(rendered: tuple[Node, Report, str]) -> None:
    dom, report, _ = rendered
    (summary,) = dom.find("table", id_="exposure-summary")
    counts = {
        r.attrs["data-verdict"]: r.find("td")[1].all_text() for r in summary.find("tr") if "data-verdict" in r.attrs
    }
    assert counts == {k: str(v) for k, v in report.exposure_summary().items()}
    (changes,) = dom.find("table", id_="changes")
    rows = changes.find("tr", cls="change")
    assert len(rows) == len(report.changes) > 0
    assert "route_authorization_changed" in {r.attrs["data-type"] for r in rows}


def test_a_hostile_api_name_stays_text(rendered: tuple[Node, Report, str]) -> None:
    dom, _, source = rendered
    assert dom.find("img") == []
    assert HOSTILE not in source  # escaped inside the embedded JSON too
    assert any(n.all_text() == HOSTILE for n in dom.find("b", cls="api-name"))


def test_entry_points_outside_api_gateway_are_shown(rendered: tuple[Node, Report, str]) -> None:
    dom, report, _ = rendered
    (table,) = dom.find("table", id_="entry-points")
    rows = table.find("tr", cls="entry-point")
    assert len(rows) == len(report.entry_points) == 1
    (row,) = rows
    assert row.attrs["data-kind"] == "FUNCTION_URL"
    assert "reports-export" in row.all_text() and "public-authenticated" in row.all_text()


def test_the_entry_point_map_shows_every_host(rendered: tuple[Node, Report, str]) -> None:
    dom, report, _ = rendered
    (table,) = dom.find("table", id_="entry-map")
    rows = table.find("tr", cls="map-entry")
    assert len(rows) == len(report.entry_map) > 0
    function_urls = [r for r in rows if "FUNCTION_URL" in r.attrs["data-kinds"].split()]
    assert len(function_urls) == 1 and "reports-export" in function_urls[0].all_text()
    # API Gateway APIs are on the map too, by their default endpoint's host.
    assert any("API_GATEWAY_REST" in r.attrs["data-kinds"].split() for r in rows)
