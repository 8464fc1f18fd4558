"""The web console in a real headless Chromium (Debian ``chromium`` + ``chromium-driver``, driven
by selenium): it shows every served modem and both platforms' devices, an uplink sent by an AT
command through the pty appears on the page, ``/docs`` renders swagger-ui from modemu's own files,
and no request leaves the console's origin (every ``Network.requestWillBeSent`` in Chromium's
performance log is checked). Also takes the README's screenshots when ``MODEMU_SCREENSHOTS`` names
a directory. Skipped only when chromium or its driver is not installed."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import urllib.request

import pytest

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e .[test])")
pytest.importorskip("serial")

from emulator.testing.ptyline import PtyLine as Line  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.pty, pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="POSIX ptys"),
    pytest.mark.skipif(not (CHROMIUM and DRIVER),
                       reason="needs Debian's chromium and chromium-driver (make system-deps as root)"),
]

MQTT_DEVICE = "16891291868543060025186"  # guide 001 §4.2.3, in the CTWing defaults
FEATURE = "nFSzM3tjRCOYygFWrlOb26eKsiwYtoRqgP862HcxVwU"


def _get(info: dict, path: str) -> object:
    with urllib.request.urlopen(info["api"] + path, timeout=5) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1500,1100", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-default-apps", "--disable-sync"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    drv = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield drv
    drv.quit()


def _requests(drv) -> list[str]:
    urls = []
    for entry in drv.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


def _assert_same_origin(urls: list[str], origin: str) -> None:
    assert urls, "the browser made no request at all"
    foreign = [u for u in urls if not (u.startswith(origin + "/") or u == origin or u.startswith("data:"))]
    assert not foreign, f"requests left the console's origin {origin}: {foreign}"


def _wait(fn, timeout: float = 15.0, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    while time.monotonic() < deadline:
        try:
            got = fn()
        except (StaleElementReferenceException, NoSuchElementException):  # the page re-rendered
            got = None
        if got:
            return got
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _shot(drv, name: str) -> None:
    folder = os.environ.get("MODEMU_SCREENSHOTS")
    if folder:
        drv.save_screenshot(os.path.join(folder, name))


def test_console_page(served, browser) -> None:
    from selenium.webdriver.common.by import By
    info, links, _out = served
    origin = info["api"]
    drv = browser
    drv.get(origin + "/")
    names = [m["name"] for m in info["modems"]]
    _wait(lambda: all(drv.find_elements(By.ID, f"modem-{n}") for n in names), what="every modem card")
    # every device of both platforms, as the platforms list them
    ctwing = [d["device_id"] for d in _get(info, "/api/ctwing/devices")]
    thingplug = [f"{s['name']}/{d}" for s in _get(info, "/api/thingplug/services") for d in s["devices"]]
    assert ctwing and thingplug

    def shown() -> set[tuple[str, str]]:  # read in one script: the page re-renders the list at any time
        return {tuple(x) for x in drv.execute_script(
            "return [...document.querySelectorAll('#platforms .device')]"
            ".map((e) => [e.dataset.platform, e.dataset.device]);")}
    want = {("ctwing", d) for d in ctwing} | {("thingplug", d) for d in thingplug}
    _wait(lambda: want <= shown(), what="every device of both platforms")
    _wait(lambda: "live" in drv.find_element(By.ID, "stream-state").text, what="the event stream")
    # the boot URCs (back-filled) are in the BG96 transcript, marked as URCs
    bg96 = drv.find_element(By.CSS_SELECTOR, "#modem-bg96 .transcript")
    _wait(lambda: any("[URC] RDY" in r.text for r in bg96.find_elements(By.CSS_SELECTOR, "div.urc")),
          what="RDY as a URC in the bg96 transcript")

    # an uplink typed into the EC800E's pty (guide 001 §4.2.3) shows up on the page after its OK
    line = Line(str(links / "ec800e"))
    try:
        line.cmd('AT+QMTOPEN=0,"2000033383.non-nb.ctwing.cn",1883', b"\r\nOK\r\n\r\n+QMTOPEN: 0,0\r\n")
        line.cmd(f'AT+QMTCONN=0,"{MQTT_DEVICE}","device001","{FEATURE}"', b"\r\nOK\r\n\r\n+QMTCONN: 0,0,0\r\n")
        line.cmd('AT+QMTPUBEX=0,0,0,0,"topic/data",23', b"\r\n> ")
        payload = b'{"temp":22.5,"humi":78}'
        line.say(payload, payload + b"\r\nOK\r\n")
        ok_at = time.monotonic()
        cell = f'#platforms .device[data-device="{MQTT_DEVICE}"] .uplinks'
        _wait(lambda: payload.hex() in drv.find_element(By.CSS_SELECTOR, cell).text, timeout=15,
              what="the uplink on the page")
        latency = time.monotonic() - ok_at
        print(f"uplink on the page {latency * 1000:.0f} ms after its OK")  # measured, not asserted
        line.expect(b"\r\n+QMTPUBEX: 0,0,0\r\n")
        _wait(lambda: '{"temp":22.5,"humi":78}' in drv.find_element(By.CSS_SELECTOR, cell).text,
              what="the uplink decoded to text")
        badge = f'#platforms .device[data-device="{MQTT_DEVICE}"] .badge'
        _wait(lambda: drv.find_element(By.CSS_SELECTOR, badge).text == "online", what="online badge")
        ec = drv.find_element(By.CSS_SELECTOR, "#modem-ec800e .transcript")
        _wait(lambda: "<payload 23 bytes>" in ec.text and "→ AT+QMTPUBEX" in ec.text, what="the AT transcript")

        # queue a CTWing command from the form: it reaches the modem (subscribed to device_control)
        line.cmd('AT+QMTSUB=0,2,"device_control",1', b"\r\nOK\r\n\r\n+QMTSUB: 0,2,0,1\r\n")
        drv.find_element(By.CSS_SELECTOR, "#ctwing-device").send_keys(MQTT_DEVICE)
        box = drv.find_element(By.ID, "ctwing-payload")
        box.clear()
        box.send_keys("on")
        drv.find_element(By.CSS_SELECTOR, "#ctwing-form button").click()
        line.expect(b'\r\n+QMTRECV: 0,1,"device_control","on"\r\n')
        _wait(lambda: "[URC] +QMTRECV" in ec.text, what="the downlink URC in the transcript")
        downs = f'#platforms .device[data-device="{MQTT_DEVICE}"] .downlinks'
        status = _get(info, f"/api/ctwing/devices/{MQTT_DEVICE}/commands")[-1]["status"]
        _wait(lambda: status in drv.find_element(By.CSS_SELECTOR, downs).text, what=f"the command's status {status}")
    finally:
        line.close()

    # advance the clock from the form: the page's clock moves on
    before = _get(info, "/api/clock")["now"]
    drv.find_element(By.CSS_SELECTOR, "#advance-form button").click()
    _wait(lambda: _get(info, "/api/clock")["now"] >= before + 60, what="the clock advance")
    _wait(lambda: "clock" in drv.find_element(By.ID, "events").text, what="the clock event")
    # an API error is shown on the page: an SMS to a modem as the SMS route answers it
    drv.find_element(By.CSS_SELECTOR, "#sms-form button").click()
    _wait(lambda: drv.find_element(By.ID, "result").text, what="the SMS answer")
    _shot(drv, "console.png")
    _assert_same_origin(_requests(drv), origin)


def test_docs_offline(served, browser) -> None:
    from selenium.webdriver.common.by import By
    info, _links, _out = served
    drv = browser
    drv.get_log("performance")  # drop the page test's entries
    drv.get(info["api"] + "/docs")
    _wait(lambda: drv.find_elements(By.CSS_SELECTOR, ".swagger-ui .info .title"), what="swagger-ui")
    _wait(lambda: drv.find_elements(By.CSS_SELECTOR, ".opblock-summary-path"), what="the routes")
    paths = {e.text for e in drv.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert "/api/events" in {p.replace("\u200b", "") for p in paths}
    _shot(drv, "docs.png")
    _assert_same_origin(_requests(drv), info["api"])
