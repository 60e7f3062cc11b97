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


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `doctor` subcommand."""
    parser = subparsers.add_parser(
        "doctor",
        help="check that this machine can run avatarcam and say how to fix what is missing",
        description="Check everything avatarcam depends on and print one sentence of fix for "
        "each problem. Exits 0 when every essential check is ok, 1 otherwise.",
    )
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
    """The table of checks followed by a one-line verdict."""
    table = format_table(
        ("CHECK", "STATUS", "DETAIL", "FIX"),
        [(check.name, check.status, check.detail, check.fix) for check in results],
    )
    return f"{table}\n\n{summarize(results)}"


def summarize(results: Sequence[Check]) -> str:
    """One sentence: can avatarcam run, and how many things need attention."""
    failed = failed_essentials(results)
    if failed:
        names = ", ".join(check.name for check in failed)
        return f"avatarcam cannot run: {len(failed)} essential check(s) failed ({names}); apply the fixes above."
    optional = sum(check.status != "ok" for check in results)
    if optional:
        return f"avatarcam can run: all essential checks are ok; {optional} optional feature(s) need attention (see FIX)."
    return f"avatarcam can run: all {len(results)} checks are ok."
