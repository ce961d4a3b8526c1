"""Patterns across accounts: over time, by harm, by perpetrator, by grounds, by region.

"Widespread or systematic" (E5) and a policy (E6) show only across many accounts. The
page counts the accounts this reviewer can open, within the queue's filters, from the
facts of `review.desk.facts` (option ids and the coarse incident date `flows.dates`
reads; the submission date is the second view of time). Each chart is drawn on the
server as SVG by pygal, its labels kept as `<text>` so the browser shapes Arabic and
Persian, with the numbers in a table beside it; the page needs no JavaScript.

pygal's SVG carries a script and a style sheet of its own, which the desk's
Content-Security-Policy (`default-src 'self'`) would refuse: `svg_for` drops them, with
the tooltips that needed the script, and `desk.css` styles the charts instead.

The page itself shows the real counts: it stays on the reviewer's machine. The CSV
download is an export: it counts only accounts whose consent allows anonymised use in
reports, and every count under 5 is written "fewer than 5".
"""

from __future__ import annotations

import csv
import io
import unicodedata
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from flows.i18n import N_
from flows.spec import Flow
from flows.types import Translator
from review.desk.app import Desk, to_unlock
from review.desk.facts import (
    AccountFacts,
    DeskTrust,
    Opened,
    lacks_of,
    left_out_lines,
    shipped_flows,
)
from storage.queue.store import reviewer_actor

SMALL = 5  # exported counts below this are written "fewer than 5"
SVG_NS = "http://www.w3.org/2000/svg"
TIME_VIEWS = ("incident", "submitted")
# Each chart: its key, its title, and the step whose options it counts (None: region).
DIMENSIONS: tuple[tuple[str, str], ...] = (
    ("harms", N_("Accounts by harm")),
    ("perpetrators", N_("Accounts by who did it")),
    ("grounds", N_("Accounts by grounds of targeting")),
    ("region", N_("Accounts by region")),
)
TIME_TITLES = {
    "incident": N_("Accounts over time, by when it started (as the person put it)"),
    "submitted": N_("Accounts over time, by when they were sent"),
}
NO_DATE = N_("No year could be read")
NOT_ANSWERED = N_("Not answered")


@dataclass(frozen=True)
class Bar:
    """One bar of a chart: the value counted, its label, how many accounts."""

    key: str
    label: str
    count: int


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    bars: tuple[Bar, ...]
    unknown: int  # accounts the chart could not place (no answer, no readable year)
    unknown_label: str


def _option_label(flows: Mapping[str, Flow], step_id: str, option_id: str, t: Translator) -> str:
    for flow in flows.values():
        if flow.has_step(step_id):
            option = flow.step(step_id).option(option_id)
            if option is not None:
                return t.gettext(option.text)
    return option_id


def _option_order(flows: Mapping[str, Flow], step_id: str) -> list[str]:
    for flow in sorted(flows.values(), key=lambda f: f.id):
        if flow.has_step(step_id):
            return [o.id for o in flow.step(step_id).options]
    return []


def count_by_choice(
    facts: Iterable[AccountFacts], step_id: str, flows: Mapping[str, Flow], t: Translator
) -> Chart:
    """Accounts per option of a shared list (an account counts once per option it chose)."""
    counts: Counter[str] = Counter()
    unknown = 0
    for f in facts:
        chosen = f.choices.get(step_id, ())
        if not chosen:
            unknown += 1
        counts.update(set(chosen))
    order = _option_order(flows, step_id)
    keys = [k for k in order if counts[k]] + sorted(k for k in counts if k not in order)
    bars = tuple(Bar(k, _option_label(flows, step_id, k, t), counts[k]) for k in keys)
    title = dict(DIMENSIONS)[step_id]
    return Chart(step_id, t.gettext(title), bars, unknown, t.gettext(NOT_ANSWERED))


