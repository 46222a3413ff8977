"""The KRaft format arguments keep a cluster id that starts with "-" (1 in 64 random ids)."""

from __future__ import annotations

import argparse
import base64

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from wardstream.local.kafka import format_args

BASE64URL = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
CLUSTER_IDS = st.binary(min_size=16, max_size=16).map(
    lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")
)


def storage_tool() -> argparse.ArgumentParser:
    """The options of ``kafka-storage format`` (Kafka 3.9), parsed the way argparse4j does."""
    parser = argparse.ArgumentParser(prog="kafka-storage", exit_on_error=False)
    commands = parser.add_subparsers(dest="command", required=True)
    fmt = commands.add_parser("format", exit_on_error=False)
    fmt.add_argument("--cluster-id", "-t", required=True)
    fmt.add_argument("--config", "-c", required=True)
    fmt.add_argument("--ignore-formatted", "-g", action="store_true")
    fmt.add_argument("--add-scram", "-S", action="append")
    return parser


def test_the_id_shares_its_argument_with_the_option() -> None:
    args = format_args("-Xk3", "node-1/server.properties")
    assert "--cluster-id=-Xk3" in args
    assert "-Xk3" not in args


def test_the_old_form_was_misparsed() -> None:
    with pytest.raises(argparse.ArgumentError, match="expected one argument"):
        storage_tool().parse_args(["format", "-t", "-Xk3", "-c", "server.properties"])


@given(first=BASE64URL, rest=CLUSTER_IDS)
@example(first="-", rest="-" * 22)
def test_every_random_id_reaches_the_tool_intact(first: str, rest: str) -> None:
    cluster_id = first + rest[1:]
    extra = ["--add-scram", "SCRAM-SHA-512=[name=ward,password=pw]"]
    parsed = storage_tool().parse_args(format_args(cluster_id, "server.properties", extra))
    assert parsed.cluster_id == cluster_id
    assert parsed.config == "server.properties" and parsed.ignore_formatted
    assert parsed.add_scram == extra[1:]
