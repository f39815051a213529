"""`activation-lab compare`: bad formulas, --out/--force rules, atomic and consistent reports."""

from __future__ import annotations

import json
import os
import re

import pytest

import activation_lab as al
from activation_lab.present import report
from activation_lab.present.cli import main
from activation_lab.present.compare import Comparison, EquivalenceFinding, Plot, Table, _formulas

pytestmark = pytest.mark.xdist_group("compare")

HOSTILE = [
    "__import__('os').system('touch PWNED')",
    "().__class__.__mro__[1].__subclasses__()",
    "x.__class__",
    "lambda: x",
    "x; import os",
    "open('/etc/passwd').read()",
    "exp(x)**10**10",
    "tanh(exp(x)",
    "x*" * 300 + "x",
    "x*tanh(softplus(x, 2))",
    "y*tanh(exp(x))",
    "f'{x}'",
    "x if x > 0 else 0",
]


def _tiny_comparison(formula: str = "x*tanh(exp(x)/2)", caption: str = "a line") -> Comparison:
    """A small Comparison built by hand (no analyses): enough to exercise the writer."""
    from matplotlib.figure import Figure

    act = al.define(formula)
    fig = Figure(figsize=(2, 1.5))
    fig.subplots().plot([0, 1], [0, 1])
    return Comparison(
        activation=act, references=(al.get("telu"),), params={}, command=f"activation-lab compare '{formula}'",
        equivalence=EquivalenceFinding("new", None, None, f"`{formula}` is new <script>alert(1)</script>."),
        formulas=(_formulas(act),), properties={}, saturation={}, quotients={}, accuracy=(),
        tables=(Table("Properties", ("", formula), (("f(0) & <b>", "0"),)),),
        plots=(Plot("f", "f(x)", caption, None, fig),), summary=("It is a <test> & more.",))


