"""Open the report in headless Chromium and check it as a browser sees it.

How: Chromium (Debian's ``chromium`` at /usr/bin/chromium) is started headless with
``--remote-debugging-port=0``; it writes the chosen port to ``DevToolsActivePort`` in its profile
folder. A tiny standard-library WebSocket client (below) speaks the DevTools protocol to one page:
it enables Runtime, Log and Page, navigates to the report's file:// URL, waits for the load event,
then evaluates a script in the page (the report itself has none) that lists every <img> with its
``complete`` flag and ``naturalWidth``. Every image must have decoded (naturalWidth > 0) and no
console error, uncaught exception or error log entry may appear. A full-page screenshot is saved to
``/tmp/trainlab-report-screenshot.png`` for a person to look at (the Korean report's to
``/tmp/trainlab-report-ko-screenshot.png``).

Skips (with the reason) only when /usr/bin/chromium is absent.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

import runs_factory as fab

from trainlab import files
from trainlab.report import write_report

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path("/tmp/trainlab-report-screenshot.png")
COMPARE_SCREENSHOT = Path("/tmp/trainlab-compare-screenshot.png")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="/usr/bin/chromium is absent (install Debian's 'chromium' package)")


# -- a minimal WebSocket client (RFC 6455, text frames, client-side masking) -------------------------
class WebSocket:
    def __init__(self, url: str, timeout: float = 30.0):
        assert url.startswith("ws://"), url
        hostport, _, path = url[len("ws://"):].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("websocket handshake: connection closed")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"websocket handshake refused: {head[:200]!r}")

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("websocket closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, text: str) -> None:
        payload = text.encode()
        n = len(payload)
        header = bytes([0x81])
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def recv(self) -> str:
        parts = []
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            data = self._read(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            opcode = b0 & 0x0F
            if opcode == 8:
                raise ConnectionError("websocket closed by the browser")
            if opcode in (9, 10):  # ping/pong: ignore
                continue
            parts.append(data)
            if b0 & 0x80:
                return b"".join(parts).decode()

    def close(self) -> None:
        self.sock.close()


class DevTools:
    """Commands and collected events on one page target."""

    def __init__(self, ws: WebSocket):
        self.ws, self.next_id, self.events = ws, 0, []

    def call(self, method: str, timeout: float = 30.0, **params) -> dict:
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)
        raise TimeoutError(method)

    def wait_event(self, method: str, timeout: float = 30.0, since: int = 0) -> dict:
        """The first ``method`` event from ``self.events[since:]`` on, waiting for it if needed."""
        for e in self.events[since:]:
            if e["method"] == method:
                return e
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == method:
                    return msg
        raise TimeoutError(method)


@pytest.fixture
def browser(tmp_path):
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    proc = subprocess.Popen(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1280,900",
         f"--user-data-dir={profile}", "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
         "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chromium did not start its DevTools endpoint (exit code {proc.poll()})")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            targets = json.load(r)
        page = next(t for t in targets if t.get("type") == "page")
        ws = WebSocket(page["webSocketDebuggerUrl"])
        try:
            yield DevTools(ws)
        finally:
            ws.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def report(tmp_path):
    """A train run, two experiments (one reduced) and a search, as RunRecord writes them."""
    root = tmp_path / "runs"
    fab.train_run(root, "adam-lr0.01", lr=0.01, title="adam on mnist, 100-100 <λ=0.1>")
    fab.experiment_run(root, "optimizer-mnist", reduced=True, book={"adam": {"loss at 2000": 0.1}},
                       claims=[{"name": "weight decay shrinks the gap", "passed": True, "detail": "0.17 < 0.25",
                                "values": {"a": 1}},
                               {"name": "train stays below 1.0", "passed": False, "detail": "max 1.0 <b>",
                                "values": {}}],
                       tables=[{"title": "book vs ours", "columns": ["e", "v"], "rows": [["200", "0.927 / 0.721"]]}])
    fab.experiment_run(root, "init-mnist", figures=("loss", "accuracy"), status="diverged",
                       message="seed 1: sgd diverged")
    fab.search_run(root)
    return write_report(root)


IMAGES_JS = """JSON.stringify(Array.from(document.images).map(i => ({
    src: i.currentSrc.slice(0, 30), complete: i.complete, w: i.naturalWidth, h: i.naturalHeight})))"""


def open_page(browser: DevTools, path: Path) -> None:
    browser.call("Runtime.enable")
    browser.call("Log.enable")
    browser.call("Page.enable")
    since = len(browser.events)  # a second page must not take the first page's load event for its own
    browser.call("Page.navigate", url=path.resolve().as_uri())
    browser.wait_event("Page.loadEventFired", since=since)


def broken_images(browser: DevTools) -> tuple[list, list]:
    images = json.loads(browser.call("Runtime.evaluate", expression=IMAGES_JS, returnByValue=True)["result"]["value"])
    return images, [i for i in images if not (i["complete"] and i["w"] > 0 and i["h"] > 0)]


def console_errors(browser: DevTools) -> list:
    browser.call("Runtime.evaluate", expression="1")  # drain events that arrived meanwhile
    return [e for e in browser.events
            if (e["method"] == "Runtime.consoleAPICalled" and e["params"].get("type") in ("error", "assert"))
            or e["method"] == "Runtime.exceptionThrown"
            or (e["method"] == "Log.entryAdded" and e["params"]["entry"].get("level") == "error")]


def test_the_checks_catch_a_broken_image_and_a_console_error(browser, tmp_path):
    """The detector itself: a page with a broken image and a console error must be caught."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><head><title>bad</title></head><body>'
                    '<img src="data:image/png;base64,AAAA" alt="broken"><img src="missing.png" alt="missing">'
                    '<script>console.error("boom")</script></body></html>')
    open_page(browser, page)
    images, broken = broken_images(browser)
    assert len(images) == 2 and len(broken) == 2
    assert console_errors(browser)


