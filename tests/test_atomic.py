"""write_atomic: the whole new file or the old one, never a mix, no temporary files left over,
and the permissions a user expects."""

import os

import pytest

from activation_lab.atomic import write_atomic


def test_writes_text_and_bytes_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "out.csv"
    write_atomic(target, "x,y\n1,2\n")
    assert target.read_text() == "x,y\n1,2\n"
    write_atomic(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "report.md"
    target.write_text("old")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_permissions_of_new_and_replaced_files(tmp_path):
    old = os.umask(0o027)
    try:
        fresh = write_atomic(tmp_path / "fresh.txt", "a")
        assert fresh.stat().st_mode & 0o777 == 0o640          # 0666 less the umask, as open() gives
        kept = tmp_path / "private.txt"
        kept.write_text("secret")
        kept.chmod(0o600)
        write_atomic(kept, "still secret")
        assert kept.stat().st_mode & 0o777 == 0o600           # a replaced file keeps its mode
    finally:
        os.umask(old)
