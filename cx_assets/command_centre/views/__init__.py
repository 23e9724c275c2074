"""The command centre's pages: Streamlit scripts, one per domain plus the overview, run by
`app.py`'s navigation (or on their own, as the tests do)."""
