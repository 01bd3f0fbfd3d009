# IvyBT research app. Build: docker build -t ivybt .
# Run:   docker run -p 127.0.0.1:8501:8501 -v ivybt-workspace:/data/workspace ivybt
# Inside the container the app listens on 0.0.0.0 (so the port can be published); publish it on the host's
# loopback as above unless you mean to expose an app that can send orders.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    IVYBT_HOME=/data/workspace \
    NUMBA_CACHE_DIR=/opt/ivybt/numba-cache

WORKDIR /app

COPY pyproject.toml README.md ./
COPY engine ./engine
COPY brokers ./brokers
COPY ui ./ui
# The example presets ship inside the wheel; an installed IvyBT copies them into the workspace's presets/ on
# first use (IVYBT_HOME=/data/workspace: the volume, where saved presets are kept too).
COPY presets ./presets
RUN pip install .

# Compile the numba kernels now, into a cache the app user owns (chown below): the first backtest in a new
# container loads machine code instead of compiling for seconds (on another CPU numba adds its own entry).
RUN mkdir -p "$NUMBA_CACHE_DIR" && python -m engine.sim.warmup

COPY app.py ./
COPY pages ./pages
COPY .streamlit ./.streamlit

RUN useradd --create-home --uid 1000 ivybt \
    && mkdir -p /data/workspace \
    && chown -R ivybt:ivybt /data/workspace "$NUMBA_CACHE_DIR"
USER ivybt

# Smoke test of the installed image, as tests/faults/test_wheel_install.py runs it on a wheel: a backtest on the
# bundled sample, a shipped preset and the app's home page, from site-packages, in a throw-away workspace.
COPY scripts/smoke_install.py /tmp/smoke_install.py
RUN cd /tmp && python /tmp/smoke_install.py /app

VOLUME ["/data/workspace"]
EXPOSE 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request, sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).status == 200 else 1)"

CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501"]
