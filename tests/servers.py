"""Waiting for a real `serve` process started by a test."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import httpx


def wait_ready(
    process: subprocess.Popen[Any], base: str, log: Path | None = None, timeout: float = 60
) -> None:
    """Return once `base`/readyz answers 200; fail, with the end of the log, if the server dies or is slow."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text()[-3000:] if log is not None else f"exit status {process.poll()}"
            raise AssertionError(f"serve at {base} did not start:\n{tail}")
        time.sleep(0.2)