def evaluate(browser: DevTools, expression: str):
    return browser.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"]["value"]


def external_fetches(browser: DevTools) -> list:
    return evaluate(browser, "performance.getEntriesByType('resource').map(e => e.name)"
                             ".filter(n => !n.startsWith('data:'))")


def screenshot(browser: DevTools, path: Path) -> None:
    """The whole page (up to 12000 CSS pixels tall) as a PNG, for a person to look at."""
    shot = browser.call("Page.getLayoutMetrics")
    size = shot.get("cssContentSize") or shot["contentSize"]
    png = browser.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                       clip={"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 12000),
                             "scale": 1})["data"]
    path.write_bytes(base64.b64decode(png))
    assert path.stat().st_size > 10_000


def test_report_loads_in_chromium_without_broken_images_or_errors(browser, report):
    open_page(browser, report)
    assert evaluate(browser, "document.title").startswith("TrainLab report")
    images, broken = broken_images(browser)
    assert len(images) == 5  # train curves, optimizer-mnist loss, init-mnist loss + accuracy, search
    assert not broken, f"broken images: {broken}"
    assert evaluate(browser, "document.querySelectorAll('ul.claims li').length") == 3
    assert evaluate(browser, "document.querySelectorAll('section.run').length") == 4
    # the reduced badge is visible (laid out, not hidden) in the summary table and in its section
    assert evaluate(browser, "Array.from(document.querySelectorAll('.badge.reduced'))"
                             ".filter(e => e.offsetWidth > 0 && e.offsetHeight > 0).length") == 3
    assert evaluate(browser, "getComputedStyle(document.querySelector('.status-bad')).color") == "rgb(198, 40, 40)"
    # every run's configuration is collapsed until asked for, and opens
    assert evaluate(browser, "Array.from(document.querySelectorAll('details')).every(d => !d.open)")
    assert external_fetches(browser) == [], "the page fetched resources"
    screenshot(browser, SCREENSHOT)
    errors = console_errors(browser)
    assert not errors, f"console errors: {errors}"


