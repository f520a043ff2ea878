"""Reading feeds: JSON Lines files, directories of them and glob patterns.

A line that is not a JSON object (truncated write, hand edit, binary junk) is
reported as ``file:line`` on stderr and skipped; the export goes on and the
count of skipped lines is part of its summary.  Progress on large inputs is a
single line on stderr, written every ``PROGRESS_EVERY`` lines.
"""

from __future__ import annotations

import glob
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Iterable, Iterator, TextIO

PROGRESS_EVERY = 5000


@dataclass
class ReadStats:
    files: int = 0
    lines: int = 0
    items: int = 0
    bad_lines: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FeedLine:
    """One item with where it came from: the order of lines breaks ties between equal timestamps."""

    item: dict
    source: str
    line: int
    order: int


def expand_inputs(inputs: Iterable[str]) -> list[str]:
    """Files named, ``*.jsonl`` files inside directories (sorted), and glob matches (sorted).

    Order is kept as given because a later line wins a tie on ``fetched_at``.
    A name that matches nothing raises ``FileNotFoundError``: a typo must not
    silently give an empty dataset.
    """
    files: list[str] = []
    for name in inputs:
        if os.path.isdir(name):
            found = sorted(glob.glob(os.path.join(glob.escape(name), "**", "*.jsonl"), recursive=True))
        elif os.path.exists(name):
            found = [name]
        else:
            found = sorted(p for p in glob.glob(name, recursive=True) if os.path.isfile(p))
        if not found:
            raise FileNotFoundError(f"{name}: no such file, or no .jsonl file there")
        files += [f for f in found if f not in files]
    return files


def _problem(stats: ReadStats, message: str, err: TextIO | None) -> None:
    stats.bad_lines += 1
    stats.problems.append(message)
    if err is not None:
        print(f"warning: {message}", file=err)


def read_feeds(files: Iterable[str], stats: ReadStats, *, progress: bool = False,
               err: TextIO | None = sys.stderr) -> Iterator[FeedLine]:
    """Every report item of ``files``, in file and line order."""
    order = 0
    for path in files:
        stats.files += 1
        # Bytes, decoded line by line: a line of broken UTF-8 is one bad line, not mojibake in the data.
        with open(path, "rb") as feed:
            for number, raw in enumerate(feed, 1):
                stats.lines += 1
                if progress and err is not None and stats.lines % PROGRESS_EVERY == 0:
                    print(f"read {stats.lines} lines, {stats.items} reports ({path})", file=err, flush=True)
                if not raw.strip():
                    continue
                try:
                    item = json.loads(raw.decode("utf-8"))
                except UnicodeDecodeError as exc:
                    _problem(stats, f"{path}:{number}: not UTF-8 (byte {exc.start + 1}), skipped", err)
                    continue
                except json.JSONDecodeError as exc:
                    _problem(stats, f"{path}:{number}: not JSON ({exc.msg} at column {exc.colno}), skipped", err)
                    continue
                if not isinstance(item, dict) or not isinstance(item.get("url"), str):
                    _problem(stats, f"{path}:{number}: not a report item (no url), skipped", err)
                    continue
                stats.items += 1
                order += 1
                yield FeedLine(item, path, number, order)
