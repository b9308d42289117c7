"""Text from data (names, labels, paths) made safe to print.

Anything read from a file can hold terminal control sequences (``ESC [ 2 J``) or, on a Rich
console, markup (``[red]``, ``[/]``). :func:`plain` shows control characters as Python escapes
(``\\x1b``) so a terminal never executes them; :func:`markup` also escapes Rich markup, so the
text is printed as written.
"""

from __future__ import annotations

import re

# C0 controls except tab, DEL, C1 controls, and the Unicode line/paragraph separators and
# bidirectional overrides that can make a line read other than it is.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def plain(value) -> str:
    """``str(value)`` with control characters shown as escapes.

    Examples
    --------
    >>> plain("red\\x1b[31m")
    'red\\\\x1b[31m'
    """
    return _CONTROL.sub(lambda m: ascii(m.group())[1:-1], str(value))


def markup(value) -> str:
    """:func:`plain`, with Rich markup escaped too (for ``console.print``).

    Examples
    --------
    >>> markup("[red]label[/]")
    '\\\\[red]label\\\\[/]'
    """
    from rich.markup import escape

    return escape(plain(value))
