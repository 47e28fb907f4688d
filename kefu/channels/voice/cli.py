"""``kefu voice …``: the media server, Kamailio's configuration, and kefu serving with voice.

``kefu voice serve`` runs the web service with call control attached to a media server
(``--media pjsua://127.0.0.1:5081`` for ``kefu voice media-server``, or
``--media esl://:ClueCon@127.0.0.1:8021`` for FreeSWITCH). ``--with-edge`` also starts
Kamailio (generated configuration) and the pjsua2 media server as child processes: one
command for a demo that takes real calls from a softphone on the same machine (docs/voice.md).
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
from sqlalchemy import text

__all__ = ["die_with_parent", "set_app_factory", "voice"]

# (build_container, create_app), given by the composition root (kefu/cli.py): this module is a
# feature's and may not import kefu.bootstrap itself.
_APP_FACTORY: tuple[Any, Any] = (None, None)


def set_app_factory(build_container: Any, create_app: Any) -> None:
    global _APP_FACTORY
    _APP_FACTORY = (build_container, create_app)


@click.group()
def voice() -> None:
    """Voice over SIP: media server, Kamailio edge, serving with call control."""


@voice.command("media-server")
@click.option("--sip-port", default=5080, show_default=True, type=int)
@click.option("--control-port", default=5081, show_default=True, type=int)
@click.option("--rtp-port", default=20000, show_default=True, type=int)
@click.option("--proxy", default="127.0.0.1:5060", show_default=True, help="Kamailio host:port")
def media_server(sip_port: int, control_port: int, rtp_port: int, proxy: str) -> None:
    """Run the pjsua2 media server (4 calls per process with the PyPI wheel)."""
    from kefu.channels.voice.pjmedia import main

    main(
        [
            "--sip-port", str(sip_port),
            "--control-port", str(control_port),
            "--rtp-port", str(rtp_port),
            "--proxy", proxy,
        ]
    )  # fmt: skip


@voice.command("kamailio-config")
@click.option("--sip-port", default=5060, show_default=True, type=int)
@click.option("--listen", default="127.0.0.1", show_default=True)
@click.option("--core-url", default="http://127.0.0.1:8000", show_default=True)
@click.option("--key", required=True, help="Shared key (the same for `kefu voice serve`).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="-")
def kamailio_config_command(
    sip_port: int, listen: str, core_url: str, key: str, output: str
) -> None:
    """Write a kamailio.cfg that asks kefu where each call goes."""
    from kefu.channels.voice.kamailio import kamailio_config

    cfg = kamailio_config(sip_port=sip_port, core_url=core_url, key=key, listen=listen)
    if output == "-":
        click.echo(cfg, nl=False)
    else:
        Path(output).write_text(cfg)


def die_with_parent() -> None:
    """Linux: the child gets SIGTERM when kefu exits, however it exits (uvicorn re-raises the
    signal that stopped it, so no ``finally`` of ours would run)."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@voice.command("purge-recordings")
def purge_recordings() -> None:
    """Delete recordings past their tenant's retention (run daily, e.g. from cron)."""
    from kefu.channels.voice.services import purge_expired
    from kefu.config import Settings

    build_container = _APP_FACTORY[0]
    container = build_container(Settings())
    try:
        with container.db.session(clock=container.clock, actor_name="kefu voice") as session:
            removed = purge_expired(session, container.clock.now())
    finally:
        container.close()
    click.echo(f"{removed} recording(s) deleted")


def parse_number(spec: str) -> tuple[str, str, str, str]:
    """``10088=demo-telecom:Q_BILL[:flow]`` → (number, tenant code, queue, flow code)."""
    number, _, rest = spec.partition("=")
    parts = rest.split(":")
    if not number or len(parts) not in (2, 3) or not all(parts[:2]):
        raise click.BadParameter(f"{spec!r}: expected NUMBER=TENANT:QUEUE[:FLOW]")
    return number, parts[0], parts[1], parts[2] if len(parts) == 3 else ""


