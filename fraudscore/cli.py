"""The ``fraudscore`` command line.

Each sub-command is a thin shell over a library function; the work lives in the module of its
stage, so the command line never does anything the library cannot.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main"]


def _cmd_validate(args: argparse.Namespace) -> int:
    from fraudscore.validate import validate_file

    report = validate_file(args.input, output=args.output, chunk_size=args.chunk_size, progress=not args.quiet)
    print(report.summary())
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from fraudscore.simulation import write_simulation

    families = args.families.split(",") if args.families else None
    summary = write_simulation(
        args.output,
        n=args.n,
        fraud_rate=args.fraud_rate,
        families=families,
        difficulty=args.difficulty,
        seed=args.seed,
        chunk_size=args.chunk_size,
        progress=not args.quiet,
    )
    print(summary)
    return 0


def _parser() -> argparse.ArgumentParser:
    from fraudscore import __version__

    parser = argparse.ArgumentParser(prog="fraudscore", description="Fraud scoring for online survey submissions.")
    parser.add_argument("--version", action="version", version=f"fraudscore {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check submissions against the input contract; per-row error codes")
    p.add_argument("input", type=Path, help="JSONL or Parquet file of submissions")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="write per-row errors and warnings here (.csv, .jsonl or .parquet)")
    p.add_argument("--chunk-size", type=int, default=50_000, help="rows read at a time (bounds memory)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("simulate", help="generate labelled survey traffic (honest people and attacks)")
    p.add_argument("--n", type=int, required=True, help="number of submissions")
    p.add_argument("--fraud-rate", type=float, default=0.1, help="share of fraudulent submissions")
    p.add_argument("--families", default=None, help="comma-separated attack families (default: all)")
    p.add_argument("--difficulty", default="default", help="crude | default | hard (or a number in [0, 1])")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--chunk-size", type=int, default=20_000, help="submissions generated and written at a time")
    p.add_argument("-o", "--output", type=Path, required=True, help=".parquet or .jsonl")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_simulate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``fraudscore`` console script."""
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"fraudscore {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
