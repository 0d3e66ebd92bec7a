# Fashion catalogue explorer: the Streamlit app on a CPU.
#   docker build -t fashion-explorer .
#   docker run -p 8501:8501 -v fashion-cache:/app/cache \
#       -v /path/to/fashion-small:/data:ro -e FASHION_DATA_DIR=/data fashion-explorer
# Without FASHION_DATA_DIR the app runs on its generated demo set.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    FASHION_CACHE_DIR=/app/cache \
    MPLCONFIGDIR=/tmp/matplotlib

# libgomp1: OpenMP runtime for scikit-learn/openTSNE; curl: the health check.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# The app writes derived data only to the cache volume and static/ (thumbnails).
RUN useradd --create-home --uid 10001 app \
 && mkdir -p /app/cache /app/static/thumbs \
 && chown -R app:app /app/cache /app/static
USER app

VOLUME ["/app/cache"]
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD curl -fsS http://localhost:8501/_stcore/health || exit 1
CMD ["streamlit", "run", "app.py", "--server.port=8501", "--server.address=0.0.0.0", "--server.headless=true"]
