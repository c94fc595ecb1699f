"""Changes the code can prove, whatever a judge says: the only ones that overrule a model.

A model's "supported" stands unless the claim, read against every original, holds

* a figure that no original gives and that cannot be worked out from theirs (a difference,
  sum, share, percentage or percentage-point change, ratio, unit conversion or rounding); a
  figure marked approximate ("about", "more than") may be some way off, but only off the
  originals' own figures or what figures close together give, not off far-fetched combinations;
* quoted words that no original says, in that order;
* a quote that an original gives to someone else.

Anything less certain (a word form such as "a quarter", a weekday, a trimmed quote, a hedge,
a small count such as "two films" that may count what the sources list, a figure that some
original gives) is the model's call. The tests here are deliberately one-sided: when in doubt, no proof.
"""

from __future__ import annotations

from checker.changes import SourceFacts, check_quotes, figure_changes, misattributed, unquoted
from checker.models import Change
from retrieval.sentences import split_sentences

NOT_PROOF = frozenset({"number-small", "number-role"})


def provable_changes(claim: str, cited: str, sources: str | SourceFacts) -> list[Change]:
    """The changes in ``claim`` that the code can prove against ``sources`` (every original's
    text, or the originals with their publication dates): the figure, quotation and attribution
    detectors of :mod:`checker.changes`. ``cited`` (the sentences a judge cited) is where a
    figure is worked out from and its counterpart named."""
    facts = sources if isinstance(sources, SourceFacts) else SourceFacts.of(sources)
    sources = facts.text
    near = cited or sources
    # a small count may count what the sources list; a figure read against its sentence's own
    # count is in some original: neither is proof
    out = [c for c in figure_changes(unquoted(claim, facts), near, near, facts) if c.detector not in NOT_PROOF]
    out += check_quotes(claim, [near, sources])
    out += misattributed(claim, [s.text for s in split_sentences(sources)])
    return out
