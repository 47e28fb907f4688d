"""Call control: the state machine of every call, between a media driver and the routing engine.

A caller's leg goes ``answering → ivr → queued → offering → connected → ended``:

- ``incoming`` on a hotline number: answer; when media flows, the IVR session starts and its
  actions run (prompts played, digits collected from ``dtmf`` events with timeouts);
- ``ToQueue``: the call becomes a routing contact (medium ``voice``, id = the call's contact
  id); the caller hears the position and expected wait ("您前面还有3位客户, 预计等待1分钟"),
  then music, re-announced every ``announce_every_s``;
- routing offers the contact to an agent (``contact_offered`` on the bus): the agent's SIP
  extension (their 工号 / job number, registered at Kamailio) is called; when it answers,
  routing is told (accept) and both legs are bridged and recorded;
- a hang-up on either side ends both legs; routing hears complete (connected), abandon (queued,
  reason ``caller_hangup``) and the IVR session hears ``hangup`` (an IVR abandon);
- ``down`` (the media server died): every call ends; queued contacts are abandoned with reason
  ``media_server_down``, connected ones completed; each call's end is recorded.

One worker thread owns all state: driver events, routing events and timers are queued to it,
so nothing here needs a lock. Routing calls are made from this thread with no open writes.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from kefu.channels import deliver_pending, queue_sms
from kefu.channels.voice.driver import DriverEvent, MediaDriver
from kefu.channels.voice.ivrlink import ivr_trail, new_session, record_ivr, sms_text
from kefu.channels.voice.prompts import prompt_wav, tone_wav, wav_seconds
from kefu.channels.voice.services import store_recording
from kefu.core.errors import DomainError
from kefu.core.events import Event
from kefu.db.eventlog import record_event
from kefu.tenancy import Principal, Scoped, user_in_tenant

__all__ = ["Call", "CallControl", "VoiceNumber", "announcement_text"]

log = logging.getLogger("kefu.voice")


@dataclass(frozen=True)
class VoiceNumber:
    """A hotline number (the SIP user callers dial) and what answers it."""

    number: str
    tenant_id: int
    queue: str
    flow_code: str = ""  # the tenant's published IVR flow; empty = the built-in menu
    flow: Mapping[str, Any] | None = None  # or a flow given inline (tests, demo)
    callback_offer: bool = True  # while queued: "press 1 to be called back" (place kept)
    hooks_url: str = ""  # the tenant's IVR lookup hooks: POST <hooks_url>/<hook>; empty: the
    # KEFU_IVR_HOOKS_URL environment setting (no hooks at all: a lookup takes its error path)


@dataclass
class Call:
    leg: str
    number: VoiceNumber
    caller: str
    sip_call_id: str
    contact_id: str
    started: float
    state: str = "answering"
    ivr: Any = None
    pending: list[Path] = field(default_factory=list)
    interruptible: bool = True
    collect: dict[str, Any] | None = None
    digits: str = ""
    dtmf_methods: list[str] = field(default_factory=list)
    queue: str = ""
    agent_id: int | None = None
    agent_leg: str = ""
    recording: str = ""
    recording_started: datetime | None = None
    paused_at: float | None = None
    paused_s: float = 0.0
    next_announce: float = 0.0
    ended: bool = False
    is_callback: bool = False  # the caller asked to be called back: no caller leg until then
    ivr_recorded: bool = False
    ivr_started: float = 0.0
    lookup: int = 0  # the pending lookup's number (0: none); a late answer of an older one is
    # dropped

    @property
    def waiting_state(self) -> str:
        return "callback" if self.is_callback else "queued"


CALLBACK_OFFER = "如需回电请按1，我们将为您保留排队位置"
CALLBACK_CONFIRM = "好的，我们将按您的排队顺序回电，再见。"


def announcement_text(position: int, expected_wait_s: float | None) -> str:
    """The queue announcement: callers ahead and the expected wait in whole minutes (≥ 1)."""
    ahead = max(0, position - 1)
    text = f"您前面还有{ahead}位客户"
    if expected_wait_s is not None and math.isfinite(expected_wait_s):  # inf: nobody ready
        minutes = max(1, round(expected_wait_s / 60))
        text += f", 预计等待{minutes}分钟"
    return text


class CallControl:
    def __init__(
        self,
        container: Any,
        driver: MediaDriver,
        numbers: Mapping[str, VoiceNumber],
        *,
        proxy: str,
        var_dir: Path | str | None = None,
        announce_every_s: float = 30.0,
        record: bool = True,
        media_address: str = "127.0.0.1:5080",
    ) -> None:
        self.container = container
        self.driver = driver
        self.numbers = dict(numbers)
        self.proxy = proxy
        self.var_dir = Path(var_dir or container.settings.var_dir)
        self.announce_every_s = announce_every_s
        self.record = record
        self.media_address = media_address  # where Kamailio forwards hotline calls
        self.calls: dict[str, Call] = {}  # caller leg -> call
        self.by_contact: dict[str, Call] = {}
        self.by_agent_leg: dict[str, Call] = {}
        self.registered: dict[str, str] = {}  # extension -> contact (from Kamailio)
        self.media_up = False
        self._inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._timers: list[tuple[float, str, Callable[[], None]]] = []
        self._thread: threading.Thread | None = None
        self._running = False
        self.moh = tone_wav(self.var_dir, "moh", (440.0, 660.0), 8.0)
        self.hook_timeout_s = HOOK_TIMEOUT_S
        # lookups and SMS delivery leave the call-control thread: a slow hook or gateway never
        # holds up the other calls
        self._workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="voice-hook")

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self._running = True
        self.container.bus.subscribe(self._on_bus)
        self._thread = threading.Thread(target=self._run, name="voice-control", daemon=True)
        self._thread.start()
        self.driver.connect(lambda ev: self._inbox.put(("driver", ev)))
        self.media_up = True

    def stop(self) -> None:
        self._running = False
        self._inbox.put(("stop", None))
        self.driver.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._workers.shutdown(wait=False, cancel_futures=True)

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Block until every queued item has been handled (tests)."""
        done = threading.Event()
        self._inbox.put(("call", done.set))
        done.wait(timeout)

    # -- inputs (any thread) ---------------------------------------------------------------------
    def _on_bus(self, event: Event) -> None:
        contact_id = event.data.get("contact_id") if isinstance(event.data, dict) else None
        if contact_id and contact_id in self.by_contact:
            self._inbox.put(("routing", event))

    def kamailio_event(self, kind: str, params: Mapping[str, str]) -> None:
        self._inbox.put(("sip", (kind, dict(params))))

    def route(self, ruser: str) -> dict[str, Any]:
        """Kamailio asks where a new INVITE to ``ruser`` goes."""
        if ruser in self.numbers:
            if not self.media_up:
                return {"action": "reject", "code": 503, "reason": "Media server down"}
            return {"action": "forward", "uri": f"sip:{ruser}@{self.media_address}"}
        if ruser in self.registered:
            return {"action": "lookup"}
        return {"action": "reject", "code": 404, "reason": "Not Found"}

    # -- worker --------------------------------------------------------------------------------
    def _run(self) -> None:
        while self._running:
            timeout = 0.5
            if self._timers:
                timeout = max(0.0, min(0.5, min(t[0] for t in self._timers) - time.monotonic()))
            try:
                kind, item = self._inbox.get(timeout=timeout)
            except queue.Empty:
                kind, item = "tick", None
            try:
                if kind == "stop":
                    return
                if kind == "driver":
                    self._driver_event(item)
                elif kind == "routing":
                    self._routing_event(item)
                elif kind == "sip":
                    self._sip_event(*item)
                elif kind == "call":
                    item()
                self._fire_timers()
            except Exception:  # one bad event must not stop every call
                log.exception("voice: handling %s failed", kind)

    def _fire_timers(self) -> None:
        now = time.monotonic()
        due = [t for t in self._timers if t[0] <= now]
        if not due:
            return
        self._timers = [t for t in self._timers if t[0] > now]
        for _, _, fn in due:
            fn()

    def _later(self, delay: float, key: str, fn: Callable[[], None]) -> None:
        self._timers = [t for t in self._timers if t[1] != key]
        self._timers.append((time.monotonic() + delay, key, fn))

    def _cancel(self, key: str) -> None:
        self._timers = [t for t in self._timers if t[1] != key]

    # -- persistence helpers ---------------------------------------------------------------------
    def _scope(self, session: Any, tenant_id: int) -> Scoped:
        principal = Principal(0, tenant_id, "voice", "voice", frozenset())
        return Scoped(session, principal, self.container.clock)

    def _with_scope(self, tenant_id: int, fn: Callable[[Scoped], Any]) -> Any:
        with self.container.db.session(clock=self.container.clock, actor_name="voice") as s:
            return fn(self._scope(s, tenant_id))

    def _emit(self, call: Call, kind: str, **data: Any) -> None:
        data = {"contact_id": call.contact_id, "number": call.number.number, **data}
        now: datetime = self.container.clock.now()
        event = Event(
            f"voice.{kind}", f"voice.{call.number.queue}", call.number.tenant_id, now, data
        )
        with self.container.db.session(clock=self.container.clock, actor_name="voice") as s:
            record_event(s, event)

    # -- driver events ---------------------------------------------------------------------------
    def _driver_event(self, ev: DriverEvent) -> None:
        if ev.kind == "down":
            self._media_down()
            return
        if ev.kind == "ready":
            return
        if ev.kind == "incoming":
            self._incoming(ev)
            return
        call = self.calls.get(ev.leg)
        if call is not None:
            self._caller_event(call, ev)
            return
        call = self.by_agent_leg.get(ev.leg)
        if call is not None:
            self._agent_event(call, ev)
        elif ev.kind == "error":
            log.warning("media server error: %s", ev.data)

    def _incoming(self, ev: DriverEvent) -> None:
        local = str(ev.data.get("local", ""))
        user = _sip_user(local)
        number = self.numbers.get(user)
        if number is None:
            self.driver.hangup(ev.leg, 404)
            return
        call = Call(
            leg=ev.leg,
            number=number,
            caller=_sip_user(str(ev.data.get("remote", ""))),
            sip_call_id=str(ev.data.get("sip_call_id", "")),
            contact_id=uuid.uuid4().hex,
            started=time.monotonic(),
        )
        self.calls[ev.leg] = call
        self.driver.answer(ev.leg)
        self._emit(call, "call_started", caller=call.caller, sip_call_id=call.sip_call_id)

    def _caller_event(self, call: Call, ev: DriverEvent) -> None:
        if ev.kind == "media" and call.state == "answering":
            call.state = "ivr"
            call.ivr_started = time.monotonic()
            call.ivr = self._with_scope(
                call.number.tenant_id, lambda scope: new_session(scope, call.number, call.caller)
            )
            self._run_actions(call, call.ivr.start())
        elif ev.kind in ("media", "answered") and call.state == "dialing":
            self._connect(call)  # the customer took the callback
        elif ev.kind == "dtmf":
            self._dtmf(call, str(ev.data.get("digit", "")), str(ev.data.get("method", "")))
        elif ev.kind == "hangup" and call.state == "callback":
            self.calls.pop(call.leg, None)  # the place stays in the queue: no end yet
            self._cancel(f"hangup:{call.leg}")
            call.leg = ""
        elif ev.kind == "hangup":
            self._caller_gone(call, "caller_hangup" if call.state != "dialing" else "no_answer")

    def _agent_event(self, call: Call, ev: DriverEvent) -> None:
        if ev.kind == "hangup":
            self._agent_hangup(call, ev)
        elif ev.kind in ("media", "answered") and call.state == "offering":
            agent_id = call.agent_id
            assert agent_id is not None
            try:
                self._with_scope(
                    call.number.tenant_id,
                    lambda scope: self.container.routing_service.accept(
                        scope, agent_id, call.contact_id
                    ),
                )
            except Exception as exc:  # the offer is gone (timed out): drop the agent's leg
                log.info("voice: accept refused for %s: %s", call.contact_id, exc)
                self._drop_agent_leg(call)
                return
            if call.is_callback:  # now call the customer back, from the agent's line
                call.state = "dialing"
                call.leg = f"cb-{uuid.uuid4().hex[:10]}"
                self.calls[call.leg] = call
                self.driver.originate(call.leg, f"sip:{call.caller}@{self.proxy}")
                self._emit(call, "callback_dialing", agent_id=agent_id)
                return
            self._connect(call)

    def _connect(self, call: Call) -> None:
        """Caller and agent legs both answered: bridge them and record."""
        agent_id = call.agent_id
        call.state = "connected"
        self._cancel(f"announce:{call.leg}")
        self.driver.bridge(call.leg, call.agent_leg)
        if self.record:
            path = (
                self.var_dir
                / "voice"
                / "recordings"
                / str(call.number.tenant_id)
                / f"{call.contact_id}.wav"
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            call.recording = str(path)
            call.recording_started = self.container.clock.now()
            self.driver.record(call.leg, str(path), [call.leg, call.agent_leg])
        self._emit(call, "connected", agent_id=agent_id)

    def _agent_hangup(self, call: Call, ev: DriverEvent) -> None:
        self.by_agent_leg.pop(ev.leg, None)
        if call.state in ("connected", "dialing"):
            self._end(call, "agent_hangup")
            self.driver.hangup(call.leg)
        elif call.state == "offering":
            code = int(ev.data.get("code") or 0)
            call.state = call.waiting_state
            call.agent_leg = ""
            agent_id, call.agent_id = call.agent_id, None
            if agent_id is not None:
                self._decline(call, agent_id)
            self._emit(call, "agent_unreached", agent_id=agent_id, code=code)

    def _decline(self, call: Call, agent_id: int) -> None:
        try:
            self._with_scope(
                call.number.tenant_id,
                lambda scope: self.container.routing_service.decline(
                    scope, agent_id, call.contact_id
                ),
            )
        except Exception as exc:  # already timed out or rescinded
            log.info("voice: decline refused for %s: %s", call.contact_id, exc)

    # -- IVR -------------------------------------------------------------------------------------
    def _run_actions(self, call: Call, actions: list[Any]) -> None:
        for action in actions:
            if call.ended or call.state != "ivr":
                return
            name = type(action).__name__
            if name == "Play":
                path = prompt_wav(self.var_dir, action.text)
                if not call.pending:
                    call.interruptible = bool(action.interruptible)
                else:
                    call.interruptible = call.interruptible and bool(action.interruptible)
                call.pending.append(path)
            elif name == "Collect":
                length = self._play_pending(call)
                call.digits = ""
                call.collect = {
                    "max": int(action.max_digits),
                    "timeout": float(action.timeout_s),
                    "terminator": action.terminator,
                }
                self._later(
                    length + float(action.timeout_s),
                    f"collect:{call.leg}",
                    partial(self._collect_timeout, call),
                )
            elif name == "ToQueue":
                self._play_pending(call)
                self._record_ivr(call)
                self._to_queue(
                    call,
                    action.queue or call.number.queue,
                    float(action.priority),
                    str(action.reason),
                )
            elif name == "Lookup":
                self._play_pending(call)  # "正在为您查询" while the hook answers
                self._lookup(call, str(action.hook), dict(action.params))
            elif name == "SendSms":
                self._send_sms(call, str(action.template), dict(action.params))
            elif name == "Hangup":
                length = self._play_pending(call)
                reason = str(action.reason)
                self._later(
                    length + 0.3,
                    f"hangup:{call.leg}",
                    partial(self._ivr_hangup, call, reason),
                )
            else:  # OfferCallback, Voicemail: recorded, not performed by voice v1
                self._emit(call, "ivr_action", action=name)

    def _lookup(self, call: Call, hook: str, params: dict[str, str]) -> None:
        """Call the flow's HTTP hook on a worker thread; its answer (or None: no hook
        configured, an error, no answer within ``hook_timeout_s``) goes back to the session on
        this thread."""
        call.lookup += 1
        token = call.lookup
        base = call.number.hooks_url or os.environ.get("KEFU_IVR_HOOKS_URL", "")
        self._emit(call, "lookup_started", hook=hook)
        if not base and not hook.startswith(("http://", "https://")):
            self._lookup_done(call, token, hook, None, "no_hook_url")
            return
        url = hook if hook.startswith(("http://", "https://")) else f"{base.rstrip('/')}/{hook}"
        timeout = self.hook_timeout_s

        def fetch() -> None:
            data, error = call_hook(url, hook, params, timeout)
            self._inbox.put(("call", partial(self._lookup_done, call, token, hook, data, error)))

        self._workers.submit(fetch)
        # a hook that hangs past its timeout (DNS, a stuck proxy) still lets the caller go on
        self._later(
            timeout + 1.0,
            f"lookup:{call.leg}",
            partial(self._lookup_done, call, token, hook, None, "timeout"),
        )

    def _lookup_done(
        self, call: Call, token: int, hook: str, data: dict[str, Any] | None, error: str
    ) -> None:
        if call.ended or call.state != "ivr" or call.lookup != token:
            return  # the caller left, or this answer came after the timeout
        call.lookup = 0
        self._cancel(f"lookup:{call.leg}")
        self._emit(call, "lookup_done", hook=hook, ok=data is not None, error=error)
        self._run_actions(call, call.ivr.lookup_result(data))

    def _send_sms(self, call: Call, template: str, params: dict[str, str]) -> None:
        """Queue the flow's SMS to the caller's number in the outbox (``kefu.channels.sms``);
        delivery happens on a worker thread."""
        body = sms_text(template, params)

        def queue(scope: Scoped) -> int | None:
            row = queue_sms(scope, call.caller, body, ref_type="voice.ivr")
            return None if row is None else int(row.id)

        try:
            message_id = self._with_scope(call.number.tenant_id, queue)
        except Exception:
            log.exception("voice: SMS of %s not queued", call.contact_id)
            message_id = None
        if message_id is None:  # a landline (or the outbox refused): nothing to send
            self._emit(call, "sms_not_sent", template=template, reason="not_mobile")
            return
        self._emit(call, "sms_queued", template=template, sms_id=message_id)
        self._workers.submit(self._deliver_sms)

    def _deliver_sms(self) -> None:
        try:
            with self.container.db.sessions() as session:
                deliver_pending(session, self.container.clock)
        except Exception:  # the outbox sweep retries later
            log.exception("voice: SMS delivery failed")

    def _record_ivr(self, call: Call) -> None:
        """Once per call, when its IVR session ended (queued, self-service, left)."""
        if call.ivr is None or call.ivr_recorded or not call.ivr.finished:
            return
        call.ivr_recorded = True
        try:
            self._with_scope(
                call.number.tenant_id, lambda scope: record_ivr(scope, call.ivr, call.contact_id)
            )
        except Exception:
            log.exception("voice: IVR session of %s not recorded", call.contact_id)

    def _play_pending(self, call: Call) -> float:
        if not call.pending:
            return 0.0
        files, call.pending = call.pending, []
        self.driver.play(call.leg, [str(f) for f in files])
        return sum(wav_seconds(f) for f in files)

    def _dtmf(self, call: Call, digit: str, method: str) -> None:
        call.dtmf_methods.append(method)
        if call.state == "queued" and digit == "1" and self._callback_possible(call):
            self._request_callback(call)
            return
        if call.state != "ivr" or call.collect is None:
            self._emit(call, "dtmf", digit=digit, method=method, state=call.state)
            return
        collect = call.collect
        if not call.digits and call.interruptible:
            self.driver.stop(call.leg)
        if digit == collect["terminator"]:
            self._collected(call)
            return
        call.digits += digit
        if len(call.digits) >= collect["max"]:
            self._collected(call)
        else:
            self._later(
                collect["timeout"], f"collect:{call.leg}", partial(self._collect_timeout, call)
            )

    def _collected(self, call: Call) -> None:
        self._cancel(f"collect:{call.leg}")
        digits, call.digits, call.collect = call.digits, "", None
        self._emit(call, "digits", digits=digits, method=call.dtmf_methods[-1])
        self._run_actions(call, call.ivr.digits(digits))

    def _collect_timeout(self, call: Call) -> None:
        if call.ended or call.collect is None:
            return
        if call.digits:
            self._collected(call)
            return
        call.collect = None
        self._run_actions(call, call.ivr.timeout())

    def _ivr_hangup(self, call: Call, reason: str) -> None:
        if call.ended:
            return
        self._end(call, f"ivr_{reason}")
        self.driver.hangup(call.leg)

    # -- queue -----------------------------------------------------------------------------------
    def _to_queue(self, call: Call, queue_code: str, priority: float, reason: str) -> None:
        call.state = "queued"
        call.queue = queue_code
        self.by_contact[call.contact_id] = call
        routing = self.container.routing_service
        path = [list(step) if isinstance(step, tuple) else step for step in call.ivr.path or []]
        trail, labels = ivr_trail(call.ivr)
        ivr_seconds = round(time.monotonic() - (call.ivr_started or call.started))

        def arrive(scope: Scoped) -> None:
            key = f"{scope.tenant_id}.{queue_code}"
            if key not in routing.runtime.queue_configs:
                routing.sync_tenant(scope.session, scope.tenant_id)
            routing.arrive(
                scope,
                queue=queue_code,
                media="voice",
                external_id=f"voice-{call.sip_call_id}" if call.sip_call_id else None,
                customer_id=None,
                priority=priority,
                attributes={
                    "channel": "voice",
                    "caller": call.caller,
                    "number": call.number.number,
                    "ivr_reason": reason,
                    "ivr_steps": len(path),
                    "ivr_path": trail,  # node ids, "main>bill>agent"
                    "ivr_labels": labels,  # what the caller chose, "话费查询 > 人工服务"
                    "ivr_seconds": ivr_seconds,
                },
                skills={},
                contact_id=call.contact_id,
            )

        try:
            self._with_scope(call.number.tenant_id, arrive)
        except Exception as exc:
            log.warning("voice: queueing %s failed: %s", call.contact_id, exc)
            self.by_contact.pop(call.contact_id, None)
            self._end(call, "queue_failed")
            self.driver.hangup(call.leg, 503)
            return
        self._emit(call, "queued", queue=queue_code, reason=reason, ivr_path=path)
        if call.state == "queued":  # not offered within the arrival already
            self._announce(call)

    def _callback_possible(self, call: Call) -> bool:
        if not call.number.callback_offer:
            return False
        config = self.container.routing_service.runtime.queue_configs.get(
            f"{call.number.tenant_id}.{call.queue}"
        )
        return config is not None and "callback" in {str(m) for m in config.media}

    def _request_callback(self, call: Call) -> None:
        """The caller pressed 1 while queued: routing keeps the place as a callback contact;
        the caller hears a confirmation and the line is released."""
        try:
            self._with_scope(
                call.number.tenant_id,
                lambda scope: self.container.routing_service.callback(scope, call.contact_id),
            )
        except Exception as exc:
            log.info("voice: callback refused for %s: %s", call.contact_id, exc)
            return
        self._cancel(f"announce:{call.leg}")
        call.state = "callback"
        call.is_callback = True
        self._emit(call, "callback_requested", caller=call.caller)
        confirm = prompt_wav(self.var_dir, CALLBACK_CONFIRM)
        self.driver.play(call.leg, [str(confirm)])
        leg = call.leg
        self._later(wav_seconds(confirm) + 0.3, f"hangup:{leg}", partial(self._release, leg))

    def _release(self, leg: str) -> None:
        if leg in self.calls:
            self.driver.hangup(leg)

    def _announce(self, call: Call) -> None:
        if call.ended or call.state not in ("queued", "offering") or call.is_callback:
            return
        pos = self.container.routing_service.position(call.contact_id)
        files = [str(self.moh)]
        if pos is not None:
            wait = pos.get("expected_wait_s")
            if wait is not None and not math.isfinite(wait):
                wait = None  # nobody ready: no estimate (and JSON has no infinity)
            text = announcement_text(int(pos["position"]), wait)
            if self._callback_possible(call):
                text += "。" + CALLBACK_OFFER
            files.insert(0, str(prompt_wav(self.var_dir, text)))
            self._emit(
                call,
                "announced",
                position=pos["position"],
                expected_wait_s=wait,
                text=text,
            )
        self.driver.play(call.leg, files, loop=True)
        self._later(self.announce_every_s, f"announce:{call.leg}", partial(self._announce, call))

    # -- routing events --------------------------------------------------------------------------
    def _routing_event(self, event: Event) -> None:
        data = event.data
        call = self.by_contact.get(str(data.get("contact_id")))
        if call is None or call.ended:
            return
        kind = event.type
        if kind == "contact_offered" and call.state in ("queued", "callback"):
            agent_id = int(data["agent_id"])
            extension = self._extension(call.number.tenant_id, agent_id)
            if not extension:
                self._decline(call, agent_id)
                return
            call.state = "offering"
            call.agent_id = agent_id
            call.agent_leg = f"ag-{uuid.uuid4().hex[:10]}"
            self.by_agent_leg[call.agent_leg] = call
            self.driver.originate(call.agent_leg, f"sip:{extension}@{self.proxy}")
            self._emit(call, "agent_called", agent_id=agent_id, extension=extension)
        elif kind == "contact_transferred" and call.state == "connected" and not data.get("to_ivr"):
            # the agent transferred the contact: the caller waits again, the agent's leg ends
            if call.agent_leg:
                self.by_agent_leg.pop(call.agent_leg, None)
                self.driver.hangup(call.agent_leg)
            if call.recording:
                self.driver.record_stop(call.leg)
                self._store_recording(call)
                call.recording, call.recording_started = "", None
            call.agent_leg, call.agent_id = "", None
            call.state = "queued"
            self._emit(
                call, "transferred", to_queue=data.get("to_queue"), to_agent=data.get("to_agent")
            )
            self._announce(call)
        elif kind in ("offer_timed_out", "offer_rescinded", "offer_declined"):
            if call.state == "offering" and str(call.agent_id) == str(data.get("agent_id")):
                self._drop_agent_leg(call)
        elif kind in ("contact_closed", "contact_expired") and call.state == "callback":
            self.by_contact.pop(call.contact_id, None)  # routing gave the callback up
            call.ended = True
        elif kind in ("contact_closed", "contact_expired") and call.state in ("queued", "offering"):
            # routing gave up (maximum wait, callback...): tell the caller goodbye
            self._drop_agent_leg(call)
            self._end(call, f"routing_{data.get('outcome') or kind}")
            self.driver.hangup(call.leg)

    def _drop_agent_leg(self, call: Call) -> None:
        if call.agent_leg:
            self.by_agent_leg.pop(call.agent_leg, None)
            self.driver.hangup(call.agent_leg, 487)
        call.agent_leg = ""
        call.agent_id = None
        if call.state == "offering":
            call.state = call.waiting_state

    def _extension(self, tenant_id: int, agent_id: int) -> str:
        """The agent's SIP extension: their 工号 (job number), as their phone registers it."""
        with self.container.db.sessions() as session:
            try:
                user = user_in_tenant(self._scope(session, tenant_id), agent_id)
            except DomainError:
                return ""
            return str(user.job_number or "")

    # -- Kamailio --------------------------------------------------------------------------------
    def _sip_event(self, kind: str, params: dict[str, str]) -> None:
        if kind == "register":
            user = params.get("user", "")
            if not user:
                return
            if params.get("expires") == "0":
                self.registered.pop(user, None)
            else:
                self.registered[user] = params.get("contact", "")

    # -- endings ---------------------------------------------------------------------------------
    def _caller_gone(self, call: Call, reason: str) -> None:
        if call.ended:
            return
        if call.state in ("connected", "dialing") and call.agent_leg and self.media_up:
            self.driver.hangup(call.agent_leg)
        self._end(call, reason)

    def _end(self, call: Call, reason: str) -> None:
        if call.ended:
            return
        call.ended = True
        for key in ("collect", "announce", "hangup", "lookup"):
            self._cancel(f"{key}:{call.leg}")
        self.calls.pop(call.leg, None)
        self.by_contact.pop(call.contact_id, None)
        state = call.state
        routing = self.container.routing_service
        tenant = call.number.tenant_id
        try:
            if state in ("answering", "ivr"):
                if call.ivr is not None and not call.ivr.finished:
                    call.ivr.hangup()
                    self._emit(
                        call,
                        "ivr_abandoned",
                        reason=reason,
                        path=[list(s) for s in call.ivr.path or []],
                    )
                self._record_ivr(call)  # abandoned, or ended by the flow (self-service)
            elif state in ("queued", "offering"):
                if call.agent_leg:
                    self.by_agent_leg.pop(call.agent_leg, None)
                    if self.media_up:
                        self.driver.hangup(call.agent_leg, 487)
                if not reason.startswith("routing_"):
                    abandon_reason = "abandoned" if reason == "caller_hangup" else reason
                    self._with_scope(
                        tenant,
                        lambda scope: routing.abandon(scope, call.contact_id, abandon_reason),
                    )
            elif state in ("connected", "dialing") and call.agent_id is not None:
                agent_id = call.agent_id
                self.by_agent_leg.pop(call.agent_leg, None)
                self._with_scope(
                    tenant, lambda scope: routing.complete(scope, agent_id, call.contact_id)
                )
        except Exception:
            log.exception("voice: routing did not take the end of %s", call.contact_id)
        call.state = "ended"
        if call.recording and call.recording_started is not None:
            self._store_recording(call)
        self._emit(
            call,
            "call_ended",
            reason=reason,
            in_state=state,
            duration_s=round(time.monotonic() - call.started, 3),
            recording=bool(call.recording),
        )

    def _store_recording(self, call: Call) -> None:
        if call.paused_at is not None:
            call.paused_s += time.monotonic() - call.paused_at
        started = call.recording_started
        assert started is not None
        try:
            self._with_scope(
                call.number.tenant_id,
                lambda scope: store_recording(
                    scope,
                    contact_id=call.contact_id,
                    path=call.recording,
                    caller=call.caller,
                    agent_id=call.agent_id,
                    started_at=started,
                    paused_s=call.paused_s,
                ),
            )
        except Exception:
            log.exception("voice: recording of %s not stored", call.contact_id)

    # -- the agent's desk --------------------------------------------------------------------------
    def sensitive_entry(self, contact_id: str, agent_id: int, active: bool) -> bool:
        """The agent's desk asks for sensitive entry (card number…): recording pauses until it
        ends. False if this agent holds no such connected call."""
        return self.desk_action(contact_id, agent_id, "sensitive_on" if active else "sensitive_off")

    DESK_ACTIONS = frozenset(
        {"hold", "unhold", "mute", "unmute", "hangup", "dtmf", "sensitive_on", "sensitive_off"}
    )

    def desk_action(self, contact_id: str, agent_id: int, action: str, arg: str = "") -> bool:
        """A call control from the agent's desk, on the call this agent is connected to:
        hold / unhold (the caller hears music), mute / unmute (the caller stops hearing the
        agent), hangup, dtmf (digits sent to the caller's side, e.g. an IVR after a transfer),
        sensitive_on / sensitive_off (recording paused). False if there is no such call."""
        done = threading.Event()
        result = [False]

        def apply() -> None:
            call = self.by_contact.get(contact_id)
            if call is None or call.state != "connected" or call.agent_id != agent_id:
                return
            result[0] = True
            self._desk(call, action, arg)

        def run() -> None:
            try:
                apply()
            finally:
                done.set()

        self._inbox.put(("call", run))
        done.wait(5)
        return result[0]

    def _desk(self, call: Call, action: str, arg: str) -> None:
        if action in ("sensitive_on", "sensitive_off"):
            active = action == "sensitive_on"
            if not call.recording or (call.paused_at is not None) == active:
                return
            self.driver.record_pause(call.leg, active)
            if active:
                call.paused_at = time.monotonic()
            else:
                assert call.paused_at is not None
                call.paused_s += time.monotonic() - call.paused_at
                call.paused_at = None
            kind = "recording_paused" if active else "recording_resumed"
        elif action in ("hold", "unhold"):
            self.driver.hold(call.leg, call.agent_leg, action == "hold", [str(self.moh)])
            kind = action
        elif action in ("mute", "unmute"):
            self.driver.mute(call.agent_leg, call.leg, action == "mute")
            kind = action
        elif action == "dtmf":
            digits = "".join(ch for ch in arg if ch in "0123456789*#")[:32]
            self.driver.send_dtmf(call.leg, digits)
            kind = "dtmf_sent"
        elif action == "hangup":
            self._end(call, "agent_hangup")
            self.driver.hangup(call.leg)
            self.driver.hangup(call.agent_leg)
            return
        else:
            return
        self._emit(call, kind, agent_id=call.agent_id)

    def _media_down(self) -> None:
        self.media_up = False
        for call in list(self.calls.values()):
            self._end(call, "media_server_down")
        log.warning("voice: media server connection lost; calls released")


HOOK_TIMEOUT_S = 2.0


def call_hook(
    url: str, hook: str, params: Mapping[str, str], timeout: float
) -> tuple[dict[str, Any] | None, str]:
    """POST ``{"hook": name, "params": {...}}`` as JSON; the answer's JSON object, or None and
    why (``timeout``, ``unreachable``, ``status_<code>``, ``not_json``)."""
    try:
        answer = httpx.post(url, json={"hook": hook, "params": dict(params)}, timeout=timeout)
    except httpx.TimeoutException:
        log.info("voice: hook %s gave no answer within %.1f s", url, timeout)
        return None, "timeout"
    except httpx.HTTPError as exc:
        log.info("voice: hook %s unreachable: %s", url, exc)
        return None, "unreachable"
    if not 200 <= answer.status_code < 300:
        return None, f"status_{answer.status_code}"
    try:
        data = answer.json()
    except ValueError:
        return None, "not_json"
    return (data, "") if isinstance(data, dict) else (None, "not_json")


def _sip_user(uri: str) -> str:
    """``"Name" <sip:4000@host;tag>`` → ``4000``."""
    start = uri.find("sip:")
    if start < 0:
        return ""
    rest = uri[start + 4 :]
    user = rest.split("@", 1)[0] if "@" in rest else ""
    return user.split(";", 1)[0]