@pytest.fixture
def compare_page(tmp_path):
    """compare.html of a train run, two seeds of an experiment and a search trial."""
    from trainlab.compare import choose_metrics, open_sources, prepare_out, select_curves, write_compare

    root = tmp_path / "runs"
    fab.train_run(root, "adam-lr0.01", lr=0.01, top=0.95)
    fab.experiment_run(root, "optimizer-mnist", config={"iterations": 20, "lr": 0.05}, reduced=True, figures=())
    fab.search_run(root)
    sources = open_sources([str(root / "adam-lr0.01"), f"{root}/optimizer-mnist#adam/*", f"{root}/search#trial-0000"])
    curves = select_curves(sources)
    metrics = choose_metrics(curves, None)
    out = tmp_path / "cmp"
    write_compare(out, sources, curves, metrics, prepare_out(out, sources))
    return out / "compare.html", metrics


def test_compare_page_loads_in_chromium_without_broken_images_or_errors(browser, compare_page):
    page, metrics = compare_page
    open_page(browser, page)
    assert evaluate(browser, "document.title") == "TrainLab compare"
    images, broken = broken_images(browser)
    assert len(images) == len(metrics) == 3
    assert not broken, f"broken images: {broken}"
    # every figure at its natural size or scaled down to the page, never wider than its section
    assert evaluate(browser, "Array.from(document.images).every(i => i.getBoundingClientRect().right <= "
                             "i.closest('section').getBoundingClientRect().right)")
    assert evaluate(browser, "document.querySelectorAll('section.run').length") == 4  # 3 metrics + config
    assert external_fetches(browser) == [], "the page fetched resources"
    screenshot(browser, COMPARE_SCREENSHOT)
    errors = console_errors(browser)
    assert not errors, f"console errors: {errors}"


@pytest.fixture
def diagnosed_runs(tmp_path):
    """Two real train runs recorded with --diagnostics (a ReLU net, and a sigmoid one with histograms)."""
    from trainlab.cli import main

    root = tmp_path / "runs"
    small = ["--train-size", "600", "--epochs", "2", "--hidden", "20,20", "--eval-samples", "500", "-q"]
    assert main(["train", *small, "--diagnostics", "--out", str(root / "relu")]) == 0
    assert main(["train", *small, "--activation", "sigmoid", "--diagnostics", "hist:0,2",
                 "--out", str(root / "sigmoid")]) == 0
    return root


def test_the_diagnostics_figures_load_in_chromium_in_the_report_and_compare(browser, diagnosed_runs, tmp_path, capsys):
    from trainlab.cli import main

    fits = ("Array.from(document.images).every(i => i.getBoundingClientRect().right <= "
            "i.closest('section').getBoundingClientRect().right)")
    open_page(browser, write_report(diagnosed_runs))
    images, broken = broken_images(browser)
    assert len(images) == 5 and not broken, broken  # curves + diagnostics each, the sigmoid run's histograms
    alts = evaluate(browser, "Array.from(document.images).map(i => i.alt).join('|')")
    assert "relu: diagnostics" in alts and "sigmoid: activation_histograms" in alts
    assert evaluate(browser, fits)
    out = tmp_path / "cmp"
    assert main(["compare", str(diagnosed_runs / "relu"), str(diagnosed_runs / "sigmoid"), "--out", str(out)]) == 0
    capsys.readouterr()
    open_page(browser, out / "compare.html")
    images, broken = broken_images(browser)
    metrics = files.read_json(out / "compare.json")["metrics"]
    assert len(images) == len(metrics) + 2 and not broken, broken
    assert evaluate(browser, fits)
    assert evaluate(browser, "document.querySelectorAll('#diagnostics_grad_norm tbody tr').length") == 2
    errors = console_errors(browser)
    assert not errors, f"console errors: {errors}"


# -- Korean and Japanese: trainlab run --lang, as a reader sees it ------------------------------------------
I18N_SCREENSHOT = Path("/tmp/trainlab-report-ko-screenshot.png")

