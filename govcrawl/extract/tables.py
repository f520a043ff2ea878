"""Read sections 二, 三 and 四 of a report out of a stream of cells.

Input is a ``Layout`` token stream (see ``layout.py``): cells in reading
order, ``ROW_END`` after each row where the layout knows rows.  Rows are found
by meaning (variant-tolerant patterns over the label with every space
removed), never by position in the page, and take the value cells that follow
their label.  Values keep what the page says: a blank or a placeholder is
``None``, never 0.

The public entry point is ``read_tables(tokens, year=None) -> TablesResult``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from govcrawl.extract import template as T
from govcrawl.extract.layout import ROW_END

# --------------------------------------------------------------------------- values

_PLACEHOLDERS = frozenset(["", "-", "--", "—", "——", "–", "/", "\\", "无", "空", "／", "－", "x", "X", "×"])
_UNIT = r"(?:万元|元|件|条|项|个|次|人次|宗|份)"
_NUMBER = re.compile(
    rf"^(?P<sign>[+\-])?\s*(?P<num>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?)\s*(?P<unit>{_UNIT})?$"
)


# Cells repeat: every report has the same labels, and most values are small numbers
# ("0" is a third of all cells).  Each distinct cell is parsed once per worker, not
# once per occurrence; the bound keeps a stream of unique prose cells from growing it.
_CELL_CACHE = 4096


@dataclass(frozen=True)
class Value:
    number: int | float | None
    unit: str | None = None


@lru_cache(maxsize=_CELL_CACHE)
def parse_value(cell: str) -> Value | None:
    """A value cell as a number (or None for a blank/placeholder); ``None`` if the cell is a label."""
    text = cell.strip()
    if text in _PLACEHOLDERS:
        return Value(None)
    first = text[0]
    if first != "+" and first != "-" and not first.isdecimal():
        return None  # most cells are labels or prose: _NUMBER starts with a sign or a digit (\d is Nd)
    m = _NUMBER.match(text)
    if not m:
        return None
    num = m.group("num").replace(",", "")
    number: int | float = float(num) if "." in num else int(num)
    if m.group("sign") == "-":
        number = -number
    return Value(number, m.group("unit"))


# --------------------------------------------------------------------------- labels

_PUNCT = re.compile(r"[\s\"'“”‘’「」『』《》:：,，;；]")
_LEADING_NUMBER = re.compile(r"^(\d)[、．.]")
_NUMBER_COMMA = re.compile(r"(\d)、")


def squash_label(cell: str) -> str:
    """A label reduced to what identifies it: no spaces, quotes or commas; unified brackets and numbering."""
    s = _PUNCT.sub("", cell)
    s = s.replace("（", "(").replace("）", ")").replace("〔", "(").replace("〕", ")")
    if s[:1].isdigit():  # every label is squashed: skip the patterns that cannot match
        s = _LEADING_NUMBER.sub(r"\1.", s)
    if "、" in s:
        s = _NUMBER_COMMA.sub(r"\1.", s)
    return s


def _rx(pattern: str) -> re.Pattern:
    return re.compile(pattern)


# Section 二 rows.  Anchored: the same words occur in prose ("全年办理行政许可…").
_ACTIVE_ROWS = {
    "rules": _rx(r"^(\d\.)?(制发)?规章(\(件\))?$"),
    "normative_documents": _rx(r"^(\d\.)?(行政)?规范性文件(\(件\))?$"),
    "licensing": _rx(r"^(\d\.)?行政许可(\(件\)|事项)?$"),
    "other_services": _rx(r"^(\d\.)?其他对外管理服务事项$"),
    "penalty": _rx(r"^(\d\.)?行政处罚(\(件\)|事项)?$"),
    "coercion": _rx(r"^(\d\.)?行政强制(\(件\)|事项)?$"),
    "fees": _rx(r"^(\d\.)?行政事业性收费(项目)?$"),
    "procurement": _rx(r"^(\d\.)?政府集中采购$"),
}
_COLUMNS_2021 = _rx(r"制发件数|废止件数|现行有效件数|本年处理决定数量|收费金额")
_COLUMNS_2019 = _rx(r"新制作数量|新公开数量|对外公开总数量|上一年项目数量|增/减|采购项目数量|采购总金额")
_UNIT_IN_HEADER = _rx(r"\((?:单位)?(万元|元)\)|单位(万元|元)")

# Section 三 rows.  ``None`` context = the pattern alone identifies the row.
_APPLICATION_ROWS: dict[str, re.Pattern] = {
    "new_requests": _rx(r"本年新收.*申请"),
    "carried_over": _rx(r"上年结转.*申请"),
    "granted": _rx(r"予以公开$"),
    "partially_granted": _rx(r"部分公开"),
    "denied_state_secret": _rx(r"国家秘密"),
    "denied_prohibited_by_law": _rx(r"法律行政法规禁止公开|法规禁止公开|^(\d\.)?其他法律行政"),
    "denied_three_safeties": _rx(r"三安全一稳定|危及.*安全"),
    "denied_third_party": _rx(r"第三方合法权益"),
    "denied_internal_affairs": _rx(r"内部事务"),
    "denied_process_info": _rx(r"过程性信息"),
    "denied_enforcement_files": _rx(r"行政执法案[卷件]"),
    "denied_admin_inquiry": _rx(r"行政查询事项"),
    "unavailable_not_held": _rx(r"不掌握.*信息"),
    "unavailable_needs_creation": _rx(r"没有现成信息|另行制作"),
    "unavailable_unclear": _rx(r"补正后.*不明确"),
    "rejected_petition": _rx(r"信访举报投诉"),
    "rejected_repeated": _rx(r"重复申请"),
    "rejected_publications": _rx(r"公开出版物"),
    "rejected_excessive": _rx(r"大量反复申请"),
    "rejected_confirmation": _rx(r"确认或重新出具|重新出具已获取"),
    "other_no_correction": _rx(r"逾期不补正"),
    "other_fee_unpaid": _rx(r"缴纳费用|收费通知"),
    "other_other": _rx(r"^(\(六\)其他处理)?3\.其他$"),
    "other_handling": _rx(r"^(三\.?本年度办理结果)?(\(六\))?其他处理$"),
    "total_handled": _rx(r"^(三\.?本年度办理结果)?\(七\)总计$"),
    "carried_forward": _rx(r"结转下年度继续办理"),
}
# Template order of every row of both templates (2021's three 其他处理 rows where 2019 has one).
_APPLICATION_ORDER = {
    k: n for n, k in enumerate(dict.fromkeys(
        k for rows in (T.APPLICATION_ROWS_2021, T.APPLICATION_ROWS_2019) for k, _, _ in rows))
}
_APPLICATION_ORDER["other_handling"] = _APPLICATION_ORDER["other_no_correction"] - 0.5
_BARE_TOTAL = _rx(r"^总计$")
_OTHER_HANDLING_2021 = frozenset({"other_no_correction", "other_fee_unpaid", "other_other"})
_BARE_OTHER = _rx(r"^其他$")

# Section headings (squashed).  Each needs its own words: "二、上年结转…" is a row, not section 二.
_HEADING_ACTIVE = _rx(r"^[二2][.、]?主动公开政府信息")
_HEADING_APPLICATIONS = _rx(r"^[三3][.、]?收到和处理政府信息公开申请")
_HEADING_REVIEW = _rx(r"^[四4][.、]?.{0,12}(行政复议|行政诉讼)")
_REVIEW_TABLE_START = _rx(r"^行政复议$")
_HEADING_PROBLEMS = _rx(r"^[五5][.、]?(存在的?主要问题|政府信息公开工作存在)")


@dataclass
class TablesResult:
    tables: dict = field(default_factory=dict)
    format: str | None = None
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- reading


@lru_cache(maxsize=_CELL_CACHE)
def _label(token: str) -> str | None:
    """A cell as a squashed label; None for a value or a row end."""
    return squash_label(token) if token != ROW_END and parse_value(token) is None else None


def _value(token: str) -> Value | None:
    """A cell as a value; None for a label or a row end."""
    return None if token == ROW_END else parse_value(token)


class _Stream:
    """The cells, each read as a value or a label only when a reader asks for it.

    A large page is mostly navigation and prose around the three sections:
    those cells are passed over by the heading scans (``find`` with a needle)
    and never parsed, so reading the tables costs what the sections cost.
    A cell is read through ``_label``/``parse_value``, which remember the cells
    they have read: the same cells, read again by another reader or in the
    next report, cost a lookup.
    """

    def __init__(self, tokens: list[str]):
        self.tokens = tokens

    def label(self, i: int) -> str | None:
        """Cell ``i`` as a squashed label; None for a value or a row end."""
        return _label(self.tokens[i])

    def labels(self, start: int, stop: int, longest: int | None = None) -> list[tuple[int, str]]:
        """(index, label) of the labels in ``[start, stop)``; only those of at most ``longest`` characters if given."""
        tokens = self.tokens
        if longest is None:
            return [(i, label) for i in range(start, stop) if (label := _label(tokens[i]))]
        return [(i, label) for i in range(start, stop) if (label := _label(tokens[i])) and len(label) <= longest]

    def values_after(self, i: int, stop: int) -> list[Value]:
        """The run of value cells right after label ``i``: up to the next label or row end."""
        out: list[Value] = []
        tokens = self.tokens
        for j in range(i + 1, stop):
            token = tokens[j]
            # _value, inlined: this reads every value cell of every row.
            if token == ROW_END or (v := parse_value(token)) is None:
                break
            out.append(v)
        return out

    def find(self, pattern: re.Pattern, start: int = 0, stop: int | None = None, needle: str = "") -> int | None:
        """The first label from ``start`` that ``pattern`` finds in.

        ``needle``: a character every label the pattern finds holds; squashing
        only drops spaces and punctuation, so a cell without it is skipped unread.
        """
        stop = len(self.tokens) if stop is None else stop
        tokens = self.tokens
        for i in range(start, stop):
            token = tokens[i]
            if needle and needle not in token:
                continue
            label = _label(token)
            if label and len(label) <= 60 and pattern.search(label):
                return i
        return None


def _fit(values: list[Value], want: int, where: str, warnings: list[str]) -> list[Value]:
    """Exactly ``want`` values: extra blank cells are page padding; missing cells are missing (None)."""
    if len(values) > want:
        # Padding is blank: trailing cells of a wide row first, then a blank
        # half of a merged label cell that the PDF/text layer kept as ''.
        trimmed = list(values)
        while len(trimmed) > want:
            if trimmed[-1].number is None:
                trimmed.pop()
            elif trimmed[0].number is None:
                trimmed.pop(0)
            else:
                break
        if len(trimmed) > want:
            warnings.append(f"{where}: {len(values)} value cells for {want} columns; kept the first {want}")
            trimmed = trimmed[:want]
        return trimmed
    if len(values) < want:
        warnings.append(f"{where}: only {len(values)} of {want} value cells; the rest are null")
        return values + [Value(None)] * (want - len(values))
    return values


def _zones(stream: _Stream) -> dict[str, tuple[int, int]]:
    """Where each section runs.  The scans for the headings pass over any length of
    navigation and prose cheaply: a cell without the needle is not read."""
    n = len(stream.tokens)
    h_active = stream.find(_HEADING_ACTIVE, needle="主")
    h_apps = stream.find(_HEADING_APPLICATIONS, h_active or 0, needle="申")
    first_app_row = stream.find(_APPLICATION_ROWS["new_requests"], h_apps or h_active or 0, needle="申")
    apps_start = h_apps if h_apps is not None else first_app_row
    h_review = stream.find(_HEADING_REVIEW, (first_app_row or apps_start or h_active or 0), needle="行")
    if h_review is None and first_app_row is not None:
        # Heading lost (pasted as an image, merged into the table): the table's own header cell.
        carried = stream.find(_APPLICATION_ROWS["carried_forward"], first_app_row, needle="转")
        h_review = stream.find(_REVIEW_TABLE_START, carried if carried is not None else first_app_row,
                               needle="复")
    h_end = stream.find(_HEADING_PROBLEMS, h_review or apps_start or h_active or 0, needle="存")
    end = h_end if h_end is not None else n
    zones = {}
    active_stop = apps_start if apps_start is not None else (h_review if h_review is not None else end)
    if h_active is not None or apps_start is not None:
        zones["active_disclosure"] = (h_active if h_active is not None else 0, active_stop)
    if apps_start is not None:
        zones["applications"] = (apps_start, h_review if h_review is not None else end)
    if h_review is not None:
        zones["review_litigation"] = (h_review, end)
    return zones


# The readers ask the same questions of the same labels in every report: which
# rows or columns a label names is remembered per label.
_LABEL_CACHE = 2048


@lru_cache(maxsize=_LABEL_CACHE)
def _format_vote(label: str) -> str | None:
    """The template a section 二 label names a column or row of, if any."""
    if _COLUMNS_2021.search(label):
        return "2021"
    if _COLUMNS_2019.search(label):
        return "2019"
    if _ACTIVE_ROWS["other_services"].search(label) or _ACTIVE_ROWS["procurement"].search(label):
        return "2019"
    return None


@lru_cache(maxsize=_LABEL_CACHE)
def _active_rows(label: str) -> frozenset[str]:
    """The section 二 rows a label names."""
    return frozenset(key for key, pattern in _ACTIVE_ROWS.items() if pattern.search(label))


def _values_past_label_lines(stream: _Stream, i: int, stop: int, key: str, taken: set[int]) -> list[Value]:
    """The values of row ``key`` (label ``i``) whose label is printed over lines, the values beside a later one.

    A table printed without column rules reads as text lines, and a long label wraps; the
    group's label, centred on its rows, can share the line the values are on:
    ``2.申请人逾期未按收费通知要求缴纳费`` / ``(六)其他处理 用、行政机关不再处理其政府信息公开 0 5 16 0 0 21``
    / ``申请``, or ``2.申请人…政府信息`` / ``(六)其他处理 0 0 10 0 8 0 18`` / ``公开申请``.  The values
    after the next label, or the one after it, count as label ``i``'s when those labels name no
    row of their own (a row's label ends the search; ``(六)其他处理``, a row in 2019's template,
    is the group of 2021's three 其他处理 rows) and no row end comes between.  The label they follow
    goes into ``taken``: its values are this row's, for no other label to take.
    """
    in_group = key in _OTHER_HANDLING_2021
    for j in range(i + 1, min(i + 3, stop)):
        label = stream.label(j)
        if label is None or j in taken or _BARE_TOTAL.match(label) or _BARE_OTHER.match(label):
            break  # (总计 and 其他 alone are rows too, after the result rows and after 2.申请人逾期…)
        named = _application_rows(label)
        if named and not (in_group and named == ("other_handling",)):
            break
        if values := stream.values_after(j, stop):
            taken.add(j)
            return values
    return []


@lru_cache(maxsize=_LABEL_CACHE)
def _application_rows(label: str) -> tuple[str, ...]:
    """The section 三 rows a label names, in ``_APPLICATION_ROWS`` order (the first not yet read is taken)."""
    return tuple(key for key, pattern in _APPLICATION_ROWS.items() if pattern.search(label))


def _detect_format(stream: _Stream, zone: tuple[int, int] | None) -> str | None:
    if zone is None:
        return None
    votes = {"2019": 0, "2021": 0}
    for _, label in stream.labels(*zone):
        if vote := _format_vote(label):
            votes[vote] += 1
    if votes["2019"] == votes["2021"] == 0:
        return None
    return "2021" if votes["2021"] > votes["2019"] else "2019"


def _read_active(stream: _Stream, zone, fmt: str, warnings: list[str]) -> dict:
    table: dict = {}
    start, stop = zone
    rows = T.ACTIVE[fmt]
    unit_row = T.UNIT_ROWS[fmt]
    # Each row is the first label naming it that has values after it (as ``find`` would give, one scan for all rows).
    labels = [(i, names) for i, label in stream.labels(start, stop, longest=60) if (names := _active_rows(label))]
    for key, (_, _, columns) in rows.items():
        found = None
        for i, names in labels:
            if key in names and (values := stream.values_after(i, stop)):
                found = (i, values)
                break
        if found is None:
            warnings.append(f"active_disclosure.{key}: row not found")
            continue
        i, values = found
        values = _fit(values, len(columns), f"active_disclosure.{key}", warnings)
        row = {c: v.number for c, v in zip(columns, values)}
        if key == unit_row:
            row["amount_unit"] = _amount_unit(stream, start, i, values[-1], fmt)
        table[key] = row
    return table


def _amount_unit(stream: _Stream, start: int, row_index: int, value: Value, fmt: str) -> str | None:
    if value.unit in ("元", "万元"):
        return value.unit
    # The nearest header above the row names the unit: 采购总金额(元), 本年收费金额(单位:万元).
    for j in range(row_index - 1, max(start, row_index - 12) - 1, -1):
        label = stream.label(j)
        if label and ("金额" in label or "单位" in label):
            m = _UNIT_IN_HEADER.search(label)
            if m:
                return m.group(1) or m.group(2)
            break
    return "万元" if fmt == "2021" else None


def _read_applications(stream: _Stream, zone, warnings: list[str]) -> dict:
    start, stop = zone
    want = len(T.APPLICANT_COLUMNS)
    table: dict = {}
    in_results = False
    last_key = None
    taken: set[int] = set()  # labels whose values a row printed over lines took (_values_past_label_lines)
    for i, label in stream.labels(start, stop, longest=80):
        if i in taken:
            continue
        key = None
        for candidate in _application_rows(label):
            if candidate not in table:
                key = candidate
                break
        if key is None and in_results and "total_handled" not in table and _BARE_TOTAL.match(label):
            key = "total_handled"
        if key is None and last_key == "other_fee_unpaid" and _BARE_OTHER.match(label):
            key = "other_other"
        if key is None:
            continue
        last_key = key  # (a bare 其他 after 2.申请人逾期… is 3.其他, whether that row printed numbers or not)
        values = stream.values_after(i, stop)
        if not values:
            values = _values_past_label_lines(stream, i, stop, key, taken)
        if not values:
            continue  # a group heading, e.g. "(六)其他处理" above its 1./2./3. rows
        values = _fit(values, want, f"applications.{key}", warnings)
        table[key] = {c: v.number for c, v in zip(T.APPLICANT_COLUMNS, values)}
        if key in T.RESULT_ROW_KEYS:
            in_results = True
    if table:
        has_2021_other = any(k in table for k in ("other_no_correction", "other_fee_unpaid", "other_other"))
        expected = T.APPLICATION_ROWS["2021" if has_2021_other else "2019"]
        for key, _, _ in expected:
            if key not in table:
                warnings.append(f"applications.{key}: row not found")
        # Rows in template order, whatever order the page had.
        table = dict(sorted(table.items(), key=lambda kv: _APPLICATION_ORDER[kv[0]]))
    return table


# Which row a piece of section 四 holds: the last of these its labels name
# ("四、…行政复议、行政诉讼情况 (一)行政复议情况 结果维持…" is a 行政复议 piece).
_REVIEW_PIECE_NAMES = (
    ("litigation_after_review", _rx(r"复议后起诉")),
    ("litigation_direct", _rx(r"直接起诉|行政诉讼")),
    ("review", _rx(r"行政复议")),
)


def _review_pieces(runs: list[tuple[str, list[Value]]]) -> list[Value] | None:
    """Section 四 printed in pieces (a 行政复议 table, a 行政诉讼 table, or one per row): the 15 values, or None.

    Each run of 5 (one row) or 10 (both 诉讼 rows) values goes to the row its
    preceding labels name last; runs without a name take the next free row.
    Runs with no number are left out, but for a run of 5 blank cells (a row
    whose zeros were left empty), which fills a row no run with numbers did.
    Only a complete, unambiguous assignment counts.
    """
    width = len(T.REVIEW_COLUMNS)
    rows: dict[str, list[Value]] = {}

    def row_named(labels: str) -> str | None:
        named = [(m.end(), key) for key, pattern in _REVIEW_PIECE_NAMES for m in pattern.finditer(labels)]
        return max(named)[1] if named else next((k for k in T.REVIEW_ROWS if k not in rows), None)

    for labels, run in runs:
        if len(run) not in (width, 2 * width) or not any(v.number is not None for v in run):
            continue
        key = row_named(labels)
        if len(run) == 2 * width:
            if key == "review":
                return None
            targets = list(T.REVIEW_ROWS[1:])
        else:
            if key == "litigation_direct" and key in rows:
                key = "litigation_after_review"
            targets = [key]
        for n, target in enumerate(targets):
            if target is None or target in rows:
                return None
            rows[target] = run[n * width:(n + 1) * width]
    if rows and set(rows) != set(T.REVIEW_ROWS):
        # A row printed with every cell blank (its zeros left empty) has no number to be known by:
        # a run of five blank cells fills a row its labels name, or the next one, that no run filled.
        for labels, run in runs:
            if len(run) == width and not any(v.number is not None for v in run):
                key = row_named(labels)
                if key is not None and key not in rows:
                    rows[key] = run
    if set(rows) != set(T.REVIEW_ROWS):
        return None
    return [v for key in T.REVIEW_ROWS for v in rows[key]]


def _read_review(stream: _Stream, zone, warnings: list[str]) -> dict:
    start, stop = zone
    want = len(T.REVIEW_ROWS) * len(T.REVIEW_COLUMNS)
    # Rows of value cells, each with the labels before it; the data row is the
    # last one with 15 values, or (text layouts, PDF lines) all value cells
    # after the last header label, or pieces of a split section.
    # A run's labels are kept as cell indices and squashed only if the pieces are read.
    runs: list[tuple[list[int], list[Value]]] = []
    labels: list[int] = []
    current: list[Value] = []
    last_label = start
    tokens = stream.tokens
    for i in range(start, stop):
        token = tokens[i]
        if token == ROW_END or (value := parse_value(token)) is None:  # _value, inlined
            if current:
                runs.append((labels, current))
                current, labels = [], []
            if token != ROW_END:
                last_label = i
                labels.append(i)
            continue
        current.append(value)
    if current:
        runs.append((labels, current))
    exact = [r for _, r in runs if len(r) == want and any(v.number is not None for v in r)]
    after_last_label = [v for token in tokens[last_label + 1:stop] if (v := _value(token)) is not None]
    if exact:
        values = exact[-1]
    elif len(after_last_label) != want and (
            pieces := _review_pieces([("".join(stream.label(i) for i in cells), run) for cells, run in runs])):
        values = pieces
    else:
        values = after_last_label
        if not values:
            return {}
        values = _fit(values, want, "review_litigation", warnings)
    table = {}
    for r, row in enumerate(T.REVIEW_ROWS):
        chunk = values[r * 5:(r + 1) * 5]
        table[row] = {c: v.number for c, v in zip(T.REVIEW_COLUMNS, chunk)}
    return table


def read_tables(tokens: list[str], *, year: int | None = None) -> TablesResult:
    """Find and read the three statistical sections in a cell stream."""
    result = TablesResult()
    stream = _Stream(tokens)
    zones = _zones(stream)
    fmt = _detect_format(stream, zones.get("active_disclosure"))
    if fmt is None and "applications" in zones:
        fmt = _format_from_applications(stream, zones["applications"])
    if fmt is None and zones and year is not None:
        fmt = "2021" if year >= 2021 else "2019"
        result.warnings.append(f"template not recognisable from column labels; assumed {fmt} from the year")
    result.format = fmt
    if "active_disclosure" in zones and fmt:
        active = _read_active(stream, zones["active_disclosure"], fmt, result.warnings)
        if active:
            result.tables["active_disclosure"] = active
    if "applications" in zones:
        apps = _read_applications(stream, zones["applications"], result.warnings)
        if apps:
            result.tables["applications"] = apps
    if "review_litigation" in zones:
        review = _read_review(stream, zones["review_litigation"], result.warnings)
        if review:
            result.tables["review_litigation"] = review
    for key in T.SECTION_KEYS:
        if key not in result.tables and zones:
            result.warnings.append(f"{key}: section not found")
    if not result.tables:
        result.format = None
    return result


def _format_from_applications(stream: _Stream, zone) -> str | None:
    for i in range(*zone):
        label = stream.label(i)
        if label and (_APPLICATION_ROWS["other_no_correction"].search(label)
                      or _APPLICATION_ROWS["other_fee_unpaid"].search(label)):
            return "2021"
    return None