def _snapshot(directory) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.mark.parametrize("formula", HOSTILE)
def test_hostile_formulas_write_nothing(formula, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "report"
    assert main(["compare", formula, "--out", str(out)]) != 0
    err = capsys.readouterr().err
    assert "invalid formula" in err and "Traceback" not in err
    with pytest.raises(al.FormulaError) as info:
        al.define(formula)
    assert str(info.value).splitlines()[0] in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_unknown_parameter_names_the_fix(tmp_path, capsys):
    assert main(["compare", "x*tanh(a*exp(x))", "--out", str(tmp_path / "r")]) != 0
    err = capsys.readouterr().err
    assert "unknown name 'a'" in err and "a=value" in err
    assert not (tmp_path / "r").exists()


def test_bad_param_and_format_write_nothing(tmp_path, capsys):
    assert main(["compare", "x*tanh(a*exp(x))", "--param", "a", "--out", str(tmp_path / "r")]) != 0
    assert "NAME=VALUE" in capsys.readouterr().err
    assert main(["compare", "x*tanh(a*exp(x))", "--param", "a=zero", "--out", str(tmp_path / "r")]) != 0
    assert "not a number" in capsys.readouterr().err
    assert main(["compare", "x*tanh(exp(x)/2)", "--format", "pdf", "--out", str(tmp_path / "r")]) != 0
    assert "md, html" in capsys.readouterr().err
    assert main(["compare", "x*tanh(exp(x)/2)", "--against", "telu,gelo", "--out", str(tmp_path / "r")]) != 0
    assert "did you mean 'gelu'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_foreign_non_empty_directory_needs_force(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "report.md").write_text("my own report.md")
    before = _snapshot(tmp_path)
    assert main(["compare", "x*tanh(exp(x)/2)", "--out", str(tmp_path)]) != 0
    err = capsys.readouterr().err
    assert "--force" in err and "did not create" in err
    assert _snapshot(tmp_path) == before
    with pytest.raises(report.OutputDirectoryError):
        report.write_report(_tiny_comparison(), tmp_path)
    assert _snapshot(tmp_path) == before
    # with force: our files replace same-named ones; the others are left alone
    written = report.write_report(_tiny_comparison(), tmp_path, force=True)
    assert {p.name for p in written} == {"report.md", "report.html", "report-f.png"}
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert (tmp_path / "report.md").read_text() != "my own report.md"
    marker = json.loads((tmp_path / report.MARKER).read_text())
    assert set(marker["files"]) == {"report.md", "report.html", "report-f.png"}


def test_out_is_a_file(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["compare", "x*tanh(exp(x)/2)", "--out", str(target)]) != 0
    assert "is a file" in capsys.readouterr().err
    assert target.read_text() == "x"


def test_writer_creates_directory_and_rewrites_its_own(tmp_path):
    out = tmp_path / "a" / "b"
    report.write_report(_tiny_comparison(caption="first"), out)
    assert (out / report.MARKER).is_file()
    first = _snapshot(out)
    # a second run into the directory it made: no --force needed, a consistent result
    report.write_report(_tiny_comparison(caption="second"), out)
    second = _snapshot(out)
    assert set(second) == set(first)
    assert b"second" in second["report.md"] and b"first" not in second["report.md"]
    assert b"second" in second["report.html"]
    # no temporary files left behind
    assert not [n for n in os.listdir(out) if n.endswith(".tmp")]


def test_fewer_formats_remove_only_unchanged_files_of_ours(tmp_path):
    report.write_report(_tiny_comparison(), tmp_path / "r")
    out = tmp_path / "r"
    (out / "report-f.png").write_bytes(b"edited by hand")
    (out / "extra.txt").write_text("someone else's")
    report.write_report(_tiny_comparison(caption="html only"), out, formats=["html"])
    names = set(os.listdir(out))
    # report.md was ours and unchanged: removed, so no stale page describes another run;
    # the edited PNG and the foreign file stay
    assert "report.md" not in names
    assert {"report.html", "report-f.png", "extra.txt", report.MARKER} <= names
    assert (out / "report-f.png").read_bytes() == b"edited by hand"
    assert set(json.loads((out / report.MARKER).read_text())["files"]) == {"report.html"}


def test_marker_cannot_point_outside(tmp_path):
    out = tmp_path / "r"
    victim = tmp_path / "victim.md"
    victim.write_text("keep")
    out.mkdir()
    import hashlib

    digest = hashlib.sha256(b"keep").hexdigest()
    (out / report.MARKER).write_text(json.dumps({"files": {"../victim.md": digest, "/etc/hostname": digest}}))
    report.write_report(_tiny_comparison(), out, formats=["html"])
    assert victim.read_text() == "keep"


def test_html_is_escaped_and_self_contained():
    page = report.to_html(_tiny_comparison())
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;test&gt; &amp; more" in page
    refs = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", page, flags=re.I)
    assert refs and all(r.startswith("data:") for r in refs)
    assert not re.search(r"https?://", page)


def test_format_list_and_md_needs_out(capsys):
    assert report.check_formats("html, md") == ("html", "md")
    with pytest.raises(al.ActivationLabError, match="choose from md, html"):
        report.check_formats("")
    assert main(["compare", "x*tanh(exp(x)/2)", "--format", "html"]) != 0
    assert "--out" in capsys.readouterr().err


# ---------------------------------------------------------------- full runs (share the analyses' caches)
@pytest.mark.parametrize(("formula", "says"), [
    ("x*tanh(softplus(x))", "is Mish (catalogue name `mish`)"),
    ("x*tanh(exp(x))", "is TeLU (catalogue name `telu`)"),
    ("x*erf(log1p(exp(x)))", "is Serf (catalogue name `serf`)"),
])
def test_cli_reports_catalogue_equals(formula, says, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["compare", formula, "--against", "telu"]) == 0
    out = capsys.readouterr().out
    equivalence = out[out.index("## Equivalence"):out.index("## Summary")]
    assert says in equivalence
    assert list(tmp_path.iterdir()) == []     # without --out nothing is written


def test_cli_parameters_are_stated(capsys):
    assert main(["compare", "x*tanh(a*exp(b*x))", "--param", "a=1", "--param", "b=1", "--against", "telu"]) == 0
    out = capsys.readouterr().out
    assert "parameters a = 1, b = 1" in out and "is TeLU" in out


def test_second_run_into_the_same_directory_is_consistent(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["compare", "x*tanh(exp(x)/2)", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.split()
    first = _snapshot(out)
    assert sorted(printed) == sorted(str(out / n) for n in first if n != report.MARKER)
    # the directory is the tool's own: a second run needs no --force and replaces the report
    assert main(["compare", "x*tanh(softplus(x))", "--name", "mish-again", "--out", str(out)]) == 0
    second = _snapshot(out)
    assert set(second) == set(first)
    md, page = second["report.md"].decode(), second["report.html"].decode()
    for text in (md, page):
        assert "mish-again" in text and "x*tanh(exp(x)/2)" not in text
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md):
        assert image in second and second[image] != first[image]
    marker = json.loads(second[report.MARKER])
    assert set(marker["files"]) == set(second) - {report.MARKER}
    import hashlib

    assert all(hashlib.sha256(second[n]).hexdigest() == h for n, h in marker["files"].items())


def test_a_catalogue_name_cannot_be_borrowed(tmp_path, capsys):
    assert main(["compare", "x*tanh(exp(x)/2)", "--name", "Mish", "--out", str(tmp_path / "r")]) != 0
    assert "catalogue's 'mish'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_markdown_escapes_names():
    md = report.to_markdown(_tiny_comparison("x*tanh(exp(x)/2)*x"))
    assert "| f(0) & \\<b\\> |" in md and "x\\*tanh(exp(x)/2)\\*x" in md


def test_formula_not_real_on_the_line_writes_nothing(tmp_path, capsys):
    assert main(["compare", "x*log(x)", "--out", str(tmp_path / "r")]) != 0
    assert "whole real line" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_an_interrupted_write_leaves_the_old_files_whole(tmp_path, monkeypatch):
    out = tmp_path / "r"
    report.write_report(_tiny_comparison(caption="old"), out)
    before = _snapshot(out)
    real_replace = os.replace

    def failing_replace(src, dst):
        if str(dst).endswith("report.html"):
            raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        report.write_report(_tiny_comparison(caption="new"), out)
    after = _snapshot(out)
    # the page that could not be replaced is the old one, whole; no temporary file is left
    assert after["report.html"] == before["report.html"]
    assert set(after) == set(before)


def test_force_once_is_not_force_forever(tmp_path):
    # html only, forced into a folder with the user's own report.md: that file is kept...
    (tmp_path / "report.md").write_text("my own report.md")
    report.write_report(_tiny_comparison(), tmp_path, formats=["html"], force=True)
    assert (tmp_path / "report.md").read_text() == "my own report.md"
    # ...and a later run that would write report.md, without --force, must not replace it
    with pytest.raises(report.OutputDirectoryError, match="report.md"):
        report.write_report(_tiny_comparison(), tmp_path, formats=["md"])
    assert (tmp_path / "report.md").read_text() == "my own report.md"
