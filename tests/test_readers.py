"""retrieval.readers: primary sources from text, Markdown, HTML and JSONL files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.errors import InputError
from retrieval.models import ArticleDraft
from retrieval.readers import (
    MAX_EXTRA_CHARS,
    MAX_FILE_BYTES,
    count_jsonl,
    iter_folder,
    iter_jsonl,
    normalise_date,
    read_bytes,
    read_file,
)

BODY = (
    "MARLOW, September 4. The harbour council voted 9-2 on Tuesday to rebuild the sea wall.\n"
    "\n"
    "Work starts in May and is expected to cost $40.5m, officials said."
)
HEADER = (
    "Title: Harbour council backs sea wall\n"
    "Published: 4 September 2025\n"
    "URL: https://gazette.example/harbour-wall\n"
    "Source: Coastal Gazette\n"
    "Author: Mira Holt\n"
)
ARTICLE_HTML = """<!doctype html>
<html><head><title>Ferry fares rise | Coastal Gazette</title></head>
<body>
<nav><a href="/">Home</a> <a href="/sport">Sport</a></nav>
<article>
<h1>Ferry fares to rise by 12 percent in spring</h1>
<p>The island ferry company said on Monday that fares on its three routes would rise by
12 percent from April, the steepest increase in a decade.</p>
<p>Chief executive Dana Whitlock blamed fuel costs and a new harbour levy, and said season
tickets for islanders would be frozen until the end of the year.</p>
</article>
<footer>Copyright Coastal Gazette. All rights reserved.</footer>
</body></html>
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def write_jsonl(path: Path, *lines: object) -> Path:
    rows = [line if isinstance(line, str) else json.dumps(line) for line in lines]
    return write(path, "\n".join(rows) + "\n")


# --- text files with a header block --------------------------------------------------------


def test_header_block_gives_title_date_url_source_and_author(tmp_path: Path) -> None:
    draft = read_file(write(tmp_path / "wall.txt", HEADER + "\n" + BODY + "\n"))

    assert draft.title == "Harbour council backs sea wall"
    assert draft.published == "2025-09-04"
    assert draft.url == "https://gazette.example/harbour-wall"
    assert draft.source == "Coastal Gazette"
    assert draft.author == "Mira Holt"


def test_body_after_the_header_is_kept_exactly(tmp_path: Path) -> None:
    draft = read_file(write(tmp_path / "wall.txt", HEADER + "\n" + BODY + "\n\n"))

    assert draft.text == BODY


def test_origin_is_the_file_path(tmp_path: Path) -> None:
    path = write(tmp_path / "wall.txt", HEADER + "\n" + BODY)

    assert read_file(path).origin == str(path)


def test_unknown_header_keys_go_to_extra(tmp_path: Path) -> None:
    text = "Title: Harbour wall\nDesk: Local news\nWord Count: 412\n\n" + BODY

    draft = read_file(write(tmp_path / "wall.txt", text))

    assert draft.title == "Harbour wall"
    assert draft.extra == {"desk": "Local news", "word_count": "412"}
    assert draft.text == BODY


def test_header_keys_are_case_insensitive_and_have_aliases(tmp_path: Path) -> None:
    text = "TITLE: Harbour wall\nDate: 2025-09-04\nLink: https://g.example/w\nByline: Mira Holt\nID: wall-42\n\n" + BODY

    draft = read_file(write(tmp_path / "wall.txt", text))

    assert (draft.title, draft.published, draft.url, draft.author, draft.id) == (
        "Harbour wall",
        "2025-09-04",
        "https://g.example/w",
        "Mira Holt",
        "wall-42",
    )


def test_header_with_windows_line_endings_is_read(tmp_path: Path) -> None:
    text = "Title: Harbour wall\r\nSource: Coastal Gazette\r\n\r\nThe council voted on Tuesday.\r\n"

    draft = read_file(write(tmp_path / "wall.txt", text))

    assert (draft.title, draft.source, draft.text) == (
        "Harbour wall",
        "Coastal Gazette",
        "The council voted on Tuesday.",
    )


def test_header_without_any_article_text_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "wall.txt", HEADER + "\n\n")

    with pytest.raises(InputError, match="no article text after the header") as info:
        read_file(path)

    assert str(path) in str(info.value)


