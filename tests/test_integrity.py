"""Nothing silently lost, nothing stale: text kept whole, one document per source, fresh answers."""

from __future__ import annotations

from askdoc.ingest import make_document, read_file

from .conftest import ARTICLE, run_cli

# -- page furniture -------------------------------------------------------------

REPORT = (
    "Quarterly Report\n\n"
    "Revenue rose by 8% in the first quarter, driven by the new regional offices.\n\n"
    "Costs were flat, since the move to the new warehouse was paid for last year.\n\n"
    "Subscribers grew to 12,000 by March, up from 9,500 at the start of the year.\n\n"
    "The churn rate fell to 2.1%, the lowest figure the company has ever recorded.\n\n"
    "The board approved a dividend of 40 cents per share, payable in June.\n\n"
    "Hiring will resume in the autumn, when the second warehouse opens in Leeds.\n"
)

NOTES = (
    "# Garden Club Notes\n\n"
    "The spring meeting chose the theme for the summer show.\n\n"
    "Tomatoes did best in the raised beds along the south wall this year.\n\n"
    "## Comments\n\n"
    "Members asked for more shade in the greenhouse, so two new blinds were ordered.\n\n"
    "Tags:\n\n"
    "The club keeps its seed library in the shed behind the church hall.\n\n"
    "Read more\n\n"
    "The autumn meeting will be held on the first Tuesday of October at seven.\n"
)


def test_furniture_words_inside_real_content_do_not_cut_the_document(tmp_path):
    report = make_document(REPORT, doc_id="report")
    assert report.body_end == len(REPORT.rstrip())
    notes_path = tmp_path / "notes.md"
    notes_path.write_text(NOTES, encoding="utf-8")
    notes = read_file(notes_path)
    assert notes.text[notes.body_start : notes.body_end].endswith("first Tuesday of October at seven.")


def test_a_trailing_list_of_posts_is_still_dropped(article_text):
    doc = make_document(article_text, doc_id="article")
    body = doc.text[doc.body_start : doc.body_end]
    assert body.endswith("Institute of Peace and Diplomatic Studies).")
    assert (doc.body_start, doc.body_end) == (0, 6949)  # the range the answer-quality baseline was measured on
    # Furniture at the end of a Markdown page goes too, whatever its heading looks like.
    page = REPORT + "\n## Related posts\n\n- [Annual report](/annual)\n- [Spring results](/spring)\n\nShare\n"
    assert make_document(page, doc_id="page", markdown=True).body_end == len(REPORT.rstrip())


def test_indexing_says_how_much_furniture_it_set_aside(fresh_index, tmp_path):
    res = fresh_index.add_file_result(ARTICLE)
    assert res.chars == 6949 and res.furniture_chars == 1204
    assert fresh_index.add_file_result(ARTICLE).furniture_chars == 1204  # also when unchanged
    folder = tmp_path / "cli-index"
    done = run_cli("index", str(ARTICLE), "--index-dir", str(folder))
    assert done.returncode == 0, done.stderr
    assert "indexed 6,949 chars; 1,204 chars of page furniture skipped" in done.stdout
