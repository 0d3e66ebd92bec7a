"""Untrusted text (URL values, file names, catalogue fields) made safe for Markdown elements.

Streamlit renders Markdown, and its own directives (``:red[...]``,
``:material/...:``, ``$...$`` for LaTeX), in ``st.markdown``, ``st.caption``,
alerts, image captions, widget labels and help. A value someone else chose (a
shared link's ``?highlight=``, a product name from ``styles.csv``) is passed
through :func:`plain` first, so ``[click](http://evil.example)`` or
``![x](http://evil.example/x.png)`` shows as those characters: no link, no
image fetched from elsewhere, no HTML.
"""
from __future__ import annotations

import re
import string

#: Every ASCII punctuation character can be backslash-escaped in CommonMark;
#: escaping all of them also covers Streamlit's directives and raw HTML.
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
#: Line breaks and other control characters would start new blocks (a heading,
#: a list, a code fence); they become spaces.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def plain(value: object, *, limit: int | None = None) -> str:
    """``value`` as text that Markdown shows literally.

    Parameters
    ----------
    value : object
        Anything; it is converted with ``str`` first.
    limit : int, optional
        Keep at most this many characters of the text (before escaping), with
        an ellipsis when cut, so a very long value cannot flood the page.

    Returns
    -------
    str
        The text with every ASCII punctuation character backslash-escaped and
        line breaks turned into spaces.

    Examples
    --------
    >>> plain("[click](http://evil.example)")
    '\\\\[click\\\\]\\\\(http\\\\:\\\\/\\\\/evil\\\\.example\\\\)'
    """
    text = _CONTROL.sub(" ", str(value))
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 1)] + "…"
    return _PUNCTUATION.sub(r"\\\1", text)
