"""Tests for govcrawl/extract/textfix.py, on hand-made cases and on the real seed texts."""

import re
import time
from pathlib import Path

import pytest

from govcrawl.extract.textfix import (
    normalize,
    repair_text,
    squash,
    strip_pinyin,
    strip_ruby_html,
    to_simplified,
)

SEEDS = Path("/work/shared/seeds")
PINYIN_SEEDS = ["000_81d7a68a0bd34fe9.txt", "001_e70eac4c108865cf.txt", "004_4e03c627188b75d8.txt"]
# A bracket holding only (tone-marked) latin letters: what a flattened <rt> leaves.
PINYIN_RESIDUE = re.compile(r"[(（][a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü ]+[)）]")


def seed(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


# --- strip_ruby_html --------------------------------------------------------------

def test_ruby_keeps_base_text_and_drops_rp_rt():
    html = "<p><ruby>當<rp>(</rp><rt>dāng</rt><rp>)</rp></ruby>前</p>"
    assert strip_ruby_html(html) == "<p>當前</p>"


def test_ruby_with_rb_and_omitted_rt_end_tag():
    html = "<ruby><rb>機</rb><rt>jī<rb>關</rb><rt>guān</ruby>"
    assert strip_ruby_html(html) == "機關"


def test_ruby_rtc_is_dropped():
    assert strip_ruby_html("<ruby>務<rtc><rt>wù</rt></rtc></ruby>") == "務"


def test_html_without_ruby_is_untouched():
    html = '<td class="rt">索引号</td><p>rt</p>'
    assert strip_ruby_html(html) == html


# --- strip_pinyin ---------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("當(dāng)前", "當前"),
    ("當（dāng）前", "當前"),
    ("機(jī)關(guān)", "機關"),
    ("機關(jī guān)", "機關"),
    ("發(fā)布", "發布"),          # fā is not the first reading pypinyin lists for every 發
    ("当(dang)前", "当前"),         # toneless reading
    ("綠(lǜ)色", "綠色"),
])
def test_strip_pinyin_removes_readings(text, expected):
    assert strip_pinyin(text) == expected


@pytest.mark.parametrize("text", [
    "(一)主动公开情况",
    "第二十条第(一)项",
    "采购总金额(元)",
    "详见(http://www.gov.cn)",
    "报告(2019)",
    "格式(试行)",
    "Li(an)",
    "世界卫生组织(WHO)",
    "主任(zhang)",                  # a bracket that is not a reading of 任
    "国(guó 家)",
])
def test_strip_pinyin_keeps_other_brackets(text):
    assert strip_pinyin(text) == text


def test_strip_pinyin_is_fast_on_large_text():
    big = seed(PINYIN_SEEDS[0]) * 1500  # ~12 MB of pinyin-laden text
    start = time.perf_counter()
    strip_pinyin(big)
    assert time.perf_counter() - start < 5


# --- to_simplified / normalize / squash -------------------------------------------

def test_to_simplified():
    assert to_simplified("政府信息公開工作年度報告") == "政府信息公开工作年度报告"


def test_to_simplified_converts_the_traditional_lines_of_mixed_text():
    text = "政府信息公開工作年度報告\n政府信息公开工作年度报告\n\n全年共收到申請12件，答覆10件\nabc"
    assert to_simplified(text) == "政府信息公开工作年度报告\n政府信息公开工作年度报告\n\n全年共收到申请12件，答复10件\nabc"


def test_to_simplified_leaves_simplified_text_as_it_is():
    text = "政府信息公开工作年度报告\n" * 50
    assert to_simplified(text) is text


@pytest.mark.parametrize("text", ["答覆", "深沈", "憑藉", "一目瞭然", "甦醒"])
def test_to_simplified_converts_phrases_whose_characters_alone_stay(text):
    # These characters are left alone by t2s; only the phrase converts them.
    from govcrawl.extract.textfix import _converter

    expected = _converter().convert(text)
    assert expected != text
    assert to_simplified(text) == expected
    assert to_simplified(f"政府信息公开\n{text}\n年度报告") == f"政府信息公开\n{expected}\n年度报告"


def test_to_simplified_line_by_line_equals_converting_the_whole():
    from govcrawl.extract.textfix import _converter

    lines = ["政府信息公開", "政府信息公开", "", "乾隆年間", "乾燥", "公开", "發布", "𠀀", "ｆｕｌｌ"] * 30
    text = "\n".join(lines)
    assert to_simplified(text) == _converter().convert(text)
    assert to_simplified(text[:40]) == _converter().convert(text[:40])


