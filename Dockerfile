# The Headcount image: one binary, every service (`headcount work`, `publish`, `migrate`, …).
# Built in the Swift toolchain image, run on slim Debian with librdkafka (and curl, for the
# health checks of docker-compose.yml: `curl -fsS http://127.0.0.1:PORT/health/ready`).
FROM swift:6.1-bookworm AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends librdkafka-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product headcount --static-swift-stdlib \
    && install -D "$(swift build -c release --show-bin-path)/headcount" /out/headcount

FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends librdkafka1 ca-certificates tzdata curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /app headcount
COPY --from=build /out/headcount /usr/local/bin/headcount
COPY Pipelines /app/Pipelines
WORKDIR /app
USER headcount
ENTRYPOINT ["headcount"]
CMD ["--help"]
