"""How outgoing SMS leave: a driver per gateway.

- ``log`` (the embedded default): writes each message to the ``kefu.sms`` logger and counts it
  as sent — for intranet installations without a gateway, demos and tests.
- ``http``: posts ``{"to": "13800138000", "text": "…", "ref": "<message id>"}`` as JSON to
  ``KEFU_SMS_GATEWAY_URL`` with ``Authorization: Bearer <KEFU_SMS_GATEWAY_TOKEN>``; any 2xx
  answer is success and its JSON ``id`` (if any) is kept as the provider's message id. A small
  adapter next to the operator's SMS platform (短信平台) translates to its protocol.

``KEFU_SMS_DRIVER`` chooses (``log`` when unset).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Mapping
from typing import Protocol

import httpx

__all__ = ["HttpGatewayDriver", "LogDriver", "SmsDriver", "SmsSendError", "driver_from_env"]

log = logging.getLogger("kefu.sms")


class SmsSendError(Exception):
    """The gateway refused or could not be reached (the message stays for a retry)."""


class SmsDriver(Protocol):
    name: str

    def send(self, phone: str, body: str, ref: str) -> str:
        """Hand one message over; returns the provider's id. Raises SmsSendError."""
        ...


class LogDriver:
    name = "log"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, phone: str, body: str, ref: str) -> str:
        log.info("sms to %s****%s (ref %s): %s", phone[:3], phone[-4:], ref, body)
        self.sent.append((phone, body, ref))
        return f"log-{uuid.uuid4().hex[:12]}"


class HttpGatewayDriver:
    name = "http"

    def __init__(self, url: str, token: str = "", timeout: float = 10.0) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, phone: str, body: str, ref: str) -> str:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            answer = httpx.post(
                self.url,
                json={"to": phone, "text": body, "ref": ref},
                headers=headers,
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise SmsSendError(f"gateway unreachable: {exc}") from exc
        if not 200 <= answer.status_code < 300:
            raise SmsSendError(f"gateway answered {answer.status_code}")
        try:
            data = answer.json()
        except ValueError:
            data = {}
        return str(data.get("id", "")) if isinstance(data, dict) else ""


_default: SmsDriver | None = None


def driver_from_env(env: Mapping[str, str] | None = None) -> SmsDriver:
    """The configured driver (one per process for the environment's settings)."""
    global _default
    if env is None and _default is not None:
        return _default
    values = os.environ if env is None else env
    kind = values.get("KEFU_SMS_DRIVER", "log")
    driver: SmsDriver
    if kind == "http":
        driver = HttpGatewayDriver(
            values.get("KEFU_SMS_GATEWAY_URL", ""), values.get("KEFU_SMS_GATEWAY_TOKEN", "")
        )
    else:
        driver = LogDriver()
    if env is None:
        _default = driver
    return driver