def count_by_region(
    facts: Iterable[AccountFacts], flows: Mapping[str, Flow], t: Translator
) -> Chart:
    """Accounts per region answered (the deployment's region codes, and "elsewhere")."""
    counts: Counter[str] = Counter()
    unknown = 0
    for f in facts:
        if f.region is None:
            unknown += 1
        else:
            counts[f.region] += 1
    bars = tuple(Bar(k, _option_label(flows, "region", k, t), counts[k]) for k in sorted(counts))
    return Chart(
        "region", t.gettext(dict(DIMENSIONS)["region"]), bars, unknown, t.gettext(NOT_ANSWERED)
    )


def count_over_time(facts: Iterable[AccountFacts], view: str, t: Translator) -> Chart:
    """Accounts per year the incident started (`flows.dates`), or per month sent."""
    counts: Counter[str] = Counter()
    unknown = 0
    for f in facts:
        if view == "incident":
            key = str(f.incident.year) if f.incident is not None else None
        else:
            key = f.submitted.strftime("%Y-%m") if f.submitted is not None else None
        if key is None:
            unknown += 1
        else:
            counts[key] += 1
    if counts and view == "incident":  # every year in the span, so gaps show as gaps
        years = [int(k) for k in counts]
        keys = [str(y) for y in range(min(years), max(years) + 1)]
    else:
        keys = sorted(counts)
    bars = tuple(Bar(k, k, counts[k]) for k in keys)
    return Chart(f"time-{view}", t.gettext(TIME_TITLES[view]), bars, unknown, t.gettext(NO_DATE))


def charts_of(
    facts: Sequence[AccountFacts], view: str, flows: Mapping[str, Flow], t: Translator
) -> list[Chart]:
    """Every chart of the page, over `facts` (pure: what the tests check)."""
    return [
        count_over_time(facts, view, t),
        count_by_choice(facts, "harms", flows, t),
        count_by_choice(facts, "perpetrators", flows, t),
        count_by_choice(facts, "grounds", flows, t),
        count_by_region(facts, flows, t),
    ]


def exported_count(count: int, t: Translator) -> str:
    """A count as it may leave the machine: under 5 it is "fewer than 5"."""
    return t.gettext("fewer than 5") if count < SMALL else str(count)


