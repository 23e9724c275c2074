"""Text from records written into Markdown: the command centre's captions (Streamlit) and a
model's metadata tables (the Dagster UI). Escaped, so it reads as typed."""

from __future__ import annotations

import re

# Markdown's marks, and `$`, which Streamlit's Markdown reads as the start of LaTeX: two
# amounts on a line became one formula ("$21,900 a year … $3,650"); `&`, which starts an
# HTML entity (`&lt;` showed as `<`), `:`, which starts Streamlit's colours and icons
# (`:red[r]`), and `|`, a table's cell edge. A bare `http://…` is still made a link (GFM
# finds it after escapes), but reads as typed.
_MARKS = re.compile(r"([\\`*_\[\]<>#|~$&:])")


def markdown_text(text: object) -> str:
    """`text` (a gold value, a figure) as Markdown shows it: every mark escaped."""
    return _MARKS.sub(r"\\\1", str(text))


def markdown_cell(text: object) -> str:
    """`text` for a cell of a Markdown table, shown as typed; a line break would end the
    row, so it is written as a space."""
    return markdown_text(" ".join(str(text).splitlines()))
