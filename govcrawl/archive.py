"""The raw archive: WARC files holding every report page and attachment the crawl downloaded.

This module owns the WARC format for govcrawl, writing and reading, and knows
nothing about Scrapy (``govcrawl.pipelines.archive`` is the crawl's adapter,
``govcrawl.reextract`` the reader's main user).

Writing (``ArchiveWriter``): per document one ``response`` record and one
``request`` record (``WARC-Concurrent-To`` the response), each its own gzip
member (``.warc.gz``, WARC 1.1, written byte for byte as ``warcio`` writes them; bodies
compressed already — PDF, ZIP, JPEG, PNG, GIF — in level-0 members, the rest deflated at
level 3).  Files are
``<dir>/govcrawl-<UTC start time>-<seq>.warc.gz``, each opening with a
``warcinfo`` record, and a new one starts once a file has reached
``max_bytes``.  A file name is taken with exclusive creation, so several
crawl processes can share one directory.  Every record is built in memory and
written with one ``write`` + ``flush``: a crash leaves whole records plus at
most one cut record at the end, which ``iter_documents`` stops before.

What a response record holds:

* ``WARC-Target-URI`` — the URL of the bytes (``provenance.source_url``);
  ``WARC-Date`` — the download time (``provenance.fetched_at``);
* the HTTP status line and response headers, byte for byte, except that the
  body is stored as Scrapy handed it over, i.e. already decoded: a
  ``Content-Encoding``/``Transfer-Encoding`` header is renamed
  ``X-Govcrawl-Original-…`` and ``Content-Length`` is the stored length, so the
  payload is exactly the bytes that ``provenance.content_sha256`` hashes;
* govcrawl's own facts in ``Govcrawl-*`` WARC headers: ``Govcrawl-Portal``,
  ``Govcrawl-Item-Url`` (the report page that names the item),
  ``Govcrawl-Referer`` (the list page), ``Govcrawl-Kind`` (report /
  attachment), ``Govcrawl-Title-Hint`` (the link text that led here).

The request record is rebuilt from what the crawl knows (method GET, the URL,
the user agent and default headers, the referer), marked
``Govcrawl-Request: rebuilt``: Scrapy does not hand the sent headers on with
the item.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http import HTTPStatus
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

DEFAULT_MAX_BYTES = 1024 ** 3  # 1 GiB: big enough to keep file counts low, small enough to move around
FILE_PREFIX = "govcrawl"
SOFTWARE = "govcrawl/0.1"
# Headers that describe a transfer encoding of the body; the stored body is already decoded.
_ENCODING_HEADERS = ("content-encoding", "transfer-encoding")
GOVCRAWL_FIELDS = {  # WARC header → DocumentItem field
    "Govcrawl-Portal": "portal",
    "Govcrawl-Item-Url": "url",
    "Govcrawl-Referer": "referer",
    "Govcrawl-Kind": "kind",
    "Govcrawl-Title-Hint": "title_hint",
}


def header_pairs(headers: Any) -> list[tuple[bytes, bytes]]:
    """Scrapy ``Headers``, a plain mapping or (name, value) pairs as (name, value) byte pairs, one per value."""
    if not headers:
        return []
    if isinstance(headers, (list, tuple)):
        return [(_bytes(name), _bytes(value)) for name, value in headers]
    pairs = []
    for name, values in headers.items():
        if not isinstance(values, (list, tuple)):
            values = [values]
        for value in values:
            pairs.append((_bytes(name), _bytes(value)))
    return pairs


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    # Header bytes are latin-1 in Scrapy's own str conversions: round-trips any byte.
    return str(value).encode("latin-1", errors="replace")


def _one_line(value: Any) -> str:
    # A WARC header value is one line; list link texts can hold newlines.
    return re.sub(r"[\r\n]+", " ", str(value)).strip()


def warc_date(fetched_at: str | None) -> str:
    """``fetched_at`` (``2026-11-21T10:00:00Z``) as a WARC-Date, now when missing."""
    if fetched_at:
        return fetched_at
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def http_response_head(status: int, headers: Any, body_length: int) -> bytes:
    """The stored HTTP response head: status line and headers (byte for byte), blank line."""
    reason = ""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        pass
    lines = [f"HTTP/1.1 {status} {reason}".rstrip().encode("ascii")]
    for name, value in header_pairs(headers):
        lowered = name.lower().decode("latin-1")
        if lowered == "content-length":
            continue
        if lowered in _ENCODING_HEADERS:
            name = b"X-Govcrawl-Original-" + name
        lines.append(name + b": " + value)
    lines.append(b"Content-Length: %d" % body_length)
    return b"\r\n".join(lines) + b"\r\n\r\n"


def http_request_head(url: str, headers: Iterable[tuple[str, str]]) -> bytes:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {_one_line(value)}" for name, value in headers if value]
    return "\r\n".join(lines).encode("latin-1", errors="replace") + b"\r\n\r\n"


@dataclass
class ArchiveRef:
    """Where one document's bytes are: ``provenance.archive``."""

    warc: str  # file name inside the archive directory
    record_id: str  # the response record's WARC-Record-ID without its angle brackets: ``urn:uuid:…``

    def as_dict(self) -> dict[str, str]:
        return {"warc": self.warc, "record_id": self.record_id}


