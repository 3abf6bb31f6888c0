"""Answering an analysis request (`run`): the frames of every moment, the table with its totals, the chart."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _

from filings.choices import PatentKind
from provincial import dashboards, periods
from provincial.analysis.definition import (
    DIMENSIONS,
    GROUP,
    MEASURES,
    PATENT,
    REGION_DIMS,
    TIME,
    TOTAL,
    Definition,
    DefinitionError,
)
from provincial.analysis.labels import make_labeller, sort_key
from provincial.analysis.queries import Bucket, Frame, buckets, build_frame, covered_by_cells
from provincial.dashboards import freshness

MAX_CELLS = 10000  # numbers in the table (rows × columns × measures × values)

MAX_MOMENTS = 24  # as-of queries of one request (time buckets × the year before)


@dataclass
class Result:
    definition: Definition
    period: periods.Period | None
    before: periods.Period | None
    as_of: dt.datetime | None  # the current state's time (the summary's 数据截至), else None
    from_cells: bool
    header: list[str]
    body: list[list[Any]]  # rows: the row labels, then the numbers
    label_columns: int
    money_columns: set[int]
    percent_columns: set[int]
    chart: dict[str, Any]
    cells: int
    time_note: bool

    @property
    def is_empty(self) -> bool:
        return not self.body


class TooLarge(DefinitionError):
    pass


def run(area: dashboards.Area, definition: Definition) -> Result:
    """The pivot of `definition` in `area` (Http404 for a region filter outside the area; TooLarge when it
    would exceed the caps)."""
    for dim in REGION_DIMS:
        for code in definition.filter_map.get(dim, ()):
            if code != dashboards.BLANK and not area.regions_scope.covers_region(code):
                raise Http404
    period = periods.parse(definition.period) if definition.period else None
    before = period.year_before() if period is not None and definition.compare else None
    time_dim = next((d for d in definition.dims if DIMENSIONS[d].kind == TIME), None)
    current_buckets = buckets(period, time_dim) if period is not None else []
    before_buckets = buckets(before, time_dim) if before is not None else []
    if len(current_buckets) + len(before_buckets) > MAX_MOMENTS:
        raise TooLarge(
            {
                "period": [
                    _("按所选时间维度，期间内的时点过多（%(n)s 个，最多 %(max)s 个）：请缩短期间或改用更粗的时间维度。")
                    % {"n": len(current_buckets) + len(before_buckets), "max": MAX_MOMENTS}
                ]
            }
        )
    as_of = None
    from_cells = period is None and covered_by_cells(definition)
    if period is None:
        as_of = freshness.ensure_fresh(area) if from_cells else None
        frames: dict[Any, Frame] = {None: build_frame(area, definition, None, None)}
        before_frames: dict[Any, Frame] = {}
    else:
        moments = {b.end for b in current_buckets + before_buckets}
        moved_by_moment = {m: dashboards.unit_values_at(m) for m in moments}
        frames = {b.key: build_frame(area, definition, b.end, moved_by_moment[b.end]) for b in current_buckets}
        # the year before: bucket i of the current period against bucket i of the year before
        before_frames = (
            {
                cb.key: build_frame(area, definition, bb.end, moved_by_moment[bb.end])
                for cb, bb in zip(current_buckets, before_buckets, strict=True)
            }
            if before is not None
            else {}
        )
    return _table(definition, period, before, as_of, from_cells, frames, before_frames, current_buckets, time_dim)


def _keys(definition: Definition, frames: dict[Any, Frame], buckets_: list[Bucket]) -> dict[str, list[Any]]:
    """The row keys and the column keys, in order: every time bucket and patent type, crossed with the
    combinations of the group dimensions' values that hold figures (never the full cross product: a city and a
    county that is not in it make no row)."""
    group = [d for d in definition.dims if DIMENSIONS[d].kind == GROUP]
    seen: set[tuple[Any, ...]] = set()
    for frame in frames.values():
        for data in frame.data.values():
            for key, measures in data.items():
                if any(measures.values()):
                    seen.add(key)
    split_values: dict[str, list[Any]] = {}
    for d in definition.dims:
        if DIMENSIONS[d].kind == TIME:
            split_values[d] = [b.key for b in buckets_]
        elif DIMENSIONS[d].kind == PATENT:
            split_values[d] = sorted(definition.filter_map.get("patent") or PatentKind.values, key=sort_key("patent"))
    out: dict[str, list[Any]] = {}
    for side, dims in (("rows", definition.rows), ("cols", definition.cols)):
        if not dims:
            out[side] = [()]
            continue
        own = [group.index(d) for d in dims if d in group]
        combos = {tuple(key[i] for i in own) for key in seen}
        splits = list(itertools.product(*[split_values[d] for d in dims if d in split_values]))
        keys = []
        for split in splits:
            for combo in combos:
                parts, s_iter, c_iter = [], iter(split), iter(combo)
                for d in dims:
                    parts.append(next(s_iter) if d in split_values else next(c_iter))
                keys.append(tuple(parts))

        def order(key: tuple[Any, ...], dims: tuple[str, ...] = dims) -> tuple[Any, ...]:
            return tuple(
                split_values[d].index(v) if d in split_values else sort_key(d)(v)
                for d, v in zip(dims, key, strict=True)
            )

        out[side] = sorted(keys, key=order)
    return out


def _figure(
    definition: Definition,
    frames: dict[Any, Frame],
    last_bucket: Any,
    assignment: dict[str, Any],
    measure: str,
) -> Any:
    """One number: the measure with each dimension at a value or TOTAL."""
    time_dim = definition.time_dim
    bucket = last_bucket if time_dim is None or assignment[time_dim] is TOTAL else assignment[time_dim]
    frame = frames[bucket]
    patent = assignment.get("patent", TOTAL) if "patent" in definition.dims else TOTAL
    data = frame.data[None if patent is TOTAL else patent]
    group = definition.group_dims
    wanted = tuple(i for i, d in enumerate(group) if assignment[d] is not TOTAL)
    sums = frame.margins.get((patent is TOTAL, patent, wanted))
    if sums is None:  # the data summed over the other dimensions, once per pattern of TOTALs
        sums = {}
        for key, measures in data.items():
            slot = sums.setdefault(tuple(key[i] for i in wanted), {})
            for name, value in measures.items():
                slot[name] = slot.get(name, 0) + (value or 0)
        frame.margins[(patent is TOTAL, patent, wanted)] = sums
    total: Any = sums.get(tuple(assignment[group[i]] for i in wanted), {}).get(measure, 0)
    if MEASURES[measure].money:
        return Decimal(total).quantize(Decimal("0.01"))
    return int(total)


def measure_label(definition: Definition, measure: str) -> str:
    """A measure's header; products are filed products when the filing status is a dimension or filter."""
    if measure == "products" and ("status" in definition.dims or "status" in definition.filter_map):
        return _("已提交备案产品")
    return str(MEASURES[measure].label)


