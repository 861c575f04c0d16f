"""ssvae.partial_csv: rows reach OUT.partial as they are written; OUT appears only when whole."""
import csv

import pytest

from ssvae.partial_csv import partial_csv, partial_path


def _read(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_rows_are_on_disk_before_the_table_is_whole_and_then_become_out(tmp_path):
    out = tmp_path / "rows.csv"
    with partial_csv(out, ["a", "b"]) as write:
        write([{"a": 1, "b": 2}])
        assert _read(partial_path(out)) == [{"a": "1", "b": "2"}]    # flushed, readable now
        assert not out.exists()
        write([{"a": 3}, {"a": 4, "b": 5}])
    assert _read(out) == [{"a": "1", "b": "2"}, {"a": "3", "b": ""}, {"a": "4", "b": "5"}]
    assert not partial_path(out).exists()


def test_an_interrupted_table_keeps_its_rows_in_partial_and_writes_no_out(tmp_path):
    out = tmp_path / "rows.csv"
    with pytest.raises(KeyboardInterrupt):
        with partial_csv(out, ["a"]) as write:
            write([{"a": "done"}])
            raise KeyboardInterrupt
    assert not out.exists()
    assert _read(partial_path(out)) == [{"a": "done"}]


def test_a_key_outside_the_columns_is_refused(tmp_path):
    out = tmp_path / "rows.csv"
    with pytest.raises(ValueError, match="typo"):
        with partial_csv(out, ["a"]) as write:
            write([{"a": 1, "typo": 2}])
    assert not out.exists()


def test_the_partial_path_sits_beside_out(tmp_path):
    assert partial_path(tmp_path / "x" / "pgd.csv") == tmp_path / "x" / "pgd.csv.partial"
