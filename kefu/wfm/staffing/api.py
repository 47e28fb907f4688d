"""Staffing calculator HTTP API (issue 6): calls per interval → required agents (Erlang C/A),
predicted SL, ASA, occupancy, P(abandon), scheduled staff; CSV and XLSX export; and the page."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import Field

from kefu.api.deps import Ctx, require
from kefu.api.schemas import Input
from kefu.core.errors import FieldError, ValidationFailed
from kefu.tenancy import tenant_calendar
from kefu.web.pages import page_ctx, render
from kefu.wfm.erlang import StaffingInputError
from kefu.wfm.staffing.calc import (
    HEADER,
    Interval,
    StaffingCsvError,
    StaffingParams,
    StaffingRow,
    parse_intervals_csv,
    row_values,
    staff_intervals,
    totals,
    write_csv,
)

__all__ = ["pages", "router"]

router = APIRouter(prefix="/wfm/staffing", tags=["wfm"])
pages = APIRouter(include_in_schema=False)


class IntervalIn(Input):
    start: datetime
    calls: float
    aht_s: float | None = None


class StaffingIn(Input):
    """Either ``intervals`` or ``csv`` (text of an ``interval_start,calls[,aht_s]`` file)."""

    intervals: list[IntervalIn] | None = Field(default=None, max_length=5000)
    csv: str | None = Field(default=None, max_length=1_000_000)
    interval_min: int = 30
    aht_s: float
    target: float = 0.8
    threshold_s: float = 20.0
    patience_s: float | None = None
    max_abandon: float | None = None
    max_occupancy: float | None = None
    shrinkage: float = 0.0


def _compute(body: StaffingIn) -> tuple[StaffingParams, list[StaffingRow]]:
    params = StaffingParams(
        interval_min=body.interval_min,
        aht_s=body.aht_s,
        target=body.target,
        threshold_s=body.threshold_s,
        patience_s=body.patience_s,
        max_abandon=body.max_abandon,
        max_occupancy=body.max_occupancy,
        shrinkage=body.shrinkage,
    )
    if (body.intervals is None) == (body.csv is None):
        raise ValidationFailed(
            "staffing_bad_input",
            errors=[FieldError("intervals", "error.staffing.intervals_or_csv")],
            field="intervals",
        )
    try:
        if body.csv is not None:
            if body.interval_min not in (15, 30, 60):
                raise StaffingInputError("interval_min", "must be one of (15, 30, 60)")
            intervals = parse_intervals_csv(body.csv, body.interval_min)
        else:
            intervals = [Interval(i.start, i.calls, i.aht_s) for i in body.intervals or []]
        return params, staff_intervals(intervals, params)
    except StaffingCsvError as exc:
        raise ValidationFailed(
            "staffing_bad_csv",
            errors=[
                FieldError(
                    f"line {p.line}",
                    f"error.staffing.csv_{p.code}",
                    column=p.column,
                    value=p.value,
                )
                for p in exc.problems
            ],
            count=len(exc.problems),
        ) from exc
    except StaffingInputError as exc:
        raise ValidationFailed(
            "staffing_bad_input",
            errors=[FieldError(exc.field, "error.staffing.invalid", message=exc.message)],
            field=exc.field,
        ) from exc


def _row_json(row: StaffingRow) -> dict[str, Any]:
    return {
        "start": row.start.isoformat(),
        "calls": row.calls,
        "aht_s": row.aht_s,
        "load": row.load,
        "agents": row.agents,
        "scheduled": row.scheduled,
        "service_level": row.service_level,
        "asa_s": row.asa_s,
        "occupancy": row.occupancy,
        "p_abandon": row.p_abandon,
    }


@router.post("", summary="Required agents per interval (Erlang C, or Erlang A with patience_s)")
def staffing(body: StaffingIn, _ctx: Ctx = Depends(require("wfm.plan"))) -> dict[str, Any]:
    params, rows = _compute(body)
    return {
        "model": params.model,
        "interval_min": params.interval_min,
        "rows": [_row_json(r) for r in rows],
        "totals": totals(rows, params.interval_min),
    }


def _xlsx(rows: list[StaffingRow], params: StaffingParams) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "staffing"
    sheet.append(list(HEADER))
    for row in rows:
        sheet.append(row_values(row))
    info = book.create_sheet("parameters")
    for key in (
        "model",
        "interval_min",
        "aht_s",
        "target",
        "threshold_s",
        "patience_s",
        "max_abandon",
        "max_occupancy",
        "shrinkage",
    ):
        info.append([key, getattr(params, key)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@router.post("/export", summary="The same calculation as a CSV or XLSX download")
def export(
    body: StaffingIn,
    format: Literal["csv", "xlsx"] = Query("csv"),
    _ctx: Ctx = Depends(require("wfm.plan")),
) -> Response:
    params, rows = _compute(body)
    if format == "xlsx":
        return Response(
            _xlsx(rows, params),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": 'attachment; filename="staffing.xlsx"'},
        )
    return Response(
        write_csv(rows).encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="staffing.csv"'},
    )


@pages.get("/wfm/staffing", response_class=HTMLResponse)
def staffing_page(ctx: Ctx = Depends(page_ctx("wfm.plan"))) -> Response:
    zone = ZoneInfo(tenant_calendar(ctx.session, ctx.scope.tenant_id).timezone)
    now = ctx.container.clock.now().astimezone(zone)
    offset = now.strftime("%z")
    return render(
        ctx.request,
        "wfm_staffing.html",
        ctx,
        today=now.date().isoformat(),
        offset=f"{offset[:3]}:{offset[3:]}",
    )
