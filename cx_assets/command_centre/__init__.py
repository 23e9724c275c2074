"""The CX command centre (contract section 4.5): a Streamlit app with a page per domain over
the gold Parquet tables, started by `cx-lakehouse dashboard`. The pipeline never imports it."""
