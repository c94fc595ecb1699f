"""Several processes on one store: one writer at a time on an embedded store (the data
directory's write lock), and every process sees what the others stored, with no restart.
All run the real ``factdiff`` command in real processes."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from bot import wiring
from bot.settings import Settings
from retrieval.locking import QUIET_WAIT, ChecksInProgress
from retrieval.search import OriginalFinder
from tests.articles import HARWICH_NOTICE, NORRLAND_Q2, NORRLAND_Q3, NORRLAND_Q3_STORY
from tests.conftest import REPO, run_cli
from tests.test_cli import source_file

TOWNS = ["Larkfield", "Harwick", "Dunmore", "Eastport", "Riverton", "Kellsbridge", "Ashby", "Marrow Bay"]
PEOPLE = ["Ines Varga", "Tomas Reed", "Maya Okafor", "Piet Jansen", "Lena Brandt", "Omar Haddad"]


def invented_article(n: int) -> dict[str, str]:
    """A council notice of our own, different in every number and name."""
    town, person = TOWNS[n % len(TOWNS)], PEOPLE[n % len(PEOPLE)]
    text = (
        f"{town} council voted {n % 9 + 3} to {n % 4} on Tuesday to approve a {n * 1.7 + 2:.1f} million "
        f"budget for road repairs in district {n}. The plan adds {n % 40 + 5} bus stops and closes the "
        f"old depot on Quarry Lane by {2027 + n % 5}.\n\n"
        f'"This settles a dispute that began in {1990 + n % 30}," councillor {person} said, adding that '
        f"contract {n}-{n % 13} would go to tender in {['March', 'June', 'October'][n % 3]}.\n\n"
        f"Residents of district {n} can comment until the end of the month at the {town} library."
    )
    return {"id": f"notice-{n}", "title": f"{town} approves district {n} road budget", "text": text}


def write_jsonl(path: Path, numbers: range) -> Path:
    path.write_text("\n".join(json.dumps(invented_article(n)) for n in numbers) + "\n", encoding="utf-8")
    return path


def cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def hold_the_lock(data_dir: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process holding the store's write lock for ``seconds``; returns once it holds it."""
    code = (
        "import sys, time\n"
        "from retrieval.locking import WriteLock\n"
        f"with WriteLock({str(data_dir / 'chroma')!r}, 0).hold():\n"
        "    print('held', flush=True)\n"
        f"    time.sleep({seconds})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_two_processes_ingesting_into_one_store_at_once_leave_it_working(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    halves = [write_jsonl(tmp_path / "a.jsonl", range(0, 600)), write_jsonl(tmp_path / "b.jsonl", range(600, 1200))]
    writers = [cli(["ingest", "-q", "--jsonl", str(p)], cli_env, tmp_path) for p in halves]
    results = [w.communicate(timeout=300) for w in writers]
    assert [w.returncode for w in writers] == [0, 0], results
    # every later reader works: no crash, no hang, every article and chunk accounted for
    listed = run_cli(["sources", "list", "--format", "json"], cli_env, cwd=tmp_path)
    assert listed.returncode == 0 and len(json.loads(listed.stdout)) == 1200
    counted = subprocess.run(
        [
            sys.executable,
            "-c",
            "from bot import wiring; from bot.settings import load_settings\n"
            "s = wiring.source_store(load_settings())\n"
            "print(s.count(), sum(a.chunks for a in s.list_articles()), s.vectors.count())",
        ],
        env=cli_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert counted.returncode == 0, counted.stderr
    articles, chunks, records = map(int, counted.stdout.split())
    assert articles == 1200 and chunks >= 1200 and records == 1200
    for n in (7, 1022):
        story = invented_article(n)["text"].replace("on Tuesday", "this week")
        found = run_cli(["search", "--format", "json", "-"], cli_env, stdin=story, cwd=tmp_path)
        assert found.returncode == 0, found.stderr
        assert json.loads(found.stdout)["sources"][0]["id"] == f"notice-{n}"


def test_a_second_writer_waits_for_the_first_and_says_so(tmp_path: Path, cli_env: dict[str, str]) -> None:
    source = source_file(tmp_path, "q3.txt", NORRLAND_Q3)
    # the other writer holds the lock until this one says it waits (however long loading takes
    # on a busy machine), and past the quiet wait
    holder = hold_the_lock(tmp_path / "data", 600)
    writer = cli(["ingest", str(source)], {**cli_env, "FACTDIFF_LOCK_TIMEOUT": "60"}, tmp_path)
    said: list[str] = []
    try:
        assert writer.stderr is not None
        for line in writer.stderr:
            said.append(line)
            if "another factdiff process is writing to the store" in line:
                break
        assert holder.poll() is None, "the lock was released before the writer said it waits"
    finally:
        holder.kill()
        holder.wait()
    out, err = writer.communicate(timeout=300)
    said.append(err)
    assert writer.returncode == 0, "".join(said)
    assert "another factdiff process is writing to the store" in "".join(said)
    assert "waiting up to 60 s (FACTDIFF_LOCK_TIMEOUT)" in "".join(said)
    assert "1 added" in out


def test_a_writer_that_cannot_get_the_lock_in_time_is_refused_clearly(tmp_path: Path, cli_env: dict[str, str]) -> None:
    source = source_file(tmp_path, "q3.txt", NORRLAND_Q3)
    assert run_cli(["ingest", str(source)], cli_env, cwd=tmp_path).returncode == 0
    holder = hold_the_lock(tmp_path / "data", 30)
    try:
        done = run_cli(["sources", "remove", "anything"], {**cli_env, "FACTDIFF_LOCK_TIMEOUT": "1"}, cwd=tmp_path)
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 3
    [line] = done.stderr.strip().splitlines()[-1:]
    assert "another factdiff process has been writing to the store" in line and "for over 1 s" in line
    assert "run a Chroma server (CHROMA_HOST) for several writers at once" in line
    listed = run_cli(["sources", "list", "--format", "json"], cli_env, cwd=tmp_path)
    assert [x["title"] for x in json.loads(listed.stdout)] == [NORRLAND_Q3.title]


@pytest.mark.parametrize("mode", ["embedded", "server"])
def test_a_running_process_sees_articles_other_processes_add_and_remove(
    tmp_path: Path, cli_env: dict[str, str], mode: str, request: pytest.FixtureRequest
) -> None:
    env = dict(cli_env)
    settings = Settings(data_dir=tmp_path / "data")
    if mode == "server":
        host, port = request.getfixturevalue("chroma_server")
        prefix = "live" + uuid.uuid4().hex[:8]
        env |= {"CHROMA_HOST": host, "CHROMA_PORT": str(port), "FACTDIFF_COLLECTION_PREFIX": prefix}
        settings = Settings(chroma_host=host, chroma_port=port, collection_prefix=prefix)
    older = [source_file(tmp_path, "q2.txt", NORRLAND_Q2), source_file(tmp_path, "harwich.txt", HARWICH_NOTICE)]
    assert run_cli(["ingest", *map(str, older)], env, cwd=tmp_path).returncode == 0
    finder = OriginalFinder(wiring.source_store(settings))  # this process keeps running throughout
    assert finder.find(NORRLAND_Q3_STORY).matches == []  # its vector index is loaded now

    source = source_file(tmp_path, "q3.txt", NORRLAND_Q3)
    assert run_cli(["ingest", str(source)], env, cwd=tmp_path).returncode == 0
    found = finder.find(NORRLAND_Q3_STORY)
    assert [m.info.title for m in found.matches] == [NORRLAND_Q3.title]

    article_id = found.matches[0].info.id
    assert run_cli(["sources", "remove", article_id], env, cwd=tmp_path).returncode == 0
    gone = finder.find(NORRLAND_Q3_STORY)
    assert gone.matches == [] and gone.message.startswith("no original found")
    assert article_id not in {c.info.id for c in gone.considered}


def test_the_bots_admin_adds_wait_for_the_same_lock(tmp_path: Path) -> None:
    from bot.slack.app import Checker
    from retrieval.fetch import FetchPolicy

    settings = Settings(data_dir=tmp_path / "data", lock_timeout=60)
    waits: list[str] = []
    store = wiring.source_store(settings, on_wait=waits.append)
    checker = Checker(store, None, FetchPolicy())
    holder = hold_the_lock(tmp_path / "data", QUIET_WAIT + 3)
    outcome = checker.add_file("q3.txt", source_file(tmp_path, "q3.txt", NORRLAND_Q3).read_bytes())
    assert holder.wait(timeout=30) == 0  # it held the lock to the end: the add waited for it
    assert outcome.status == "added" and waits and "waiting up to 60 s" in waits[0]


class WatchedEmbedder:
    """The real embedder, noting for each call whether the store's write lock was held."""

    def __init__(self, inner: object, lock: object) -> None:
        self.inner, self.lock = inner, lock
        self.name, self.dimension = inner.name, inner.dimension  # type: ignore[attr-defined]
        self.calls: list[tuple[int, bool]] = []

    def embed(self, texts: list[str]) -> object:
        self.calls.append((len(texts), self.lock._file.is_locked))  # type: ignore[attr-defined]
        return self.inner.embed(texts)  # type: ignore[attr-defined]


def test_an_ingest_embeds_before_it_takes_the_write_lock(tmp_path: Path, wordllama: object) -> None:
    """A check that must reopen the store waits for the lock: it is held for writing only."""
    settings = Settings(data_dir=tmp_path / "data")
    store = wiring.source_store(settings)
    watched = WatchedEmbedder(wordllama, store.lock)
    store.embedder = watched  # type: ignore[assignment]
    outcomes = store.add_many([NORRLAND_Q2, NORRLAND_Q3, HARWICH_NOTICE])
    assert [o.status for o in outcomes] == ["added"] * 3
    assert store.lock is not None and watched.calls
    assert all(not locked for n, locked in watched.calls if n), watched.calls
    assert sum(n for n, _ in watched.calls) == sum(o.chunks for o in outcomes)


def test_checks_keep_answering_while_another_process_ingests(tmp_path: Path, cli_env: dict[str, str]) -> None:
    """Reads of an embedded store that meet another process's write in progress ("Error finding
    id" from a stale client) wait for the write, reopen the store and read again."""
    settings = Settings(data_dir=tmp_path / "data")
    seed = write_jsonl(tmp_path / "seed.jsonl", range(0, 40))
    assert run_cli(["ingest", "-q", "--jsonl", str(seed)], cli_env, cwd=tmp_path).returncode == 0
    finder = OriginalFinder(wiring.source_store(settings))
    story = invented_article(7)["text"].replace("on Tuesday", "this week")
    assert finder.find(story).matches[0].info.id == "notice-7"

    bulk = write_jsonl(tmp_path / "bulk.jsonl", range(40, 400))
    writer = cli(["ingest", "-q", "--jsonl", str(bulk)], cli_env, tmp_path)
    answers = []
    while writer.poll() is None:
        answers.append(finder.find(story).matches[0].info.id)
    out, err = writer.communicate(timeout=300)
    assert writer.returncode == 0, err
    assert answers and set(answers) == {"notice-7"}
    assert finder.find(invented_article(399)["text"]).matches[0].info.id == "notice-399"


def test_a_check_does_not_wait_for_another_processs_write_in_flight(tmp_path: Path, cli_env: dict[str, str]) -> None:
    """While another process holds the write lock (a bulk ingest, batch after batch) and the
    search index does not yet record the store's revision, a check answers from what the index
    holds instead of waiting for the lock (with no wait allowed, waiting would fail at once)."""
    settings = Settings(data_dir=tmp_path / "data", lock_timeout=0)
    seed = write_jsonl(tmp_path / "seed.jsonl", range(0, 20))
    assert run_cli(["ingest", "-q", "--jsonl", str(seed)], cli_env, cwd=tmp_path).returncode == 0
    store = wiring.source_store(settings)
    finder = OriginalFinder(store)
    story = invented_article(7)["text"].replace("on Tuesday", "this week")
    assert finder.find(story).matches[0].info.id == "notice-7"
    more = write_jsonl(tmp_path / "more.jsonl", range(20, 25))
    assert run_cli(["ingest", "-q", "--jsonl", str(more)], cli_env, cwd=tmp_path).returncode == 0
    store.lexical.set_meta("revision", "in flight")  # the writer has committed to Chroma, not to the index
    holder = hold_the_lock(tmp_path / "data", 600)
    try:
        assert finder.find(story).matches[0].info.id == "notice-7"
        assert holder.poll() is None  # answered while the other process held the lock
    finally:
        holder.kill()
        holder.wait()
    assert finder.find(invented_article(22)["text"]).matches[0].info.id == "notice-22"


def test_a_candidate_whose_new_version_the_index_lacks_is_read_at_that_version(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    """A check never scores an article by an older version's chunk vectors: when the search
    index holds another version than the store (an update another process is applying), the
    check waits for the write in flight, then takes the stored version's vectors."""
    from dataclasses import replace

    assert run_cli(["ingest", str(source_file(tmp_path, "q3.txt", NORRLAND_Q3))], cli_env, cwd=tmp_path).returncode == 0
    store = wiring.source_store(Settings(data_dir=tmp_path / "data"))
    finder = OriginalFinder(store)
    aid = finder.find(NORRLAND_Q3_STORY).matches[0].info.id
    old_version = store.get(aid).info.version
    old_vectors = store.stored_chunk_vectors({aid: old_version})
    corrected = replace(NORRLAND_Q3, text=NORRLAND_Q3.text.replace("611 million", "612 million"))
    path = source_file(tmp_path, "q3.txt", corrected)
    assert run_cli(["ingest", str(path)], cli_env, cwd=tmp_path).returncode == 0
    store.lexical.apply([(aid, old_version, NORRLAND_Q3.text)], vectors=old_vectors)  # the index lags
    assert store.lexical.versions([aid])[aid] == old_version
    found = finder.find(NORRLAND_Q3_STORY)
    new_version = store.get(aid).info.version
    assert new_version != old_version
    assert found.matches[0].info.id == aid and found.matches[0].info.version == new_version
    assert found.matches[0].hits  # scored by the stored version's chunks, not left out


def test_a_reading_process_keeps_its_client_while_others_write_and_reopens_only_to_write(
    tmp_path: Path, cli_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """Checks read articles from SQLite and vectors from the search index, which another
    process's writes reach at once: no new client (an embedded client's vector index is
    reloaded in full, and Chroma keeps the old one's). A write still opens a fresh client
    first, so that it never writes from a stale vector index."""
    settings = Settings(data_dir=tmp_path / "data")
    seed = write_jsonl(tmp_path / "seed.jsonl", range(0, 20))
    assert run_cli(["ingest", "-q", "--jsonl", str(seed)], cli_env, cwd=tmp_path).returncode == 0
    store = wiring.source_store(settings)
    finder = OriginalFinder(store)
    assert finder.find(invented_article(3)["text"]).matches[0].info.id == "notice-3"
    client = store.client

    more = write_jsonl(tmp_path / "more.jsonl", range(20, 40))
    assert run_cli(["ingest", "-q", "--jsonl", str(more)], cli_env, cwd=tmp_path).returncode == 0
    assert run_cli(["sources", "remove", "notice-3"], cli_env, cwd=tmp_path).returncode == 0
    caplog.set_level(logging.INFO, logger="retrieval.store")
    found = finder.find(invented_article(31)["text"])
    # the writers recorded in the shared search index that it holds their writes: no change log read
    assert not [r for r in caplog.records if "caught up" in r.getMessage()]
    assert found.matches[0].info.id == "notice-31"
    assert found.matches[0].hits and found.matches[0].hits[0].article_id == "notice-31"
    assert "notice-3" not in {c.info.id for c in finder.find(invented_article(3)["text"]).considered}
    assert store.client is client  # read throughout with the same client

    outcome = store.add(NORRLAND_Q3)
    assert outcome.status == "added" and store.client is not client  # reopened before writing
    listed = run_cli(["sources", "list", "--format", "json"], cli_env, cwd=tmp_path)
    assert len(json.loads(listed.stdout)) == 40  # 40 ingested, one removed, one added here
    assert finder.find(NORRLAND_Q3_STORY).matches[0].info.title == NORRLAND_Q3.title


def test_a_moment_of_waiting_for_the_lock_is_not_worth_a_word(tmp_path: Path) -> None:
    """A check waiting for another process's write holds the lock for a moment: a writer that
    meets it waits quietly; one that waits longer says so (the test above)."""
    from retrieval.locking import WriteLock

    waits: list[str] = []
    lock = WriteLock(tmp_path / "data" / "chroma", 60, waits.append)
    holder = hold_the_lock(tmp_path / "data", QUIET_WAIT / 4)
    with lock.hold():
        assert holder.poll() is not None or holder.wait(timeout=5) == 0  # the holder let go first
    assert waits == []


# --- writes give way to the machine's checks ----------------------------------------------------


def test_a_check_marks_itself_in_progress_while_it_uses_the_store(tmp_path: Path, wordllama: object) -> None:
    from checker.engine import DiffEngine

    settings = Settings(data_dir=tmp_path / "data")
    store = wiring.source_store(settings, emb=wordllama)  # type: ignore[arg-type]
    store.add(NORRLAND_Q3)
    checks = ChecksInProgress(tmp_path / "data", give_way=1.0)  # another process's view of the machine
    engine = DiffEngine(OriginalFinder(store))
    seen: list[bool] = []
    find = engine.finder.find

    def watched(text: str) -> object:
        seen.append(checks.running())
        return find(text)

    engine.finder.find = watched  # type: ignore[method-assign,assignment]
    assert not checks.running()
    report = engine.check(NORRLAND_Q3_STORY)
    assert seen == [True] and report.sources
    assert not checks.running()


def test_a_write_gives_way_to_a_check_in_progress_then_goes_on(tmp_path: Path, wordllama: object) -> None:
    settings = Settings(data_dir=tmp_path / "data", give_way=60)
    bot = wiring.source_store(settings, emb=wordllama)  # type: ignore[arg-type]
    ingest = wiring.source_store(settings, emb=wordllama)  # type: ignore[arg-type]
    stored = threading.Event()

    def write() -> None:
        ingest.add(NORRLAND_Q3)
        stored.set()

    writer = threading.Thread(target=write)
    with bot.checking():
        writer.start()
        assert not stored.wait(2.0)  # an add takes a fraction of that: it is waiting for the check
        assert bot.count() == 0
    writer.join(60)
    assert stored.is_set() and bot.count() == 1


def test_a_bot_busy_without_a_pause_delays_a_write_but_never_stops_it(tmp_path: Path, wordllama: object) -> None:
    settings = Settings(data_dir=tmp_path / "data", give_way=0.2)
    bot = wiring.source_store(settings, emb=wordllama)  # type: ignore[arg-type]
    ingest = wiring.source_store(settings, emb=wordllama)  # type: ignore[arg-type]
    with bot.checking():
        assert ingest.add(NORRLAND_Q3).status == "added"  # within the check: it gave way, then wrote
        assert bot.checks is not None and bot.checks.running()
    assert bot.count() == 1


def test_without_give_way_a_write_does_not_wait(tmp_path: Path) -> None:
    checks = ChecksInProgress(tmp_path, give_way=0)
    with checks.held():
        assert checks.running() and checks.wait() == 0.0


def test_a_write_in_progress_is_seen_by_the_machines_other_processes(tmp_path: Path) -> None:
    mine, theirs = ChecksInProgress(tmp_path, 1.0), ChecksInProgress(tmp_path, 1.0)
    assert not theirs.write_in_progress()
    with mine.writing():
        assert theirs.write_in_progress() and not theirs.running()
    assert not theirs.write_in_progress()


def test_checks_and_writes_go_on_unmarked_where_nothing_can_be_marked(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    checks = ChecksInProgress(blocked / "data", give_way=60)
    with checks.held(), checks.writing():
        assert not checks.running() and not checks.write_in_progress()
        assert checks.wait() < checks.give_way  # did not wait for a check it cannot see
