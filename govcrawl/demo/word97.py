"""Word 97–2003 ``.doc`` files for the tests and the extraction benchmark.

Written by LibreOffice, and rebuilt as other writers lay them out:

* ``soffice_docs`` converts DOCX files (from the seeded generators) to ``.doc``
  (``soffice_convert``: to any format LibreOffice writes, RTF among them)
  with LibreOffice (``soffice``, which ``make setup`` installs): real Word 97
  files from an independent writer, not from our own idea of the format.
* ``rebuild`` takes such a file apart and writes it again with its text in
  many pieces, some moved to the end of the stream, some stored as 8-bit
  ("compressed") text, and a property block before the piece table: as Word
  leaves a file after fast saves, which LibreOffice never writes.
* ``compound_file`` writes an OLE2 compound file (version 3, 512-byte sectors)
  holding the given streams; olefile and LibreOffice read what it writes.
"""

from __future__ import annotations

import os
import random
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import olefile

from govcrawl.extract import worddoc

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")

_END_OF_CHAIN, _FAT_SECTOR, _FREE, _NO_STREAM = 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF, 0xFFFFFFFF
_SECTOR = 512


def soffice_docs(docx_bodies: list[bytes]) -> list[bytes]:
    """The DOCX files as LibreOffice saves them in Word 97–2003 format (one ``soffice`` run for all)."""
    return soffice_convert(docx_bodies, "doc:MS Word 97", "doc")


def soffice_convert(bodies: list[bytes], target: str, suffix: str, source: str = "docx") -> list[bytes]:
    """Files (``source`` kind) converted by LibreOffice to ``target`` (``--convert-to``), written as ``suffix``."""
    if SOFFICE is None:
        raise RuntimeError("LibreOffice (soffice) is not installed: `make setup` installs it")
    with tempfile.TemporaryDirectory(prefix="govcrawl-doc-") as tmp:
        tmp_path = Path(tmp)
        names = []
        for k, body in enumerate(bodies):
            (tmp_path / f"d{k}.{source}").write_bytes(body)
            names.append(str(tmp_path / f"d{k}.{source}"))
        # Its own profile directory: a user's running LibreOffice, or a stale lock, cannot get in the way.
        profile = (tmp_path / "profile").as_uri()
        subprocess.run([SOFFICE, f"-env:UserInstallation={profile}", "--headless", "--norestore",
                        "--convert-to", target, "--outdir", str(tmp_path / "out"), *names],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300,
                       env={**os.environ, "HOME": tmp})
        return [(tmp_path / "out" / f"d{k}.{suffix}").read_bytes() for k in range(len(bodies))]


def streams(doc: bytes) -> dict[str, bytes]:
    """The top-level streams of a compound file, by name."""
    ole = olefile.OleFileIO(doc)
    try:
        return {entry[0]: ole.openstream(entry).read() for entry in ole.listdir(streams=True, storages=False)
                if len(entry) == 1}
    finally:
        ole.close()


