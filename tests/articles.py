"""Invented primary sources and stories for tests (written for factdiff, not copied)."""

from __future__ import annotations

from retrieval.models import ArticleDraft

NORRLAND_Q3 = ArticleDraft(
    title="Norrland Mobile reports third-quarter results",
    url="https://example.org/norrland/press/q3-2026",
    published="2026-10-22",
    source="Norrland Mobile investor relations",
    text=(
        "STOCKHOLM, October 22. Norrland Mobile said on Thursday that revenue rose 7% to 4.2 billion kronor "
        "in the third quarter, as the operator added 61,000 subscribers to reach 1.93 million.\n\n"
        "Operating profit was 611 million kronor, against 540 million kronor a year earlier. "
        '"Our fibre roll-out in the north is paying off," chief executive Annika Lindqvist said.\n\n'
        "The company kept its full-year forecast of revenue growth between 5% and 6%. It warned that "
        "roaming income could fall if a planned EU price cap takes effect in January."
    ),
)
NORRLAND_Q2 = ArticleDraft(
    title="Norrland Mobile reports second-quarter results",
    url="https://example.org/norrland/press/q2-2026",
    published="2026-07-21",
    source="Norrland Mobile investor relations",
    text=(
        "STOCKHOLM, July 21. Norrland Mobile said on Tuesday that revenue rose 4% to 3.9 billion kronor "
        "in the second quarter, as the operator added 38,000 subscribers to reach 1.87 million.\n\n"
        "Operating profit was 502 million kronor, against 515 million kronor a year earlier. "
        '"The summer campaign brought in younger customers," chief executive Annika Lindqvist said.\n\n'
        "The company kept its full-year forecast of revenue growth between 5% and 6%."
    ),
)
HARWICH_NOTICE = ArticleDraft(
    title="Harwick road closure: Mill Street, October 3 to 5",
    url="https://example.org/harwick/notices/mill-street",
    published="2026-09-28",
    source="Harwick Borough Council",
    text=(
        "Harwick Borough Council will close Mill Street between Station Road and the Quayside roundabout "
        "from 7 a.m. on October 3 until 6 p.m. on October 5 to replace a collapsed drain.\n\n"
        "Buses on routes 14 and 22 will be diverted along Tanner Lane. Residents' parking permits remain valid "
        "in the Harwick Market car park during the closure."
    ),
)
DUNMORE_NOTICE = ArticleDraft(
    title="Dunmore road closure: Mill Street, October 3 to 5",
    url="https://example.org/dunmore/notices/mill-street",
    published="2026-09-28",
    source="Dunmore Town Council",
    text=(
        "Dunmore Town Council will close Mill Street between Station Road and the Quayside roundabout "
        "from 7 a.m. on October 3 until 6 p.m. on October 5 to replace a collapsed drain.\n\n"
        "Buses on routes 14 and 22 will be diverted along Tanner Lane. Residents' parking permits remain valid "
        "in the Dunmore Market car park during the closure."
    ),
)
SCHOOL_BOARD = ArticleDraft(
    title="School board delays vote on four-day week",
    url="https://example.org/valley-schools/board/four-day-week",
    published="2026-11-02",
    source="Valley Unified School District",
    text=(
        "The Valley Unified school board postponed its vote on a four-day school week to December 9, after "
        "more than 300 parents signed a petition asking for a survey of working families.\n\n"
        "Superintendent Carla Mendes said the district would publish the survey results before the vote. "
        '"No decision will be taken without hearing from parents," she said.'
    ),
)
WEATHER = ArticleDraft(
    title="Frost warning for the northern valleys",
    url="https://example.org/met/warnings/frost-north",
    published="2026-11-05",
    source="Regional Weather Service",
    text=(
        "The regional weather service issued a frost warning for the northern valleys for Friday night, with "
        "temperatures expected to fall to minus 6 degrees Celsius.\n\n"
        "Farmers were advised to protect seedlings and livestock water supplies."
    ),
)
ALL = [NORRLAND_Q3, NORRLAND_Q2, HARWICH_NOTICE, DUNMORE_NOTICE, SCHOOL_BOARD, WEATHER]

# A rewrite of the Q3 release (numbers kept, wording changed, one claim added).
NORRLAND_Q3_STORY = (
    "Norrland Mobile grew its revenue by 7% to 4.2 billion kronor in the July-September quarter and signed up "
    "61,000 new customers, taking its base to 1.93 million. Operating profit climbed to 611 million kronor. "
    "Chief executive Annika Lindqvist credited the fibre build-out in the north. Analysts expect the shares to rally."
)
# A rewrite of the Harwick notice: only the place name separates it from Dunmore's.
HARWICK_STORY = (
    "Drivers in Harwick face three days of disruption: Mill Street shuts from October 3 to October 5 "
    "while crews replace a collapsed drain, and buses on routes 14 and 22 will use Tanner Lane instead."
)
# A story built from two sources: the school board and the frost warning.
TWO_SOURCE_STORY = (
    "Valley Unified has pushed its four-day-week vote back to December 9 after more than 300 parents petitioned "
    "for a survey of working families. Superintendent Carla Mendes promised the results before the vote. "
    "Parents collecting children on Friday evening should also prepare for frost: the weather service warned "
    "that temperatures in the northern valleys could drop to minus 6 degrees Celsius."
)
UNRELATED_STORY = (
    "A jazz festival on the southern coast sold out in four hours, organisers said, with the saxophonist "
    "Ruth Okonjo headlining the closing night at the old lighthouse."
)
