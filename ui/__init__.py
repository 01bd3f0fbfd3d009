"""Streamlit helpers and pure Plotly chart builders for the IvyBT app (pages -> ui -> engine)."""
