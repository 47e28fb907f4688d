"""Import and export of articles: CSV and XLSX (both ways) and Markdown (export), with a
row-by-row validation report on import."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from kefu.core.errors import DomainError
from kefu.knowledge import services
from kefu.knowledge.tables import Article
from kefu.tenancy import Role, Scoped

__all__ = ["COLUMNS", "MAX_IMPORT_BYTES", "export_articles", "import_articles"]

COLUMNS = (
    "id",
    "title",
    "questions",
    "body",
    "internal_notes",
    "module",
    "tags",
    "synonyms",
    "audience_roles",
    "valid_from",
    "valid_until",
    "status",
)
# Chinese headers are accepted too (an editor's spreadsheet)
HEADER_ALIASES = {
    "标准问": "title",
    "标题": "title",
    "扩展问": "questions",
    "相似问": "questions",
    "答案": "body",
    "内容": "body",
    "内部备注": "internal_notes",
    "业务模块": "module",
    "模块": "module",
    "标签": "tags",
    "同义词": "synonyms",
    "适用角色": "audience_roles",
    "生效时间": "valid_from",
    "失效时间": "valid_until",
    "状态": "status",
}
MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
LIST_SPLIT = re.compile(r"[|\n；;]+")
TAG_SPLIT = re.compile(r"[,，、|;；\n]+")
LOCAL = ZoneInfo("Asia/Shanghai")


def _iso(value: datetime | None) -> str:
    return value.astimezone(LOCAL).isoformat(timespec="minutes") if value else ""


def _row(article: Article, paths: dict[int, str]) -> dict[str, str]:
    return {
        "id": str(article.id),
        "title": article.title,
        "questions": "|".join(article.questions or []),
        "body": article.body,
        "internal_notes": article.internal_notes,
        "module": paths.get(article.module_id or -1, ""),
        "tags": ",".join(article.tags or []),
        "synonyms": ",".join(article.synonyms or []),
        "audience_roles": ",".join(article.audience_roles or []),
        "valid_from": _iso(article.valid_from),
        "valid_until": _iso(article.valid_until),
        "status": article.status,
    }


def export_articles(articles: list[Article], paths: dict[int, str], fmt: str) -> tuple[bytes, str]:
    rows = [_row(a, paths) for a in articles]
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = "knowledge"
        sheet.append(list(COLUMNS))
        for row in rows:
            sheet.append([row[c] for c in COLUMNS])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    if fmt == "md":
        parts = []
        for row in rows:
            parts.append(f"## {row['title']}\n")
            meta = [f"- 模块: {row['module']}", f"- 状态: {row['status']}"]
            if row["questions"]:
                meta.append("- 扩展问: " + "；".join(row["questions"].split("|")))
            if row["tags"]:
                meta.append(f"- 标签: {row['tags']}")
            if row["valid_until"]:
                meta.append(f"- 有效期至: {row['valid_until']}")
            parts.append("\n".join(meta) + "\n\n" + row["body"] + "\n")
        return "\n".join(parts).encode("utf-8"), "text/markdown; charset=utf-8"
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(COLUMNS))
    writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" + text.getvalue()).encode("utf-8"), "text/csv; charset=utf-8"


def _records(raw: bytes, filename: str) -> Iterator[dict[str, str]]:
    if filename.lower().endswith((".xlsx", ".xlsm")) or raw[:2] == b"PK":
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise DomainError("bad_import_file", status=422, reason=type(exc).__name__) from exc
        rows = book.active.iter_rows(values_only=True)
        header = [str(h or "").strip() for h in next(rows, ())]
        for values in rows:
            yield {
                header[i]: ""
                if v is None
                else (v.isoformat() if isinstance(v, datetime) else str(v))
                for i, v in enumerate(values)
                if i < len(header)
            }
        return
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise DomainError("bad_import_file", status=422, reason="encoding") from exc
    yield from csv.DictReader(io.StringIO(text))


def _parse_time(value: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(0), LOCAL)
        parsed = datetime.fromisoformat(value.replace("/", "-"))
    except ValueError as exc:
        raise ValueError(value) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=LOCAL)


def import_articles(
    scope: Scoped, raw: bytes, filename: str, *, dry_run: bool = False, publish: bool = False
) -> dict[str, Any]:
    """Create one article per row; every row gets a line in the report (ok or its errors)."""
    if len(raw) > MAX_IMPORT_BYTES:
        raise DomainError("body_too_large", status=413)
    report: list[dict[str, Any]] = []
    roles = {str(r) for r in Role}
    for number, record in enumerate(_records(raw, filename), start=2):
        if number - 1 > MAX_ROWS:
            report.append({"row": number, "ok": False, "errors": ["too many rows"]})
            break
        row = {HEADER_ALIASES.get(k.strip(), k.strip()): (v or "") for k, v in record.items() if k}
        if not any(str(v).strip() for v in row.values()):
            continue
        errors: list[str] = []
        title = " ".join(str(row.get("title", "")).split())
        if not title:
            errors.append("title: 必填 / required")
        if len(title) > 300:
            errors.append("title: 过长 / too long (300)")
        times: dict[str, datetime | None] = {}
        for name in ("valid_from", "valid_until"):
            try:
                times[name] = _parse_time(str(row.get(name, "")))
            except ValueError:
                errors.append(f"{name}: 日期格式应为 YYYY-MM-DD / expected YYYY-MM-DD")
        audience = [r for r in TAG_SPLIT.split(str(row.get("audience_roles", ""))) if r.strip()]
        unknown = [r for r in audience if r.strip() not in roles]
        if unknown:
            errors.append(f"audience_roles: 未知角色 / unknown role {unknown[0]}")
        module = None
        module_path = str(row.get("module", "")).strip()
        if module_path:
            module = services.module_by_path(scope, module_path, create=True)
        status = (
            "published" if publish or str(row.get("status", "")).strip() == "published" else "draft"
        )
        if status == "published" and not publish:
            status = "draft"  # only an explicit, authorised publish import publishes
        data = services.ArticleData(
            title=title,
            body=str(row.get("body", "")).strip(),
            internal_notes=str(row.get("internal_notes", "")).strip(),
            module_id=module.id if module else None,
            questions=[q for q in LIST_SPLIT.split(str(row.get("questions", ""))) if q.strip()],
            tags=[t for t in TAG_SPLIT.split(str(row.get("tags", ""))) if t.strip()],
            synonyms=[t for t in TAG_SPLIT.split(str(row.get("synonyms", ""))) if t.strip()],
            audience_roles=[r.strip() for r in audience],
            valid_from=times.get("valid_from"),
            valid_until=times.get("valid_until"),
        )
        if not errors and status == "published":
            probe = Article(
                title=data.title,
                body=data.body,
                module_id=data.module_id,
                valid_until=data.valid_until,
            )
            errors += [
                f"{e.field}: {_message(e.key)}"
                for e in services.publish_checks(probe, scope.clock.now())
            ]
        if errors:
            report.append({"row": number, "ok": False, "title": title, "errors": errors})
            continue
        try:
            article = services.create_article(scope, data, status=status, source="import")
        except DomainError as exc:
            messages = [f"{e.field}: {_message(e.key)}" for e in exc.errors] or [exc.code]
            report.append({"row": number, "ok": False, "title": title, "errors": messages})
            continue
        report.append({"row": number, "ok": True, "id": article.id, "title": title, "errors": []})
    failed = sum(1 for r in report if not r["ok"])
    created = 0 if (dry_run or failed) else sum(1 for r in report if r["ok"])
    return {"created": created, "failed": failed, "dry_run": dry_run, "rows": report}


def _message(key: str) -> str:
    from kefu.core.i18n import translate

    return f"{translate(key, 'zh-CN')} / {translate(key, 'en')}"