#: a character drawn on a canvas in the page's font, as pixels (data URL): two characters that no font
#: has draw the same missing-glyph box, so a character drawn like them has no glyph ("tofu")
GLYPH_JS = """(ch => { const c = document.createElement('canvas'); c.width = 64; c.height = 64;
  const g = c.getContext('2d'); g.font = '40px ' + getComputedStyle(document.body).fontFamily;
  g.fillText(ch, 4, 48); return c.toDataURL(); })"""


CJK_PLACES = "h1, h2, h3, th, td, summary, .badge, .pill, .sub, .meta, footer, figcaption, .claim-name"


@pytest.mark.parametrize("lang, words", [("ko", ("요약", "주장", "그림", "설정", "완료")),
                                         ("ja", ("概要", "主張", "図", "設定", "完了"))])
def test_a_korean_or_japanese_report_renders_its_own_script(browser, lang, words, tmp_path, capsys, monkeypatch):
    from trainlab.cli import main

    monkeypatch.delenv("TRAINLAB_LANG", raising=False)
    out = tmp_path / "runs"
    assert main(["run", "optimizer-race", "--out", str(out), "--lang", lang]) == 0
    capsys.readouterr()
    open_page(browser, out / "report.html")
    browser.call("Runtime.evaluate", expression="document.fonts.ready.then(() => 1)", awaitPromise=True)
    assert evaluate(browser, "document.documentElement.lang") == lang
    headings = evaluate(browser, "Array.from(document.querySelectorAll('h3')).map(h => h.textContent)")
    assert {words[0], words[1], words[2]} <= set(headings), headings
    assert words[3] in evaluate(browser, "Array.from(document.querySelectorAll('summary')).map(s => s.textContent)")
    assert evaluate(browser, "document.querySelector('.status-ok').textContent") == words[4]
    # every section: the summary table, then the run's own, with its claims and figures
    assert evaluate(browser, "document.querySelectorAll('section.run').length") == 1
    assert evaluate(browser, "document.querySelectorAll('table.overview tbody tr').length") == 1
    assert evaluate(browser, "document.querySelectorAll('ul.claims li').length") >= 3
    images, broken = broken_images(browser)
    assert len(images) >= 2 and not broken, broken
    # the script renders: the page's font draws each heading character unlike the missing-glyph box
    tofu = evaluate(browser, f"{GLYPH_JS}('\\ue000')")
    assert evaluate(browser, f"{GLYPH_JS}('\\ue001')") == tofu  # the check can tell a missing glyph
    drawn = {ch: evaluate(browser, f"{GLYPH_JS}({json.dumps(ch)})") for ch in "".join(words)}
    assert [ch for ch, png in drawn.items() if png == tofu] == [], "characters drawn as empty boxes"
    assert evaluate(browser, f"document.fonts.check('16px \"TrainLab CJK\"', {json.dumps(words[0])})")
    # and where the page shows them: every heading, header, badge, status and summary with such text
    # is drawn with the embedded font (Chromium once shaped some with a fallback's boxes and kept them)
    no_font = []
    browser.call("DOM.enable")
    browser.call("CSS.enable")
    root = browser.call("DOM.getDocument")["root"]["nodeId"]
    nodes = browser.call("DOM.querySelectorAll", nodeId=root, selector=CJK_PLACES)["nodeIds"]
    for node in nodes:
        text = browser.call("DOM.getOuterHTML", nodeId=node)["outerHTML"]
        if any(ord(ch) >= 0x2E80 for ch in re.sub(r"<[^>]*>", "", text)):
            fonts = browser.call("CSS.getPlatformFontsForNode", nodeId=node)["fonts"]
            if not any(f["isCustomFont"] for f in fonts):
                no_font.append((text[:80], [f["familyName"] for f in fonts]))
    assert len(nodes) > 20 and no_font == [], f"CJK text not drawn with the embedded font: {no_font}"
    assert external_fetches(browser) == [], "the page fetched resources"
    assert not console_errors(browser)
    if lang == "ko":
        screenshot(browser, I18N_SCREENSHOT)
