"""The one way user text reaches Streamlit's markdown (st.markdown, captions, alerts, headers, widget labels).

User text: captions, file, folder and collection names, zip entries, typed queries, CSV columns and values,
cluster names, anything a link carries. Shown through :func:`plain`, it reads as typed; st.text and
st.code need nothing (they never parse markdown).
"""

import re

_ALWAYS = re.compile(r"([\\`*_\[\]<>$&~])")  # emphasis, code, links, images, HTML, entities, LaTeX, strikethrough
_BLOCK_START = re.compile(r"^(\d*)([#+.)-])")  # a heading ("# "), list item ("- ", "1. ") where the text starts
_JOINER = "\u2060"  # word joiner: invisible, never a line break
# Found after parsing, in the text itself (escapes are gone by then): http:// links, emoji and icons
# (:name:, :material/name:), colour directives (:red[...]), e-mail addresses, www. links.
_FOUND_IN_TEXT = re.compile(r"[:@](?=\S)|(?i:www)(?=\.)")


def plain(text: object) -> str:
    r"""``text`` for any Streamlit call that renders markdown, shown as typed.

    Markdown, HTML, entity and LaTeX characters get a backslash; what Streamlit's frontend finds
    in the parsed text gets an invisible word joiner (after a ``:`` or ``@`` that a word follows, inside ``www.``).
    Line breaks become spaces: a new line could start a heading, a list or a table.

    >>> plain("*bold* <b>x</b> $5 [a](b)")
    '\\*bold\\* \\<b\\>x\\</b\\> \\$5 \\[a\\](b)'
    >>> plain("# 1"), plain("2. x"), plain("- x"), plain("'+' and 2. stay")
    ('\\# 1', '2\\. x', '\\- x', "'+' and 2. stay")
    >>> plain(":red[x] www.a.b") == ":\u2060red\\[x\\] www\u2060.a.b", plain("field: value")
    (True, 'field: value')
    """
    escaped = _ALWAYS.sub(r"\\\1", " ".join(str(text).split()))
    escaped = _BLOCK_START.sub(r"\1\\\2", escaped)
    return _FOUND_IN_TEXT.sub(lambda m: m[0] + _JOINER, escaped)