def bare_record_id(record_id: str) -> str:
    """``<urn:uuid:…>`` (the WARC header) → ``urn:uuid:…`` (the item schema's pattern)."""
    return record_id.strip().lstrip("<").rstrip(">")


# Bodies that are compressed already: PDF (its streams are), ZIP (DOCX, XLSX, OFD), JPEG, PNG, GIF.
# Deflate gains them 2% (the real reports in ../shared/real) to 7% (the benchmark's PDFs) for most of
# the archive's CPU, so their records are stored in gzip members of level 0.
_COMPRESSED_MAGIC = (b"%PDF-", b"PK\x03\x04", b"\xff\xd8\xff", b"\x89PNG", b"GIF8")
# Everything else (HTML, text): deflate level 3 shrinks the benchmark's report pages ~8.7× in half the
# CPU of level 6 (~9.6×); as PDFs are most of an archive's bytes, the archive is ~1% bigger for it.
_GZIP_LEVEL = 3


def _gzip_member(data: bytes, level: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS + 16)
    return compressor.compress(data) + compressor.flush()


def _serialize(build) -> tuple[list[Any], bytes]:
    """The records ``build`` makes with warcio (a file's warcinfo record), each its own gzip member."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=False, warc_version="1.1")
    records = build(writer)
    members = []
    for record in records:
        buffer.seek(0)
        buffer.truncate()
        writer.write_record(record)
        members.append(_gzip_member(buffer.getvalue(), _GZIP_LEVEL))
    return records, b"".join(members)


def archive_facts(facts: Mapping[str, Any] | None) -> dict[str, str]:
    """The ``Govcrawl-*`` WARC headers of a DocumentItem (or any mapping of its fields)."""
    return {name: _one_line(facts[key]) for name, key in GOVCRAWL_FIELDS.items() if facts and facts.get(key)}


def _sha1(*parts: bytes) -> str:
    digest = hashlib.sha1()
    for part in parts:
        digest.update(part)
    return "sha1:" + base64.b32encode(digest.digest()).decode("ascii")


def _record_member(warc_headers: list[tuple[str, str]], block: bytes, level: int) -> bytes:
    """One WARC record (headers, then ``block``: HTTP head and payload) as one gzip member."""
    head = "WARC/1.1\r\n" + "".join(f"{name}: {value}\r\n" for name, value in warc_headers) + "\r\n"
    return _gzip_member(head.encode("utf-8") + block + b"\r\n\r\n", level)


def document_records(*, url: str, body: bytes, status: int = 200, headers: Any = None,
                     fetched_at: str | None = None, referer: str | None = None,
                     facts: Mapping[str, str] | None = None,
                     request_headers: Iterable[tuple[str, str]] = ()) -> tuple[bytes, str]:
    """One document's response and request records, gzipped, ready to append; and the response's record id.

    A pure function of its arguments (no file, no writer state), so the crawl builds records
    in its extraction workers and only appends the bytes (``ArchiveWriter.append``).
    ``facts`` are ``archive_facts(item)``.

    Written by hand, byte for byte what warcio's ``WARCWriter`` writes for the same records
    (same header order, digests and lengths; tests/test_archive.py compares the two), at a
    third of its CPU: warcio's record objects, header parsing and stream copies cost more
    than the digests and the deflate.
    """
    date = warc_date(fetched_at)
    payload = body or b""
    response_head = http_response_head(status, headers, len(payload))
    record_id = f"<urn:uuid:{uuid.uuid4()}>"
    response = _record_member(
        [("WARC-Date", date), *(facts or {}).items(), ("WARC-Type", "response"), ("WARC-Record-ID", record_id),
         ("WARC-Target-URI", url), ("WARC-Payload-Digest", _sha1(payload)),
         ("WARC-Block-Digest", _sha1(response_head, payload)),
         ("Content-Type", "application/http; msgtype=response"),
         ("Content-Length", str(len(response_head) + len(payload)))],
        response_head + payload, 0 if payload[:5].startswith(_COMPRESSED_MAGIC) else _GZIP_LEVEL)
    request_head = http_request_head(url, [*request_headers, ("Referer", referer or "")])
    request = _record_member(
        [("WARC-Date", date), ("Govcrawl-Request", "rebuilt"), ("WARC-Concurrent-To", record_id),
         ("WARC-Type", "request"), ("WARC-Record-ID", f"<urn:uuid:{uuid.uuid4()}>"), ("WARC-Target-URI", url),
         ("WARC-Payload-Digest", _sha1(b"")), ("WARC-Block-Digest", _sha1(request_head)),
         ("Content-Type", "application/http; msgtype=request"), ("Content-Length", str(len(request_head)))],
        request_head, _GZIP_LEVEL)
    return response + request, bare_record_id(record_id)


class ArchiveWriter:
    """Appends documents to rotating ``.warc.gz`` files in one directory."""

    def __init__(self, directory: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES,
                 prefix: str = FILE_PREFIX, request_headers: Iterable[tuple[str, str]] = ()):
        self.directory = Path(directory)
        self.max_bytes = max(int(max_bytes), 1)
        self.prefix = prefix
        self.request_headers = list(request_headers)
        self.started = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        self.seq = 0
        self.file: io.BufferedWriter | None = None
        self.path: Path | None = None
        self.files: list[Path] = []  # every file this writer opened
        self.bytes_written = 0

    def _open_next(self) -> None:
        self.close()
        self.directory.mkdir(parents=True, exist_ok=True)
        while True:
            path = self.directory / f"{self.prefix}-{self.started}-{self.seq:05d}.warc.gz"
            self.seq += 1
            try:
                self.file = open(path, "xb")  # exclusive: another worker may have taken this name
            except FileExistsError:
                continue
            break
        self.path = path
        self.files.append(path)
        info = {"software": SOFTWARE, "format": "WARC File Format 1.1",
                "description": "govcrawl raw archive: report pages and attachments as downloaded"}
        self._write(lambda writer: [writer.create_warcinfo_record(path.name, info)])

    def _write(self, build) -> list[Any]:
        """Build records into memory, then write them to the file in one go and flush."""
        records, data = _serialize(build)
        self.append(data)
        return records

    def append(self, data: bytes) -> str:
        """Append already gzipped records (``document_records``), rotating first if full; the file's name."""
        if self.file is None or self.file.tell() >= self.max_bytes:
            self._open_next()
        assert self.file is not None and self.path is not None
        self.file.write(data)
        self.file.flush()
        self.bytes_written += len(data)
        return self.path.name

    def write(self, *, url: str, body: bytes, status: int = 200, headers: Any = None,
              fetched_at: str | None = None, referer: str | None = None,
              facts: Mapping[str, Any] | None = None) -> ArchiveRef:
        """Archive one downloaded document; returns the pointer for ``provenance.archive``."""
        data, record_id = document_records(url=url, body=body, status=status, headers=headers,
                                           fetched_at=fetched_at, referer=referer, facts=archive_facts(facts),
                                           request_headers=self.request_headers)
        return ArchiveRef(self.append(data), record_id)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


