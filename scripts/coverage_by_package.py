"""Branch coverage per top-level package, from the ``coverage json`` report on stdin.

``scripts/test`` prints it after the tests: one line per package (statements and
branches covered / total) and the whole tree.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict


def main() -> None:
    report = json.load(sys.stdin)
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for path, data in report["files"].items():
        s = data["summary"]
        top = path.split("/", 1)[0]
        if top == "callcenter" and path.count("/") > 1:
            top = "/".join(path.split("/")[:2])  # callcenter/ami, callcenter/flow ...
        row = sums[top]
        row[0] += s["covered_lines"]
        row[1] += s["num_statements"]
        row[2] += s.get("covered_branches", 0)
        row[3] += s.get("num_branches", 0)
    print(f"{'package':24} {'lines':>14} {'branches':>14} {'total':>7}")
    for name, (cl, nl, cb, nb) in sorted(sums.items()):
        pct = 100.0 * (cl + cb) / (nl + nb) if nl + nb else 100.0
        print(f"{name:24} {cl:6}/{nl:<7} {cb:6}/{nb:<7} {pct:6.1f}%")
    total = report["totals"]
    print(f"{'all':24} {'':14} {'':14} {total['percent_covered']:6.1f}%")


if __name__ == "__main__":
    main()
