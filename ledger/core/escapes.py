"""Visible escapes for the characters a reader of text would act on or refuse.

A stored string (a title, a reason, an actor, a value edited into the file) is shown as text
everywhere: each such character is written as ``\\n``, ``\\r``, ``\\t``, ``\\xNN`` (below U+0100)
or ``\\uNNNN``, so a terminal cannot be made to clear, recolour or rewrite the screen, start a
line or reorder the text after it, and an XML document cannot be made one no parser reads.
"""

from __future__ import annotations

import re
from typing import Any

# What a terminal would act on instead of showing: C0 and C1 controls (escape sequences move the
# cursor, clear, recolour or hide text; a carriage return or a line feed starts the line anew)
# and DEL, the line and paragraph separators, and the bidirectional marks, embeddings,
# overrides and isolates (which reorder the text after them).
_TERMINAL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
                       "\u202a-\u202e\u2066-\u2069]")
# The characters XML 1.0 does not allow in a document at all, escaped or not (its Char
# production): one of them in a title or a reason made a whole feed one no reader parses.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# The bidirectional embeddings, overrides and isolates: each opens a scope that reorders the text
# after it, on a web page up to the end of its block — in a history sentence, the words the
# page itself writes after a stored value (the verdict, the dates, the numbers changed).
_BIDI_SCOPES = re.compile("[\u202a-\u202e\u2066-\u2069]")


def printable(value: Any) -> str:
    """Return ``value`` as text for one line of a terminal, each character a terminal would
    act on written as a visible escape."""
    text = str(value)
    if text.isprintable():  # none of them (all are in Unicode's categories Cc, Cf, Zl and Zp)
        return text
    return _TERMINAL.sub(_visible, text)


def bidi_visible(text: str) -> str:
    """Return ``text`` for a web page: each bidirectional embedding, override and isolate written
    as a visible escape (``\\u202e``), as ``assets/page.js`` writes it in the browser."""
    if text.isprintable() or not _BIDI_SCOPES.search(text):  # none is printable (Cf)
        return text
    return _BIDI_SCOPES.sub(_visible, text)


def xml_safe(text: str) -> str:
    """Return ``text`` with each character XML cannot hold written as a visible escape."""
    return _NOT_XML.sub(_visible, text)


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _SHORT.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


PRIVATE_KEY_PREFIX = "PRIVATE+KEY+"  # of a signed-note signer's and a cosigner's private key


def quoted(text: str, limit: int) -> str:
    """Return the ``repr`` of at most ``limit`` characters of an input, to name it in a
    message; never a character of a private key: a key file given where a policy, a note or a
    checkpoint goes must not end up, even in part, on a screen or in a log."""
    if PRIVATE_KEY_PREFIX in text:
        return f"'{PRIVATE_KEY_PREFIX}…' (a private key: not shown)"
    return repr(text[:limit])


def url_shown(url: str) -> str:
    """Return ``url`` to name in a message: a password in it (``https://user:secret@host/``, a
    proxy's, a witness's) written as ``***``, never printed where a cron job mails or logs
    what it says."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))
    except ValueError:
        return url if "@" not in url else "(a URL with credentials, not shown)"
