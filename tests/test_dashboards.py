"""The shipped Grafana dashboard and Prometheus alert rules (dashboards/) hold:
``promtool check rules`` and ``promtool test rules`` pass, the dashboard's queries
are PromQL that promtool parses, and every metric the dashboard and the rules name
is in a real run's ``/metrics`` before the first call (pbxsim over TCP, SQLite).

promtool comes from Debian's ``prometheus`` package (``.ci/run`` installs it); where
it is absent the promtool tests skip and say so.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from .e2e_support import ROOT, hotline_rig, no_caller_world, wait_until

DASHBOARD = ROOT / "dashboards" / "grafana" / "hotline.json"
RULES = ROOT / "dashboards" / "prometheus" / "alerts.yml"
RULES_TEST = ROOT / "dashboards" / "prometheus" / "alerts_test.yml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool not found: install Debian's `prometheus` package (.ci/run does)",
)
#: a metric name in a PromQL expression (label names and values are quoted or follow `{`)
METRIC = re.compile(r"\bhotline_[a-z0-9_]+\b")
#: Grafana's variables, as a query may hold them
VARIABLES = {"$__rate_interval": "5m", "$instance": ".*", "$queue": ".*"}


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def dashboard_exprs() -> list[str]:
    return [t["expr"] for p in dashboard()["panels"] for t in p.get("targets", [])]


def rule_exprs() -> list[str]:
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [r["expr"] for g in rules["groups"] for r in g["rules"]]


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


@needs_promtool
def test_promtool_checks_the_alert_rules():
    done = promtool("check", "rules", RULES.name, cwd=RULES.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rule_exprs())} rules found" in done.stdout


@needs_promtool
def test_promtool_tests_the_alert_rules_with_their_series():
    done = promtool("test", "rules", RULES_TEST.name, cwd=RULES_TEST.parent)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_has_a_test_that_fires_it():
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    tests = yaml.safe_load(RULES_TEST.read_text(encoding="utf-8"))["tests"]
    fired = {c["alertname"] for t in tests for c in t["alert_rule_test"] if c["exp_alerts"]}
    assert alerts == fired


@needs_promtool
def test_the_dashboard_queries_are_promql_promtool_parses(tmp_path: Path):
    # each query as a recording rule: `promtool check rules` parses its expression
    rules = []
    for i, expr in enumerate(dashboard_exprs()):
        for name, value in VARIABLES.items():
            expr = expr.replace(name, value)
        assert "$" not in expr, f"a Grafana variable the test does not know: {expr}"
        rules.append({"record": f"hotline:dashboard_query_{i}", "expr": expr})
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = promtool("check", "rules", path.name, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_dashboard_is_well_formed():
    d = dashboard()
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    variables = {v["name"] for v in d["templating"]["list"]}
    assert {"datasource", "instance", "queue"} <= variables
    for p in d["panels"]:
        if p["type"] == "row":
            continue
        assert p["datasource"]["uid"] == "${datasource}", p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert refs and len(refs) == len(set(refs)), p["title"]
    assert len(dashboard_exprs()) >= 20


async def test_every_metric_the_dashboard_and_the_rules_name_is_in_a_real_runs_metrics(
    tmp_path: Path,
):
    db = f"sqlite+aiosqlite:///{tmp_path / 'h.db'}"
    async with hotline_rig(tmp_path, db, no_caller_world, agents=2) as rig:
        await wait_until(lambda: all(n.synced.is_set() for n in rig.ctl.nodes.values()),
                         60, "every node synced")  # fmt: skip
        assert rig.hotline.urls is not None
        async with aiohttp.ClientSession() as http:
            async with http.get(rig.hotline.urls.metrics) as resp:
                text = await resp.text()
        assert rig.ctl.counters["calls"] == 0
    # the exposition parses; the names its samples carry (x_total, x_bucket, x_count ...)
    exported = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
    named = {m for expr in dashboard_exprs() + rule_exprs() for m in METRIC.findall(expr)}
    assert len(named) >= 20
    assert sorted(named - exported) == [], "queried but not in /metrics"
    # the dashboard's variables read series that exist
    for v in dashboard()["templating"]["list"]:
        if v["type"] == "query":
            assert set(METRIC.findall(v["definition"])) <= exported, v["name"]
