"""HTML of the admin page and of the privacy notice (the survey page is in ``survey.py``).

The privacy notice is rendered from docs/COLLECTOR.md, so what respondents read and what the
documentation says about each collected attribute are one text, never two.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

__all__ = ["admin_page", "privacy_page", "markdown_to_html"]

_HEAD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="stylesheet" href="/static/style.css"></head>"""


def _fmt(value, spec: str) -> str:
    return "" if value is None else format(value, spec)


def _reasons(reasons: list[dict]) -> str:
    if not reasons:
        return '<span class="muted">none</span>'
    return "".join(f"<code>{html.escape(r['code'])} {r['value']:+.2f}</code>" for r in reasons)


def admin_page(rows: list[dict], survey_id: str) -> str:
    """Recent submissions, newest first: time, id, consent, decision, score, risk, reasons.

    Parameters
    ----------
    rows : list of dict
        :meth:`ResultStore.recent` output.
    survey_id : str
    """
    counts = Counter(r["decision"] for r in rows)
    summary = "".join(f"<div><strong>{counts.get(d, 0)}</strong> {d}</div>" for d in ("accept", "review", "reject", "error"))
    body = []
    for r in rows:
        when = datetime.fromtimestamp(r["received_ms"] / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        consent = ("device " if r["consent_usage"] else "") + ("analytics" if r["consent_analytics"] else "")
        problems = r["error"] or ", ".join(r["warnings"])
        body.append(
            "<tr>"
            f"<td>{when}</td>"
            f"<td><code>{html.escape(r['submission_id'][:13])}</code></td>"
            f"<td>{html.escape(consent.strip()) or '<span class=muted>none</span>'}</td>"
            f'<td><span class="badge {html.escape(r["decision"])}">{html.escape(r["decision"])}</span></td>'
            f'<td class="num">{_fmt(r["score"], ".3f")}</td>'
            f'<td class="num">{_fmt(r["risk"], ".0f")}</td>'
            f'<td class="reasons">{_reasons(r["reasons"])}</td>'
            f'<td class="num">{r["duplicate_count"]}</td>'
            f"<td>{html.escape(problems) or ''}</td>"
            "</tr>")
    table = "".join(body) or '<tr><td colspan="9" class="muted">No submissions yet.</td></tr>'
    return (_HEAD.format(title="Survey admin: recent submissions")
            + f"""<body class="admin"><main>
<h1>Recent submissions <span class="muted">({html.escape(survey_id)})</span></h1>
<p class="muted">Scored by fraudscore as they arrived; reasons are the codes that pushed the score up
(log-odds contributions). Newest first; times in UTC.</p>
<div class="summary">{summary}</div>
<table>
<thead><tr><th>received</th><th>submission</th><th>consent</th><th>decision</th><th>score</th><th>risk</th>
<th>reasons</th><th>seen before</th><th>errors / warnings</th></tr></thead>
<tbody>{table}</tbody>
</table>
</main></body></html>
""")


def _inline(text: str) -> str:
    text = html.escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"\1", text)  # repository links mean nothing to respondents


def markdown_to_html(markdown: str) -> str:
    """The small Markdown subset docs/COLLECTOR.md uses: headings, paragraphs, lists, tables."""
    out: list[str] = []
    paragraph: list[str] = []
    in_list = False
    table: list[list[str]] = []

    def flush() -> None:
        nonlocal in_list, table
        if paragraph:
            out.append("<p>" + _inline(" ".join(paragraph)) + "</p>")
            paragraph.clear()
        if in_list:
            out.append("</ul>")
            in_list = False
        if table:
            head, rows = table[0], [r for r in table[1:] if not all(set(c) <= set("-: ") for c in r)]
            out.append("<table><thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr></thead><tbody>"
                       + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in rows)
                       + "</tbody></table>")
            table = []

    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            flush()
            in_code = not in_code
            out.append("<pre>" if in_code else "</pre>")
            continue
        if in_code:
            out.append(html.escape(line))
            continue
        stripped = line.strip()
        if stripped.startswith("|"):
            if paragraph or in_list:
                flush()
            table.append([c.strip() for c in stripped.strip("|").split("|")])
        elif stripped.startswith("#"):
            flush()
            level = len(stripped) - len(stripped.lstrip("#"))
            out.append(f"<h{level}>{_inline(stripped[level:].strip())}</h{level}>")
        elif stripped.startswith(("- ", "* ")):
            if paragraph or table:
                flush()
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append("<li>" + _inline(stripped[2:]) + "</li>")
        elif not stripped:
            flush()
        elif stripped.startswith("!["):
            continue  # screenshots are for developers
        elif in_list:
            out[-1] = out[-1][:-5] + " " + _inline(stripped) + "</li>"
        else:
            paragraph.append(stripped)
    flush()
    return "\n".join(out)


def privacy_page(collector_doc: Path) -> str:
    """The privacy notice: the "What is collected and why" part of docs/COLLECTOR.md."""
    text = collector_doc.read_text(encoding="utf-8")
    start = text.find("## What is collected and why")
    end = text.find("\n## ", start + 1) if start >= 0 else -1
    section = text[start:end if end > 0 else None] if start >= 0 else text
    return (_HEAD.format(title="What this survey collects")
            + "<body class=\"admin\"><main><h1>What this survey collects and why</h1>\n"
            + markdown_to_html(section.replace("## What is collected and why", "", 1))
            + "</main></body></html>\n")
