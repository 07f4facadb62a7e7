"""docs/metrics.md names every metric a live /metrics exports, and nothing else.

The controller's ``/metrics`` is scraped from a whole hotline (pbxsim over real
TCP, SQLite, the web app on a free port) once a call has ended, so labelled
series are there too; the probe's from its own ``--serve-metrics`` endpoint.
"""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from callcenter.probe.metrics import ProbeMetrics

from .e2e_support import ROOT, hotline_rig, wait_until

REFERENCE = ROOT / "docs" / "metrics.md"
ROW = re.compile(
    r"^\| `(?P<name>[a-z0-9_]+)` \| (?P<type>counter|gauge|histogram) \| (?P<labels>[^|]*) \|"
)


def documented(section: str) -> dict[str, tuple[str, set[str]]]:
    """The reference's rows under the heading starting with ``section``:
    name -> (type, label names)."""
    text = REFERENCE.read_text(encoding="utf-8")
    part = text.split(f"\n## {section}", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in part.splitlines():
        if (m := ROW.match(line)) is not None:
            labels = set(re.findall(r"`([a-z_]+)`:", m["labels"]))
            rows[m["name"]] = (m["type"], labels)
    return rows


def exported(text: str) -> dict[str, tuple[str, set[str] | None]]:
    """The metrics of an exposition, named as the reference names them: name ->
    (type, label names; None when no series shows them)."""
    families = list(text_string_to_metric_families(text))
    counted = {f.name for f in families if f.type in ("counter", "histogram")}
    out: dict[str, tuple[str, set[str] | None]] = {}
    for f in families:
        if f.name.endswith("_created") and f.name.removesuffix("_created") in counted:
            continue  # prometheus_client's creation time of a counter or histogram
        name = f"{f.name}_total" if f.type == "counter" else f.name
        labels = {k for s in f.samples for k in s.labels} if f.samples else None
        out[name] = (f.type, labels)
    return out


def compare(
    doc: dict[str, tuple[str, set[str]]], live: dict[str, tuple[str, set[str] | None]]
) -> None:
    assert sorted(set(live) - set(doc)) == [], "exported but not in docs/metrics.md"
    assert sorted(set(doc) - set(live)) == [], "in docs/metrics.md but not exported"
    for name, (kind, labels) in live.items():
        assert doc[name][0] == kind, f"{name}: exported as a {kind}, documented as {doc[name][0]}"
        if labels is not None:
            assert doc[name][1] == labels, f"{name}: labels {labels}, documented {doc[name][1]}"


async def test_the_controller_metrics_are_the_documented_ones(tmp_path: Path):
    async with hotline_rig(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'h.db'}", agents=2) as rig:
        await wait_until(lambda: rig.ctl.counters["outcomes"] >= 1, 120, "a call to end")
        assert rig.hotline.urls is not None
        async with aiohttp.ClientSession() as http:
            async with http.get(rig.hotline.urls.metrics) as resp:
                assert resp.status == 200
                text = await resp.text()
    live = exported(text)
    assert live["hotline_calls_total"][1] == {"queue", "outcome"}
    compare(documented("The controller"), live)


async def test_the_probe_metrics_are_the_documented_ones():
    runner, port = await ProbeMetrics().serve("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
                text = await resp.text()
    finally:
        await runner.cleanup()
    compare(documented("The probe"), exported(text))


def test_the_reference_is_linked_from_the_readme():
    assert "docs/metrics.md" in (ROOT / "README.md").read_text(encoding="utf-8")
