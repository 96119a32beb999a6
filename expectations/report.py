"""Render one run's data-quality results as a self-contained HTML page."""

from __future__ import annotations

import html
import json
from collections import defaultdict
from typing import Any

GROUPS = (("output", "Batch checks on the rows to publish (a failure blocks the publish)"),
          ("input", "Batch checks on all incoming rows (a failure blocks the publish)"),
          ("row", "Row checks (a failing row is quarantined with the check's name)"))

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.8rem; }
table { border-collapse: collapse; min-width: 60%; }
th, td { text-align: left; padding: .35rem .7rem; border-bottom: 1px solid #ddd; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #176f2c; font-weight: 600; } .fail { color: #b3261e; font-weight: 600; }
.note { color: #b26a00; font-weight: 600; }
.verdict { padding: .6rem 1rem; border-radius: .4rem; display: inline-block; margin: .5rem 0; }
.ok { background: #e6f4ea; } .blocked { background: #fce8e6; }
"""


def render_report(results: list[Any], *, title: str) -> str:
    """`results`: dq_results rows of one run (attributes as in the table)."""
    esc = html.escape
    by_group: dict[str, list[Any]] = defaultdict(list)
    for r in results:
        by_group[r.group].append(r)
    blocking = [r for r in results if r.group != "row" and not r.success]
    first = results[0]
    published = first.table_version is not None
    verdict = (f'<div class="verdict ok">Published: {esc(first.table)} version {first.table_version}</div>'
               if published else
               f'<div class="verdict blocked">Blocked: {len(blocking)} batch check(s) failed; nothing was published</div>')
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>",
             f"<style>{STYLE}</style></head><body>", f"<h1>{esc(title)}</h1>",
             f"<p>Run <code>{esc(first.run_id)}</code>, suite <code>{esc(first.suite)}</code>, "
             f"checked {first.checked_at:%Y-%m-%d %H:%M:%S} UTC</p>", verdict]
    for group, heading in GROUPS:
        rows = by_group.get(group, [])
        if not rows:
            continue
        parts.append(f"<h2>{esc(heading)}</h2><table><tr><th>check</th><th>result</th><th>expectation</th>"
                     "<th>observed</th><th>unexpected rows</th><th>of rows</th></tr>")
        for r in sorted(rows, key=lambda r: (r.success, r.check)):
            if r.success:
                mark = '<span class="pass">pass</span>'
            elif group == "row":
                mark = '<span class="note">quarantined</span>'
            else:
                mark = '<span class="fail">FAIL</span>'
            observed = _observed(r.observed_value)
            parts.append(
                f"<tr><td>{esc(r.check)}</td><td>{mark}</td><td>{esc(r.expectation)}</td>"
                f"<td>{esc(observed[:200])}</td><td class='num'>{_num(r.unexpected_count)}</td>"
                f"<td class='num'>{_num(r.element_count)}</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _observed(raw: str | None) -> str:
    """Observed values are stored as JSON text; floats are shown to 4 significant digits."""
    if raw in (None, "null"):
        return ""
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return f"{value:.4g}" if isinstance(value, float) else raw


def _num(value: int | None) -> str:
    return "" if value is None else f"{value:,}"