def test_prose_line_that_looks_like_a_key_is_not_a_header(tmp_path: Path) -> None:
    text = (
        "Note: this is a draft of the harbour story that the desk has not checked yet.\n"
        "The council approved the plan on Tuesday.\n"
        "\n"
        "Work starts in May."
    )

    draft = read_file(write(tmp_path / "note.txt", text))

    assert draft.text == text
    assert draft.extra == {}


def test_first_paragraph_with_no_known_key_is_not_a_header(tmp_path: Path) -> None:
    text = "Note: this is a draft of the harbour story.\n\nThe council approved the plan on Tuesday."

    draft = read_file(write(tmp_path / "note.txt", text))

    assert draft.text == text
    assert draft.title == "Note: this is a draft of the harbour story."
    assert draft.extra == {}


def test_key_value_lines_without_a_blank_line_after_them_are_text(tmp_path: Path) -> None:
    text = "Title: Harbour wall\nSource: Coastal Gazette"

    draft = read_file(write(tmp_path / "short.txt", text))

    assert draft.text == text
    assert draft.source is None


# --- text files without a header -----------------------------------------------------------


def test_without_a_header_the_first_line_is_the_title(tmp_path: Path) -> None:
    text = "Harbour council backs sea wall\n\n" + BODY

    draft = read_file(write(tmp_path / "wall.txt", text))

    assert draft.title == "Harbour council backs sea wall"
    assert draft.text == text
    assert (draft.url, draft.published, draft.source, draft.author, draft.id) == (None, None, None, None, None)


def test_very_long_first_line_is_shortened_for_the_title(tmp_path: Path) -> None:
    first = "The harbour council voted on Tuesday to rebuild the sea wall " * 4
    draft = read_file(write(tmp_path / "long.txt", first.strip() + "\n\nMore follows."))

    assert len(draft.title) <= 120
    assert draft.title.endswith("...")
    assert first.startswith(draft.title[:-3])


def test_surrounding_blank_lines_are_trimmed_from_the_text(tmp_path: Path) -> None:
    draft = read_file(write(tmp_path / "wall.txt", "\n\n  " + BODY + "\n\n\n"))

    assert draft.text == BODY


# --- Markdown ------------------------------------------------------------------------------


def test_markdown_heading_becomes_the_title(tmp_path: Path) -> None:
    draft = read_file(write(tmp_path / "wall.md", "# Harbour council backs sea wall\n\n" + BODY + "\n"))

    assert draft.title == "Harbour council backs sea wall"
    assert draft.text == BODY


def test_markdown_with_a_header_block_keeps_the_header_title(tmp_path: Path) -> None:
    draft = read_file(write(tmp_path / "wall.md", HEADER + "\n" + BODY))

    assert draft.title == "Harbour council backs sea wall"
    assert draft.text == BODY


def test_hash_line_in_a_txt_file_is_not_a_markdown_heading(tmp_path: Path) -> None:
    draft = read_file(write(tmp_path / "wall.txt", "# Harbour wall\n\n" + BODY))

    assert draft.title == "# Harbour wall"


# --- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "4 September 2025",
        "September 4, 2025",
        "Sep 4, 2025",
        "4 Sep 2025",
        "2025-09-04",
        "2025/09/04",
        "2025-09-04T10:00:00Z",
        "2025-09-04T10:00:00+02:00",
    ],
)
def test_dates_are_normalised_to_iso(raw: str) -> None:
    assert normalise_date(raw) == "2025-09-04"


def test_unparseable_date_is_kept_raw() -> None:
    assert normalise_date(" the Thursday before last ") == "the Thursday before last"


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_missing_date_is_none(raw: str | None) -> None:
    assert normalise_date(raw) is None


def test_header_date_is_normalised(tmp_path: Path) -> None:
    draft = read_file(write(tmp_path / "wall.txt", "Title: Wall\nPublished: September 4, 2025\n\n" + BODY))

    assert draft.published == "2025-09-04"


def test_unparseable_header_date_is_kept_raw(tmp_path: Path) -> None:
    draft = read_file(write(tmp_path / "wall.txt", "Title: Wall\nPublished: early autumn\n\n" + BODY))

    assert draft.published == "early autumn"


# --- files we refuse -----------------------------------------------------------------------


def test_empty_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.txt", "")

    with pytest.raises(InputError, match="the file is empty") as info:
        read_file(path)

    assert str(path) in str(info.value)


