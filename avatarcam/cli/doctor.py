"""`avatarcam doctor`: check this machine and say how to fix what is missing.

The exit code lets install scripts and CI gate on it: 0 when every essential check is ok
(optional features may still be missing), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict

from avatarcam.cli.table import format_table
from avatarcam.runtime import checks
from avatarcam.runtime.checks import Check


def register(parser: argparse.ArgumentParser) -> None:
    """Fill in the `doctor` subcommand's parser (main names it and gives its one-line help)."""
    parser.description = (
        "Check everything avatarcam depends on and print one sentence of fix for "
        "each problem. Exits 0 when every essential check is ok, 1 otherwise.")
    parser.add_argument("--json", action="store_true", help="print the checks as a JSON list")
    parser.set_defaults(handler=run_doctor)


def run_doctor(args: argparse.Namespace) -> int:
    """Run every check, print the report and return 0 only if the essentials are ok."""
    results = checks.run_all_checks()
    if args.json:
        print(json.dumps([asdict(check) for check in results], indent=2))
    else:
        print(format_report(results))
    return 1 if failed_essentials(results) else 0


def failed_essentials(results: Sequence[Check]) -> list[Check]:
    """The essential checks that are not ok: any one of them stops avatarcam from running."""
    return [check for check in results if check.essential and check.status != "ok"]


def format_report(results: Sequence[Check]) -> str:
    """The table of checks, each problem's fix on the line under it (the sentences are too
    long for a column), then a one-line verdict."""
    table = format_table(("CHECK", "STATUS", "DETAIL"), [(c.name, c.status, c.detail) for c in results])
    header, *rows = table.splitlines()
    lines = [header]
    for check, row in zip(results, rows):
        lines.append(row)
        if check.status != "ok" and check.fix:
            lines.append(f"    fix: {check.fix}")
    return "\n".join(lines) + f"\n\n{summarize(results)}"


def summarize(results: Sequence[Check]) -> str:
    """One sentence: can avatarcam run, and how many things need attention."""
    failed = failed_essentials(results)
    if failed:
        names = ", ".join(check.name for check in failed)
        return f"avatarcam cannot run: {len(failed)} essential check(s) failed ({names}); apply the fixes above."
    optional = sum(check.status != "ok" for check in results)
    if optional:
        return f"avatarcam can run: all essential checks are ok; {optional} optional feature(s) need attention (see the fixes above)."
    return f"avatarcam can run: all {len(results)} checks are ok."
