"""``python -m govcrawl.extract PATH [--url URL]``: print the report item of one file as JSON.

Reads .html/.htm/.txt/.pdf/.docx/.doc files (the kind is sniffed from the
bytes, not trusted from the name).  Exit status: 0 for a report, 3 for a
document that is not a report (the item is printed all the same), 2 for a
usage error such as a missing file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from govcrawl.extract import extract_document, is_report
from govcrawl.extract.schema import validate_item


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m govcrawl.extract",
        description="Extract the report item (tables, metadata, checks) from one downloaded document.",
    )
    parser.add_argument("path", help="file to read (.html .htm .txt .pdf .docx .doc); - for stdin")
    parser.add_argument("--url", help="URL the file was downloaded from (default: file:// URL of PATH)")
    parser.add_argument("--charset", help="charset the server declared (as if sent in Content-Type)")
    parser.add_argument("--portal", help="portal name to put in the item")
    parser.add_argument("--compact", action="store_true", help="one line of JSON (JSON Lines) instead of indented")
    args = parser.parse_args(argv)

    if args.path == "-":
        body = sys.stdin.buffer.read()
        url = args.url or "stdin:"
    else:
        path = Path(args.path)
        if not path.is_file():
            print(f"govcrawl.extract: no such file: {path}", file=sys.stderr)
            return 2
        body = path.read_bytes()
        url = args.url or path.resolve().as_uri()
    headers = {"Content-Type": f"text/html; charset={args.charset}"} if args.charset else None
    item = extract_document(body, url, headers, portal=args.portal)
    for error in validate_item(item):  # a bug of ours, not of the input: say it loudly
        print(f"govcrawl.extract: item breaks the schema: {error}", file=sys.stderr)
    indent = None if args.compact else 2
    sys.stdout.write(json.dumps(item, ensure_ascii=False, indent=indent) + "\n")
    return 0 if is_report(item) else 3


if __name__ == "__main__":
    sys.exit(main())
