"""Plain-text helpers shared by the sources, the summariser and the renderer."""

from __future__ import annotations

import html
import re
import unicodedata

ELLIPSIS = "…"
SUMMARY_TARGET = 300

_WS = re.compile(r"\s+")
# Zero-width and bidirectional override characters: invisible, and able to reorder what a reader sees.
_INVISIBLE = re.compile("[\u200b\u200c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")

# A sentence ends at . ! or ? followed by space and an upper-case letter, digit or opening bracket.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])")
# Abbreviations that end in a period but do not end a sentence.
_ABBREVIATIONS = (
    "e.g.",
    "i.e.",
    "et al.",
    "etc.",
    "vs.",
    "cf.",
    "Fig.",
    "Figs.",
    "Eq.",
    "Eqs.",
    "Sec.",
    "Ref.",
    "resp.",
    "approx.",
    "No.",
    "Dr.",
    "Prof.",
    "Inc.",
    "St.",
)


def clean(value: str | None) -> str:
    """Text safe to store and show: no control or lone-surrogate characters, whitespace collapsed."""
    if not value:
        return ""
    value = _SURROGATE.sub("", value)
    value = _CONTROL.sub(" ", value)
    value = _INVISIBLE.sub("", value)
    value = unicodedata.normalize("NFC", value)
    return _WS.sub(" ", value).strip()


# Only real HTML tags are removed: arXiv abstracts carry LaTeX such as ``$x<y$`` that a generic HTML
# parser would swallow as a tag.
_HTML_TAGS = (
    "a|abbr|b|big|blockquote|br|center|cite|code|del|div|em|font|h[1-6]|hr|i|img|ins|kbd|li|mark|ol|p|"
    "pre|q|s|small|span|strike|strong|sub|sup|table|tbody|td|th|thead|tr|tt|u|ul|var"
)
_DROP_BLOCKS = re.compile(r"<(script|style)\b[^>]*>.*?(?:</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(rf"</?(?:{_HTML_TAGS})(?:\s+[^<>]*)?/?>", re.IGNORECASE)
_BLOCK_TAG = re.compile(r"<(?:br|p|div|li|tr|h[1-6])\b[^<>]*/?>", re.IGNORECASE)


def html_to_text(value: str | None) -> str:
    """Text of an HTML fragment (as RSS descriptions carry): tags dropped, entities decoded once."""
    if not value:
        return ""
    if "<" in value:
        value = _DROP_BLOCKS.sub(" ", value)
        value = _BLOCK_TAG.sub(" ", value)
        value = _TAG.sub("", value)
    if "&" in value:
        value = html.unescape(value)
    return clean(value)


def unescape(value: str | None) -> str:
    return clean(html.unescape(value or ""))


def truncate(value: str, limit: int, *, ellipsis: str = ELLIPSIS) -> str:
    """At most ``limit`` characters, cut at a word boundary with an ellipsis when cut at all."""
    if limit <= 0:
        return ""
    if len(value) <= limit:
        return value
    if limit <= len(ellipsis):
        return value[:limit]
    room = limit - len(ellipsis)
    cut = value[:room]
    # Back up to the last whitespace so no word is cut, unless that would throw away most of the room.
    if not value[room].isspace():
        space = cut.rfind(" ")
        if space >= room // 2:
            cut = cut[:space]
    return cut.rstrip(" ,;:-–—([{") + ellipsis


def split_sentences(value: str) -> list[str]:
    protected = value
    for index, abbreviation in enumerate(_ABBREVIATIONS):
        protected = protected.replace(abbreviation, f"\x00{index}\x00")
    pieces = _SENTENCE_END.split(protected)
    result = []
    for piece in pieces:
        restored = re.sub(r"\x00(\d+)\x00", lambda m: _ABBREVIATIONS[int(m.group(1))], piece)
        if restored.strip():
            result.append(restored.strip())
    return result


def extractive_summary(abstract: str, target: int = SUMMARY_TARGET) -> str:
    """Whole opening sentences of the abstract, up to about ``target`` characters, never cut mid-word."""
    value = clean(abstract)
    if len(value) <= target:
        return value
    sentences = split_sentences(value)
    chosen: list[str] = []
    length = 0
    for sentence in sentences:
        extra = len(sentence) + (1 if chosen else 0)
        if chosen and length + extra > target:
            break
        chosen.append(sentence)
        length += extra
    summary = " ".join(chosen)
    # A single opening sentence longer than the target is shortened at a word boundary.
    if len(summary) > target + target // 3:
        summary = truncate(summary, target)
    return summary