def _table(
    definition: Definition,
    period: periods.Period | None,
    before: periods.Period | None,
    as_of: dt.datetime | None,
    from_cells: bool,
    frames: dict[Any, Frame],
    before_frames: dict[Any, Frame],
    buckets_: list[Bucket],
    time_dim: str | None,
) -> Result:
    keys = _keys(definition, {**{("b", k): v for k, v in before_frames.items()}, **frames}, buckets_)
    labels = _dimension_labels(definition, keys, buckets_)
    last = buckets_[-1].key if buckets_ else None
    compare = bool(before_frames)
    parts = [""] if not compare else ["", "before", "difference", "percent"]
    row_keys, col_keys = keys["rows"], keys["cols"]
    if definition.rows:
        row_keys.append(tuple(TOTAL for _d in definition.rows))
    if definition.cols:
        col_keys.append(tuple(TOTAL for _d in definition.cols))
    n_numbers = len(row_keys) * len(col_keys) * len(definition.measures) * len(parts)
    _check_size(n_numbers)

    def label_of(dims: tuple[str, ...], key: tuple[Any, ...]) -> list[str]:
        return [_("合计") if v is TOTAL else labels[d](v) for d, v in zip(dims, key, strict=True)]

    header = [str(DIMENSIONS[d].label) for d in definition.rows] or ([_("项目")] if definition.cols else [""])
    label_columns = len(header)
    columns, money_columns, percent_columns = _number_columns(definition, header, col_keys, parts, label_of)

    def number(assign: dict[str, Any], m: str, part: str) -> Any:
        current = _figure(definition, frames, last, assign, m)
        if not part:
            return current
        before_value = _figure(definition, before_frames, last, assign, m)
        if part == "before":
            return before_value
        change = periods.change(current, before_value)
        return change["difference"] if part == "difference" else change["percent"]

    body: list[list[Any]] = []
    for rkey in row_keys:
        row: list[Any] = label_of(definition.rows, rkey) if definition.rows else [_("合计")]
        if definition.rows and rkey[0] is TOTAL:
            row = [_("合计"), *([""] * (len(definition.rows) - 1))]
        numbers = []
        for ckey, m, part in columns:
            assign = {**dict(zip(definition.rows, rkey, strict=True)), **dict(zip(definition.cols, ckey, strict=True))}
            numbers.append(number(assign, m, part))
        is_total = definition.rows and rkey[0] is TOTAL
        if not is_total and not any(numbers):
            continue  # a combination with nothing in it (the dimensions' values are crossed)
        body.append(row + numbers)
    if len(body) == 1 and definition.rows and not any(body[0][label_columns:]):
        body = []  # only a totals row of zeros: nothing to show
    chart = _chart(definition, header, body, label_columns, columns, time_dim)
    return Result(
        definition=definition,
        period=period,
        before=before,
        as_of=as_of,
        from_cells=from_cells,
        header=header,
        body=body,
        label_columns=label_columns,
        money_columns=money_columns,
        percent_columns=percent_columns,
        chart=chart,
        cells=n_numbers,
        time_note=time_dim is not None,
    )


