"""Portal list loading: the shipped CSV and clear errors for broken files."""

import pytest

from govcrawl.discovery import url_host
from govcrawl.portal_list import PortalListError, load_portals, parse_portals, portals_from_urls


def test_shipped_portal_list():
    portals = load_portals()
    names = [p.name for p in portals]
    assert names[0] == "国务院"
    assert len([p for p in portals if p.level == "province"]) == 31
    for name in ("常州市", "常州市机关事务管理局", "梅河口市", "宜兴市", "樟树市", "南充市", "南充市科学技术局",
                 "淮安市", "淮安市洪泽区", "平潭综合实验区", "上海市"):
        assert name in names
    assert all(url_host(p.url).endswith("gov.cn") for p in portals)
    assert len(set(names)) == len(names)


def test_optional_columns_and_render_flag():
    portals = parse_portals("name,url,render\n甲,http://a.gov.cn/,1\n乙,https://b.gov.cn/x,\n")
    assert [(p.name, p.url, p.render, p.region) for p in portals] == [
        ("甲", "http://a.gov.cn/", True, None),
        ("乙", "https://b.gov.cn/x", False, None),
    ]


def test_blank_lines_comments_and_bom_are_fine():
    portals = parse_portals("\ufeffname,url\n\n# a comment\n甲,http://a.gov.cn/\n")
    assert [p.name for p in portals] == ["甲"]


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("甲,http://a.gov.cn/\n", 1, "header"),
        ("name,url\n甲,http://a.gov.cn/\n乙\n", 3, "expected 2 columns"),
        ("name,url\n甲,http://a.gov.cn/,extra\n", 2, "expected 2 columns"),
        ("name,url\n甲,\n", 2, "no url"),
        ("name,url\n甲,www.a.gov.cn\n", 2, "http"),
        ("name,url\n甲,http:///path\n", 2, "no host"),
        ("name,url,render\n甲,http://a.gov.cn/,maybe\n", 2, "render"),
        ("name,url\n甲,http://a.gov.cn/\n甲,http://b.gov.cn/\n", 3, "already listed on line 2"),
        ("name,url,colour\n", 1, "unknown column"),
    ],
)
def test_broken_lists_name_file_and_line(text, line, words):
    with pytest.raises(PortalListError) as error:
        parse_portals(text, "my.csv")
    assert str(error.value).startswith(f"my.csv:{line}: ")
    assert words in str(error.value)
    assert error.value.line == line


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(PortalListError, match="cannot read"):
        load_portals(tmp_path / "nope.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(PortalListError, match=r"empty\.csv: file is empty"):
        load_portals(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text("name,url\n")
    with pytest.raises(PortalListError, match="no portals"):
        load_portals(header_only)


def test_urls_argument():
    portals = portals_from_urls("http://127.0.0.1:9/, http://bogus.invalid/x")
    assert [(p.name, p.url) for p in portals] == [("127.0.0.1:9", "http://127.0.0.1:9/"),
                                                 ("bogus.invalid", "http://bogus.invalid/x")]
    with pytest.raises(PortalListError, match="-a urls:2: "):
        portals_from_urls("http://a.gov.cn/,ftp://b.gov.cn/")
