import io

import pytest

from govcrawl.demo.feed import generate_feed
from govcrawl.export.feeds import ReadStats, expand_inputs, read_feeds
from tests.export_feeds import write_feed


def test_directories_and_globs_expand_to_jsonl_files_in_order(tmp_path):
    (tmp_path / "runs" / "sub").mkdir(parents=True)
    b = write_feed(tmp_path / "runs" / "b.jsonl", [])
    a = write_feed(tmp_path / "runs" / "sub" / "a.jsonl", [])
    (tmp_path / "runs" / "notes.txt").write_text("not a feed")
    c = write_feed(tmp_path / "c.jsonl", [])
    files = expand_inputs([str(c), str(tmp_path / "runs")])
    assert files == [str(c), str(b), str(a)]
    assert expand_inputs([str(tmp_path / "runs" / "*.jsonl")]) == [str(b)]
    # The same file named twice is read once.
    assert expand_inputs([str(c), str(tmp_path / "*.jsonl")]) == [str(c)]


def test_a_name_that_matches_nothing_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        expand_inputs([str(tmp_path / "nope*.jsonl")])


def test_bad_lines_are_reported_with_file_and_line_and_skipped(tmp_path):
    items = generate_feed(3, seed=1)
    feed = write_feed(tmp_path / "f.jsonl", items[:2], extra_lines=['{"url": "trunc', "[1, 2]", "", '{"x": 1}'])
    with open(feed, "ab") as out:
        # A GBK line in a UTF-8 feed (a hand-edited file saved in the wrong encoding).
        out.write('{"url": "https://x/1", "title": "年报"}\n'.encode("gbk"))
        out.write(__import__("json").dumps(items[2], ensure_ascii=False).encode("utf-8") + b"\n")
    stats, err = ReadStats(), io.StringIO()
    lines = list(read_feeds([str(feed)], stats, err=err))
    assert [line.item["url"] for line in lines] == [i["url"] for i in items]
    assert [line.line for line in lines] == [1, 2, 8]
    assert stats.bad_lines == 4 and stats.items == 3
    messages = err.getvalue().splitlines()
    assert [m.split(": ")[1].split(":")[1] for m in messages] == ["3", "4", "6", "7"]
    assert "not UTF-8" in messages[3]
    assert all(f"{feed}:" in m for m in messages)


def test_progress_lines_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.setattr("govcrawl.export.feeds.PROGRESS_EVERY", 2)
    feed = write_feed(tmp_path / "f.jsonl", generate_feed(5, seed=2))
    quiet, loud = io.StringIO(), io.StringIO()
    list(read_feeds([str(feed)], ReadStats(), err=quiet))
    list(read_feeds([str(feed)], ReadStats(), progress=True, err=loud))
    assert quiet.getvalue() == ""
    assert loud.getvalue().splitlines()[:2] == [f"read 2 lines, 1 reports ({feed})", f"read 4 lines, 3 reports ({feed})"]
