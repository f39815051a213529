"""write_atomic: the whole new file or the old one, never a mix, no temporary files left over,
and the permissions a user expects."""

import json
import os
import subprocess
import sys

import pytest

from activation_lab.atomic import (
    MANIFEST,
    TEMP_NAME,
    OutputFolderError,
    check_output_folder,
    foreign_files,
    record_files,
    remove_stale_temps,
    write_atomic,
)

from ._readonly import read_only


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


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits and links")
def test_no_setuid_setgid_or_sticky_bit_is_copied_and_links_are_not_followed(tmp_path):
    target = tmp_path / "tool"
    target.write_text("#!/bin/sh\n")
    target.chmod(0o4751)                                   # setuid
    link = tmp_path / "worst.csv"
    link.symlink_to(target)
    old = os.umask(0o022)
    try:
        write_atomic(link, "x\n")
        assert not link.is_symlink() and link.read_text() == "x\n"
        assert link.stat().st_mode & 0o7777 == 0o644       # the umask's mode, not the target's
        assert target.read_text() == "#!/bin/sh\n" and target.stat().st_mode & 0o7777 == 0o4751
        special = tmp_path / "special.csv"
        special.write_text("old")
        special.chmod(0o6755 | 0o1000)                     # setuid, setgid, sticky
        write_atomic(special, "new")
        assert special.stat().st_mode & 0o7777 == 0o755    # the permission bits only
    finally:
        os.umask(old)


def test_temporary_files_of_a_killed_write_are_removed_by_the_next_run(tmp_path):
    code = ("import os, sys, activation_lab.atomic as a; "
            "a.os.replace = lambda *args: os._exit(9); a.write_atomic(sys.argv[1], 'x' * 1000)")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "report.md")], timeout=120)
    assert done.returncode == 9                             # killed between writing and renaming
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and TEMP_NAME.fullmatch(left[0]) and left[0].startswith(".report.md.")
    keep = [".report.md.al-tmp.1.abc.tmp", ".notes.tmp", f".x.al-tmp.{os.getpid()}.abcdefgh.tmp", "a.tmp"]
    for name in keep:                                       # not ours, or a write still going on
        (tmp_path / name).write_text("keep")
    live = tmp_path / ".y.al-tmp.1.abcdefgh.tmp"            # pid 1 is alive: in use, kept
    live.write_text("keep")
    removed = remove_stale_temps(tmp_path)
    assert [p.name for p in removed] == left
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*keep, live.name])
    check_output_folder(tmp_path)                           # the check before a command's work cleans too


def test_output_folder_check(tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("mine")
    with pytest.raises(OutputFolderError, match="is a file"):
        check_output_folder(a_file)
    with pytest.raises(OutputFolderError, match="cannot be created.*is a file"):
        check_output_folder(a_file / "sub" / "deeper")
    fresh = tmp_path / "new" / "deeper"
    assert check_output_folder(fresh) == fresh and not (tmp_path / "new").exists()   # tried, left as it was
    with read_only(tmp_path / "ro") as ro:
        with pytest.raises(OutputFolderError, match="cannot be written"):
            check_output_folder(ro)
        with pytest.raises(OutputFolderError, match="cannot be created"):
            check_output_folder(ro / "sub")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "ro"]


def test_manifest_tells_our_files_from_others(tmp_path):
    write_atomic(tmp_path / "ours.csv", "1\n")
    record_files(tmp_path, {"ours.csv": None}, "test")
    (tmp_path / "theirs.csv").write_text("2\n")
    assert foreign_files(tmp_path, ["ours.csv", "theirs.csv", "absent.csv"]) == ["theirs.csv"]
    (tmp_path / "ours.csv").write_text("edited\n")        # edited by someone: no longer ours as it is
    assert foreign_files(tmp_path, ["ours.csv"]) == ["ours.csv"]
    assert json.loads((tmp_path / MANIFEST).read_text())["files"].keys() == {"ours.csv"}
