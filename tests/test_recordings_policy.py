"""The recording policy's file names: only node and Linkedid, nothing a shell could read."""

from __future__ import annotations

from recordings import OPTIONS, file_name


def test_a_file_name_is_node_and_linkedid_with_every_other_character_replaced() -> None:
    assert file_name("pbx1", "1796336399.43") == "hotline-pbx1-1796336399.43.wav"
    assert file_name("a b;$(rm)", "1.2/../x") == "hotline-a_b___rm_-1.2_.._x.wav"


def test_the_mixmonitor_options_record_only_while_bridged_and_name_the_id() -> None:
    assert "b" in OPTIONS.split("(")[0] and "i(MIXMON_ID)" in OPTIONS