def charts_csv(charts: Sequence[Chart], t: Translator) -> str:
    """The charts' tables as CSV, small counts suppressed (an export)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [t.gettext("chart"), t.gettext("value"), t.gettext("label"), t.gettext("accounts")]
    )
    for chart in charts:
        for bar in chart.bars:
            if bar.count:
                writer.writerow([chart.key, bar.key, bar.label, exported_count(bar.count, t)])
        if chart.unknown:
            writer.writerow([chart.key, "", chart.unknown_label, exported_count(chart.unknown, t)])
    return out.getvalue()


# -- drawing ------------------------------------------------------------------------------


def svg_for(chart: Chart) -> str:
    """The chart drawn by pygal, made fit for the desk's CSP (see the module doc).

    The plot itself is laid out left to right in every language (its value axis reads
    from 0 rightwards); a label in a right-to-left script is put in a first-strong
    isolate so that the browser orders it, punctuation included, as its own script
    reads, and shapes it.
    """
    import pygal  # only the patterns page draws: kept off every other start-up path

    horizontal = not chart.key.startswith("time-")
    kind = pygal.HorizontalBar if horizontal else pygal.Bar
    # pygal draws a horizontal chart's first bar at the bottom: reversed, the chart
    # reads top down in the order of the table beside it.
    bars = tuple(reversed(chart.bars)) if horizontal else chart.bars
    bars = bars or (Bar("", "", 0),)
    plot = kind(
        width=760,
        height=max(220, 34 * len(bars) + 90) if horizontal else 320,
        show_legend=False,
        print_values=True,
        js=[],
        disable_xml_declaration=True,
        no_prefix=True,
        truncate_label=-1,
        x_label_rotation=0 if horizontal else 30,
        margin=12,
        style=pygal.style.Style(
            font_family="system-ui, sans-serif",
            label_font_size=12,
            major_label_font_size=12,
            value_font_size=12,
        ),
    )
    plot.x_labels = [_isolated(b.label) for b in bars]
    plot.add(chart.title, [b.count for b in bars])
    return _fit_for_csp(plot.render(is_unicode=True), chart.title)


def _isolated(label: str) -> str:
    rtl = any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in label)
    return f"\u2068{label}\u2069" if rtl else label


def _fit_for_csp(svg: str, title: str) -> str:
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    root = ET.fromstring(svg)
    drop = {f"{{{SVG_NS}}}script", f"{{{SVG_NS}}}style"}

    def prune(parent: ET.Element) -> None:
        for child in list(parent):
            classes = (child.get("class") or "").split()
            if child.tag in drop or "tooltip-overlay" in classes or "tooltip" in classes:
                parent.remove(child)
                continue
            child.attrib.pop("style", None)
            prune(child)

    prune(root)
    root.attrib.pop("id", None)
    root.set("role", "img")
    root.set("aria-label", title)
    return ET.tostring(root, encoding="unicode")


# -- the page -----------------------------------------------------------------------------


def routes(desk: Desk) -> list[Route]:
    from review.desk.queue_page import filters_of

    t = desk.t

    async def opened(request: Request) -> tuple[Opened, dict[str, str], str] | None:
        key = desk.key(request)
        if key is None:
            return None
        filters, shown, bad = filters_of(request.query_params, key.fingerprint)
        lacks, bad_lacks = lacks_of(request.query_params)
        shown["lacks"] = lacks or ""
        view = request.query_params.get("time", "incident")
        if view not in TIME_VIEWS:
            view, bad = "incident", True
        if bad or bad_lacks:
            desk.notice(
                request,
                t.gettext("A filter could not be read and was left out. Dates are YYYY-MM-DD."),
            )

        def read() -> Opened:
            ctx = desk.ctx
            found = desk.facts.open_all(
                ctx.queue, key, ctx.pins, desk.lock.csrf, filters, trust=DeskTrust.of(ctx)
            )
            ctx.witness_advance()
            if lacks is not None:
                found = Opened(
                    [f for f in found.facts if f.level(lacks) != "supported"], found.left_out
                )
            return found

        return await desk.run(read), shown, view

    async def page(request: Request) -> Response:
        got = await opened(request)
        if got is None:
            return to_unlock()
        found, shown, view = got
        charts = charts_of(found.facts, view, shipped_flows(), t)
        drawn = await desk.run(lambda: [Markup(svg_for(c)) for c in charts])
        kept = {k: v for k, v in shown.items() if v}
        return desk.page(
            "patterns.html",
            request=request,
            charts=list(zip(charts, drawn, strict=True)),
            total=len(found.facts),
            left_out=left_out_lines(found.left_out, t.gettext),
            view=view,
            views=TIME_VIEWS,
            shown=shown,
            query=_query(kept),
            query_with=lambda **more: _query({**kept, **more}),
        )

    async def download(request: Request) -> Response:
        got = await opened(request)
        if got is None:
            return to_unlock()
        found, _shown, view = got
        consenting = [f for f in found.facts if f.reports]
        text = charts_csv(charts_of(consenting, view, shipped_flows(), t), t)
        key = desk.key(request)
        if key is not None:  # counts leave the machine: audited as an export

            def audit() -> None:
                desk.ctx.queue.record(
                    reviewer_actor(key.fingerprint),
                    "exported",
                    None,
                    {"view": "patterns", "format": "csv", "accounts": len(consenting)},
                )
                desk.ctx.witness_advance()

            await desk.run(audit)
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="attest-patterns.csv"'},
        )

    return [
        Route("/patterns", page, methods=["GET"]),
        Route("/patterns.csv", download, methods=["GET"]),
    ]


def _query(values: Mapping[str, Any]) -> str:
    return urlencode(values)


__all__ = [
    "Bar",
    "Chart",
    "charts_csv",
    "charts_of",
    "count_by_choice",
    "count_by_region",
    "count_over_time",
    "exported_count",
    "routes",
    "svg_for",
]
