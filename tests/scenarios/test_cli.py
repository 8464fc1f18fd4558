"""``modemu run``: exit codes, -k, JUnit XML, load errors."""

import xml.dom.minidom
import xml.etree.ElementTree as ET
from pathlib import Path

from emulator.cli import main

ROOT = Path(__file__).resolve().parents[2]
GOOD = str(ROOT / "scenarios" / "examples" / "quickstart.yaml")
BAD = str(ROOT / "tests" / "data" / "scenarios" / "failing_on_purpose.yaml")


def test_passing_file_exits_zero(capsys):
    assert main(["run", "--no-color", GOOD]) == 0
    out = capsys.readouterr().out
    assert "PASS Quickstart" in out and "1 passed, 0 failed" in out
    assert "→ AT+CGSN" in out  # the transcript is printed


def test_failing_file_exits_one_with_a_diff(capsys):
    assert main(["run", "--no-color", GOOD, BAD]) == 1
    out = capsys.readouterr().out
    assert "FAIL Wrong IMEI" in out
    assert "failing_on_purpose.yaml:10" in out
    assert "-000000000000000" in out and "+868543060974334" in out
    assert "1 passed, 1 failed" in out


def test_keyword_selects_scenarios(capsys):
    assert main(["run", "-q", "--no-color", "-k", "quickstart", str(ROOT / "scenarios" / "examples"), BAD]) == 0
    out = capsys.readouterr().out
    assert "Quickstart" in out and "Wrong IMEI" not in out and "→ AT" not in out  # -q: no transcript


def test_junit_xml_is_written(tmp_path, capsys):
    junit = tmp_path / "out" / "junit.xml"
    assert main(["run", "--no-color", "--junit", str(junit), GOOD, BAD]) == 1
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("tests") == "2" and suite.get("failures") == "1" and suite.get("errors") == "0"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    failure = cases["Wrong IMEI (fails on purpose)"].find("failure")
    assert "failing_on_purpose.yaml:10" in failure.get("message")
    assert "+868543060974334" in failure.text
    assert cases["Quickstart - identity of an EC800E"].find("failure") is None
    assert "AT+CGSN" in cases["Quickstart - identity of an EC800E"].find("system-out").text


def test_junit_xml_stays_well_formed_with_control_bytes(tmp_path, capsys):
    """The modem echoes what the host sent, ESC and Ctrl+Z included: the report must still be XML
    1.0 a CI parser (expat) accepts, with the bytes shown as \\xNN."""
    sc = tmp_path / "ctrl.yaml"
    sc.write_text('name: control bytes\nmodule: ec800e\nbackends: none\nskip_boot: true\nsteps:\n'
                  '  - send_raw: "AT\\x01\\x1b\\r"\n  - expect: [OK]\n')
    junit = tmp_path / "j.xml"
    assert main(["run", "--no-color", "--junit", str(junit), str(sc)]) == 1
    doc = xml.dom.minidom.parse(str(junit))  # expat: raises on characters XML 1.0 forbids
    out = doc.getElementsByTagName("system-out")[0].firstChild.data
    assert "AT\\x01\\x1b" in out


def test_broken_file_is_reported_and_fails(tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nmodule: bg96\nsteps:\n  - sned: AT\n")
    junit = tmp_path / "j.xml"
    assert main(["run", "--no-color", "--junit", str(junit), GOOD, str(broken)]) == 1
    assert "broken.yaml:4: unknown step key 'sned'" in capsys.readouterr().err
    assert ET.parse(junit).getroot().find("testsuite").get("errors") == "1"


def test_missing_path_or_nothing_selected_exits_two(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    assert main(["run", "-k", "zzz-no-such", GOOD]) == 2
    (tmp_path / "empty").mkdir()
    assert main(["run", str(tmp_path / "empty")]) == 2


def test_an_unknown_override_key_is_a_load_error_with_the_valid_keys(tmp_path, capsys):
    sc = tmp_path / "typo.yaml"
    sc.write_text("name: typo\nmodems:\n  - module: bg96\n    imie: '866425035073255'\nsteps:\n  - send: AT\n  - expect: OK\n")
    assert main(["run", "--no-color", str(sc)]) == 1
    err = capsys.readouterr().err
    assert "typo.yaml:4: unknown bg96 override 'imie'; did you mean " in err and "'imei'" in err
    assert "boot_urcs" in err and "apn" in err  # the list: quirks, defaults


def test_known_override_keys_still_load(tmp_path, capsys):
    sc = tmp_path / "ok.yaml"
    sc.write_text("name: ok\nskip_boot: true\nbackends: none\nmodems:\n  - module: bg96\n    imei: '866425035073256'\n"
                  "    apn: x\n    defaults: {anything: 1}\nsteps:\n  - send: AT+CGSN\n  - expect: ['866425035073256', OK]\n")
    assert main(["run", "--no-color", str(sc)]) == 0, capsys.readouterr()


def test_unexpected_boot_output_suggests_skip_boot(tmp_path, capsys):
    sc = tmp_path / "boot.yaml"
    sc.write_text("name: boot\nmodule: bg96\nbackends: none\nsteps:\n  - expect: OK\n")
    assert main(["run", "--no-color", str(sc)]) == 1
    out = capsys.readouterr().out
    assert "unexpected line 'RDY'" in out and "skip_boot: true" in out


def test_the_fixture_checks_overrides_and_names_a_missing_platform(pytester):
    pytester.makeconftest(
        "from importlib.metadata import entry_points\n"
        "P = 'emulator.testing.pytest_plugin'\n"
        "pytest_plugins = [] if any(e.value == P for e in entry_points(group='pytest11')) else [P]\n")
    pytester.makepyfile("""
        import pytest

        @pytest.mark.modem(module="ec800e", overrides={"imie": "1"})
        def test_typo(modem):
            pass

        @pytest.mark.modem(module="ec800e")
        def test_no_platform(modem):
            modem.platform("ctwing", "queue_command", device="868543060974334", payload="x")
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, errors=1)
    result.stdout.fnmatch_lines(["*unknown ec800e override 'imie'; did you mean*'imei'*"])
    result.stdout.fnmatch_lines(["*platform 'ctwing' is not running*start it with backends=*"])
