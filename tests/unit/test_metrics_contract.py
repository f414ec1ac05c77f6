"""The metric names are a contract kept by the dashboard, the alerts and the docs.

They use only metrics the registry defines, every LAW metric is documented, and no label can
hold personal data.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from antrean import metrics

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "law-dashboard.json"
PROMETHEUS = ROOT / "deploy" / "prometheus"
DOCS = ROOT / "docs" / "deployment.md"
# Names, codes and statuses only: no label may say who wrote (phone, sender, message id, code).
ALLOWED_LABELS = {"channel", "response", "code", "status", "action", "dependency", "role"}
_USED = re.compile(r"\blaw_[a-z_]+")


def law_families() -> dict[str, set[str]]:
    """Each LAW metric family's name → the sample names it exposes."""
    return {family.name: {sample.name for sample in family.samples}
            | {family.name + suffix for suffix in ("", "_total", "_bucket", "_sum", "_count")}
            for family in metrics.REGISTRY.collect() if family.name.startswith("law_")}


def exposed() -> set[str]:
    return set().union(*law_families().values())


def test_the_dashboard_uses_only_defined_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    expressions = [target["expr"] for panel in dashboard["panels"]
                   for target in panel.get("targets", [])]
    used = {name for expr in expressions for name in _USED.findall(expr)}
    assert used and used <= exposed(), used - exposed()
    # Every family the brief asks to watch has a panel.
    for family in ("law_messages_received", "law_replies_sent", "law_reply_latency_seconds",
                   "law_nlu_fallbacks", "law_graph_errors", "law_whatsapp_inbox_backlog",
                   "law_notice_outbox_backlog", "law_lock_wait_seconds", "law_ready"):
        assert any(name.startswith(family) for name in used), family


def test_the_alerts_and_scrape_configuration_parse_and_use_defined_metrics() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text(encoding="utf-8"))
    assert {job["job_name"] for job in config["scrape_configs"]} == {
        "law-rasa", "law-actions", "law-console"}
    assert all(job["metrics_path"] == "/metrics" for job in config["scrape_configs"])
    rules = yaml.safe_load((PROMETHEUS / config["rule_files"][0]).read_text(encoding="utf-8"))
    used = {name for group in rules["groups"] for rule in group["rules"]
            for name in _USED.findall(rule["expr"])}
    assert used and used <= exposed(), used - exposed()


def test_every_metric_is_documented() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    missing = [name for name in law_families()
               if f"`{name}`" not in docs and f"`{name}_total`" not in docs]
    assert missing == []


def test_no_label_can_hold_personal_data() -> None:
    labels = {name for collector in metrics.REGISTRY._collector_to_names  # noqa: SLF001
              for name in getattr(collector, "_labelnames", ())}
    assert "channel" in labels and labels <= ALLOWED_LABELS, labels - ALLOWED_LABELS


def test_render_gives_the_text_format_for_any_framework() -> None:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain") and b"# TYPE law_ready gauge" in body
