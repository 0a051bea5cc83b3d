"""Generate the reference pages in docs/ from code, so they cannot drift from it.

``python -m fraudscore.docs`` rewrites them; ``python -m fraudscore.docs --check`` exits 1 when a
page is stale (the test suite runs the same check).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["GENERATED", "render", "main"]


def _schema() -> str:
    from fraudscore.schema import schema_markdown

    return schema_markdown()


def _codes() -> str:
    from fraudscore.codes import MEANING, Code

    lines = [
        "# Error and warning codes",
        "",
        "Generated from `fraudscore/codes.py` by `python -m fraudscore.docs`; do not edit by hand.",
        "",
        "An **error** means the row cannot be scored: it still gets its output row, with",
        "`decision = \"error\"` and the code in `error`. A **warning** means one field was unusable",
        "(it became missing) or was repaired (truncated, sorted); the rest of the row is scored.",
        "",
        "| code | value | kind | meaning |",
        "|---|---|---|---|",
    ]
    for code in Code:
        if code is Code.OK:
            continue
        kind = "error" if code.is_error else "warning"
        lines.append(f"| `{code.name}` | {code.value} | {kind} | {MEANING[code]} |")
    return "\n".join(lines) + "\n"


def _features() -> str:
    from fraudscore.features.registry import features_markdown

    return features_markdown()


def _reasons() -> str:
    from fraudscore.reasons import reasons_markdown

    return reasons_markdown()


#: Page path (relative to the repository root) -> function returning its Markdown.
GENERATED: dict[str, Callable[[], str]] = {
    "docs/SCHEMA.md": _schema,
    "docs/CODES.md": _codes,
    "docs/FEATURES.md": _features,
    "docs/REASONS.md": _reasons,
}


def render(page: str) -> str:
    """Markdown of one generated page."""
    return GENERATED[page]()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fraudscore.docs", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root")
    parser.add_argument("--check", action="store_true", help="only report stale pages; exit 1 if any")
    args = parser.parse_args(argv)
    stale = []
    for page in GENERATED:
        path = args.root / page
        text = render(page)
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(page)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {page}")
    if args.check and stale:
        print("stale generated docs: " + ", ".join(stale) + " (run: python -m fraudscore.docs)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
