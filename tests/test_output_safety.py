"""Output folders the user can trust: checked before the work, written only where asked, nobody's
files replaced without --force, interrupted writes cleaned up, user text escaped in Markdown."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest

import activation_lab as al
from activation_lab.atomic import MANIFEST, write_atomic
from activation_lab.present import report
from activation_lab.present.cli import main

from ._readonly import read_only


def _boom(*args, **kwargs):
    raise AssertionError("the work started before the output folder was checked")


@pytest.fixture
def no_work(monkeypatch):
    """Every command's computation fails the test if it starts."""
    import activation_lab.analysis.accuracy as accuracy
    import activation_lab.analysis.exhaustive as exhaustive
    import activation_lab.present.compare as compare
    import activation_lab.present.figures as figures

    monkeypatch.setattr(accuracy, "accuracy", _boom)
    monkeypatch.setattr(exhaustive, "exhaustive", _boom)
    monkeypatch.setattr(compare, "compare", _boom)
    monkeypatch.setattr(figures, "FIGURES", {n: (stem, _boom) for n, (stem, _) in figures.FIGURES.items()})


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("command", [
    ["figures", "--only", "8"],
    ["compare", "x*tanh(exp(x)/2)"],
    ["check", "telu", "--order", "0", "--dtype", "float32"],
    ["check", "telu", "--exhaustive"],
])
def test_unwritable_out_fails_before_any_computation(command, tmp_path, capsys, no_work):
    with read_only(tmp_path / "ro") as ro:
        for out, says in ((ro, "cannot be written"), (ro / "new", "cannot be created")):
            assert main([*command, "--out", str(out)]) == 2
            assert says in _one_error_line(capsys)
    a_file = tmp_path / "a-file"
    a_file.write_text("mine")
    assert main([*command, "--out", str(a_file / "sub")]) == 2
    assert "is a file" in _one_error_line(capsys)
    assert a_file.read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "ro"]


def test_check_in_a_read_only_folder_prints_its_table_and_writes_nothing(tmp_path, monkeypatch, capsys):
    with read_only(tmp_path / "here") as here:
        monkeypatch.chdir(here)
        assert main(["check", "relu", "--order", "0", "--dtype", "float32"]) == 0
        out = capsys.readouterr().out
        assert "relu" in out and "met" in out and "not written (add --out DIR" in out
        assert list(here.iterdir()) == []


def test_check_keeps_a_csv_it_did_not_write(tmp_path, capsys):
    mine = tmp_path / "check-worst.csv"
    mine.write_text("my own results\n")
    argv = ["check", "relu", "--order", "0", "--dtype", "float32", "--out", str(tmp_path)]
    assert main(argv) == 2
    assert "--force" in _one_error_line(capsys) and mine.read_text() == "my own results\n"
    assert main([*argv, "--force"]) == 0
    assert mine.read_text().startswith("activation,order,")
    assert main(argv) == 0                     # now it is ours: replaced without --force
    assert (tmp_path / MANIFEST).is_file() and str(mine) in capsys.readouterr().out


def test_figures_keep_the_users_own_files(tmp_path, capsys):
    (tmp_path / "fig08_telu.csv").write_text("my data\n")
    (tmp_path / "fig08_telu.png").write_bytes(b"my picture")
    argv = ["figures", "--out", str(tmp_path), "--only", "8", "--dpi", "20"]
    assert main(argv) == 2
    err = _one_error_line(capsys)
    assert "fig08_telu.csv" in err and "fig08_telu.png" in err and "--force" in err
    assert (tmp_path / "fig08_telu.csv").read_text() == "my data\n"
    assert (tmp_path / "fig08_telu.png").read_bytes() == b"my picture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig08_telu.csv", "fig08_telu.png"]
    assert main([*argv, "--force"]) == 0
    assert (tmp_path / "fig08_telu.csv").read_text().startswith("x,")
    assert main(argv) == 0                     # written by the tool: replaced on the next run
    (tmp_path / "fig08_telu.csv").write_text("edited by hand\n")
    assert main(argv) == 2                     # an edited file is the user's again
    assert (tmp_path / "fig08_telu.csv").read_text() == "edited by hand\n"


