"""The HTTP gateway driver against a real local HTTP server (what an SMS adapter receives)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from kefu.channels.sms.drivers import HttpGatewayDriver, SmsSendError, driver_from_env

pytestmark = pytest.mark.integration


@pytest.fixture
def gateway() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append({"auth": self.headers.get("Authorization"), **body})
            status = 503 if body["to"].endswith("0000") else 200
            payload = json.dumps({"id": f"gw-{len(received)}"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/send", received
    server.shutdown()


def test_http_driver_posts_and_reports_failures(gateway) -> None:
    url, received = gateway
    driver = driver_from_env(
        {"KEFU_SMS_DRIVER": "http", "KEFU_SMS_GATEWAY_URL": url, "KEFU_SMS_GATEWAY_TOKEN": "k1"}
    )
    assert isinstance(driver, HttpGatewayDriver)
    assert driver.send("13800138001", "【回访】请回复 1 或 2", "7") == "gw-1"
    assert received == [
        {"auth": "Bearer k1", "to": "13800138001", "text": "【回访】请回复 1 或 2", "ref": "7"}
    ]
    with pytest.raises(SmsSendError):
        driver.send("13800000000", "x", "8")
    with pytest.raises(SmsSendError):
        HttpGatewayDriver("http://127.0.0.1:9/none", timeout=1).send("13800138001", "x", "9")
