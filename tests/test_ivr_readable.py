"""The caller's IVR trail as readable steps for the desk (issue 15): node and choice in
words from ``labels``, else what the option did; bad labels refused by file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr import IvrConfigError, TrailStep, load_ivr, readable_trail

SAMPLE = Path(__file__).resolve().parents[1] / "config" / "ivr.yaml"


def test_a_trail_reads_as_labelled_steps() -> None:
    ivr = load_ivr(SAMPLE, queues={"support"})
    trail = [TrailStep(0.0, "language", "enter"), TrailStep(2.0, "language", "digits", "2"),
             TrailStep(2.1, "main", "enter"), TrailStep(5.0, "main", "timeout"),
             TrailStep(9.0, "main", "invalid", "7"), TrailStep(11.0, "main", "digits", "2")]  # fmt: skip
    assert readable_trail(ivr, trail) == [
        {"node": "language", "label": {"en": "Language menu", "vi": "Chọn ngôn ngữ"},
         "what": "digits", "detail": "2", "choice": {"language": "en"}},
        {"node": "main", "label": {"en": "Main menu", "vi": "Menu chính"},
         "what": "timeout", "detail": "", "choice": None},
        {"node": "main", "label": {"en": "Main menu", "vi": "Menu chính"},
         "what": "invalid", "detail": "7", "choice": None},
        {"node": "main", "label": {"en": "Main menu", "vi": "Menu chính"},
         "what": "digits", "detail": "2", "choice": {"label": {"en": "Billing", "vi": "Thanh toán"}}},
    ]  # fmt: skip


def test_without_labels_the_option_says_what_it_did(tmp_path: Path) -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    start, end = text.index("labels:"), text.index("\nnodes:")
    path = tmp_path / "ivr.yaml"
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    ivr = load_ivr(path, queues={"support"})
    trail = [TrailStep(0.0, "language", "enter"), TrailStep(1.0, "language", "digits", "1"),
             TrailStep(1.1, "main", "enter"), TrailStep(3.0, "main", "digits", "0")]  # fmt: skip
    steps = readable_trail(ivr, trail)
    assert [(s["node"], s["label"], s["choice"]) for s in steps] == [
        ("language", None, {"language": "vi"}), ("main", None, {"queue": "support"})]
    # a node entered with nothing else there is one step of its own
    only = readable_trail(ivr, [TrailStep(0.0, "language", "enter")])
    assert [(s["node"], s["what"]) for s in only] == [("language", "enter")]


@pytest.mark.parametrize(("key", "reason"), [
    ("nowhere", "labels: nowhere: no node 'nowhere'"),
    ("main.9", "labels: main.9: node 'main' has no option '9'"),
    ("language.x.1", "node 'language' has no option 'x.1'"),
])  # fmt: skip
def test_a_label_of_nothing_is_refused_by_line(tmp_path: Path, key: str, reason: str) -> None:
    text = SAMPLE.read_text(encoding="utf-8").replace(
        "labels:\n", f"labels:\n  {key}: {{en: Somewhere}}\n", 1)
    path = tmp_path / "ivr.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(IvrConfigError) as caught:
        load_ivr(path, queues={"support"})
    [problem] = [str(p) for p in caught.value.problems]
    assert problem.startswith(f"{path}:18: ") and reason in problem, problem  # the labels: line
