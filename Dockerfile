# The wardstream image: the package (with its native core), the example pipelines and
# schemas; no Kafka, no Rust.
#   docker build -t wardstream:0.1.0 .
#   docker run --rm -e WARDSTREAM__KAFKA__BOOTSTRAP_SERVERS=broker:9092 \
#     -v $PWD/secrets:/run/secrets:ro \
#     -e WARDSTREAM__AUDIT__HMAC_KEY_FILE=/run/secrets/hmac.key \
#     -e WARDSTREAM__LIFECYCLE__MASTER_KEY_FILE=/run/secrets/master.key wardstream:0.1.0

# Build stage: Rust and maturin turn the repository into a wheel (wardstream._native
# inside). Same Debian as the runtime stage, so the wheel's glibc matches.
FROM rust:1-slim-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/build
WORKDIR /build
COPY pyproject.toml README.md ./
COPY native/ native/
COPY schemas/ schemas/
COPY src/ src/
RUN /opt/build/bin/pip install --no-cache-dir --disable-pip-version-check --upgrade pip \
    && /opt/build/bin/pip wheel --no-cache-dir --disable-pip-version-check --no-deps \
       -w /wheels .

# Runtime stage: Python only; the wheel from the build stage and its dependencies.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY --from=build /wheels/ /tmp/wheels/
RUN pip install /tmp/wheels/wardstream-*.whl && rm -rf /tmp/wheels \
    && python -c "import wardstream._native"

# Operator files: mount your own over these (a pipelines directory, wardstream.yaml).
COPY schemas/ schemas/
COPY pipelines/ pipelines/
COPY wardstream.yaml ./

RUN useradd --system --uid 10001 --home-dir /app wardstream \
    && mkdir -p /var/lib/wardstream && chown wardstream /var/lib/wardstream
USER wardstream
ENV WARDSTREAM__WORKER__DATA_DIR=/var/lib/wardstream

EXPOSE 6066
ENTRYPOINT ["wardstream"]
CMD ["worker", "-c", "/app/wardstream.yaml"]
