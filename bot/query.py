"""The user query language, shared by ``/search``, topic subscriptions and feed filters, and its translation to FTS5.

Language: plain words are all required; ``"quoted phrases"``; ``OR`` (or ``|``) between terms;
``-word`` / ``-"a phrase"`` (or ``NOT word``) excludes; ``AND`` is accepted and implied. Matching is
case-insensitive and stemmed (``graph`` finds ``graphs``) because the index uses the porter tokenizer.

Safety: user text never reaches FTS5 as syntax. Every term is reduced to the index's own tokens
(letters and digits) and emitted as a double-quoted FTS5 string, so no input can produce an FTS5
operator, a column filter or a syntax error. Length and term counts are capped so no query runs long.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot import text
from bot.errors import UserError

MAX_QUERY_CHARS = 300
MAX_TERMS = 10  # required + alternative terms
MAX_EXCLUDED = 5
MAX_PHRASE_TOKENS = 8
MAX_TOKEN_CHARS = 40

# What the unicode61 tokenizer treats as part of a token: letters and digits (underscore is a separator).
_TOKEN = re.compile(r"[^\W_]+")
_OR_WORDS = frozenset({"OR", "or", "Or", "|", "||"})
_AND_WORDS = frozenset({"AND", "&", "&&", "+"})
_NOT_WORDS = frozenset({"NOT"})


class QueryError(UserError):
    """The query cannot be searched; the message is a friendly sentence for the user."""


@dataclass(frozen=True)
class Term:
    """One word, or a phrase of adjacent words (a quoted single word searches like a plain one)."""

    tokens: tuple[str, ...]
    # Typed in quotes. "ground-truth" is a phrase too (one word to the user, two tokens to the index) but only
    # quotes ask for the strict reading (bot.relaxed.uses_operators); matching is the same either way.
    quoted: bool = field(default=False, compare=False)

    @property
    def is_phrase(self) -> bool:
        return len(self.tokens) > 1

    def fts(self) -> str:
        # Tokens hold only letters and digits; doubling quotes is kept as a second line of defence.
        return '"' + " ".join(token.replace('"', '""') for token in self.tokens) + '"'

    def display(self) -> str:
        words = " ".join(self.tokens)
        # A lone word that reads as an operator ("or") is quoted so the text parses back to this term.
        quote = self.is_phrase or words.upper() in _OR_WORDS | _AND_WORDS | _NOT_WORDS
        return f'"{words}"' if quote else words


@dataclass(frozen=True)
class Query:
    groups: tuple[tuple[Term, ...], ...]  # every group must match; a group matches if any term does
    excluded: tuple[Term, ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)

    def fts(self) -> str:
        parts = []
        for group in self.groups:
            if len(group) == 1:
                parts.append(group[0].fts())
            else:
                parts.append("(" + " OR ".join(term.fts() for term in group) + ")")
        expression = " AND ".join(parts)
        for term in self.excluded:
            expression = f"{expression} NOT {term.fts()}"
        return expression

    def canonical(self) -> str:
        """A normal form: two queries that search the same way have the same canonical text."""
        parts = [" OR ".join(term.display() for term in group) for group in self.groups]
        parts += [f"-{term.display()}" for term in self.excluded]
        return " ".join(parts)

    @property
    def terms(self) -> list[Term]:
        return [term for group in self.groups for term in group]


def _tokens(raw: str) -> tuple[str, ...]:
    return tuple(token.lower()[:MAX_TOKEN_CHARS] for token in _TOKEN.findall(raw))


@dataclass
class _Item:
    kind: str  # "term", "or", "and", "not"
    raw: str = ""
    negated: bool = False
    quoted: bool = False


_LEXEME = re.compile(r'(-?)"([^"]*)(?:"|$)|(\S+)')


def _lex(value: str) -> list[_Item]:
    items: list[_Item] = []
    for match in _LEXEME.finditer(value):
        minus, phrase, word = match.group(1), match.group(2), match.group(3)
        if word is None:
            items.append(_Item("term", phrase, negated=bool(minus), quoted=True))
        elif word in _OR_WORDS:
            items.append(_Item("or"))
        elif word in _AND_WORDS:
            items.append(_Item("and"))
        elif word in _NOT_WORDS:
            items.append(_Item("not"))
        elif word.startswith("-") and len(word) > 1:
            items.append(_Item("term", word[1:], negated=True))
        else:
            items.append(_Item("term", word))
    return items


def parse_query(raw: str, *, strict: bool = False) -> Query:
    """Parse user text; raises QueryError with a friendly message when nothing searchable remains.

    ``strict`` refuses an over-long query instead of searching its beginning (what chat users expect:
    a topic they subscribe to must be exactly what they typed).
    """
    notes: list[str] = []
    value = text.clean(raw)
    if strict and len(value) > MAX_QUERY_CHARS:
        raise QueryError(
            f"That query is {len(value):,} characters long; keep it under {MAX_QUERY_CHARS} "
            "(a few words, phrases or OR alternatives work best)."
        )
    if len(value) > MAX_QUERY_CHARS:
        value = value[:MAX_QUERY_CHARS]
        notes.append(f"Only the first {MAX_QUERY_CHARS} characters of your query were used.")
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    pending_or = False
    pending_not = False
    dropped_terms = 0
    for item in _lex(value):
        if item.kind == "or":
            pending_or = bool(groups)
            continue
        if item.kind == "and":
            pending_or = False
            continue
        if item.kind == "not":
            pending_not = True
            continue
        tokens = _tokens(item.raw)
        negated = item.negated or pending_not
        pending_not = False
        if not tokens:
            continue
        if len(tokens) > MAX_PHRASE_TOKENS:
            tokens = tokens[:MAX_PHRASE_TOKENS]
            notes.append(f"Phrases are limited to {MAX_PHRASE_TOKENS} words; longer ones were shortened.")
        term = Term(tokens, quoted=item.quoted)
        if negated:
            if len(excluded) >= MAX_EXCLUDED:
                dropped_terms += 1
            elif term not in excluded:
                excluded.append(term)
            pending_or = False
            continue
        if sum(len(group) for group in groups) >= MAX_TERMS:
            dropped_terms += 1
            pending_or = False
            continue
        if pending_or and groups:
            if term not in groups[-1]:
                groups[-1].append(term)
        elif not any(group == [term] for group in groups):
            groups.append([term])
        pending_or = False
    if dropped_terms:
        notes.append(
            f"Queries are limited to {MAX_TERMS} search terms and {MAX_EXCLUDED} exclusions; "
            f"{dropped_terms} extra term{'s' if dropped_terms != 1 else ''} ignored."
        )
    if not groups:
        if excluded:
            raise QueryError("Add at least one word to look for: exclusions like `-word` can't be searched alone.")
        raise QueryError('There is nothing to search for in that query: use words, `"a phrase"`, `OR` or `-word`.')
    return Query(
        groups=tuple(tuple(group) for group in groups),
        excluded=tuple(excluded),
        notes=tuple(dict.fromkeys(notes)),
    )