def test_whitespace_only_file_is_refused_as_empty(tmp_path: Path) -> None:
    path = write(tmp_path / "blank.txt", "  \n\n\t \r\n")

    with pytest.raises(InputError, match="the file is empty") as info:
        read_file(path)

    assert str(path) in str(info.value)


def test_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "photo.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00")

    with pytest.raises(InputError, match="looks like a binary file") as info:
        read_file(path)

    assert str(path) in str(info.value)


def test_text_full_of_control_characters_is_refused_as_binary(tmp_path: Path) -> None:
    path = tmp_path / "noise.txt"
    path.write_bytes(b"Harbour\x01\x02\x03\x04\x05 wall\x06\x07\x08\x0e\x0f votes" * 5)

    with pytest.raises(InputError, match="looks like a binary file"):
        read_file(path)


def test_non_utf8_file_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Café owners protest harbour levy\n\nThe café closed.".encode("latin-1"))

    with pytest.raises(InputError, match="not UTF-8 text") as info:
        read_file(path)

    message = str(info.value)
    assert str(path) in message
    assert "0xe9" in message
    assert "iconv" in message


def test_file_over_the_size_cap_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "big.txt", "The council voted. " * 10)

    with pytest.raises(InputError, match="over the 50-byte limit") as info:
        read_bytes(path, limit=50)

    assert str(path) in str(info.value)


def test_file_at_the_size_cap_is_read(tmp_path: Path) -> None:
    path = write(tmp_path / "exact.txt", "x" * 50)

    assert read_bytes(path, limit=50) == b"x" * 50


def test_unsupported_file_type_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "wall.docx", BODY)

    with pytest.raises(InputError, match=r"unsupported file type \.docx") as info:
        read_file(path)

    assert str(path) in str(info.value)


def test_file_without_a_suffix_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "README", BODY)

    with pytest.raises(InputError, match=r"unsupported file type \(none\)"):
        read_file(path)


def test_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "stories.txt"
    folder.mkdir()

    with pytest.raises(InputError, match="not a file") as info:
        read_file(folder)

    assert str(folder) in str(info.value)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gone.txt"

    with pytest.raises(InputError, match="cannot read") as info:
        read_file(path)

    assert str(path) in str(info.value)


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + "\n" + BODY).encode("utf-8"))

    draft = read_file(path)

    assert draft.title == "Harbour council backs sea wall"
    assert draft.text == BODY
    assert "\ufeff" not in draft.title + draft.text


def test_non_ascii_utf8_text_is_kept(tmp_path: Path) -> None:
    draft = read_file(write(tmp_path / "cafe.txt", "Café owners protest\n\nThe café on Rue Müller closed."))

    assert draft.text == "Café owners protest\n\nThe café on Rue Müller closed."


# --- HTML ----------------------------------------------------------------------------------


def test_html_file_gives_the_article_text(tmp_path: Path) -> None:
    path = write(tmp_path / "ferry.html", ARTICLE_HTML)

    draft = read_file(path)

    assert draft.title == "Ferry fares to rise by 12 percent in spring"
    assert "fares on its three routes would rise by 12 percent from April" in draft.text
    assert "season tickets for islanders would be frozen" in draft.text
    assert "All rights reserved" not in draft.text
    assert "Sport" not in draft.text
    assert draft.origin == str(path)


def test_html_file_with_no_article_text_is_an_input_error(tmp_path: Path) -> None:
    path = write(tmp_path / "stub.htm", "<html><body><nav><a href='/'>Home</a></nav></body></html>")

    with pytest.raises(InputError) as info:
        read_file(path)

    assert str(path) in str(info.value)


# --- folders -------------------------------------------------------------------------------


def test_folder_walk_finds_text_markdown_and_html_recursively_in_order(tmp_path: Path) -> None:
    for name in ("b.txt", "a.md", "sub/c.html", "sub/deeper/d.TXT", "notes.pdf", "data.jsonl", ".hidden.txt"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path, BODY)

    found = [p.relative_to(tmp_path).as_posix() for p in iter_folder(tmp_path)]

    assert found == ["a.md", "b.txt", "sub/c.html", "sub/deeper/d.TXT"]


def test_folder_walk_skips_folders_named_like_files(tmp_path: Path) -> None:
    (tmp_path / "archive.txt").mkdir()
    write(tmp_path / "archive.txt" / "inner.txt", BODY)

    assert [p.name for p in iter_folder(tmp_path)] == ["inner.txt"]


