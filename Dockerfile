# Production image of the patent-product filing platform (专利产品备案与专利密集型产品认定平台).
# One image runs the web server (gunicorn), the Celery worker and the Celery beat; see docs/DEPLOY.md.
# Everything the pages need (bootstrap, htmx, echarts, CJK fonts) is inside the image: the platform
# runs on a closed network and fetches nothing at run time.

# --- 1. npm: install the pinned front-end packages -------------------------------------------
FROM node:20-bookworm-slim AS node
WORKDIR /build
COPY package.json package-lock.json ./
# --omit=dev: the OpenID provider of the tests (oidc-provider) is not needed in the image
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

# --- 2. assets: copy the files the platform serves into static/vendor/ ------------------------
# The node image has no Python, so scripts/copy_assets.py runs in a Python image of its own.
FROM python:3.11-slim-bookworm AS assets
WORKDIR /build
COPY --from=node /build/node_modules ./node_modules
COPY scripts/copy_assets.py ./scripts/copy_assets.py
RUN python scripts/copy_assets.py

# --- 3. runtime --------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=patent_platform.settings.production \
    MEDIA_ROOT=/data/media \
    WEB_CONCURRENCY=3

# WeasyPrint's system libraries, and a CJK font so that PDFs print Chinese instead of empty boxes.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 \
        fontconfig fonts-noto-cjk \
    && fc-cache -f \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 1000 app \
    && useradd --system --uid 1000 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first (cached until pyproject.toml or constraints.txt change): the direct pins of
# pyproject.toml, with every transitive package held to constraints.txt.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
COPY --from=assets /build/static/vendor ./static/vendor
RUN pip install --no-deps -c constraints.txt -e .

# collectstatic needs the production settings to load; these throw-away values exist only for this
# step and are not kept in the image.
RUN SECRET_KEY=collectstatic-build-only \
    SM2_SIGNING_KEY=1111111111111111111111111111111111111111111111111111111111111111 \
    AUDIT_CHAIN_KEY=collectstatic-build-only-not-a-key-0123456789 \
    FIELD_ENCRYPTION_KEYS=build:AAAAAAAAAAAAAAAAAAAAAA== FIELD_BLIND_INDEX_KEY=AAAAAAAAAAAAAAAAAAAAAA== \
    ALLOWED_HOSTS=localhost \
    DATABASE_URL=sqlite:////tmp/collectstatic.sqlite3 \
    python manage.py collectstatic --noinput \
    && rm -f /tmp/collectstatic.sqlite3

# Uploaded files without an object store (MEDIA_ROOT, one machine only); docker-compose.yml sets
# OBJECT_STORE_* instead and mounts nothing here (docs/DEPLOY.md). The code itself stays read-only to the app.
RUN mkdir -p /data/media && chown app:app /data/media && chmod 0750 /data/media

USER app
EXPOSE 8000

# A static file is answered by WhiteNoise without touching the database or the Host check;
# X-Forwarded-Proto keeps SECURE_SSL_REDIRECT from redirecting the probe.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen(u.Request('http://127.0.0.1:8000/static/admin/css/base.css', headers={'X-Forwarded-Proto': 'https'}), timeout=4)"]

# Workers: WEB_CONCURRENCY (gunicorn reads it; default 3 — about 2 × CPU cores + 1 is usual).
CMD ["gunicorn", "patent_platform.wsgi:application", \
     "--bind", "0.0.0.0:8000", \
     "--timeout", "60", \
     "--max-requests", "1000", "--max-requests-jitter", "100", \
     "--access-logfile", "-"]
