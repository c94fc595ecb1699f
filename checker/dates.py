"""Dates, weekdays, months, years and times as facts, checked against the calendar.

A story may name the weekday of a date its source gives ("on Tuesday" for a release dated
12 August 2025), the months of a quarter the source names ("April to June" for the second
quarter), or a time in another clock ("9pm" for 21:00). Those are supported; a weekday, date,
month, year or time that none of that bears out is a change.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from checker.lexicon import lexicon


@dataclass(frozen=True)
class Calendar:
    """What the originals say about time: their dates, and what follows from them."""

    days: frozenset[tuple[int, int]]  # (month, day) of every date named
    full: tuple[dt.date, ...]  # dates with a known year (named, or in the article's year)
    weekdays: frozenset[int]  # weekdays named, and those of the full dates
    months: frozenset[int]  # months named, of the dates, and covered by a quarter named
    years: frozenset[int]
    times: frozenset[int]  # minutes after midnight
    spans: tuple[float, ...] = field(default=())  # days between two full dates


def _month_re() -> str:
    return "|".join(sorted(lexicon().months, key=len, reverse=True))


def _weekday_re() -> str:
    return "|".join(lexicon().weekdays)


def weekdays(text: str) -> list[tuple[str, int]]:
    return [
        (m.group(0), lexicon().weekdays[m.group(0).lower()]) for m in re.finditer(rf"(?i)\b(?:{_weekday_re()})\b", text)
    ]


def months(text: str) -> list[tuple[str, int]]:
    """Month names; "may" counts only written as a name (capitalised, not opening a sentence)."""
    out = []
    for m in re.finditer(rf"(?i)\b(?:{_month_re()})\b\.?", text):
        word = m.group(0).rstrip(".")
        if word[0].islower():
            continue
        if (
            word.lower() in ("may", "march")
            and not re.search(
                rf"(?:\d\s*|\b(?:in|of|on|since|until|by|from|to|early|late|mid|last|next|this|and|or)\s+){word}\b\.?$",
                text[: m.end()].rstrip("."),
            )
            and not re.match(r"\.?\s*\d", text[m.end() :])
        ):
            continue  # "May" opening a sentence may be the verb; "March" the noun
        out.append((word, lexicon().months[word.lower()]))
    return out


def dated(text: str, year: int | None) -> list[tuple[int, int, int | None]]:
    """(day, month, year or None) of every day-and-month date; an ISO date too."""
    mr = _month_re()
    out: list[tuple[int, int, int | None]] = []
    for m in re.finditer(rf"(?i)\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({mr})\b\.?(?:,?\s+((?:19|20)\d\d))?", text):
        out.append((int(m.group(1)), lexicon().months[m.group(2).lower()], int(m.group(3)) if m.group(3) else year))
    for m in re.finditer(rf"(?i)\b({mr})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+((?:19|20)\d\d))?", text):
        out.append((int(m.group(2)), lexicon().months[m.group(1).lower()], int(m.group(3)) if m.group(3) else year))
    for m in re.finditer(r"\b((?:19|20)\d\d)-(\d\d)-(\d\d)\b", text):
        out.append((int(m.group(3)), int(m.group(2)), int(m.group(1))))
    return [d for d in out if 1 <= d[0] <= 31]


def years(text: str) -> list[int]:
    return [int(y) for y in re.findall(r"(?<![\w.,/-])((?:19|20)\d\d)(?![\w/%]|,\d|\.\d)", text)]


def times(text: str) -> list[tuple[str, int]]:
    """Clock times in minutes after midnight: 3am, 3 p.m., 15:00, noon, midnight."""
    clock = "|".join(lexicon().clock_words)
    out = []
    for m in re.finditer(
        rf"(?i)\b(\d{{1,2}})(?:[:.](\d\d))?\s*([ap])\.?m\.?(?![\w])|\b(\d{{1,2}}):(\d\d)\b|\b({clock})\b", text
    ):
        if m.group(6):
            word = m.group(6).lower()
            out.append((m.group(0), lexicon().clock_words[word]))
        elif m.group(3):
            h = int(m.group(1)) % 12 + (12 if m.group(3).lower() == "p" else 0)
            out.append((m.group(0), h * 60 + int(m.group(2) or 0)))
        else:
            out.append((m.group(0), int(m.group(4)) * 60 + int(m.group(5))))
    return out


def _quarters(text: str) -> set[int]:
    out: set[int] = set()
    for m in re.finditer(r"(?i)\b(first|second|third|fourth)\s+quarter\b|\b(q[1-4])\b", text):
        out.update(lexicon().quarters[(m.group(1) or m.group(2)).lower()])
    return out


def published_date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def calendar(texts: Iterable[tuple[str, str | None]]) -> Calendar:
    """The calendar of the originals: (text, published date) of each."""
    days: set[tuple[int, int]] = set()
    full: set[dt.date] = set()
    wd: set[int] = set()
    mo: set[int] = set()
    yr: set[int] = set()
    tm: set[int] = set()
    yearless: set[dt.date] = set()  # day and month only: spans between them, in a common year
    for text, published in texts:
        pub = published_date(published)
        if pub:
            full.add(pub)
            yr.add(pub.year)
        for d, m, y in dated(text, pub.year if pub else None):
            days.add((m, d))
            mo.add(m)
            with contextlib.suppress(ValueError):
                if y:
                    full.add(dt.date(y, m, d))
                else:
                    yearless.add(dt.date(2001, m, d))
        wd.update(w for _, w in weekdays(text))
        mo.update(m for _, m in months(text))
        mo.update(_quarters(text))
        yr.update(years(text))
        tm.update(t for _, t in times(text))
    for day in full:
        wd.add(day.weekday())
        mo.add(day.month)
        yr.add(day.year)
    spans = {abs((a - b).days) for a, b in itertools.combinations(full, 2)}
    spans |= {abs((a - b).days) for a, b in itertools.combinations(yearless, 2)}
    spans |= {round(abs(a - b) * 365.25) for a, b in itertools.combinations(yr, 2)}  # "eight years" from 2017 to 2025
    return Calendar(
        frozenset(days),
        tuple(sorted(full)),
        frozenset(wd),
        frozenset(mo),
        frozenset(yr),
        frozenset(tm),
        tuple(sorted(spans - {0})),
    )


@dataclass(frozen=True)
class DateChange:
    type: str  # weekday | date | month | year | time
    story: str
    source: str


def date_changes(claim: str, cal: Calendar, near: Sequence[str], year: int | None) -> list[DateChange]:
    """The claim's dates, weekdays, months, years and times the originals do not bear out;
    ``near`` are the claim's source sentences, where a counterpart is looked for."""
    near_text = " ".join(near)
    near_dates = _near_dates(near_text, year)
    near_weekdays = {w for _, w in weekdays(near_text)} | {d.weekday() for d in near_dates}
    near_days = {(m, d) for d, m, _ in dated(near_text, year)}
    out: list[DateChange] = []
    for word, w in weekdays(claim):
        # the weekday of the source sentence's own date, where it has one; else any the originals bear out
        if w not in (near_weekdays or cal.weekdays):
            was = [x for x, _ in weekdays(near_text)] or [
                f"{d:%A} {d.day} {d:%B}" for d in _near_dates(near_text, year)
            ]
            out.append(DateChange("weekday", word, ", ".join(dict.fromkeys(was))))
    for d, m, _ in dated(claim, year):
        if (m, d) not in (near_days or cal.days):
            was = [f"{dd} {_month_name(mm)}" for dd, mm, _ in dated(near_text, year) if (mm, dd) != (m, d)]
            out.append(DateChange("date", f"{d} {_month_name(m)}", ", ".join(dict.fromkeys(was))))
    dated_months = {m for _, m, _ in dated(claim, year)}
    for word, m in months(claim):
        if m not in cal.months and m not in dated_months:
            was = [x for x, mm in months(near_text) if mm != m]
            out.append(DateChange("month", word, ", ".join(dict.fromkeys(was))))
    for y in years(claim):
        if y not in cal.years:
            was = [str(x) for x in years(near_text) if x != y]
            out.append(DateChange("year", str(y), ", ".join(dict.fromkeys(was))))
    for word, t in times(claim):
        if cal.times and not any(min(abs(t - s), 1440 - abs(t - s)) <= 1 for s in cal.times):
            was = [x for x, s in times(near_text) if s != t]
            out.append(DateChange("time", word, ", ".join(dict.fromkeys(was))))
    return out


def _near_dates(text: str, year: int | None) -> list[dt.date]:
    out = []
    for d, m, y in dated(text, year):
        if y:
            with contextlib.suppress(ValueError):
                out.append(dt.date(y, m, d))
    return out


def _month_name(m: int) -> str:
    return dt.date(2000, m, 1).strftime("%B")
