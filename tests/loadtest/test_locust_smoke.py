"""Locust headless for a few seconds: 20 users, each an in-process BG96 of the worker's fleet,
running examples/locust/mqtt_device.yaml against a real mosquitto on loopback (routed as
mqtt.fleet.test). Every AT command of the scenario must show up in Locust's statistics with
requests and no failure."""

from __future__ import annotations

import csv
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("locust", reason="locust is not installed (pip install 'modemu[locust]')")
pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = {"AT+CEREG?", "AT+CSQ", "AT+QMTCFG", "AT+QMTOPEN", "AT+QMTCONN", "AT+QMTPUB", "DATA", "AT+QMTDISC"}


@pytest.fixture
def broker():
    exe = shutil.which("mosquitto")
    if exe is None:
        pytest.skip("mosquitto is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([exe, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("mosquitto did not start")
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.needs_mosquitto
def test_locust_runs_a_small_fleet_headless(broker: int, tmp_path: Path) -> None:
    prefix = tmp_path / "run"
    cmd = [sys.executable, "-m", "locust", "-f", str(ROOT / "examples/locust/locustfile.py"), "--headless",
           "-u", "20", "-r", "10", "-t", "5s", "--only-summary", "--csv", str(prefix),
           "--modemu-route", f"mqtt.fleet.test:1883=127.0.0.1:{broker}"]
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = list(csv.DictReader(open(f"{prefix}_stats.csv")))
    by_name = {(r["Type"], r["Name"]): r for r in rows}
    total = by_name[("", "Aggregated")]
    assert int(total["Failure Count"]) == 0, done.stderr[-3000:]
    assert {name for kind, name in by_name if kind == "AT"} == COMMANDS
    assert int(total["Request Count"]) >= 20 * 2  # at least the first two commands of every user
    for name in COMMANDS:  # every command of the scenario ran
        assert int(by_name[("AT", name)]["Request Count"]) >= 1
    assert "Traceback" not in done.stderr


def test_a_route_off_loopback_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "locust", "-f", str(ROOT / "examples/locust/locustfile.py"), "--headless",
           "-u", "5", "-r", "5", "-t", "20s", "--only-summary",
           "--modemu-route", "mqtt.fleet.test:1883=192.0.2.1:1883"]  # TEST-NET-1: never dialled
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if "/ERROR/" in line]
    assert len(errors) == 1 and errors[0].endswith("route target 192.0.2.1:1883 is not a loopback address")
    assert "Traceback" not in done.stderr
