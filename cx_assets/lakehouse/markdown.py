"""Text from records written into the Markdown the Dagster UI renders (a model's metadata
tables): escaped, so it reads as typed and a `|` in it does not add a cell to its row."""

from __future__ import annotations

import re

# Markdown's marks, `|` (a table's cell edge) and `&` (an HTML entity); a line break would end
# the row, so it is written as a space.
_MARKS = re.compile(r"([\\`*_\[\]<>#|~$&:])")


def markdown_cell(text: object) -> str:
    """`text` for a cell of a Markdown table, shown as typed."""
    return _MARKS.sub(r"\\\1", " ".join(str(text).splitlines()))
