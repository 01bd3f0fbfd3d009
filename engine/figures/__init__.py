"""Pure Plotly figures (no Streamlit): the ones the engine writes itself (a batch job's HTML artifact) live here so
the app's charts (ui/charts.py) can re-use them; the engine never imports ui/."""
