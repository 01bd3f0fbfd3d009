"""What is saved: the workspace folder, saved runs (SQLite) and presets (JSON)."""
