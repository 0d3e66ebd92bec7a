# Fashion catalogue explorer: the Streamlit app on a CPU, served to a team.
#   docker build -t fashion-explorer .
#   # once: train the classifier from the command line into the cache volume
#   docker run --rm -v fashion-cache:/app/cache -v /path/to/fashion-small:/data:ro \
#       -e FASHION_DATA_DIR=/data fashion-explorer python -m core train --fraction 1.0
#   # then serve; visitors classify with that model but cannot start a training
#   docker run -p 8501:8501 -v fashion-cache:/app/cache \
#       -v /path/to/fashion-small:/data:ro -e FASHION_DATA_DIR=/data fashion-explorer
# Without FASHION_DATA_DIR the app runs on its generated demo set. The README's
# "Running it for a team" section lists the settings (memory budget, cache size...).
# An exact tag, so a rebuild gets the same Python and Debian release; bump it
# (and the apt pin below) deliberately.
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    FASHION_CACHE_DIR=/app/cache \
    FASHION_CACHE_GB=20 \
    FASHION_ALLOW_TRAINING=0 \
    NUMBA_CACHE_DIR=/app/numba \
    NUMPY_MADVISE_HUGEPAGE=0 \
    MPLCONFIGDIR=/tmp/matplotlib

# libgomp1: OpenMP runtime for scikit-learn/openTSNE. Pinned to the version of
# Debian bookworm (see `apt-cache policy libgomp1` in the base image); when a
# bookworm point release replaces it, update the pin together with FROM.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1=12.2.0-14+deb12u1 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# The app writes derived data only to the cache volume and static/ (thumbnails).
# A numeric user, so the host and orchestrators can tell it is not root.
RUN groupadd --gid 10001 app \
 && useradd --create-home --uid 10001 --gid 10001 app \
 && mkdir -p /app/cache /app/static/thumbs /app/numba \
 && chown -R 10001:10001 /app/cache /app/static /app/numba
USER 10001:10001
# The maps' numba kernels (MDS, UMAP), compiled once into the image (outside the
# cache volume), so no container start pays about 27 s of compiling; a host
# with another CPU compiles its own once, into the same folder.
RUN python -m core compile

VOLUME ["/app/cache"]
EXPOSE 8501
# Python itself asks Streamlit's health endpoint: no curl in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4)"]
CMD ["streamlit", "run", "app.py", "--server.port=8501", "--server.address=0.0.0.0", "--server.headless=true"]
