"""A real SMTP server for the tests: aiosmtpd, in-process, on a free port of 127.0.0.1.

It keeps every accepted message (envelope and bytes) and can refuse chosen recipients for good
(550), refuse them for now (451), drop the connection in the middle of DATA, or be stopped and
started again on the same port.
"""
from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from dataclasses import dataclass

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


class Handler:
    def __init__(self):
        self.received: list[Received] = []
        self.refuse_for_good: set[str] = set()
        self.refuse_for_now: set[str] = set()
        self.drop_data_times = 0  # close the connection in the middle of the next N DATA commands
        self.delay = 0.0  # seconds before answering DATA (a slow server)
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_for_good:
            return "550 5.1.1 no such user"
        if address in self.refuse_for_now:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.drop_data_times > 0:
                self.drop_data_times -= 1
                server.transport.close()  # the connection drops before the server answers
                return "421 closing"
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


class SmtpServer:
    def __init__(self):
        self.handler = Handler()
        self.port = free_port()
        self.controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> "SmtpServer":
        for _ in range(50):
            try:
                self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
                self.controller.start()
                return self
            except (OSError, RuntimeError):  # the port is still held by the previous run
                time.sleep(0.1)
        raise RuntimeError(f"could not start the SMTP server on port {self.port}")

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return self.received
            time.sleep(0.05)
        raise AssertionError(f"expected {count} messages, the server has {len(self.received)}")

    def config(self) -> dict:
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port, "MAIL_USE_TLS": False, "MAIL_USE_SSL": False,
                "MAIL_DEFAULT_SENDER": "Samskap <noreply@samskap.test>"}
