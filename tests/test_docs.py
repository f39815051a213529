"""The documentation: the Sphinx site builds with warnings as errors, every public name has a numpydoc
docstring, the README stays short and its links resolve, the results pages carry their stamp."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import activation_lab as al

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"


# ------------------------------------------------------------------ the site
@pytest.mark.docs
@pytest.mark.slow
def test_the_site_builds_with_warnings_as_errors(tmp_path):
    """``sphinx -W --keep-going``: every warning (a broken cross-reference, with nitpicky on; a link to
    a missing page or heading; a docstring reStructuredText cannot parse) fails the build."""
    pytest.importorskip("sphinx", reason="the docs extra is not installed: pip install -e '.[docs]'")
    pytest.importorskip("myst_nb", reason="the docs extra is not installed: pip install -e '.[docs]'")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, f"sphinx failed:\n{proc.stderr[-6000:]}"
    html = tmp_path / "html"
    for page in ("index", "getting-started", "guide/figures", "explanations/accuracy", "results/accuracy",
                 "results/underflow", "results/benchmark", "api/index", "changelog"):
        assert (html / f"{page}.html").is_file(), page
    # the notebooks are rendered with their committed outputs (images included), not re-run
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert len(notebooks) >= 6
    for stem in notebooks:
        page = (html / "notebooks" / f"{stem}.html").read_text(encoding="utf-8")
        assert "cell_output" in page, stem
    assert "<img" in (html / "notebooks" / "01_telu_tour.html").read_text(encoding="utf-8")
    # every public name is in the API reference
    api = "".join(p.read_text(encoding="utf-8") for p in (html / "api").glob("*.html"))
    for name in al.__all__:
        assert f"activation_lab.{name}" in api or f'id="activation_lab.{name}"' in api, name


# ------------------------------------------------------------------ docstrings
def _public_callables() -> list[str]:
    return [n for n in al.__all__ if inspect.isfunction(getattr(al, n)) or inspect.isclass(getattr(al, n))]


def _documented_names(section: list) -> set[str]:
    names: set[str] = set()
    for param in section:
        for part in param.name.split(","):
            names.add(part.strip().lstrip("*"))
    return names


def _signature_names(obj) -> list[str]:
    """The parameters to document: a function's; a class's constructor's, from the first ``__init__``
    in its MRO that names any (``Activation.__init__(*args, **kwargs)`` passes them on)."""
    if not inspect.isclass(obj):
        return [p.name for p in inspect.signature(obj).parameters.values()]
    for klass in obj.__mro__:
        if "__init__" not in vars(klass):
            continue
        try:
            params = inspect.signature(vars(klass)["__init__"]).parameters.values()
        except (TypeError, ValueError):
            continue
        named = [p.name for p in params if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if named:
            return named
    return []


@pytest.mark.parametrize("name", _public_callables())
def test_public_name_has_a_numpydoc_docstring(name):
    """Functions: Parameters (every parameter of the signature, when it has any), Returns, and Raises
    when it takes input; classes: Parameters for the constructor's arguments."""
    from numpydoc.docscrape import ClassDoc, FunctionDoc

    obj = getattr(al, name)
    assert inspect.getdoc(obj), f"{name} has no docstring"
    is_class = inspect.isclass(obj)
    doc = ClassDoc(obj, config={"show_class_members": False}) if is_class else FunctionDoc(obj)
    wanted = _signature_names(obj)
    if wanted:
        assert doc["Parameters"], f"{name}: no numpydoc Parameters section"
        missing = set(wanted) - _documented_names(doc["Parameters"])
        assert not missing, f"{name}: parameters not in its Parameters section: {sorted(missing)}"
    if not is_class:
        assert doc["Returns"], f"{name}: no numpydoc Returns section"
        if wanted:
            assert doc["Raises"], f"{name}: takes input but has no numpydoc Raises section"


def test_the_docstring_check_catches_a_missing_section():
    """The check above is not vacuous: a Google-style docstring has no numpydoc sections."""
    from numpydoc.docscrape import FunctionDoc

    def google(x):
        """Square x.

        Args:
            x: a number.

        Returns:
            x squared.
        """
        return x * x

    doc = FunctionDoc(google)
    assert not doc["Parameters"] and not doc["Returns"]


# ------------------------------------------------------------------ the README
def test_readme_fits_on_a_few_screens():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; move reference material into docs/"


def test_readme_keeps_the_two_commands():
    """The first two commands are the project's contract (.ci/run runs the second one)."""
    text = README.read_text(encoding="utf-8")
    first_block = text.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in first_block.strip().splitlines()]
    assert commands[:2] == ["python -m pip install -e . && activation-lab figures",
                            "python -m pip install -e '.[test]' && python -m pytest"]
    assert "python -m pytest" in (ROOT / ".ci" / "run").read_text()


_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")