# ------------------------------------------------------------------ reading

@dataclass
class ArchivedDocument:
    """One response record read back: enough to rebuild the crawl's DocumentItem."""

    warc: str
    record_id: str
    source_url: str
    fetched_at: str | None
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    facts: dict[str, str] = field(default_factory=dict)  # DocumentItem field → value, from Govcrawl-*

    @property
    def content_sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    def header(self, name: str) -> bytes | None:
        lowered = name.lower().encode("latin-1")
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def header_dict(self) -> dict[str, list[bytes]]:
        """The response headers as a mapping name → values (repeated headers kept), as Scrapy gives them."""
        out: dict[str, list[bytes]] = {}
        for key, value in self.headers:
            out.setdefault(key.decode("latin-1"), []).append(value)
        return out

    def document_fields(self) -> dict[str, Any]:
        """The fields of the ``DocumentItem`` the crawl built from these bytes."""
        return {
            "url": self.facts.get("url") or self.source_url,
            "source_url": self.source_url,
            "portal": self.facts.get("portal"),
            "kind": self.facts.get("kind"),
            "referer": self.facts.get("referer"),
            "title_hint": self.facts.get("title_hint"),
            "body": self.body,
            "headers": self.header_dict(),
            "status": self.status,
            "fetched_at": self.fetched_at,
            "archive": ArchiveRef(self.warc, self.record_id).as_dict(),
        }