def compound_file(named_streams: dict[str, bytes]) -> bytes:
    """An OLE2 compound file (version 3) holding these streams at its root.

    Streams shorter than the mini-stream cutoff (4096 bytes) are padded to it
    with zeros, so that every stream lives in ordinary sectors.
    """
    items = sorted(named_streams.items(), key=lambda kv: (len(kv[0]), kv[0].upper()))
    datas = [data + b"\x00" * max(0, 4096 - len(data)) for _, data in items]
    data_sectors = [-(-len(d) // _SECTOR) for d in datas]
    dir_sectors = -(-(len(items) + 1) // 4)
    fat_sectors = 1
    while fat_sectors * 128 < fat_sectors + dir_sectors + sum(data_sectors):
        fat_sectors += 1
    if fat_sectors > 109:
        raise ValueError("too large for a header-only DIFAT")
    fat = [_FAT_SECTOR] * fat_sectors
    dir_start = len(fat)
    fat += [*range(dir_start + 1, dir_start + dir_sectors), _END_OF_CHAIN]
    starts = []
    for count in data_sectors:
        starts.append(len(fat))
        fat += [*range(len(fat) + 1, len(fat) + count), _END_OF_CHAIN]
    fat += [_FREE] * (fat_sectors * 128 - len(fat))

    # Directory: the root, then the streams as a balanced binary tree in the compound file's name order.
    entries = [None] * (len(items) + 1)
    left, right = {}, {}

    def tree(lo, hi):
        if lo >= hi:
            return _NO_STREAM
        mid = (lo + hi) // 2
        left[mid], right[mid] = tree(lo, mid), tree(mid + 1, hi)
        return mid + 1  # entry ids: the root is 0

    root_child = tree(0, len(items))
    entries[0] = _dir_entry("Root Entry", 5, _NO_STREAM, _NO_STREAM, root_child, _END_OF_CHAIN, 0)
    for k, (name, data) in enumerate(items):
        entries[k + 1] = _dir_entry(name, 2, left[k], right[k], _NO_STREAM, starts[k], len(data))
    # Unused directory slots: empty entries with no siblings.
    unused = _dir_entry("", 0, _NO_STREAM, _NO_STREAM, _NO_STREAM, 0, 0)
    directory = b"".join(entries) + unused * (dir_sectors * 4 - len(entries))

    header = bytearray(_SECTOR)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x003E, 0x0003, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 40, 0, fat_sectors, dir_start, 0, 4096, _END_OF_CHAIN, 0,
                     _END_OF_CHAIN, 0)
    difat = list(range(fat_sectors)) + [_FREE] * (109 - fat_sectors)
    struct.pack_into("<109I", header, 76, *difat)
    body = b"".join(d.ljust(n * _SECTOR, b"\x00") for d, n in zip(datas, data_sectors))
    return bytes(header) + struct.pack(f"<{len(fat)}I", *fat) + directory + body


def _dir_entry(name: str, kind: int, left: int, right: int, child: int, start: int, size: int) -> bytes:
    encoded = name.encode("utf-16-le") + b"\x00\x00" if name else b""
    entry = bytearray(128)
    entry[0:len(encoded)] = encoded
    struct.pack_into("<HBB", entry, 64, len(encoded), kind, 1)  # black, as every node may be
    struct.pack_into("<III", entry, 68, left, right, child)
    struct.pack_into("<II", entry, 116, start, size)
    return bytes(entry)


def rebuild(doc: bytes, rng: random.Random) -> bytes:
    """The same document with its text cut into pieces laid out as fast saves leave them.

    The cuts fall anywhere (next to cell and paragraph marks too); a piece with
    no mark and no deleted text may move to the end of the WordDocument stream,
    as 8-bit text when cp1252 holds all of it; a property block (``Prc``) goes
    before the piece table, which moves to the end of the table stream.
    """
    parts = streams(doc)
    word = bytearray(parts["WordDocument"])
    table_name = "1Table" if struct.unpack_from("<H", word, 10)[0] & worddoc._F_WHICH_TABLE else "0Table"
    table = bytearray(parts[table_name])
    ccp_text, (fc_clx, lcb_clx), _, (fc_chp, lcb_chp) = worddoc._fib(bytes(word))
    pieces = worddoc._pieces(bytes(table[fc_clx:fc_clx + lcb_clx]), bytes(word), ccp_text)
    deleted = worddoc._deleted_runs(bytes(table[fc_chp:fc_chp + lcb_chp]), bytes(word))
    cps, pcds = [], []
    moved_from = len(word)
    for piece in pieces:
        count = len(piece.text)
        cuts = sorted({0, count, *(rng.randrange(1, max(2, count)) for _ in range(
            rng.randint(max(1, count // 80), max(2, count // 40))))})
        for a, b in zip(cuts, cuts[1:]):
            text = piece.text[a:b]
            fc = piece.fc + a * piece.width
            movable = (not any(ch in text for ch in "\r\x07\x0c")
                       and worddoc._kept(worddoc._Piece(0, text, fc, piece.width), deleted) == [(0, len(text))])
            if movable and rng.random() < 0.5:
                try:
                    raw, compressed = text.encode("cp1252"), True
                except UnicodeEncodeError:
                    raw, compressed = text.encode("utf-16-le"), False
                if compressed and rng.random() < 0.3:
                    raw, compressed = text.encode("utf-16-le"), False
                fc = len(word)
                word += raw
                fc_field = (fc * 2) | 0x40000000 if compressed else fc
            else:
                fc_field = fc * 2 | 0x40000000 if piece.width == 1 else fc
            cps.append(piece.cp + a)
            pcds.append(struct.pack("<HIH", 0, fc_field, 0))
    if len(word) > moved_from:  # index the moved text's properties, as Word does: none of its own
        for index in (worddoc._FC_PLCF_BTE_PAPX, worddoc._FC_PLCF_BTE_CHPX):
            _cover(word, table, index, moved_from)
    cps.append(ccp_text if not pieces else pieces[-1].cp + len(pieces[-1].text))
    plc = struct.pack(f"<{len(cps)}i", *cps) + b"".join(pcds)
    prc = b"\x01" + struct.pack("<h", 3) + struct.pack("<HB", 0x0835, 1)  # sprmCFBold on: never read here
    clx = prc + b"\x02" + struct.pack("<I", len(plc)) + plc
    new_fc_clx = len(table)
    table += clx
    blob = worddoc.fib_offsets(bytes(word))[1]
    struct.pack_into("<II", word, blob + 8 * worddoc._FC_CLX, new_fc_clx, len(clx))
    struct.pack_into("<H", word, 10, struct.unpack_from("<H", word, 10)[0] | 0x0004)  # fComplex
    parts["WordDocument"], parts[table_name] = bytes(word), bytes(table)
    return compound_file(parts)


def _cover(word: bytearray, table: bytearray, index: int, start: int) -> None:
    """Add a property page (PAPX or CHPX FKP) whose one run, with no properties, covers ``start`` to the end.

    Its index (PlcBtePapx/PlcBteChpx) is written again at the end of the table stream.
    """
    blob = worddoc.fib_offsets(bytes(word))[1]
    fc_plc, lcb_plc = struct.unpack_from("<II", word, blob + 8 * index)
    n = (lcb_plc - 4) // 8
    fcs = list(struct.unpack_from(f"<{n + 1}I", table, fc_plc))
    pages = list(struct.unpack_from(f"<{n}I", table, fc_plc + 4 * (n + 1)))
    end = len(word)
    word += b"\x00" * (-len(word) % _SECTOR)
    page = bytearray(_SECTOR)
    struct.pack_into("<II", page, 0, fcs[-1], end)  # one run: from the old end to the stream's new end
    page[511] = 1  # its offset byte(s) stay 0: no properties
    pages.append(len(word) // _SECTOR)
    word += page
    fcs.append(end)
    plc = struct.pack(f"<{len(fcs)}I", *fcs) + struct.pack(f"<{len(pages)}I", *pages)
    struct.pack_into("<II", word, blob + 8 * index, len(table), len(plc))
    table += plc
