"""The plug-in entry points' on-disk cache (emulator/entrypoints.py, cachedir.py).

A distribution installed after the cache was written is seen (the cache is stale); a corrupt
cache file is ignored and rewritten; a fresh cache is read without a metadata scan;
``MODEMU_CACHE_DIR=off`` writes no cache. Must not: leave a cache dir set for other tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emulator import entrypoints
from emulator.cachedir import user_cache_dir
from emulator.modules import available_modules


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An empty directory first on sys.path, a cache dir, and the registry reset after."""
    where = tmp_path / "site"
    where.mkdir()
    monkeypatch.syspath_prepend(str(where))
    cache = tmp_path / "cache"
    cache.mkdir()
    entrypoints.set_cache_dir(cache)
    yield where, cache
    entrypoints.set_cache_dir(None)


def install(where: Path, name: str) -> None:
    info = where / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[emulator.modules]\n{name} = {name}_pkg:PROFILE\n")


def test_a_distribution_installed_after_the_cache_was_written_is_seen(site) -> None:
    where, cache = site
    assert "plugmod" not in available_modules()
    assert entrypoints.cache_file(cache).is_file()
    install(where, "plugmod")
    entrypoints.set_cache_dir(cache)  # a new process: the file is there, the key no longer matches
    assert "plugmod" in available_modules()


def test_a_fresh_cache_is_read_without_a_scan(site, monkeypatch: pytest.MonkeyPatch) -> None:
    where, cache = site
    install(where, "plugmod")
    assert dict(entrypoints.group("emulator.modules"))["plugmod"] == "plugmod_pkg:PROFILE"
    entrypoints.set_cache_dir(cache)

    def no_scan():  # noqa: ANN202
        raise AssertionError("scanned although the cache is current")
    monkeypatch.setattr(entrypoints, "scan", no_scan)
    assert "plugmod" in available_modules()


@pytest.mark.parametrize("garbage", ["", "{not json", "[]", '{"key": 1}', json.dumps({"groups": {}})])
def test_a_corrupt_cache_file_is_ignored_and_rewritten(site, garbage: str) -> None:
    where, cache = site
    install(where, "plugmod")
    entrypoints.cache_file(cache).write_text(garbage)
    assert "plugmod" in available_modules()
    data = json.loads(entrypoints.cache_file(cache).read_text())
    assert ["plugmod", "plugmod_pkg:PROFILE"] in data["groups"]["emulator.modules"]


def test_a_cache_with_another_key_is_not_used(site) -> None:
    _, cache = site
    entrypoints.group("emulator.modules")
    path = entrypoints.cache_file(cache)
    data = json.loads(path.read_text())
    data["groups"]["emulator.modules"] = [["ghost", "ghost_pkg:PROFILE"]]
    path.write_text(json.dumps(data))
    entrypoints.set_cache_dir(cache)
    assert "ghost" in available_modules()  # same key: the cache is what is read
    data["key"][0] = "2.7.18"
    path.write_text(json.dumps(data))
    entrypoints.set_cache_dir(cache)
    assert "ghost" not in available_modules()  # another Python: scanned again


def test_cache_dir_off_and_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("MODEMU_CACHE_DIR", "off")
    assert user_cache_dir() is None
    monkeypatch.setenv("MODEMU_CACHE_DIR", "")
    assert user_cache_dir() == tmp_path / "xdg" / "modemu"
    monkeypatch.setenv("MODEMU_CACHE_DIR", str(tmp_path / "mine"))
    assert user_cache_dir() == tmp_path / "mine"


@pytest.mark.parametrize("setting", ["off", "dir"])
def test_the_cli_caches_unless_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, setting: str) -> None:
    from emulator.cli import main
    mine = tmp_path / "mine"
    monkeypatch.setenv("MODEMU_CACHE_DIR", "off" if setting == "off" else str(mine))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    try:
        assert main(["modules"]) == 0
    finally:
        entrypoints.set_cache_dir(None)
    assert "bg96" in capsys.readouterr().out
    written = list(tmp_path.rglob("entry-points-*.json"))
    assert written == ([] if setting == "off" else [entrypoints.cache_file(mine)])
