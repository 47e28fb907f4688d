"""The ``kefu`` command: serve, migrate, demo, and user/tenant administration."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import select

import kefu
from kefu.config import Settings

console = Console(stderr=True)


@contextmanager
def _steps(title: str) -> Iterator[Progress]:
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        progress.add_task(title, total=None)
        yield progress


def _migrate(settings: Settings) -> None:
    from kefu.db.session import Database
    from kefu.schema import upgrade

    db = Database(settings.resolved_database_url())
    try:
        with _steps(f"Migrating {db.backend} database"):
            upgrade(db.engine)
    finally:
        db.dispose()


@click.group()
@click.version_option(kefu.__version__, prog_name="kefu")
def main() -> None:
    """kefu (客服): omnichannel contact-center platform."""


@main.command()
def migrate() -> None:
    """Apply database migrations (SQLite in ./var by default, or KEFU_DATABASE_URL)."""
    _migrate(Settings())
    console.print("[green]Database is up to date.")


def _serve(settings: Settings, host: str, port: int, *, demo: bool = False) -> None:
    import uvicorn

    from kefu.bootstrap import create_app

    app = create_app(settings=settings)
    if demo and settings.demo_simulation:
        from kefu.desk.simulation import start_simulation

        start_simulation(app.state.container)  # simulated customers and agents keep it busy
    console.print(f"kefu {kefu.__version__} on [bold]http://{host}:{port}[/] ({settings.backend})")
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=settings.log_level,
        ws_ping_interval=None,
        ws_per_message_deflate=False,  # small JSON frames: compressing costs more than it saves
        # Longer than clients' and proxies' idle timeouts: a request sent just as the server
        # closes an idle keep-alive connection fails with no response.
        timeout_keep_alive=30,
    )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-migrate", is_flag=True, help="Do not apply pending migrations first.")
def serve(host: str, port: int, no_migrate: bool) -> None:
    """Run the web service."""
    settings = Settings()
    if not no_migrate:
        _migrate(settings)
    _serve(settings, host, port)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--seed-only", is_flag=True, help="Create the demo data and exit without serving.")
@click.option(
    "--voice",
    is_flag=True,
    help="Also take phone calls: starts Kamailio and the media server (docs/voice.md).",
)
def demo(host: str, port: int, seed_only: bool, voice: bool) -> None:
    """Create the demo center (once) and serve it."""
    from kefu.bootstrap import build_container
    from kefu.demo import DEMO_LOGINS, seed_demo

    settings = Settings()
    _migrate(settings)
    container = build_container(settings)
    with (
        _steps("Creating demo data") as progress,
        container.db.session(clock=container.clock, actor_name="kefu demo") as session,
    ):
        task = progress.tasks[0].id
        created = seed_demo(
            session, container.clock, lambda m: progress.update(task, description=f"Demo: {m}")
        )
    container.close()
    console.print("[green]Demo data created." if created else "Demo data already present.")
    console.print("Demo logins (username / password):")
    for login in DEMO_LOGINS:
        console.print(f"  {login.username:<11} {login.password:<16} {', '.join(login.roles)}")
    if seed_only:
        return
    if voice:
        _serve_demo_voice(settings, host, port)
    else:
        _serve(settings, host, port, demo=True)


def _serve_demo_voice(settings: Settings, host: str, port: int) -> None:
    """The demo center with call control, Kamailio and the media server (hotline 10088)."""
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager
    from typing import Any

    from kefu.bootstrap import Container, build_container, create_app
    from kefu.channels.voice import cli as voice_cli

    def demo_app(container: Container) -> Any:
        app = create_app(container)
        inner = app.router.lifespan_context

        @asynccontextmanager
        async def lifespan(a: Any) -> AsyncIterator[Any]:
            async with inner(a) as state:
                if settings.demo_simulation:
                    from kefu.desk.simulation import start_simulation

                    start_simulation(container)
                yield state

        app.router.lifespan_context = lifespan
        return app

    voice_cli.set_app_factory(build_container, demo_app)
    click.get_current_context().invoke(voice_cli.serve, host=host, port=port, with_edge=True)


def _register_wfm() -> None:
    from kefu.wfm.cli import wfm

    main.add_command(wfm)


_register_wfm()


def _register_simulation() -> None:
    from kefu.simulation.cli import simulate_command

    main.add_command(simulate_command)


_register_simulation()


def _register_voice() -> None:
    from kefu.bootstrap import build_container, create_app
    from kefu.channels.voice.cli import set_app_factory, voice

    set_app_factory(build_container, create_app)  # `kefu voice serve` composes the app
    main.add_command(voice)


_register_voice()


@main.group()
def user() -> None:
    """Manage users."""


@user.command("create")
@click.option("--tenant", "tenant_code", required=True, help="Tenant code; created if missing.")
@click.option("--tenant-name", default="", help="Name for a new tenant.")
@click.option("--username", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--display-name", default="")
@click.option(
    "--role",
    "roles",
    multiple=True,
    default=("admin",),
    show_default=True,
    type=click.Choice([r.value for r in __import__("kefu.tenancy.model", fromlist=["Role"]).Role]),
)
@click.option("--superadmin", is_flag=True, help="May create and list tenants.")
def user_create(
    tenant_code: str,
    tenant_name: str,
    username: str,
    password: str,
    display_name: str,
    roles: tuple[str, ...],
    superadmin: bool,
) -> None:
    """Create a user (and its tenant if needed)."""
    from kefu.bootstrap import build_container
    from kefu.core.errors import DomainError
    from kefu.tenancy.model import Principal
    from kefu.tenancy.scope import Scoped
    from kefu.tenancy.services import create_tenant, create_user
    from kefu.tenancy.tables import Tenant

    settings = Settings()
    _migrate(settings)
    container = build_container(settings)
    try:
        with container.db.session(clock=container.clock, actor_name="kefu cli") as session:
            tenant = session.scalar(select(Tenant).where(Tenant.code == tenant_code))
            if tenant is None:
                tenant = create_tenant(
                    session, container.clock, tenant_code, tenant_name or tenant_code
                )
            system = Principal(0, tenant.id, "kefu-cli", "kefu cli", frozenset())
            new = create_user(
                Scoped(session, system, container.clock),
                username=username,
                password=password,
                display_name=display_name or username,
                roles=list(roles),
                superadmin=superadmin,
            )
            console.print(
                f"[green]Created user {new.username} (id {new.id}) in tenant {tenant.code}."
            )
    except DomainError as exc:
        console.print(
            f"[red]Refused: {exc.code} {dict(exc.params)} {[e.field for e in exc.errors]}"
        )
        sys.exit(2)
    finally:
        container.close()


if __name__ == "__main__":
    main()