@dataclass
class ReadReport:
    """What reading a WARC file met besides documents."""

    records: int = 0
    truncated_at: int | None = None  # file offset of a record cut short (a crash while writing)
    error: str | None = None


def _parse_http_response(block: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
    head, sep, body = block.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.split(b"\r\n")
    match = re.match(rb"HTTP/\S+\s+(\d{3})", lines[0])
    if not match:
        return None
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if colon:
            headers.append((name.strip(), value.strip()))
    return int(match.group(1)), headers, body


def iter_documents(path: str | os.PathLike[str], report: ReadReport | None = None,
                   progress=None) -> Iterator[ArchivedDocument]:
    """Every whole response record of one WARC file, in file order.

    A record cut short (its block shorter than its ``Content-Length``) or a
    file that stops inside a record's headers ends the iteration there;
    ``report.truncated_at`` says where. ``progress(offset)`` is called after
    each record with the byte offset reached in the (compressed) file.
    """
    report = report if report is not None else ReadReport()
    name = Path(path).name
    size = os.path.getsize(path)
    end = 0  # where the last whole record ends
    with open(path, "rb") as stream:
        # no_record_parse: the HTTP headers are parsed here, byte for byte (warcio would re-encode them).
        records = ArchiveIterator(stream, no_record_parse=True, check_digests=False)
        while True:
            try:
                record = next(records)
                block = record.raw_stream.read()
                offset = records.get_record_offset()  # only after the read: asking first empties the stream
            except StopIteration:
                if end < size:  # bytes after the last record that warcio took for the end of the file
                    report.truncated_at = end
                    report.error = f"{size - end} bytes after the last whole record are not a record"
                break
            except Exception as exc:  # a cut gzip member or WARC header block: the end of what can be read
                report.truncated_at = stream.tell()
                report.error = f"{type(exc).__name__}: {exc}"
                break
            if len(block) < (record.length or 0):
                report.truncated_at = offset
                report.error = f"record cut after {len(block)} of {record.length} bytes"
                break
            report.records += 1
            end = offset + records.get_record_length()
            if progress is not None:
                progress(stream.tell())
            if record.rec_type != "response":
                continue
            parsed = _parse_http_response(block)
            if parsed is None:
                continue
            status, headers, body = parsed
            warc_headers = record.rec_headers
            facts = {key: warc_headers.get_header(name) for name, key in GOVCRAWL_FIELDS.items()
                     if warc_headers.get_header(name)}
            yield ArchivedDocument(
                warc=name,
                record_id=bare_record_id(warc_headers.get_header("WARC-Record-ID")),
                source_url=warc_headers.get_header("WARC-Target-URI"),
                fetched_at=warc_headers.get_header("WARC-Date"),
                status=status,
                headers=headers,
                body=body,
                facts=facts,
            )