def test_folder_walk_skips_files_inside_hidden_folders(tmp_path: Path) -> None:
    write(tmp_path / "wall.txt", BODY)
    (tmp_path / ".ipynb_checkpoints").mkdir()
    write(tmp_path / ".ipynb_checkpoints" / "wall-checkpoint.txt", BODY)

    assert [p.name for p in iter_folder(tmp_path)] == ["wall.txt"]


def test_empty_folder_gives_no_files(tmp_path: Path) -> None:
    assert list(iter_folder(tmp_path)) == []


# --- JSONL ---------------------------------------------------------------------------------


def test_jsonl_good_lines_become_drafts(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "feed.jsonl",
        {
            "title": "Harbour wall",
            "text": BODY,
            "url": "https://g.example/w",
            "published": "September 4, 2025",
            "source": "Coastal Gazette",
            "author": "Mira Holt",
            "id": "wall-42",
        },
        {"title": "Ferry fares", "text": "Fares rise 12% in April."},
    )

    drafts = list(iter_jsonl(path))

    assert drafts == [
        ArticleDraft(
            title="Harbour wall",
            text=BODY,
            url="https://g.example/w",
            published="2025-09-04",
            source="Coastal Gazette",
            author="Mira Holt",
            id="wall-42",
            origin=f"{path}:1",
        ),
        ArticleDraft(title="Ferry fares", text="Fares rise 12% in April.", origin=f"{path}:2"),
    ]


def test_jsonl_text_is_kept_as_is(tmp_path: Path) -> None:
    text = "  The council voted.\n\nWork starts in May.  \n"
    path = write_jsonl(tmp_path / "feed.jsonl", {"title": "Wall", "text": text})

    (draft,) = iter_jsonl(path)

    assert isinstance(draft, ArticleDraft)
    assert draft.text == text


def test_jsonl_title_may_be_missing(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "feed.jsonl", {"text": "The council voted."})

    (draft,) = iter_jsonl(path)

    assert isinstance(draft, ArticleDraft)
    assert draft.title == ""


def test_jsonl_numeric_id_becomes_a_string(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "feed.jsonl", {"id": 17, "text": "The council voted."})

    (draft,) = iter_jsonl(path)

    assert isinstance(draft, ArticleDraft)
    assert draft.id == "17"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json at all", "not valid JSON"),
        ('{"title": "Wall", "text": "unterminated', "not valid JSON"),
        ("[1, 2, 3]", "expected a JSON object"),
        ('"just a string"', "expected a JSON object"),
        ('{"title": "Wall"}', "missing or empty 'text'"),
        ('{"title": "Wall", "text": "   "}', "missing or empty 'text'"),
        ('{"title": "Wall", "text": 42}', "missing or empty 'text'"),
        ('{"title": 5, "text": "The council voted."}', "'title' must be a string"),
        ('{"title": ["Wall"], "text": "The council voted."}', "'title' must be a string"),
    ],
)
def test_jsonl_bad_line_gives_one_error_naming_path_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = write_jsonl(tmp_path / "feed.jsonl", {"title": "Good", "text": "The council voted."}, line)

    items = list(iter_jsonl(path))

    assert isinstance(items[0], ArticleDraft)
    assert len(items) == 2
    error = items[1]
    assert isinstance(error, InputError)
    assert str(error).startswith(f"{path}:2: ")
    assert message in str(error)


def test_jsonl_keeps_going_after_bad_lines(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "feed.jsonl",
        "oops",
        {"title": "One", "text": "First story."},
        "[]",
        {"title": "Two", "text": "Second story."},
    )

    items = list(iter_jsonl(path))

    assert [type(i).__name__ for i in items] == ["InputError", "ArticleDraft", "InputError", "ArticleDraft"]
    assert [i.title for i in items if isinstance(i, ArticleDraft)] == ["One", "Two"]


def test_jsonl_blank_lines_are_skipped_but_line_numbers_stay_true(tmp_path: Path) -> None:
    path = write(
        tmp_path / "feed.jsonl",
        '{"title": "One", "text": "First story."}\n\n   \n{"title": "Two", "text": "Second story."}\n\n',
    )

    items = list(iter_jsonl(path))

    assert [i.origin for i in items if isinstance(i, ArticleDraft)] == [f"{path}:1", f"{path}:4"]
    assert count_jsonl(path) == 2


