"""A real headless Chromium, driven over the DevTools protocol (a WebSocket): open a page at a
given window size, collect console errors, run script, press keys, take screenshots.

Run as a script to refresh the README's screenshots of the demo's page::

    .venv/bin/python -m tests.browser docs/
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import websocket

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DESKTOP = (1280, 900)
PHONE = (390, 1500)  # an iPhone-sized width; tall, so the screenshot shows the stacked columns


def find_browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


class Browser:
    """One headless Chromium with one page; every DevTools event is kept in ``events``."""

    def __init__(self, binary: str) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="factdiff-chromium-")
        self._proc = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",  # CI runs as root in a container
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--hide-scrollbars",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                f"--user-data-dir={self._profile.name}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        try:
            port = self._port()
            pages = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
            url = next(p["webSocketDebuggerUrl"] for p in pages if p["type"] == "page")
            self._ws = websocket.create_connection(url, timeout=30, suppress_origin=True)
            for domain in ("Page", "Runtime", "Log"):
                self.call(f"{domain}.enable")
        except BaseException:
            self.close()
            raise

    def _port(self) -> int:
        assert self._proc.stderr is not None
        deadline = time.monotonic() + 30
        seen = []
        while time.monotonic() < deadline:
            line = self._proc.stderr.readline()
            if not line and self._proc.poll() is not None:
                break
            seen.append(line)
            found = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if found:
                return int(found.group(1))
        raise RuntimeError("Chromium did not start: " + "".join(seen[-10:]))

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its answer (events that arrive meanwhile are kept)."""
        n = next(self._ids)
        self._ws.send(json.dumps({"id": n, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv())
            if message.get("id") == n:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})  # type: ignore[no-any-return]
            self.events.append(message)

    def wait_for(self, event: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        self._ws.settimeout(timeout)
        while time.monotonic() < deadline:
            message = json.loads(self._ws.recv())
            self.events.append(message)
            if message.get("method") == event:
                return message
        raise TimeoutError(event)

    def open(self, url: str, size: tuple[int, int], *, mobile: bool = False) -> None:
        width, height = size
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=mobile)
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"].get("text", "script failed"))
        return result["result"].get("value")

    def press_tab(self) -> None:
        for kind in ("rawKeyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key="Tab", code="Tab", windowsVirtualKeyCode=9)

    def tab_to(self, element: str, presses: int = 40) -> bool:
        """Press Tab until the element ``element`` (a script expression) has the focus."""
        for _ in range(presses):
            self.press_tab()
            if self.evaluate(f"document.activeElement === ({element})"):
                return True
        return False

    def screenshot(self, path: Path) -> None:
        self.evaluate("window.scrollTo(0, 0)")
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser errors (a refused script or style, say)."""
        out = []
        for e in self.events:
            params = e.get("params", {})
            if e.get("method") == "Runtime.exceptionThrown":
                out.append(params["exceptionDetails"].get("text", "exception"))
            elif e.get("method") == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                out.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif e.get("method") == "Log.entryAdded" and params["entry"].get("level") == "error":
                out.append(params["entry"].get("text", ""))
        return out

    def close(self) -> None:
        ws = getattr(self, "_ws", None)
        if ws is not None:
            ws.close()
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stderr is not None:
            self._proc.stderr.close()
        self._profile.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


def demo_page(folder: Path) -> Path:
    """The demo's report as a page in ``folder`` (the demo's own sources, a temporary store)."""
    from bot.cli import main

    page = folder / "factdiff-demo.html"
    try:
        main(["demo", "--no-llm", "--no-color", "--html", str(page)], standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            raise
    return page


def main(folder: str) -> None:
    binary = find_browser()
    if binary is None:
        sys.exit("no Chromium found: apt-get install chromium")
    out = Path(folder)
    with tempfile.TemporaryDirectory() as tmp, Browser(binary) as browser:
        page = demo_page(Path(tmp)).as_uri()
        browser.open(page, DESKTOP)
        browser.tab_to("document.querySelectorAll('.claim.k-reworded[data-src]')[1]")  # shows what focus does
        browser.screenshot(out / "report-desktop.png")
        browser.open(page, PHONE, mobile=True)
        browser.screenshot(out / "report-phone.png")
    print(f"wrote {out / 'report-desktop.png'} and {out / 'report-phone.png'}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs")
