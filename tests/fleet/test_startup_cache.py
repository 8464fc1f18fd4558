"""Start-up pieces that must stay correct while being fast: the grammar cache gives the same
parser as a fresh build and is rebuilt when the grammar changes; the boot's first effect does
not need every executor module."""

from __future__ import annotations

from pathlib import Path

from emulator.at import grammar
from emulator.at.grammar import parse_line


def test_cached_tables_parse_like_a_fresh_build(tmp_path: Path) -> None:
    line = 'AT+QLWCONFIG=0,"221.229.214.202",5683,"863921043512345",86400,3;+CSQ'
    fresh = parse_line(line, "ec800e")
    try:
        grammar.set_cache_dir(tmp_path)
        for _ in range(2):  # first run writes the cache, second loads it
            grammar.parser_for.cache_clear()
            grammar.fast_parser_for.cache_clear()
            grammar._parse_cached.cache_clear()
            assert parse_line(line, "ec800e") == fresh
        assert [p.name for p in tmp_path.iterdir()] and all(p.stat().st_size > 0 for p in tmp_path.iterdir())
    finally:
        grammar.set_cache_dir(None)
        grammar.parser_for.cache_clear()
        grammar.fast_parser_for.cache_clear()
        grammar._parse_cached.cache_clear()


def test_a_changed_grammar_is_rebuilt_not_loaded_stale(tmp_path: Path) -> None:
    from lark import Lark
    cache = str(tmp_path / "g.cache")
    Lark('start: "a"', parser="lalr", cache=cache).parse("a")
    changed = Lark('start: "b"', parser="lalr", cache=cache)  # same cache file, other grammar
    assert changed.parse("b") is not None
