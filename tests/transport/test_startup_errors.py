"""Start-up errors of ``modemu serve`` / ``exec``: every bad flag, config value, route or busy port
is one line on stderr naming the problem and the fix, exit 2, no traceback, nothing left behind
(no links, no ready file). Run as subprocesses, as a user runs them."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from emulator import preflight
from emulator.cli import _parser, main
from emulator.config import Config, ModemSpec
from emulator.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def modemu(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emulator", *args], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=60)


def serve_fails(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    res = modemu(tmp_path, "serve", "--link-dir", str(tmp_path / "links"), "--ready-file",
                 str(tmp_path / "ready.json"), *args)
    assert res.returncode == 2, (res.returncode, res.stderr)
    one_line(res.stderr)
    assert not any((tmp_path / "links").glob("*")), "a link was left behind"
    assert not (tmp_path / "ready.json").exists()
    assert res.stdout == ""  # nothing started: no ready table
    return res


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    assert stderr.endswith("\n") and stderr.count("\n") == 1, stderr
    return stderr


@pytest.fixture
def busy_port():
    """A port another program listens on (as a second ``make run`` meets the first one's)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def free_ports(n: int, kind: int = socket.SOCK_STREAM) -> list[int]:
    """Ports nobody listens on right now (so a serve running elsewhere on this machine, on the
    default ports, does not decide which busy port the test meets first)."""
    socks = [socket.socket(socket.AF_INET, kind) for _ in range(n)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def test_a_busy_platform_port_is_one_line_naming_the_port_and_the_fix(tmp_path, busy_port):
    base, *tcp = free_ports(5)
    udp = free_ports(3, socket.SOCK_DGRAM)
    cfg = tmp_path / "modemu.yaml"
    cfg.write_text(f"tcp_base_port: {base}\n"
                   f"backends:\n  thingplug: {{ports: {{thingplug_mqtt: {tcp[0]}, thingplug_mqtts: {tcp[1]}}}}}\n"
                   f"  ctwing: {{ports: {{ctwing_mqtt: {busy_port}, ctwing_mqtts: {tcp[2]}, ctwing_tcp: {tcp[3]}, "
                   f"ctwing_lwm2m: {udp[0]}, ctwing_lwm2m_dtls: {udp[1]}}}}}\n"
                   f"  ntp: {{ports: {{ntp: {udp[2]}}}}}\n")
    res = serve_fails(tmp_path, "--config", str(cfg), "--module", "bg96", "--api", "127.0.0.1:0")
    assert f"port {busy_port} (ctwing ctwing_mqtt) is in use" in res.stderr
    assert "--ephemeral-ports" in res.stderr and "backends.ctwing.ports.ctwing_mqtt" in res.stderr


def test_a_busy_modem_port_leaves_no_link(tmp_path, busy_port):
    cfg = tmp_path / "modemu.yaml"
    cfg.write_text(f"tcp_base_port: {busy_port}\n")
    res = serve_fails(tmp_path, "--config", str(cfg), "--module", "bg96", "--no-backends",
                      "--api", "127.0.0.1:0")
    assert f"port {busy_port} (modem bg96 TCP) is in use" in res.stderr and "tcp_base_port" in res.stderr


def test_a_busy_api_port_is_found_first(tmp_path, busy_port):
    res = serve_fails(tmp_path, "--module", "bg96", "--api", f"127.0.0.1:{busy_port}")
    assert f"port {busy_port} (console API) is in use" in res.stderr and "--api 127.0.0.1:PORT" in res.stderr
    # the fix for the API is a flag: the line must not send the user to --config for it
    assert "--config" not in res.stderr, res.stderr


def test_a_port_taken_after_the_checks_still_cleans_up(tmp_path, busy_port):
    """A race the checks cannot see (the port is taken between probe and bind): the ptys and links
    made so far are removed and the error is one line."""
    from emulator.serve import start_or_clean_up
    from emulator.transport.runner import Emulator

    links = tmp_path / "links"
    emu = Emulator(Config(), modems=[ModemSpec("a", "bg96")], link_dir=links,  # its pty and link come
                   backends=[], follow_wall=False, tcp_base_port=busy_port)  # before its TCP port

    async def go() -> None:
        with pytest.raises(ConfigError, match=f"127.0.0.1:{busy_port} is in use.*--ephemeral-ports"):
            await start_or_clean_up(emu)
    asyncio.run(go())
    assert not any(links.glob("*"))


@pytest.mark.parametrize("route, words", [
    ("broker.example.com:1883=8.8.8.8:1883", ["8.8.8.8", "loopback"]),
    ("broker.example.com:1883", ["HOST[:PORT]=IP:PORT"]),
    ("broker.example.com:x=127.0.0.1:1", ["HOST[:PORT]=IP:PORT"]),
    ("garbage", ["HOST[:PORT]=IP:PORT"]),
])
def test_a_bad_route_is_reported_before_the_platforms_start(tmp_path, route, words):
    # platforms on: a route error after they started would come with their log lines
    res = serve_fails(tmp_path, "--module", "bg96", "--ephemeral-ports", "--api", "127.0.0.1:0", "--route", route)
    assert res.stderr.startswith(f"modemu: --route {route}:")
    # the user's words, not Python's ("not enough values to unpack", "invalid literal for int()")
    assert "unpack" not in res.stderr and "literal" not in res.stderr, res.stderr
    for word in words:
        assert word in res.stderr


@pytest.mark.parametrize("config, words", [
    ("modem: [bg96]\n", ["unknown key 'modem'", "modems"]),
    ("backends: {ctwin: {}}\n", ["backends.ctwin", "ctwing"]),
    ("time_scale: fast\n", ["time_scale"]),
    ("modems: [{module: bg96}, {module: bg96}]\n", ["unique", "bg96"]),
    ("routes: broker=127.0.0.1:1\n", ["routes must be a list"]),
    ("backends: {ctwing: {ports: {ctwing_mqtt: 70000}}}\n", ["70000", "backends.ctwing.ports.ctwing_mqtt"]),
    # a YAML syntax error is one line too, naming the place (libyaml's message spans five lines)
    ("modems: [1\n", ["cannot read config", "line 2", "column 1"]),
])
def test_bad_config_values_are_one_line(tmp_path, config, words):
    cfg = tmp_path / "modemu.yaml"
    cfg.write_text(config)
    res = serve_fails(tmp_path, "--config", str(cfg), "--api", "127.0.0.1:0")
    for word in words:
        assert word in res.stderr


@pytest.mark.parametrize("args, words", [
    (["serve", "--modul", "bg96"], ["unrecognized arguments: --modul", "modemu serve --help"]),
    (["serve", "--time-scale", "fast"], ["--time-scale", "invalid float"]),
    (["serve", "--time-scale", "0"], ["time scale 0", "positive"]),
    (["serve", "--module", "bg69", "--ephemeral-ports"], ["bg69", "bg96"]),
    (["serve", "--api", "0.0.0.0:1"], ["loopback"]),
    (["frobnicate"], ["invalid choice"]),
    (["exec", "--boot-delay", "-1", "--", "true"], ["--boot-delay"]),
])
def test_bad_flags_are_one_line(tmp_path, args, words):
    res = modemu(tmp_path, *args)
    assert res.returncode == 2, res.stderr
    one_line(res.stderr)
    for word in words:
        assert word in res.stderr


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert re.fullmatch(r"modemu \d+\.\d+\.\d+\S*\n", capsys.readouterr().out)


def test_every_option_has_help_and_every_command_an_example():
    parser = _parser()
    sub = next(a for a in parser._actions if a.choices and isinstance(a.choices, dict))
    assert set(sub.choices) >= {"serve", "exec", "modules", "run", "examples"}
    for name, cmd in sub.choices.items():
        assert "example" in (cmd.epilog or ""), name
        assert not cmd.allow_abbrev, name
        for action in cmd._actions:
            assert action.help, f"modemu {name} {action.option_strings or action.dest}: no help text"
        assert f"modemu {name}" in cmd.format_help()


def test_the_port_table_matches_the_backends():
    """preflight.BACKEND_PORTS lists what the backends pass to ``port_for``: a new platform port
    that is not listed would escape the busy-port check."""
    calls = set()
    for path in (REPO / "emulator" / "backends").rglob("*.py"):
        for key, default in re.findall(r'port_for\("(\w+)", (\d+)\)', path.read_text()):
            calls.add((key, int(default)))
    table = {(key, default) for ports in preflight.BACKEND_PORTS.values() for key, default, _ in ports}
    assert calls and calls == table


def test_examples_are_copied_and_run(tmp_path, capsys):
    dest = tmp_path / "mine"
    assert main(["examples", str(dest)]) == 0
    copied = sorted(p.name for p in dest.glob("*.yaml"))
    assert copied == sorted(p.name for p in (REPO / "scenarios" / "examples").glob("*.yaml"))
    assert main(["examples", str(dest)]) == 2  # nothing overwritten
    assert "exists" in capsys.readouterr().err
    assert main(["run", "-q", "--no-color", str(dest / "quickstart.yaml")]) == 0


def test_every_defaults_key_the_features_read_is_an_accepted_override():
    """config.READ_DEFAULTS lists what the features read from a profile's defaults, so a scenario
    or config may override it; a feature reading a new key must add it there."""
    from emulator.config import READ_DEFAULTS
    read = set()
    for path in (REPO / "emulator").rglob("*.py"):
        read |= set(re.findall(r'defaults(?:\.get\(|\[)"([a-z_0-9]+)"', path.read_text()))
    assert read and read <= set(READ_DEFAULTS), sorted(read - set(READ_DEFAULTS))


def test_a_busy_udp_port_names_the_platform_once_and_says_udp():
    """A UDP listener (NTP, LwM2M) met on its port: named as a user reads it ("ntp UDP", not
    "ntp ntp"), so they know which kind of socket to look for."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        plan = preflight.planned_ports(Config(backends={"ntp": {"ports": {"ntp": port}}}), [], ["ntp"],
                                       tcp_base_port=None, api_port=None)
        assert [p.what for p in plan] == ["ntp UDP"]
        with pytest.raises(ConfigError) as exc:
            preflight.check_ports(plan)
    assert str(exc.value).startswith(f"port {port} (ntp UDP) is in use")
