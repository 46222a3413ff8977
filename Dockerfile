# The wardstream image: the package, the example pipelines and schemas; no Kafka.
#   docker build -t wardstream:0.1.0 .
#   docker run --rm -e WARDSTREAM__KAFKA__BOOTSTRAP_SERVERS=broker:9092 \
#     -v $PWD/secrets:/run/secrets:ro \
#     -e WARDSTREAM__AUDIT__HMAC_KEY_FILE=/run/secrets/hmac.key \
#     -e WARDSTREAM__LIFECYCLE__MASTER_KEY_FILE=/run/secrets/master.key wardstream:0.1.0
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas/ schemas/
COPY src/ src/
RUN pip install .

# Operator files: mount your own over these (a pipelines directory, wardstream.yaml).
COPY pipelines/ pipelines/
COPY wardstream.yaml ./

RUN useradd --system --uid 10001 --home-dir /app wardstream \
    && mkdir -p /var/lib/wardstream && chown wardstream /var/lib/wardstream
USER wardstream
ENV WARDSTREAM__WORKER__DATA_DIR=/var/lib/wardstream

EXPOSE 6066
ENTRYPOINT ["wardstream"]
CMD ["worker", "-c", "/app/wardstream.yaml"]
