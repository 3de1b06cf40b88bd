"""Debian's chromium, headless, driven over the Chrome DevTools Protocol (CDP) with websocket-client.

No WebDriver: the browser itself listens on a loopback port it picks (`--remote-debugging-port=0`, written
to DevToolsActivePort in its profile directory), and the test speaks CDP to the page's target:
Page.navigate, Runtime.evaluate, Input.dispatchKeyEvent (real key events, so the page's own keyboard
handling and the browser's default actions — Enter on a link — run) and Page.captureScreenshot.
Protocol reference: https://chromedevtools.github.io/devtools-protocol/ (stable 1.3 domains only).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import websocket

WAIT = 20.0
"""Upper bound for anything the browser is waited for (only bounds a hang; nothing is timed)."""

# Input.dispatchKeyEvent fields for the keys the tests press (DOM `key`, `code`, Windows virtual key code).
KEYS: dict[str, tuple[str, str, int, str]] = {
    "ArrowDown": ("ArrowDown", "ArrowDown", 40, ""),
    "ArrowUp": ("ArrowUp", "ArrowUp", 38, ""),
    "Enter": ("Enter", "Enter", 13, "\r"),
    "Escape": ("Escape", "Escape", 27, ""),
    "/": ("/", "Slash", 191, "/"),
}


class BrowserError(AssertionError):
    pass


class Page:
    """One page target over CDP: commands are answered in order; events are kept for the test to read."""

    def __init__(self, ws_url: str) -> None:
        self._ws = websocket.create_connection(ws_url, timeout=WAIT, suppress_origin=True)
        self._next = 0
        self.events: list[dict[str, Any]] = []
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Log.enable")

    def close(self) -> None:
        self._ws.close()

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._next += 1
        ident = self._next
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str) -> Any:
        """Poll a JavaScript expression until it is truthy; its value is returned."""
        deadline = time.monotonic() + WAIT
        while True:
            try:
                value = self.evaluate(expression)
            except BrowserError:
                value = None  # e.g. between two documents while navigating
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"not within {WAIT} s: {what} ({expression})")
            time.sleep(0.05)

    def navigate(self, url: str) -> None:
        self.send("Page.navigate", url=url)
        self.wait_for(f"location.href === {json.dumps(url)} && document.readyState === 'complete'", f"load {url}")

    def type_text(self, text: str) -> None:
        """Each character as a key press (keyDown with text, keyUp), as a person types."""
        for char in text:
            self.send("Input.dispatchKeyEvent", type="keyDown", key=char, text=char, unmodifiedText=char)
            self.send("Input.dispatchKeyEvent", type="keyUp", key=char)

    def press(self, name: str) -> None:
        key, code, vk, text = KEYS[name]
        down: dict[str, Any] = {"key": key, "code": code, "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk}
        if text:
            self.send("Input.dispatchKeyEvent", type="keyDown", text=text, unmodifiedText=text, **down)
        else:
            self.send("Input.dispatchKeyEvent", type="rawKeyDown", **down)
        self.send("Input.dispatchKeyEvent", type="keyUp", **down)

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def problems(self, ignore: Callable[[dict[str, Any]], bool] = lambda entry: False) -> list[str]:
        """Uncaught exceptions and console/browser errors (a CSP violation is one) seen so far."""
        self.send("Runtime.evaluate", expression="0")  # drain what is queued
        out = []
        for event in self.events:
            if event["method"] == "Runtime.exceptionThrown":
                out.append(json.dumps(event["params"]["exceptionDetails"])[:500])
            elif event["method"] == "Log.entryAdded":
                entry = event["params"]["entry"]
                if entry.get("level") == "error" and not ignore(entry):
                    out.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}")
            elif event["method"] == "Runtime.consoleAPICalled" and event["params"].get("type") == "error":
                out.append(json.dumps(event["params"]["args"])[:500])
        return out


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            process.poll()
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
    process.wait(10)


def chromium_binary() -> str:
    found = shutil.which("chromium")
    assert found, "chromium is missing: run `make setup-system` (Debian package chromium)"
    return found


@contextmanager
def headless_chromium(width: int = 1280, height: int = 900) -> Iterator[Page]:
    """A fresh headless chromium (its own throwaway profile), and its first page."""
    profile = tempfile.mkdtemp(prefix="search-chromium-")
    try:
        yield from _run(profile, width, height)
    finally:
        # the browser's helper processes (zygote, renderer) may still be writing the profile for a moment
        for _ in range(50):
            shutil.rmtree(profile, ignore_errors=True)
            if not Path(profile).exists():
                break
            time.sleep(0.1)


def _run(profile: str, width: int, height: int) -> Iterator[Page]:
    args = [
        chromium_binary(),
        "--headless=new",
        "--no-sandbox",  # the tests run as root here and in CI; the page is our own, served on loopback
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--metrics-recording-only",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
        "about:blank",
    ]
    log_path = Path(profile) / "chromium-stderr.log"
    log = log_path.open("wb")
    # its own process group: the browser and every helper process it starts are stopped together
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    page: Page | None = None
    try:
        port_file = Path(profile) / "DevToolsActivePort"
        deadline = time.monotonic() + WAIT
        while not port_file.is_file() or not port_file.read_text().strip():
            if process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise BrowserError(f"chromium exited {process.returncode}: {tail}")
            if time.monotonic() > deadline:
                raise BrowserError("chromium wrote no DevToolsActivePort")
            time.sleep(0.05)
        port = int(port_file.read_text().splitlines()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=WAIT) as response:
            targets = json.load(response)
        target = next(t for t in targets if t["type"] == "page")
        page = Page(target["webSocketDebuggerUrl"])
        yield page
    finally:
        if page is not None:
            page.close()
        _stop_group(process)
        log.close()
