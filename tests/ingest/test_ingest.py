"""Loaders: real files of every supported kind, and every kind of bad file, each with a one-line reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from askfront.index.chunk import make_splitter, split_document
from askfront.ingest.reports import LoadError, find_reports, load_document
from tests.conftest import make_pdf


def test_demo_report_loads_with_sidecar_metadata_and_without_blog_footer(demo_corpus: Path) -> None:
    doc = load_document(demo_corpus / "misrata-militia-gain-back-territory.txt", demo_corpus)
    assert doc.title == "Misrata militia gain back territory from the Islamic State"
    assert doc.date == "2016-05"
    assert "Abu Grain is 140 kilometers or about 85 miles from Sirte" in doc.text
    assert "Popular posts" not in doc.text and "Alibaba" not in doc.text
    assert doc.text.rstrip().endswith("House of Representatives (HoR) government.")


def test_markdown_front_matter_sets_metadata(tmp_path: Path) -> None:
    report = tmp_path / "r.md"
    report.write_text("---\ntitle: Front line update\ndate: 2024-03-02\nsource: wire\n---\n# Heading\n\nBody text.\n")
    doc = load_document(report, tmp_path)
    assert (doc.title, doc.date, doc.source) == ("Front line update", "2024-03-02", "wire")
    assert doc.text.startswith("# Heading") and "title:" not in doc.text


def test_html_keeps_the_article_and_drops_navigation_and_footer(tmp_path: Path) -> None:
    article = " ".join(
        f"Sentence {i} of the report says shelling hit the eastern district of Avdiivka overnight." for i in range(12)
    )
    html = f"""<html><head><title>Shelling in Avdiivka</title></head><body>
      <nav><ul><li><a href="/">Home</a></li><li><a href="/world">World news menu</a></li></ul></nav>
      <article><h1>Shelling in Avdiivka</h1><p>{article}</p><p>Officials said 12 people were hurt.</p></article>
      <footer><h3>Popular posts from this blog</h3><ul><li><a href="/a">Danish company saves water</a></li></ul>
      <p>Copyright 2024 Example Blog. All rights reserved.</p></footer></body></html>"""
    (tmp_path / "page.html").write_text(html)
    doc = load_document(tmp_path / "page.html", tmp_path)
    assert doc.title == "Shelling in Avdiivka"
    assert "12 people were hurt" in doc.text and "eastern district of Avdiivka" in doc.text
    for boilerplate in ("World news menu", "Popular posts", "Danish company", "All rights reserved"):
        assert boilerplate not in doc.text


def test_pdf_pages_are_kept_for_citations(tmp_path: Path) -> None:
    pages = [
        [f"Page one line {i} about the convoy near Kherson." for i in range(20)],
        ["The bridge at Antonivka was hit."],
    ]
    (tmp_path / "r.pdf").write_bytes(make_pdf(pages))
    doc = load_document(tmp_path / "r.pdf", tmp_path)
    assert len(doc.pages) == 2
    chunks = split_document(doc, make_splitter(300, 50))
    bridge = [c for c in chunks if "Antonivka" in c.text]
    assert bridge and all(c.page == 2 for c in bridge)
    assert chunks[0].page == 1


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blob.txt", bytes(range(256)) * 4, "binary file"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog garbage", "corrupt or unreadable PDF"),
        ("spaces.md", b"   \n\n  \n", "no text"),
    ],
)
def test_bad_files_raise_one_line_reasons(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(LoadError, match=reason) as info:
        load_document(tmp_path / name, tmp_path)
    assert "\n" not in str(info.value)


def test_too_large_file_is_refused_by_size_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with big.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)  # 50 MB
    with pytest.raises(LoadError, match=r"too large \(52\.4 MB > 20 MB limit"):
        load_document(big, tmp_path, max_bytes=20_000_000)


def test_windows_1252_text_is_read_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "cp.txt").write_bytes("Title\n\nThe \u201cceasefire\u201d held in Dar\u2019a.".encode("cp1252"))
    doc = load_document(tmp_path / "cp.txt", tmp_path)
    assert "\u201cceasefire\u201d" in doc.text
    assert doc.warnings and "not UTF-8" in doc.warnings[0]


def test_invalid_sidecar_yaml_names_the_metadata_file(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("Title\n\nText.")
    (tmp_path / "r.txt.meta.yaml").write_text("title: [unclosed")
    with pytest.raises(LoadError, match=r"r\.txt\.meta\.yaml"):
        load_document(tmp_path / "r.txt", tmp_path)


def test_find_reports_walks_subfolders_and_skips_hidden_and_other_files(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    for name in ("a/b/deep.md", "top.txt", "x.HTML", ".hidden/no.txt", "notes.odt", "top.txt.meta.yaml"):
        (tmp_path / name).write_text("x")
    assert [p.relative_to(tmp_path).as_posix() for p in find_reports(tmp_path)] == ["a/b/deep.md", "top.txt", "x.HTML"]
