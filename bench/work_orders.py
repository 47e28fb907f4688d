"""Work orders at 1,000,000 rows on PostgreSQL: create, back-office queue, report queries.

Run: .venv/bin/python bench/work_orders.py [--orders 1000000] [--samples 300]
Starts a throwaway PostgreSQL (tests/services.py), migrates it, fills ``work_orders`` with one
year of orders by INSERT ... SELECT over generate_series (same table, same indexes),
rebuilds the report counters from them, then measures through the product code:

- ``create``: ``services.create_order`` in its own session and transaction, as the API does
  (template, validation, policy, calendar, auto-assignment to the least-loaded member, SLA,
  event, audit, counters);
- ``queue``: the workbench query of one group's open orders sorted by deadline (page of 50 plus
  the total), and ``my_queue`` for one member;
- the report queries of ``kefu.tickets.reports`` over the last 28 days (outcomes in total, per
  group and per agent, weekly volume, hot topics) and the live backlog by age.

The last line is JSON with a ``*_p99_ms`` key for each. Target: each under 50 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from kefu.core.clock import SystemClock
from kefu.db.session import Database
from kefu.schema import upgrade
from kefu.tenancy import Principal, Scoped
from kefu.tenancy.audit import install_audit
from kefu.tenancy.security import hash_password
from kefu.tenancy.services import create_tenant
from kefu.tenancy.tables import User
from kefu.tickets import backlog, reports, services
from kefu.tickets.api import list_page, order_query
from kefu.tickets.sla import TEMPLATES
from tests.services import start_postgres

GROUPS = [
    ("data", "数据专班"),
    ("billing", "话费专班"),
    ("marketing", "营销专班"),
    ("network", "网络专班"),
    ("hard", "疑难专班"),
]
TEMPLATES_ = [
    ("bill_dispute", "话费争议", "complaint", "话费"),
    ("data_charge", "流量扣费异议", "complaint", "流量"),
    ("signal", "网络信号投诉", "complaint", "网络"),
    ("plan_change", "套餐变更申请", "service_request", "套餐"),
    ("mnp", "携号转网", "service_request", "携号转网"),
    ("marketing", "营销活动投诉", "complaint", "营销"),
]
MEMBERS_PER_GROUP = 6


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2)


def timed(fn: Callable[[], Any], samples: int) -> list[float]:
    fn()  # warm up
    out = []
    for _ in range(samples):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def setup(db: Database, clock: SystemClock) -> dict[str, Any]:
    with db.session(clock=clock, actor_name="bench") as session:
        tenant = create_tenant(session, clock, "bench", "压测租户")
        system = Principal(0, tenant.id, "bench", "bench", frozenset())
        scope = Scoped(session, system, clock)
        password = hash_password("bench-pass-1")
        users = []
        for n in range(len(GROUPS) * MEMBERS_PER_GROUP + 1):
            user = User(
                tenant_id=tenant.id,
                username=f"bench{n}",
                display_name=f"处理人{n}",
                password_hash=password,
                roles=["backoffice"],
                created_at=clock.now(),
            )
            session.add(user)
            users.append(user)
        session.flush()
        groups = []
        for index, (code, name) in enumerate(GROUPS):
            group = services.create_group(
                scope, code=code, name=name, level=2 if code == "hard" else 1
            )
            members = users[index * MEMBERS_PER_GROUP : (index + 1) * MEMBERS_PER_GROUP]
            services.set_members(scope, group.id, [(u.id, 0) for u in members])
            groups.append((group.id, [u.id for u in members]))
        policy = services.create_policy(scope, code="tel", name="电信", base="telecom_cn")
        templates = []
        for index, (code, name, category, business) in enumerate(TEMPLATES_):
            template = services.create_template(
                scope,
                code=code,
                name=name,
                category=category,
                business_type=business,
                fields=[
                    {"key": "amount", "label": "金额", "type": "amount"},
                    {"key": "phone", "label": "电话", "type": "phone", "required": True},
                ],
                default_group_id=groups[index % len(groups)][0],
                sla_policy_id=policy.id,
            )
            templates.append(template.id)
        return {
            "tenant": tenant.id,
            "groups": groups,
            "templates": templates,
            "creator": users[-1].id,
        }


def fill(engine: Any, ctx: dict[str, Any], orders: int, now: datetime) -> None:
    """One year of orders, ~2 % still open (mostly the last ten days)."""
    groups = ctx["groups"]
    member_case = " ".join(
        f"WHEN {gi} THEN (ARRAY[{','.join(str(m) for m in members)}])[1 + (i % {len(members)})]"
        for gi, (_gid, members) in enumerate(groups)
    )
    group_case = " ".join(f"WHEN {gi} THEN {gid}" for gi, (gid, _m) in enumerate(groups))
    tpl = ctx["templates"]
    tpl_case = lambda col: " ".join(  # noqa: E731
        f"WHEN {ti} THEN '{TEMPLATES_[ti][col]}'" for ti in range(len(tpl))
    )
    policy = json.dumps(TEMPLATES["telecom_cn"].to_dict(), ensure_ascii=False).replace("'", "''")
    sql = f"""
    WITH src AS (
      SELECT i,
             (i % {len(groups)}) AS gi,
             (i % {len(tpl)}) AS ti,
             timestamptz '{now.isoformat()}' - make_interval(days => (i % 365),
                 mins => ((i::bigint * 7919) % 1440)::int) AS created
      FROM generate_series(1, {orders}) AS i
    ), rows AS (
      SELECT src.*,
             CASE WHEN created > timestamptz '{now.isoformat()}' - interval '10 days'
                  THEN (i % 10) < 6 ELSE (i % 200) = 0 END AS open_,
             created + make_interval(days => 5) AS due,
             created + make_interval(hours => 2 + ((i * 31) % 160)) AS resolved
      FROM src
    )
    INSERT INTO work_orders (
      tenant_id, template_id, category, business_type, topic, title, description, priority,
      status, is_open, group_id, last_group_id, assignee_id, creator_id, customer_name,
      customer_phone, fields, sla_policy, created_at, updated_at, cycle_started_at, pauses,
      first_response_at, resolved_at, closed_at, first_response_due, resolution_due, legal_due,
      sla_phase, sla_next_at, sla_marks, escalation_level, regulator_risk, extensions,
      repeat_count, reopen_count, followup_status, version)
    SELECT {ctx["tenant"]},
           (ARRAY[{",".join(map(str, tpl))}])[1 + ti],
           CASE ti {tpl_case(2)} END,
           CASE ti {tpl_case(3)} END,
           CASE ti {tpl_case(0)} END,
           '客户反映' || (CASE ti {tpl_case(1)} END) || '问题 #' || i,
           '',
           (ARRAY['low','normal','normal','high','urgent'])[1 + (i % 5)],
           CASE WHEN open_
                THEN (ARRAY['assigned','in_progress','in_progress','pending_customer'])[1 + i % 4]
                ELSE 'closed' END,
           open_,
           CASE gi {group_case} END,
           CASE gi {group_case} END,
           CASE gi {member_case} END,
           {ctx["creator"]},
           '客户' || (i % 100000),
           '138' || lpad((i % 100000000)::text, 8, '0'),
           '{{}}'::jsonb,
           '{policy}'::jsonb,
           created, created, created, '[]'::jsonb,
           created + interval '1 hour',
           CASE WHEN open_ THEN NULL ELSE resolved END,
           CASE WHEN open_ THEN NULL ELSE resolved + interval '1 day' END,
           created + interval '24 hours',
           due,
           created + interval '15 days',
           CASE WHEN open_ AND due < timestamptz '{now.isoformat()}' THEN 'breached'
                WHEN open_ THEN 'ok'
                WHEN resolved <= due THEN 'met' ELSE 'missed' END,
           CASE WHEN open_ THEN due ELSE NULL END,
           '{{}}'::jsonb, 0, false, 0, 0, 0,
           CASE WHEN open_ THEN '' ELSE 'solved' END,
           1
    FROM rows
    """
    with engine.begin() as conn:
        conn.execute(text(sql))


def rebuild_stats(engine: Any, tenant_id: int) -> None:
    """The counters the services keep, rebuilt from the orders (local days, Asia/Shanghai)."""
    sql = f"""
    INSERT INTO wo_daily_stats (tenant_id, day, group_id, agent_id, category, business_type,
                                topic, created, resolved, on_time, overdue, reopened, cancelled)
    SELECT tenant_id, day, group_id, agent_id, category, business_type, topic,
           sum(created), sum(resolved), sum(on_time), sum(overdue), 0, 0
    FROM (
      SELECT tenant_id, (created_at AT TIME ZONE 'Asia/Shanghai')::date AS day,
             coalesce(group_id, 0) AS group_id, 0 AS agent_id, category, business_type, topic,
             1 AS created, 0 AS resolved, 0 AS on_time, 0 AS overdue
      FROM work_orders WHERE tenant_id = {tenant_id}
      UNION ALL
      SELECT tenant_id, (resolved_at AT TIME ZONE 'Asia/Shanghai')::date,
             coalesce(group_id, 0), coalesce(assignee_id, 0), category, business_type, topic,
             0, 1, (resolved_at <= resolution_due)::int, (resolved_at > resolution_due)::int
      FROM work_orders WHERE tenant_id = {tenant_id} AND resolved_at IS NOT NULL
    ) AS facts
    GROUP BY tenant_id, day, group_id, agent_id, category, business_type, topic
    """
    with engine.begin() as conn:
        conn.execute(text(sql))
    with Session(engine) as session:  # the backlog rollup the services keep
        backlog.rebuild(session, tenant_id)
        session.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    started = time.perf_counter()
    server = start_postgres()
    try:
        url = server.url
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text('CREATE DATABASE "wo_bench"'))
        admin.dispose()
        url = url.rsplit("/", 1)[0] + "/wo_bench"
        engine = create_engine(url)
        upgrade(engine)
        clock = SystemClock()
        db = Database(url)
        install_audit(db.sessions)
        from kefu.core.events import InProcessBus
        from kefu.db.eventlog import install_outbox

        install_outbox(db.sessions, InProcessBus())
        ctx = setup(db, clock)
        t0 = time.perf_counter()
        fill(engine, ctx, args.orders, clock.now())
        rebuild_stats(engine, ctx["tenant"])
        with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))
        fill_s = round(time.perf_counter() - t0, 1)
        print(f"filled {args.orders} orders in {fill_s} s", file=sys.stderr)

        principal = Principal(ctx["creator"], ctx["tenant"], "bench", "bench", frozenset())
        counter = iter(range(10**9))

        def create() -> None:
            n = next(counter)
            with db.session(clock=clock, actor=principal) as session:
                scope = Scoped(session, principal, clock)
                services.create_order(
                    scope,
                    template_id=ctx["templates"][n % len(ctx["templates"])],
                    title=f"压测工单 {n}",
                    fields={"amount": "12.50", "phone": "13800138000"},
                )

        def queue(view: str, **flt: Any) -> Callable[[], None]:
            def run() -> None:
                with db.sessions() as session:
                    fake = SimpleNamespace(
                        scope=Scoped(session, principal_for_queue[0], clock), session=session
                    )
                    query = order_query(fake, {"view": view, **flt})  # type: ignore[arg-type]
                    rows, total = list_page(fake, query, limit=50)  # type: ignore[arg-type]
                    assert total >= len(rows)

            return run

        group_id, members = ctx["groups"][1]
        principal_for_queue = [Principal(members[0], ctx["tenant"], "m", "m", frozenset())]
        tenant = ctx["tenant"]
        now = clock.now()
        period = reports.Period.last_days((now + timedelta(hours=8)).date(), 28)

        def report(fn: Callable[..., Any], *a: Any) -> Callable[[], None]:
            def run() -> None:
                with db.sessions() as session:
                    fn(session, tenant, *a)

            return run

        measured = {
            "create": timed(create, args.samples),
            "queue": timed(queue("all", group_id=group_id), args.samples),
            "my_queue": timed(queue("mine"), args.samples),
            "report_on_time": timed(report(reports.outcomes, period, "total"), args.samples),
            "report_on_time_by_group": timed(
                report(reports.outcomes, period, "group"), args.samples
            ),
            "report_on_time_by_agent": timed(
                report(reports.outcomes, period, "agent"), args.samples
            ),
            "report_weekly_volume": timed(report(reports.weekly_volume, period), args.samples),
            "report_hot_topics": timed(report(reports.hot_topics, period), args.samples),
            "report_backlog": timed(report(reports.backlog_by_age, now), args.samples),
        }
        with engine.connect() as conn:
            total = conn.execute(text("SELECT count(*) FROM work_orders")).scalar_one()
            open_ = conn.execute(
                text("SELECT count(*) FROM work_orders WHERE is_open")
            ).scalar_one()
        result: dict[str, Any] = {
            "bench": "work_orders",
            "orders": int(total),
            "open": int(open_),
            "samples": args.samples,
            "fill_s": fill_s,
        }
        for name, samples in measured.items():
            result[f"{name}_p50_ms"] = round(statistics.median(samples), 2)
            result[f"{name}_p99_ms"] = p99(samples)
        result["total_s"] = round(time.perf_counter() - started, 1)
        result["target_p99_ms"] = 50
        result["ok"] = all(result[f"{k}_p99_ms"] < 50 for k in measured)
        db.dispose()
        engine.dispose()
        print(json.dumps(result, ensure_ascii=False))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