def test_a_report_interrupted_in_its_first_write_runs_again_without_force(tmp_path):
    out = tmp_path / "report"
    code = ("import os, sys, activation_lab.atomic as a; "
            "a.os.replace = lambda *args: os._exit(9); a.write_atomic(sys.argv[1], '{}')")
    done = subprocess.run([sys.executable, "-c", code, str(out / report.MARKER)], timeout=120,
                          preexec_fn=lambda: out.mkdir())
    assert done.returncode == 9 and len(list(out.iterdir())) == 1       # killed while claiming the folder
    assert report.check_out_dir(out) == out                             # no --force needed
    assert list(out.iterdir()) == []                                    # and the leftover is gone
    (out / "notes.txt").write_text("someone's")
    with pytest.raises(report.OutputDirectoryError, match="--force"):
        report.check_out_dir(out)                                       # a real file still counts


NAMES = ["<img src=x onerror=alert(1)>", "[click](javascript:alert(1))", "`x` <b>bold</b> ``y``",
         "a\\<script>b"]


@pytest.fixture(scope="module")
def comparison():
    return al.compare("x*tanh(exp(x)/2)", against=["telu"], plots=False, accuracy=False)


def _outside_code(md: str) -> str:
    """The Markdown with its code spans (any fence length) and $$ math $$ taken out."""
    md = re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", md, flags=re.S)
    return re.sub(r"\$\$.*?\$\$", "", md, flags=re.S)


@pytest.mark.parametrize("name", NAMES)
def test_a_markup_name_is_escaped_in_report_md(comparison, name, tmp_path):
    from dataclasses import replace

    act = al.define("x*tanh(exp(x)/2)", name=name)
    comp = replace(comparison, activation=act,
                   equivalence=replace(comparison.equivalence,
                                       statement=f"{name} (`{act.formula}`) is a new activation: `{name}`."),
                   summary=(*comparison.summary, f"Its name is {name}."))
    report.write_report(comp, tmp_path / "r", formats=("md",))
    md = (tmp_path / "r" / "report.md").read_text()
    outside = _outside_code(md)
    # no raw tag, link or unescaped backslash trick outside code spans
    assert not re.search(r"(?<!\\)<[A-Za-z/]", outside), outside
    assert not re.search(r"(?<!\\)\[[^\]]*(?<!\\)\]\(", outside), outside
    assert "Its name is " in md and "is a new activation" in md


def test_cache_command_shows_and_clears(tmp_path, monkeypatch, capsys):
    from activation_lab.present.commands import cmd_cache

    root = tmp_path / "cache"
    monkeypatch.setenv("ACTIVATION_LAB_CACHE", str(root))
    (root / "native").mkdir(parents=True, mode=0o700)
    (root / "check").mkdir(mode=0o700)
    (root / "native" / ("al_" + "0" * 24 + ".so")).write_bytes(b"x" * 2000)
    (root / "native" / ("al_" + "0" * 24 + ".json")).write_text("{}")
    write_atomic(root / "check" / "check-exhaustive-telu-0.json", "{}")
    (root / "native" / "keep.txt").write_text("not the cache's")
    assert cmd_cache.run(argparse.Namespace(clear=False, json=False)) == 0
    shown = capsys.readouterr().out
    assert str(root) in shown and "native kernels: 1" in shown and "state files: 1" in shown and "kB" in shown
    assert cmd_cache.run(argparse.Namespace(clear=True, json=False)) == 0
    assert "cleared: 3 removed" in capsys.readouterr().out
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == ["native", "native/keep.txt"]


def test_cache_verb_on_the_command_line(tmp_path, monkeypatch, capsys):
    """`activation-lab cache --json` is a verb of the CLI (its module alone was not reachable)."""
    import json

    from activation_lab.present import cli

    monkeypatch.setenv("ACTIVATION_LAB_CACHE", str(tmp_path / "cache"))
    assert cli.main(["cache", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert str(tmp_path / "cache") in json.dumps(shown)