def test_every_character_t2s_changes_makes_its_line_converted():
    from govcrawl.extract.textfix import _converter, _may_change

    chars = [chr(cp) for cp in range(0x80, 0x10000) if not 0xD800 <= cp < 0xE000 and cp != 0x0A]
    converted = _converter().convert("\n".join(chars)).split("\n")
    assert len(converted) == len(chars)
    missed = [c for c, out in zip(chars, converted) if out != c and not _may_change().search(c)]
    assert missed == []


def test_every_t2s_phrase_that_converts_holds_a_marked_character(tmp_path):
    # The phrase-only characters were read off OpenCC's TSPhrases; check them against the
    # installed dictionary when the package ships the tool that dumps it.
    import os
    import subprocess

    import opencc

    from govcrawl.extract.textfix import _converter, _may_change

    clib = Path(opencc.__file__).parent / "clib"
    tool, ocd2 = clib / "bin" / "opencc_dict", clib / "share" / "opencc" / "TSPhrases.ocd2"
    if not (tool.exists() and ocd2.exists()):
        pytest.skip("this OpenCC has no opencc_dict tool or TSPhrases.ocd2")
    dump = tmp_path / "TSPhrases.txt"
    env = {**os.environ, "LD_LIBRARY_PATH": str(clib / "lib64")}
    subprocess.run([str(tool), "-i", str(ocd2), "-o", str(dump), "-f", "ocd2", "-t", "text"],
                   check=True, env=env, capture_output=True)
    phrases = [line.split("\t")[0] for line in dump.read_text(encoding="utf-8").splitlines() if line]
    assert len(phrases) > 100
    missed = [p for p in phrases if _converter().convert(p) != p and not _may_change().search(p)]
    assert missed == []


def test_normalize_full_width_ascii():
    assert normalize("（一）索引号：２０２０－ＡＢ") == "(一)索引号:2020-AB"


@pytest.mark.parametrize("space", ["\u00a0", "\u2002", "\u2003", "\u200b", "\u202f", "\u3000", "\ufeff"])
def test_normalize_spaces(space):
    assert normalize(f"索{space}引") == "索 引"


def test_normalize_replaces_every_occurrence_of_every_character():
    text = "第1段：全市，推进；回应（一）\u3000２０２３\n" * 100
    assert normalize(text) == "第1段:全市,推进;回应(一) 2023\n" * 100


def test_normalize_keeps_newlines():
    assert normalize("一\n二\t三") == "一\n二\t三"


def test_squash_removes_every_kind_of_space():
    assert squash("索\u2002引 号\u3000\n:\u200b") == "索引号:"


# --- repair_text on the real seeds ---------------------------------------------------

@pytest.mark.parametrize("name", PINYIN_SEEDS)
def test_seed_has_no_pinyin_residue_after_repair(name):
    assert PINYIN_RESIDUE.findall(repair_text(seed(name))) == []


@pytest.mark.parametrize("name", PINYIN_SEEDS)
def test_seed_keeps_numbered_brackets_after_repair(name):
    repaired = repair_text(seed(name))
    assert all(f"({n})" in repaired for n in "一二三四五六七")


@pytest.mark.parametrize("name", PINYIN_SEEDS)
def test_seed_keeps_article_reference_after_repair(name):
    assert "第二十条第(一)项" in repair_text(seed(name))


def test_seed_keeps_unit_bracket_after_repair():
    assert "采购总金额(元)" in repair_text(seed("000_81d7a68a0bd34fe9.txt"))


def test_seed_title_is_simplified_after_repair():
    assert "常州市机关事务管理局2019年政府信息公开工作年度报告" in repair_text(seed("000_81d7a68a0bd34fe9.txt"))


def test_seed_index_label_spaces_become_plain_spaces():
    assert "索 引 号:014109971/2020-00001" in repair_text(seed("000_81d7a68a0bd34fe9.txt"))


def test_the_pinyin_dictionary_is_loaded_only_by_a_text_that_has_readings():
    """pypinyin's dictionary is ~55 MiB in every process (crawler, each worker): only readings load it."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from govcrawl.extract import extract_document\n"
        "from govcrawl.extract.textfix import repair_text\n"
        "print(repair_text('政府信息公开（2024年）') , 'pypinyin' in sys.modules)\n"
        "print(repair_text('當(dāng)年'), 'pypinyin' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout.split("\n")
    assert out[0] == "政府信息公开(2024年) False"
    assert out[1] == "当年 True"