def make_driver(url: str) -> Any:
    parts = urlsplit(url)
    if parts.scheme == "pjsua":
        from kefu.channels.voice.driver import PjMediaDriver

        return PjMediaDriver(parts.hostname or "127.0.0.1", parts.port or 5081)
    if parts.scheme == "esl":
        from kefu.channels.voice.esl import EslDriver

        return EslDriver(parts.hostname or "127.0.0.1", parts.port or 8021, parts.password or "")
    raise click.BadParameter(f"{url!r}: pjsua://host:port or esl://:password@host:port")


@voice.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--media", default="pjsua://127.0.0.1:5081", show_default=True)
@click.option("--media-sip", default="127.0.0.1:5080", show_default=True, help="Media server SIP")
@click.option("--proxy", default="127.0.0.1:5060", show_default=True, help="Kamailio host:port")
@click.option("--key", default="", help="Kamailio's shared key (random if empty)")
@click.option(
    "--number",
    "numbers",
    multiple=True,
    default=("10088=demo-telecom:Q_CMPL",),  # the demo agent 1001 takes 投诉
    show_default=True,
    help="NUMBER=TENANT:QUEUE[:FLOW] (repeat)",
)
@click.option("--with-edge", is_flag=True, help="Also start Kamailio and the media server.")
def serve(
    host: str,
    port: int,
    media: str,
    media_sip: str,
    proxy: str,
    key: str,
    numbers: tuple[str, ...],
    with_edge: bool,
) -> None:
    """Serve kefu with call control (the routing engine's process owns the calls)."""
    import uvicorn

    build_container, create_app = _APP_FACTORY
    from kefu.channels.voice.callcontrol import CallControl, VoiceNumber
    from kefu.channels.voice.kamailio import install, kamailio_config
    from kefu.config import Settings

    settings = Settings()
    key = key or secrets.token_urlsafe(24)
    container = build_container(settings)
    configured: dict[str, VoiceNumber] = {}
    with container.db.sessions() as session:
        for spec in numbers:
            number, tenant_code, queue, flow = parse_number(spec)
            tenant_id = session.scalar(
                text("SELECT id FROM tenants WHERE code = :code"), {"code": tenant_code}
            )
            if tenant_id is None:
                raise click.BadParameter(f"no tenant {tenant_code!r} (run `kefu demo --seed-only`)")
            configured[number] = VoiceNumber(number, int(tenant_id), queue, flow)
    children: list[subprocess.Popen[bytes]] = []
    run_dir = Path(settings.var_dir) / "voice"
    run_dir.mkdir(parents=True, exist_ok=True)
    if with_edge:
        if shutil.which("kamailio") is None:
            raise click.ClickException(
                "kamailio missing: apt-get install kamailio kamailio-utils-modules"
            )
        kport = int(proxy.rsplit(":", 1)[1])
        cfg = run_dir / "kamailio.cfg"
        cfg.write_text(kamailio_config(sip_port=kport, core_url=f"http://{host}:{port}", key=key))
        children.append(
            subprocess.Popen(
                ["kamailio", "-f", str(cfg), "-DD", "-E", "-Y", str(run_dir)],
                preexec_fn=die_with_parent,
            )
        )
        media_port = urlsplit(media).port or 5081
        children.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "kefu.channels.voice.pjmedia",
                    "--sip-port",
                    media_sip.rsplit(":", 1)[1],
                    "--control-port",
                    str(media_port),
                    "--proxy",
                    proxy,
                ],
                preexec_fn=die_with_parent,
            )
        )
        time.sleep(1.0)
    control = CallControl(
        container, make_driver(media), configured, proxy=proxy, media_address=media_sip
    )
    app = create_app(container)
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state:
            control.start()  # after the routing engine replayed its log
            install(container, control, key)
            click.echo(f"voice: numbers {', '.join(configured)} via {media}; Kamailio {proxy}")
            yield state
            control.stop()

    app.router.lifespan_context = lifespan
    try:
        uvicorn.run(app, host=host, port=port, log_level=settings.log_level)
    finally:
        for child in children:
            child.terminate()
        for child in children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=5)
