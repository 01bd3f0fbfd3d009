"""The Dockerfile and Streamlit config hold the lines that make the app safe and runnable (no Docker here)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _instructions() -> list[str]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [" ".join(line.split()) for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_dockerfile_key_lines() -> None:
    lines = _instructions()
    assert lines[0] == "FROM python:3.12-slim"
    assert any(line.startswith("RUN pip install .") for line in lines)
    for path in ("app.py", "pages", "ui", "presets"):
        assert any(line.startswith("COPY ") and f" {path} " in f" {line} " for line in lines), path
    assert "EXPOSE 8501" in lines
    user = [line for line in lines if line.startswith("USER ")]
    assert user and user[-1] not in ("USER root", "USER 0")
    assert any(line.startswith("VOLUME") and "/data/workspace" in line for line in lines)
    assert any("IVYBT_HOME=/data/workspace" in line for line in lines if line.startswith("ENV"))
    health = [line for line in lines if line.startswith("HEALTHCHECK")]
    assert health and "http://127.0.0.1:8501/_stcore/health" in health[0]
    assert lines[-1] == ('CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501"]')
    # USER comes after the install steps, so the app never runs as root; the smoke test of the installed image
    # runs after it, as the app user (scripts/smoke_install.py, as tests/faults/test_wheel_install.py runs it)
    runs = [i for i, line in enumerate(lines) if line.startswith("RUN ")]
    smoke = [i for i in runs if "smoke_install.py" in lines[i]]
    assert len(smoke) == 1 and lines.index(user[-1]) < smoke[0]
    assert lines.index(user[-1]) > max(i for i in runs if i not in smoke)
    # the numba kernels are compiled at build time, after the install, into a cache the app user can write
    env = " ".join(line for line in lines if line.startswith("ENV"))
    assert "NUMBA_CACHE_DIR=/opt/ivybt/numba-cache" in env
    install = next(i for i, line in enumerate(lines) if line.startswith("RUN pip install ."))
    warm = next(i for i, line in enumerate(lines) if line.startswith("RUN ") and "python -m engine.sim.warmup" in line)
    assert install < warm < lines.index(user[-1])
    owned = next(line for line in lines if line.startswith("RUN ") and "chown" in line)
    assert '"$NUMBA_CACHE_DIR"' in owned or "/opt/ivybt/numba-cache" in owned


def test_streamlit_config_binds_loopback_without_telemetry() -> None:
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["address"] == "127.0.0.1"
    assert cfg["server"]["headless"] is True
    assert cfg["browser"]["gatherUsageStats"] is False
    # a light and a dark variant, so the viewer's preference picks one; only the accent colour is ours
    theme = cfg["theme"]
    assert theme["light"]["primaryColor"].startswith("#") and theme["dark"]["primaryColor"].startswith("#")
    colours = {"base", "primaryColor", "backgroundColor", "secondaryBackgroundColor", "textColor"}
    assert not colours & set(theme)  # any of these in [theme] itself forces one theme for everybody
    for variant in ("light", "dark"):
        assert not {"backgroundColor", "secondaryBackgroundColor", "textColor"} & set(theme[variant])


def test_streamlit_reads_both_theme_variants() -> None:
    """Streamlit (the installed version) knows the [theme.light] / [theme.dark] options we set."""
    from streamlit import config

    known = set(config._config_options_template)
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    for variant in ("light", "dark"):
        for name in cfg["theme"][variant]:
            assert f"theme.{variant}.{name}" in known, (variant, name)


def test_dockerignore_keeps_secrets_and_venv_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".streamlit/secrets.toml" in ignored and "workspace" in ignored
