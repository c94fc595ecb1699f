"""retrieval.chunking: whole-sentence chunks within a token budget, with offsets."""

from __future__ import annotations

import pytest
import tiktoken

from retrieval.chunking import DEFAULT_CHUNK_TOKENS, chunk_text
from retrieval.models import Chunk
from retrieval.sentences import split_sentences
from retrieval.tokens import count_tokens, get_encoding

SECTIONS = " ".join(
    f"The council approved section {i} of the harbour plan on Tuesday after a long debate." for i in range(20)
)
STORY = (
    SECTIONS + " Dr. Ines Varga said building would start in Sept. and cost $40.5m. "
    '"We have patched this wall for thirty years. It has to be replaced," she said. '
    "Critics were unconvinced. Did the council consider cheaper options? Nobody would say."
)
LONG_SENTENCE = (
    "The council, which met in the old town hall on a wet Tuesday evening, approved the plan to rebuild "
    "the sea wall, dredge the inner harbour, widen the ferry ramp, replace the crumbling pier, add two "
    "cranes, repave the quay road and plant trees along the promenade, despite objections from residents, "
    "fishermen and the chamber of commerce that the cost had doubled since the spring."
)


@pytest.fixture(scope="module")
def encoding() -> tiktoken.Encoding:
    return get_encoding()


def test_chunk_text_is_the_exact_slice_of_the_article(encoding: tiktoken.Encoding) -> None:
    chunks = chunk_text("art-1", STORY, encoding, max_tokens=40)

    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.text == STORY[chunk.start : chunk.end]


