# One image for every service; docker-compose.yml picks the service with `command:`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONWARNINGS="ignore::Warning:nameko.cli.commands,ignore::UserWarning:nameko.cli.main"

WORKDIR /app
COPY requirements.txt constraints.txt ./
RUN pip install --no-cache-dir -r requirements.txt -c constraints.txt

COPY shared ./shared
COPY services ./services
COPY scripts ./scripts

RUN useradd --system --home-dir /app app && mkdir -p /app/var && chown app /app/var
USER app

# Overridden per service in docker-compose.yml, e.g.
#   PYTHONPATH=/app:/app/services/invoice nameko run --config services/invoice/config.yaml invoice.service
CMD ["nameko", "--help"]