def _dimension_labels(
    definition: Definition, keys: dict[str, list[tuple[Any, ...]]], buckets_: list[Bucket]
) -> dict[str, Callable[[Any], str]]:
    """The labeller of each dimension of the table (a time dimension's buckets by their labels)."""
    labels: dict[str, Callable[[Any], str]] = {}
    for d in definition.dims:
        if DIMENSIONS[d].kind == TIME:
            names: dict[Any, str] = {b.key: b.label for b in buckets_}

            def bucket_label(v: Any, names: dict[Any, str] = names) -> str:
                return names.get(v, v)

            labels[d] = bucket_label
        else:
            index = (definition.rows if d in definition.rows else definition.cols).index(d)
            side = keys["rows"] if d in definition.rows else keys["cols"]
            labels[d] = make_labeller(d, {key[index] for key in side})
    return labels


def _check_size(n_numbers: int) -> None:
    """Refuse a table of more than MAX_CELLS numbers."""
    if n_numbers > MAX_CELLS:
        raise TooLarge(
            {
                "__all__": [
                    _("结果过大：约 %(n)s 个数值，最多 %(max)s 个。请减少维度、增加筛选条件或缩短期间。")
                    % {"n": f"{n_numbers:,}", "max": f"{MAX_CELLS:,}"}
                ]
            }
        )


def _number_columns(
    definition: Definition,
    header: list[str],
    col_keys: list[tuple[Any, ...]],
    parts: list[str],
    label_of: Callable[[tuple[str, ...], tuple[Any, ...]], list[str]],
) -> tuple[list[tuple[tuple[Any, ...], str, str]], set[int], set[int]]:
    """Append the number columns' headers to `header`; returns the columns (column key, measure, part) and the
    indexes of the money and percent columns."""
    part_labels = {
        "": _("本期") if len(parts) > 1 else "",
        "before": _("上年同期"),
        "difference": _("增减"),
        "percent": _("增幅（%）"),
    }
    money_columns: set[int] = set()
    percent_columns: set[int] = set()
    columns: list[tuple[tuple[Any, ...], str, str]] = []
    for ckey in col_keys:
        for m in definition.measures:
            for part in parts:
                text = " · ".join([*label_of(definition.cols, ckey), measure_label(definition, m), part_labels[part]])
                header.append(text.strip(" ·"))
                index = len(header) - 1
                if part == "percent":
                    percent_columns.add(index)
                elif MEASURES[m].money:
                    money_columns.add(index)
                columns.append((ckey, m, part))
    return columns, money_columns, percent_columns


def _chart(
    definition: Definition,
    header: list[str],
    body: list[list[Any]],
    label_columns: int,
    columns: list[tuple[tuple[Any, ...], str, str]],
    time_dim: str | None,
) -> dict[str, Any]:
    """The chart's data: one category per row (totals excluded), one series per column of the first measure's
    current values (the totals column excluded)."""
    first = definition.measures[0]
    rows = [r for r in body if not (definition.rows and r[0] == _("合计") and r is body[-1])]
    series = []
    for index, (ckey, m, part) in enumerate(columns):
        if m != first or part or (definition.cols and ckey and ckey[0] is TOTAL):
            continue
        series.append(
            {
                "name": header[label_columns + index],
                "values": [float(r[label_columns + index] or 0) for r in rows],
            }
        )
    return {
        "type": "line" if definition.chart == "line" or time_dim in definition.rows else "bar",
        "categories": [" ".join(str(x) for x in r[:label_columns] if x) for r in rows],
        "series": series,
        "measure": measure_label(definition, first),
    }