def test_chunks_carry_the_article_id_and_consecutive_indexes(encoding: tiktoken.Encoding) -> None:
    chunks = chunk_text("art-1", STORY, encoding, max_tokens=40)

    assert [c.article_id for c in chunks] == ["art-1"] * len(chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_chunks_are_in_order_and_do_not_overlap(encoding: tiktoken.Encoding) -> None:
    chunks = chunk_text("art-1", STORY, encoding, max_tokens=40)

    for before, after in zip(chunks, chunks[1:], strict=False):
        assert before.end <= after.start


def test_gaps_between_chunks_are_only_whitespace(encoding: tiktoken.Encoding) -> None:
    chunks = chunk_text("art-1", STORY, encoding, max_tokens=40)

    assert STORY[: chunks[0].start].strip() == ""
    assert STORY[chunks[-1].end :].strip() == ""
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert STORY[before.end : after.start].strip() == ""


def test_every_sentence_is_inside_exactly_one_chunk(encoding: tiktoken.Encoding) -> None:
    chunks = chunk_text("art-1", STORY, encoding, max_tokens=40)

    for seg in split_sentences(STORY):
        holders = [c for c in chunks if c.start <= seg.start and seg.end <= c.end]
        assert len(holders) == 1, seg.text


def test_no_chunk_exceeds_the_token_budget(encoding: tiktoken.Encoding) -> None:
    for budget in (20, 40, 75, DEFAULT_CHUNK_TOKENS):
        for chunk in chunk_text("art-1", STORY, encoding, max_tokens=budget):
            assert count_tokens(chunk.text, encoding) <= budget


def test_chunks_start_and_end_at_sentence_boundaries(encoding: tiktoken.Encoding) -> None:
    segments = split_sentences(STORY)
    starts = {s.start for s in segments}
    ends = {s.end for s in segments}

    chunks = chunk_text("art-1", STORY, encoding, max_tokens=40)

    for chunk in chunks:
        assert chunk.start in starts
        assert chunk.end in ends


def test_chunks_pack_several_sentences_when_they_fit(encoding: tiktoken.Encoding) -> None:
    chunks = chunk_text("art-1", STORY, encoding, max_tokens=60)

    assert len(chunks) < len(split_sentences(STORY))
    assert any(len(split_sentences(c.text)) > 1 for c in chunks)


def test_a_larger_budget_gives_fewer_chunks(encoding: tiktoken.Encoding) -> None:
    small = chunk_text("art-1", STORY, encoding, max_tokens=30)
    large = chunk_text("art-1", STORY, encoding, max_tokens=200)

    assert len(large) < len(small)


def test_short_article_is_a_single_chunk_of_the_whole_text(encoding: tiktoken.Encoding) -> None:
    text = "The ferry fare rises to $4.99 in April. Islanders keep their discount."

    chunks = chunk_text("ferry", text, encoding)

    assert chunks == [Chunk("ferry", 0, 0, len(text), text, chunks[0].tokens)]
    assert chunks[0].tokens > 0


def test_quotation_is_not_cut_between_its_sentences(encoding: tiktoken.Encoding) -> None:
    quote = '"We have patched this wall for thirty years. It has to be replaced," she said.'

    chunks = chunk_text("art-1", STORY, encoding, max_tokens=40)

    assert any(quote in c.text for c in chunks)


def test_over_long_sentence_is_cut_within_the_budget(encoding: tiktoken.Encoding) -> None:
    chunks = chunk_text("long", LONG_SENTENCE, encoding, max_tokens=20)

    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.text == LONG_SENTENCE[chunk.start : chunk.end]
        assert count_tokens(chunk.text, encoding) <= 20


def test_over_long_sentence_is_cut_after_commas(encoding: tiktoken.Encoding) -> None:
    chunks = chunk_text("long", LONG_SENTENCE, encoding, max_tokens=20)

    for chunk in chunks[:-1]:
        assert chunk.text.rstrip().endswith(",")
    assert chunks[-1].text.endswith("since the spring.")


def test_over_long_sentence_pieces_cover_the_whole_sentence(encoding: tiktoken.Encoding) -> None:
    chunks = chunk_text("long", LONG_SENTENCE, encoding, max_tokens=20)

    assert chunks[0].start == 0
    assert chunks[-1].end == len(LONG_SENTENCE)
    assert " ".join(c.text.strip() for c in chunks) == LONG_SENTENCE


def test_over_long_sentence_without_commas_is_cut_between_words(encoding: tiktoken.Encoding) -> None:
    text = " ".join(f"harbour{i}" for i in range(120)) + "."

    chunks = chunk_text("words", text, encoding, max_tokens=15)

    assert len(chunks) > 1
    for chunk in chunks:
        assert count_tokens(chunk.text, encoding) <= 15
        assert chunk.start == 0 or text[chunk.start - 1] == " "
        assert chunk.end == len(text) or text[chunk.end] == " " or text[chunk.end - 1] == " "
    assert " ".join(c.text.strip() for c in chunks) == text


def test_word_longer_than_the_budget_is_still_cut_within_it(encoding: tiktoken.Encoding) -> None:
    text = "x" * 400

    chunks = chunk_text("blob", text, encoding, max_tokens=10)

    assert "".join(c.text for c in chunks) == text
    assert all(count_tokens(c.text, encoding) <= 10 for c in chunks)


def test_sentences_around_an_over_long_one_stay_whole(encoding: tiktoken.Encoding) -> None:
    text = "Work starts in May. " + LONG_SENTENCE + " Critics were unconvinced."

    chunks = chunk_text("mixed", text, encoding, max_tokens=20)

    assert chunks[0].text.startswith("Work starts in May.")
    assert chunks[-1].text.endswith("Critics were unconvinced.")
    assert " ".join(c.text.strip() for c in chunks) == text
    assert all(count_tokens(c.text, encoding) <= 20 for c in chunks)


def test_chunk_spanning_a_paragraph_break_stays_within_the_budget(encoding: tiktoken.Encoding) -> None:
    text = "Harbour plan approved\n\nThe council approved the harbour plan on Tuesday."

    chunks = chunk_text("paras", text, encoding, max_tokens=13)

    assert all(count_tokens(c.text, encoding) <= 13 for c in chunks)


def test_empty_text_gives_no_chunks(encoding: tiktoken.Encoding) -> None:
    assert chunk_text("empty", "", encoding) == []


def test_whitespace_only_text_gives_no_chunks(encoding: tiktoken.Encoding) -> None:
    assert chunk_text("blank", "  \n\n\t ", encoding) == []


def covers(chunks: list[Chunk], text: str) -> str:
    """The text's non-space characters, in order, as the chunks hold them."""
    assert all(c.text == text[c.start : c.end] for c in chunks)
    return "".join("".join(c.text.split()) for c in chunks)


def test_text_without_punctuation_or_spaces_is_cut_hard_at_the_budget(encoding: tiktoken.Encoding) -> None:
    text = "\u6c34\u8cbb\u4e0a\u6f32\u5e02\u8b70\u6703" * 3000  # 21,000 characters, no break anywhere
    chunks = chunk_text("a", text, encoding, 64)
    assert len(chunks) > 100
    assert all(0 < c.tokens <= 64 for c in chunks)
    assert covers(chunks, text) == text


def test_a_hard_cut_never_splits_a_character_of_several_tokens(encoding: tiktoken.Encoding) -> None:
    text = "".join(chr(0x4E00 + (i * 37) % 400) for i in range(20_000))  # rarer characters: 2-3 tokens each
    chunks = chunk_text("a", text, encoding, 50)
    assert all(0 < c.tokens <= 50 for c in chunks)
    assert covers(chunks, text) == text


def test_a_caption_transcript_without_punctuation_is_chunked_whole(encoding: tiktoken.Encoding) -> None:
    lines = [f"and then the mayor said the harbour plan number {i} would go ahead next spring" for i in range(4000)]
    text = "\n".join(lines)  # every line wraps onto the one before: a single 300 kB paragraph
    chunks = chunk_text("a", text, encoding)
    assert all(c.tokens <= DEFAULT_CHUNK_TOKENS for c in chunks)
    assert covers(chunks, text) == "".join(text.split())


def test_full_width_sentence_ends_split_chinese_and_japanese_text() -> None:
    text = (
        "\u5e02\u8b70\u6703\u6279\u51c6\u4e86\u9810\u7b97\u3002\u6c34\u8cbb\u4e0a\u6f32\u4e09\u6210\uff01"
        "\u70ba\u4ec0\u9ebc\uff1f\u7d42\u308f\u308a"
    )
    assert [s.text for s in split_sentences(text)] == [
        "\u5e02\u8b70\u6703\u6279\u51c6\u4e86\u9810\u7b97\u3002",
        "\u6c34\u8cbb\u4e0a\u6f32\u4e09\u6210\uff01",
        "\u70ba\u4ec0\u9ebc\uff1f",
        "\u7d42\u308f\u308a",
    ]


def test_chinese_chunks_end_at_sentence_ends(encoding: tiktoken.Encoding) -> None:
    sentence = "\u5e02\u8b70\u6703\u4eca\u5929\u6279\u51c6\u4e86\u65b0\u7684\u6e2f\u53e3\u9810\u7b97\u3002"
    chunks = chunk_text("a", sentence * 200, encoding, 40)
    assert len(chunks) > 10
    assert all(c.text.endswith("\u3002") for c in chunks)
