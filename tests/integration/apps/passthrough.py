"""A minimal Faust app for the smoke test: copy every record of SOURCE to SINK.

Run as ``python -m tests.integration.apps.passthrough worker`` with BROKER,
SOURCE, SINK and APP_ID in the environment.
"""

from __future__ import annotations

import os

import faust

app = faust.App(
    os.environ["APP_ID"],
    broker=f"kafka://{os.environ['BROKER']}",
    store="memory://",
    web_enabled=False,
    topic_partitions=1,
    consumer_auto_offset_reset="earliest",
)
source = app.topic(os.environ["SOURCE"], key_serializer="raw", value_serializer="raw")
sink = app.topic(os.environ["SINK"], key_serializer="raw", value_serializer="raw")


@app.agent(source)
async def copy(stream: faust.StreamT[bytes]) -> None:
    async for event in stream.events():
        await sink.send(key=event.key, value=event.value)


if __name__ == "__main__":
    app.main()
