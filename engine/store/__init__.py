"""What is saved: the workspace folder, saved runs (SQLite) with their reproducibility keys, and presets
(JSON)."""
