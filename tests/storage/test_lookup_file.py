"""Lookup files: memory-mapped text tables answer exactly as the pairs they were written from."""

from __future__ import annotations

import pytest

from exprhub.storage.lookup_file import LookupFile, LookupFileError, write_lookup_file


def test_round_trip_many_keys_with_collisions(tmp_path):
    pairs = [(f"name {i}", f"ID:{i:07d}") for i in range(20_000)]
    pairs += [("hépatocyte", "CL:0000182"), ("", "empty key"), ("x", "")]
    path = tmp_path / "t.lookup"
    write_lookup_file(path, {"names": pairs, "empty": []}, meta={"version": "v1"})
    found = LookupFile(path)
    assert found.meta == {"version": "v1"}
    assert found.names() == ["names", "empty"]
    table = found.table("names")
    assert len(table) == len(pairs)
    assert all(table.get(k) == v for k, v in pairs)
    assert table["hépatocyte"] == "CL:0000182" and table[""] == "empty key" and table["x"] == ""
    assert table.get("name 20000") is None and table.get("name 1", "d") == "ID:0000001"
    assert "name 5" in table and "name" not in table and 5 not in table
    with pytest.raises(KeyError):
        table["name"]
    assert table.keys() == [k for k, _ in pairs]  # in the order written
    assert table.items() == pairs
    assert len(found.table("empty")) == 0 and found.table("empty").get("a") is None


def test_first_value_of_a_repeated_key_wins(tmp_path):
    path = tmp_path / "t.lookup"
    write_lookup_file(path, {"t": [("a", "1"), ("b", "2"), ("a", "3")]})
    table = LookupFile(path).table("t")
    assert table.items() == [("a", "1"), ("b", "2")] and table["a"] == "1"


def test_nul_characters_are_refused(tmp_path):
    with pytest.raises(ValueError, match="NUL"):
        write_lookup_file(tmp_path / "t.lookup", {"t": [("a\0b", "1")]})
    assert not list(tmp_path.iterdir())


def test_damaged_or_foreign_files_are_refused(tmp_path):
    path = tmp_path / "t.lookup"
    write_lookup_file(path, {"t": [("a", "1")]})
    data = path.read_bytes()
    path.write_bytes(data[:-4])  # truncated
    with pytest.raises(LookupFileError, match="truncated"):
        LookupFile(path)
    path.write_bytes(b"not a lookup file at all")
    with pytest.raises(LookupFileError, match="bad header"):
        LookupFile(path)
    path.write_bytes(b"")
    with pytest.raises(LookupFileError, match="too short"):
        LookupFile(path)
    with pytest.raises(LookupFileError):
        LookupFile(tmp_path / "missing.lookup")
