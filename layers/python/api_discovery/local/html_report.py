"""The HTML report: one self-contained file (inline CSS and JS, no external asset) that renders a Report.

The data travels as JSON inside the page and a small script renders it, so the same file can filter by text
and severity without a server. Everything from the estate is inserted with `textContent`, never as markup,
and the embedded JSON escapes `<`, `>` and `&`, so a hostile API name cannot break out of the page.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from api_discovery.analysis.exposure import VERDICTS
from api_discovery.analysis.findings import CATALOGUE, SEVERITIES
from api_discovery.local.report import Report

_CSS = """
:root { --fg:#1d2330; --muted:#5b6475; --line:#dde2ea; --bg:#f6f8fb; --card:#fff;
  --critical:#7a0916; --high:#c0392b; --medium:#d68910; --low:#2874a6; --info:#6c7a89; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
  color:var(--fg); background:var(--bg); }
header { padding:20px 28px; background:#1d2330; color:#fff; }
header h1 { margin:0 0 4px; font-size:20px; }
header p { margin:0; color:#c5cbd6; }
main { padding:20px 28px 40px; max-width:1400px; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:16px 18px; margin:0 0 18px; }
h2 { font-size:16px; margin:0 0 12px; }
h3 { font-size:14px; margin:14px 0 6px; text-transform:capitalize; }
.cards { display:flex; gap:12px; flex-wrap:wrap; }
.card { flex:1 1 150px; background:var(--bg); border:1px solid var(--line); border-radius:6px; padding:10px 12px; }
.card b { display:block; font-size:22px; }
table { width:100%; border-collapse:collapse; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:600; font-size:12px; text-transform:uppercase; letter-spacing:.03em; }
tr.api { cursor:pointer; }
tr.api:hover { background:#eef3fb; }
tr.routes > td { background:#fafbfd; padding:4px 8px 12px 28px; }
.chip { display:inline-block; padding:1px 7px; margin:1px 3px 1px 0; border-radius:10px; font-size:12px;
  border:1px solid var(--line); white-space:nowrap; }
.v-public-unauthenticated { background:#fde2e1; border-color:#f5b7b1; }
.v-public-api-key-only { background:#fdebd0; border-color:#f8c471; }
.v-public-authenticated { background:#e8f0fe; border-color:#aac4f5; }
.v-network-restricted, .v-private { background:#e3f4ea; border-color:#a9dfbf; }
.v-unreachable, .v-unknown { background:#eceff3; }
.sev { font-weight:600; text-transform:uppercase; font-size:12px; }
.sev-critical { color:var(--critical); } .sev-high { color:var(--high); } .sev-medium { color:var(--medium); }
.sev-low { color:var(--low); } .sev-info { color:var(--info); }
.bar { height:10px; background:#5b7db1; border-radius:5px; }
.bar-cell { width:60%; }
.muted { color:var(--muted); }
.stale { color:#9a5b00; font-size:12px; }
.controls { display:flex; gap:10px; margin:0 0 18px; }
.controls input, .controls select { padding:6px 8px; border:1px solid var(--line); border-radius:6px; font:inherit; }
.controls input { flex:1; }
.status-failed { color:var(--high); font-weight:600; } .status-partial { color:var(--medium); font-weight:600; }
code { font-size:12px; }
"""

_SCRIPT = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var SEVERITIES = data.meta.severities, VERDICTS = data.meta.verdicts;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }
  function table(id, headers, rows) {
    var head = el("thead", {}, [el("tr", {}, headers.map(function (h) { return el("th", {text: h}); }))]);
    var body = el("tbody", {}, rows);
    return el("table", id ? {id: id} : {}, [head, body]);
  }
  function cell(text, cls) { return el("td", cls ? {text: text, "class": cls} : {text: text}); }
  function chip(verdict, count) {
    return el("span", {"class": "chip v-" + verdict, text: verdict + (count === undefined ? "" : " " + count)});
  }
  function section(id, title, children) {
    return el("section", {id: id}, [el("h2", {text: title})].concat(children));
  }
  function sum(obj) { return Object.keys(obj).reduce(function (n, k) { return n + obj[k]; }, 0); }

  var main = document.getElementById("report");
  var routes = data.apis.reduce(function (n, a) { return n + a.routes.length; }, 0);
  var failed = data.targets.filter(function (t) { return t.status === "failed"; }).length;
  var cards = [
    ["targets scanned", data.targets.length + (failed ? " (" + failed + " failed)" : "")],
    ["APIs", data.apis.length], ["routes", routes], ["entry points beside API Gateway", data.entry_points.length],
    ["public unauthenticated routes", data.exposure_summary["public-unauthenticated"] || 0],
    ["open findings", data.findings.length], ["changes since the previous run", data.changes.length]
  ].map(function (c) {
    return el("div", {"class": "card"}, [el("b", {text: String(c[1])}), el("span", {text: c[0]})]);
  });
  main.appendChild(section("summary", "Summary", [el("div", {"class": "cards"}, cards)]));

  var controls = el("div", {"class": "controls"}, [
    el("input", {id: "filter", type: "search", placeholder: "Filter APIs, routes and findings"}),
    el("select", {id: "severity"}, [el("option", {value: "", text: "every severity"})].concat(
      SEVERITIES.map(function (s) { return el("option", {value: s, text: s + " and above"}); })))
  ]);
  main.appendChild(controls);

  var total = sum(data.exposure_summary) || 1;
  main.appendChild(section("exposure", "Exposure of routes", [table("exposure-summary", ["verdict", "routes", ""],
    VERDICTS.filter(function (v) { return data.exposure_summary[v]; }).map(function (v) {
      var n = data.exposure_summary[v];
      var bar = el("div", {"class": "bar", style: "width:" + Math.round(100 * n / total) + "%"});
      return el("tr", {"data-verdict": v}, [el("td", {}, [chip(v)]), cell(String(n)),
        el("td", {"class": "bar-cell"}, [bar])]);
    }))]));

  var bySeverity = SEVERITIES.map(function (s) {
    var rows = data.findings.filter(function (f) { return f.severity === s; });
    if (!rows.length) { return null; }
    return el("div", {"class": "severity-group", "data-severity": s}, [
      el("h3", {"class": "sev sev-" + s, text: s + " (" + rows.length + ")"}),
      table(null, ["finding", "resource", "account / region", "remediation"], rows.map(function (f) {
        return el("tr", {"class": "finding", "data-severity": f.severity, "data-rule": f.rule_id}, [
          el("td", {}, [el("b", {text: f.title}), el("div", {"class": "muted"}, [el("code", {text: f.rule_id})])]),
          el("td", {}, [f.api_name ? el("b", {"class": "api-name", text: f.api_name + " "}) : null,
            el("span", {text: f.resource})]), cell(f.account_id + " / " + f.region), cell(f.remediation)]);
      }))]);
  });
  main.appendChild(section("findings", "Open findings by severity",
    data.findings.length ? bySeverity : [el("p", {"class": "muted", text: "No open finding."})]));

  var inventoryRows = [];
  data.apis.forEach(function (a) {
    var endpoint = a.endpoint_type + (a.default_endpoint_enabled ? "" : " (default endpoint off)");
    var chips = el("td", {}, Object.keys(a.exposure).map(function (v) { return chip(v, a.exposure[v]); }));
    var row = el("tr", {"class": "api", "data-api-id": a.id}, [
      cell(a.account_id), cell(a.region), cell(a.kind), el("td", {}, [el("b", {"class": "api-name", text: a.name}),
      el("span", {"class": "muted", text: " " + a.id})]), cell(endpoint), cell(a.stages.join(", ")),
      cell(a.domains.join(", ")), cell(String(a.routes.length)), chips]);
    if (a.stale) {
      // The last complete view of an API this run could not read: say so, with why and how old it is.
      chips.appendChild(el("span", {"class": "stale", text: " stale: as of " + a.stale.as_of + " (" + a.stale.age +
        "): " + a.stale.reason}));
    }
    var detail = el("tr", {"class": "routes", hidden: "hidden"}, [el("td", {colspan: "9"}, [
      table(null, ["method", "path", "authorization", "exposure", "why"], a.routes.map(function (r) {
        return el("tr", {"class": "route"}, [cell(r.method), el("td", {}, [el("code", {text: r.path})]),
          cell(r.authorization + (r.api_key_required ? " + API key" : "")), el("td", {}, [chip(r.exposure)]),
          cell(r.reasons.join("; "))]);
      }))])]);
    row.addEventListener("click", function () { detail.hidden = !detail.hidden; });
    inventoryRows.push(row, detail);
  });
  main.appendChild(section("inventory-section", "Inventory (click an API for its routes)", [table("inventory",
    ["account", "region", "kind", "API", "endpoint", "stages", "custom domains", "routes", "exposure"],
    inventoryRows)]));

  main.appendChild(section("entry-points-section", "Entry points outside API Gateway", data.entry_points.length ? [
    table("entry-points", ["account", "region", "kind", "URL", "resource", "authentication", "exposure", "why"],
      data.entry_points.map(function (e) {
        return el("tr", {"class": "entry-point", "data-kind": e.kind}, [cell(e.account_id), cell(e.region),
          cell(e.kind), el("td", {}, [el("code", {text: e.url})]), cell(e.name), cell(e.authentication),
          el("td", {}, [chip(e.exposure)]), cell(e.reasons.join("; "))]);
      }))] : [el("p", {"class": "muted", text: "No entry point outside API Gateway."})]));

  main.appendChild(section("entry-map-section", "Entry points: every host, what serves it, what fronts it", [
    table("entry-map", ["host", "served by", "exposure", "fronted by", "fronts", "note"],
      data.entry_map.map(function (e) {
        var ways = e.ways.map(function (w) { return w.kind + " " + w.name + " (" + w.exposure + ")"; });
        return el("tr", {"class": "map-entry", "data-kinds": e.kinds.join(" ")}, [
          el("td", {}, [el("code", {text: e.host})]), cell(ways.join("; ")), el("td", {}, [chip(e.exposure)]),
          cell(e.fronted_by.join(", ")), cell(e.fronts.join(", ")), cell(e.note || "")]);
      }))]));

  main.appendChild(section("changes-section", "Changes since the previous run", data.changes.length ? [
    table("changes", ["account / region", "change", "API", "subject"], data.changes.map(function (c) {
      return el("tr", {"class": "change", "data-type": c.type}, [cell(c.account_id + " / " + c.region),
        cell(c.type.replace(/_/g, " ")), cell(c.api_id ? c.api_kind + " " + c.api_id : "—"), cell(c.subject)]);
    }))] : [el("p", {"class": "muted", text: "No change."})]));

  main.appendChild(section("targets", "Targets", [table("target-table",
    ["account", "region", "status", "APIs", "note"], data.targets.map(function (t) {
      var note = t.reason || "";
      if (t.as_of_run && t.status === "failed") { note += " (shown as of run " + t.as_of_run + ")"; }
      return el("tr", {}, [cell(t.account_id), cell(t.region), cell(t.status, "status-" + t.status),
        cell(String(t.apis)), cell(note)]);
    }))]));

  function applyFilters() {
    var text = document.getElementById("filter").value.toLowerCase();
    var floor = document.getElementById("severity").value;
    var rank = floor ? SEVERITIES.indexOf(floor) : SEVERITIES.length;
    document.querySelectorAll("tr.api").forEach(function (row) {
      var match = !text || row.textContent.toLowerCase().indexOf(text) >= 0 ||
        row.nextSibling.textContent.toLowerCase().indexOf(text) >= 0;
      row.hidden = !match;
      if (!match) { row.nextSibling.hidden = true; }
    });
    document.querySelectorAll("tr.finding").forEach(function (row) {
      var sev = SEVERITIES.indexOf(row.getAttribute("data-severity"));
      row.hidden = sev > rank || (text && row.textContent.toLowerCase().indexOf(text) < 0);
    });
  }
  document.getElementById("filter").addEventListener("input", applyFilters);
  document.getElementById("severity").addEventListener("change", applyFilters);
  document.body.setAttribute("data-rendered", "true");
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<header><h1>{title}</h1><p>{subtitle}</p></header>
<main id="report"><noscript>This report renders with JavaScript; the data is in the page as JSON.</noscript></main>
<script type="application/json" id="report-data">{data}</script>
<script>{script}</script>
</body>
</html>
"""


def embed_json(value: Any) -> str:
    """JSON that cannot end the <script> element it sits in, nor open a comment or an entity."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render(report: Report) -> str:
    data = report.as_dict()
    data["meta"] = {
        "severities": list(SEVERITIES),
        "verdicts": list(VERDICTS),
        "rules": {r.id: {"title": r.title, "rationale": r.rationale} for r in CATALOGUE.values()},
    }
    title = f"API Discovery report, run {report.run_id}"
    subtitle = f"Run started {report.started_at}. Inventory, exposure, open findings and changes."
    return _PAGE.format(
        title=html.escape(title),
        subtitle=html.escape(subtitle),
        css=_CSS,
        data=embed_json(data),
        script=_SCRIPT,
    )


def write(report: Report, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(report), encoding="utf-8")
    return path