def _relative_links(text: str) -> list[str]:
    text = re.sub(r"```.*?```", "", text, flags=re.S)        # not inside code blocks
    links = [a or b for a, b in _LINK.findall(text)]
    return [u for u in links if not re.match(r"^[a-z][a-z0-9+.-]*:", u) and not u.startswith("#")]


def test_readme_links_resolve():
    text = README.read_text(encoding="utf-8")
    links = _relative_links(text)
    assert links, "the README links into the docs"
    broken = [u for u in links if not (ROOT / u.split("#", 1)[0]).exists()]
    assert not broken, f"README links to files that do not exist: {broken}"
    # links into docs/ name the Markdown sources of the pages the site builds
    pages = [u.split("#", 1)[0] for u in links if u.startswith("docs/")]
    assert pages, "the README links into docs/"
    assert all(p.endswith((".md", ".ipynb")) for p in pages), pages


def test_readme_link_check_catches_a_broken_link():
    links = _relative_links("see [the guide](docs/guide/nowhere.md#x), [site](https://example.org), [top](#top)\n"
                            "```\n[not a link](inside/code.md)\n```\n![figure](figures/fig08_telu.png)")
    assert links == ["docs/guide/nowhere.md#x", "figures/fig08_telu.png"]
    assert not (ROOT / "docs/guide/nowhere.md").exists()


# ------------------------------------------------------------------ the results pages
@pytest.mark.parametrize("page", ["accuracy", "underflow", "benchmark"])
def test_results_pages_are_generated_and_stamped(page):
    """Made by docs/make_results.py, never by hand: the stamp names the date, machine and versions."""
    text = (DOCS / "results" / f"{page}.md").read_text(encoding="utf-8")
    stamp = text.split("```", 2)[1]
    for field in ("**Generated**", "python docs/make_results.py", "**Machine**", "cores", "**Versions**",
                  "Python ", "NumPy ", "SymPy ", "mpmath "):
        assert field in stamp, f"results/{page}.md: no {field!r} in its stamp"
    assert re.search(r"\*\*Generated\*\* \d{4}-\d\d-\d\d \d\d:\d\d UTC", stamp)


def _make_results():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_results", DOCS / "make_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_results_writes_what_the_commands_said(tmp_path, monkeypatch):
    """The generator on canned command output: every row shown, a missed target and a disagreeing
    underflow row called out, ±inf as the JSON's strings say them, the stamp with the command."""
    mr = _make_results()
    row = {"name": "telu", "n": 1, "dtype": "float64", "count": 4184, "max_ulp": 23.1, "p99_ulp": 0.486,
           "within_half": 0.9957, "within_1": 0.9964, "worst": [{"x": -1.0789}], "n_failures": 0,
           "n_special_mismatches": 0, "n_signed_zero_mismatches": 0, "passed": True}
    bad = {**row, "name": "mine", "n": 0, "dtype": "float32", "max_ulp": "inf", "passed": False,
           "worst": [{"x": "-inf"}]}
    check = {"rows": [row, bad], "engine": "test engine",
             "underflow": {"n": 1, "rows": [
                 {"name": "telu", "dtype": "float32", "exact": -108.65097045898438,
                  "evaluated": -108.65097045898438, "agree": True},
                 {"name": "snake", "dtype": "float16", "exact": -65504.0, "evaluated": "-inf", "agree": False}]}}
    timing = {"activation": "telu", "backend": "numpy", "mode": "fused", "median_ns": 2.5, "spread_ns": 0.1,
              "copy_ratio": 2.0, "speedup_vs_naive": 3.0, "page_faults": 0.0}
    copy = {**timing, "activation": "", "mode": "copy", "speedup_vs_naive": None, "page_faults": None}
    bench = {"n": 1000, "dtype": "float32", "repeat": 2, "threads": 2, "timings": [copy, timing], "notes": []}
    outputs = {"check": check, "bench": bench}
    monkeypatch.setattr(mr, "RESULTS", tmp_path)
    monkeypatch.setattr(mr, "_run", lambda args: (outputs[args[0]], "activation-lab " + " ".join(args), 1.0,
                                                  "0.10/0.20/0.30", "0.40/0.50/0.60"))
    mr.main([])
    accuracy = (tmp_path / "accuracy.md").read_text(encoding="utf-8")
    assert "| `telu` |  | 23.1 |" not in accuracy and "| `telu` |  |  |  | 23.1 |" in accuracy
    assert "inf (missed)" in accuracy and "**not met**" in accuracy and "1 of 2 rows miss their target" in accuracy
    assert "from `activation-lab check" in accuracy and "load average 0.10/0.20/0.30 before" in accuracy
    underflow = (tmp_path / "underflow.md").read_text(encoding="utf-8")
    assert "| `snake` | float16 | -65504.0 | -inf | **no** |" in underflow
    assert "disagrees with the exact model on 1 rows" in underflow
    benchmark = (tmp_path / "benchmark.md").read_text(encoding="utf-8")
    assert "| `telu` | 2.500 | 2.00 | 3.00 |" in benchmark and "| numpy | copy | 2.500 |" in benchmark
