"""The CX command centre: `cx-lakehouse dashboard` (or `make dashboard`) serves this app on
127.0.0.1. One page per domain plus an overview, built only on gold Parquet (see `data.py`);
every page works on an empty data root and says what to run."""

from pathlib import Path

import streamlit as st

from cx_assets.command_centre import ui

# Not `pages/`: Streamlit would serve a folder of that name next to the entry script as its
# own multipage app, so a page's URL opened first would skip this navigation.
VIEWS = Path(__file__).with_name("views")

# An emoji icon is drawn in the page itself; a `:material/...:` one is fetched from
# fonts.gstatic.com, a request to the internet the command centre must not make.
st.set_page_config(page_title="CX command centre", page_icon="📊", layout="wide")
# Styles only: Streamlit adds them to the page without taking space (see layout.css).
st.html(Path(__file__).with_name("layout.css"))
ui.warn_if_no_data_root()
navigation = st.navigation(
    [
        st.Page(VIEWS / "overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page(VIEWS / "crm.py", title="CRM friction", icon=":material/handshake:", url_path="crm"),
        st.Page(VIEWS / "calls.py", title="Calls", icon=":material/call:", url_path="calls"),
        st.Page(
            VIEWS / "leakage.py", title="Digital leakage", icon=":material/call_split:",
            url_path="leakage",
        ),
        st.Page(
            VIEWS / "support.py", title="Support", icon=":material/support_agent:",
            url_path="support",
        ),
    ]
)  # fmt: skip
# Each page's title names it (a screen reader announces it, a browser tab shows it): the
# title above stood for every page.
st.set_page_config(page_title=f"{navigation.title} · CX command centre")
try:
    navigation.run()
except PermissionError as refused:
    ui.say_refused(refused)