def test_jsonl_non_utf8_line_is_an_error_for_that_line_only(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_bytes(
        b'{"title": "One", "text": "First story."}\n'
        + '{"title": "Café", "text": "Latin-1 story."}'.encode("latin-1")
        + b'\n{"title": "Two", "text": "Second story."}\n'
    )

    items = list(iter_jsonl(path))

    assert isinstance(items[1], InputError)
    assert str(items[1]) == f"{path}:2: not UTF-8 text"
    assert isinstance(items[2], ArticleDraft)


def test_jsonl_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"title": "One", "text": "First story."}\n')

    (draft,) = iter_jsonl(path)

    assert isinstance(draft, ArticleDraft)
    assert draft.title == "One"


def test_jsonl_unknown_scalar_fields_are_kept_in_extra(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "feed.jsonl",
        {"title": "Wall", "text": "The council voted.", "desk": "Local", "priority": 2, "score": 0.5, "urgent": True},
    )

    (draft,) = iter_jsonl(path)

    assert isinstance(draft, ArticleDraft)
    assert draft.extra == {"desk": "Local", "priority": 2, "score": 0.5, "urgent": True}


def test_jsonl_long_strings_lists_dicts_and_nulls_are_dropped_from_extra(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "feed.jsonl",
        {
            "title": "Wall",
            "text": "The council voted.",
            "notes": "n" * (MAX_EXTRA_CHARS + 1),
            "summary": "s" * MAX_EXTRA_CHARS,
            "tags": ["harbour", "council"],
            "meta": {"desk": "Local"},
            "editor": None,
        },
    )

    (draft,) = iter_jsonl(path)

    assert isinstance(draft, ArticleDraft)
    assert draft.extra == {"summary": "s" * MAX_EXTRA_CHARS}


def test_jsonl_line_shaped_like_a_bbc_benchmark_row_loads_as_is(tmp_path: Path) -> None:
    row = {
        "id": "business_042",
        "category": "business",
        "title": "Port operator profits climb",
        "text": "Port operator profits climb\n\nThe operator said profits rose 8% on higher container traffic.",
        "extractive_summary": "The operator said profits rose 8% on higher container traffic.",
    }
    path = write_jsonl(tmp_path / "bbc.jsonl", row)

    (draft,) = iter_jsonl(path)

    assert isinstance(draft, ArticleDraft)
    assert draft.id == "business_042"
    assert draft.title == row["title"]
    assert draft.text == row["text"]
    assert draft.extra["category"] == "business"
    assert draft.extra["extractive_summary"] == row["extractive_summary"]


def test_missing_jsonl_file_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "gone.jsonl"

    with pytest.raises(InputError, match="cannot read") as info:
        list(iter_jsonl(path))

    assert str(path) in str(info.value)


def test_jsonl_record_over_the_limit_is_refused_and_the_next_one_read(tmp_path: Path) -> None:
    huge = json.dumps({"title": "Transcript", "text": "word " * 300_000})  # 1.5 MB on one line
    good = json.dumps({"title": "Rates", "text": "Rates held at 4%."})
    path = tmp_path / "big.jsonl"
    path.write_text(f"{good}\n{huge}\n{good}\n", encoding="utf-8")
    items = list(iter_jsonl(path, max_record_bytes=1_000_000))
    assert isinstance(items[0], ArticleDraft) and isinstance(items[2], ArticleDraft)
    assert isinstance(items[1], InputError)
    assert str(items[1]).startswith(f"{path}:2: the record is over the 1,000,000-byte limit (1,500,")
    assert count_jsonl(path) == 3


def test_jsonl_records_have_the_file_limit_by_default(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    path.write_text(json.dumps({"title": "T", "text": "x" * (MAX_FILE_BYTES + 10)}), encoding="utf-8")
    [item] = list(iter_jsonl(path))
    assert isinstance(item, InputError) and f"over the {MAX_FILE_BYTES:,}-byte limit" in str(item)


def test_a_control_character_in_jsonl_is_named_once(tmp_path: Path) -> None:
    path = tmp_path / "ctl.jsonl"
    path.write_bytes(b'{"title": "T", "text": "line\\tone\x01"}\n')
    [item] = list(iter_jsonl(path))
    assert isinstance(item, InputError)
    assert "Invalid control character at column" in str(item) and "at at" not in str(item)
