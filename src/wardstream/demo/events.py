"""The content of the demo's events: plausible, obviously fictional, rebuilt from a number.

``event_record(pipeline, subject_id, n, seed, ts)`` is a pure function: the
plan stores only ``n`` per event and the producer rebuilds the record, so a
plan of a million events stays small. Addresses use reserved example domains
(RFC 2606) and documentation IP ranges (RFC 5737, RFC 3849); names are
placeholders nobody carries.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

Record = dict[str, Any]

PAGES = ("/home", "/lesson/{k}", "/quiz/{k}", "/library/book-{k}", "/profile", "/search")
QUERIES = ("fractions", "volcanoes", "dinosaur facts", "times tables", "how plants grow")
LINES = (
    "Did anyone finish lesson {k} yet?",
    "Testa Placeholder says the quiz is on Friday",
    "Can we go over question {k} again?",
    "I drew a volcano for the project :)",
    "Sample Kid shared the reading list",
    "Thanks, see you in class!",
)
NAMES = ("Testa Placeholder", "Sample Kid", "Demo Pupil", "Example Learner")
CURRENCIES = ("CNY", "USD", "GBP", "EUR")
TITLES = ("Sticker pack", "Extra lives x5", "Story book: The Example Fox", "Avatar hat")


def _rng(seed: int, n: int) -> random.Random:
    return random.Random(seed * 1_000_003 + n)  # noqa: S311 - fictional data, not security


def _device(r: random.Random) -> Record:
    return {
        "device_id": f"dev-{r.getrandbits(40):010x}",
        "os": r.choice(("android", "ios", "web")),
        "app_version": f"5.{r.randint(0, 4)}.{r.randint(0, 9)}",
        "ip": r.choice((None, f"192.0.2.{r.randint(1, 254)}", f"2001:db8::{r.randint(1, 999)}")),
    }


def clickstream(r: random.Random, subject_id: str, n: int, ts: datetime) -> Record:
    action = r.choices(("VIEW", "CLICK", "SCROLL", "SEARCH"), (50, 30, 15, 5))[0]
    return {
        "event_id": f"ev-{n:08d}",
        "user_id": subject_id,
        "ts": ts,
        "session_id": f"s-{subject_id}-{n // 40}",
        "action": action,
        "page": r.choice(PAGES).format(k=r.randint(1, 40)),
        "referrer": r.choice((None, None, "https://www.example.com/start")),
        "search_query": r.choice(QUERIES) if action == "SEARCH" else None,
        "duration_ms": r.randint(200, 90_000),
        "experiment_group": r.choice(("", "A", "B")),
        "device": _device(r),
        "geo": (
            {
                "lat": r.uniform(-60, 60),
                "lon": r.uniform(-150, 150),
                "city": "Exampleville",
                "country": None,
            }
            if r.random() < 0.3
            else None
        ),
    }


def chat_message(r: random.Random, subject_id: str, n: int, ts: datetime) -> Record:
    attachments = []
    if r.random() < 0.1:
        attachments.append(
            {"url": f"https://files.example.org/a/{n}.png", "mime_type": "image/png",
             "size_bytes": r.randint(10_000, 900_000)}
        )  # fmt: skip
    return {
        "message_id": f"m-{n:08d}",
        "user_id": subject_id,
        "ts": ts,
        "conversation_id": f"class-{r.randint(1, 30)}",
        "reply_to": f"m-{n - 1:08d}" if n and r.random() < 0.3 else None,
        "recipient_ids": [],
        "text": r.choice(LINES).format(k=r.randint(1, 12)),
        "attachments": attachments,
        "language": r.choice(("zh", "en", "de", "fr", None)),
        "client": {"platform": r.choice(("android", "ios", "web")), "app_version": "5.2.0"},
    }


def location_ping(r: random.Random, subject_id: str, n: int, ts: datetime) -> Record:
    return {
        "ping_id": f"p-{n:08d}",
        "user_id": subject_id,
        "ts": ts,
        "device_id": f"dev-{r.getrandbits(40):010x}",
        "lat": r.uniform(-60, 60),
        "lon": r.uniform(-150, 150),
        "accuracy_m": r.choice((None, r.uniform(3, 80))),
        "speed_mps": r.choice((None, r.uniform(0, 3))),
        "wifi_ssid": r.choice((None, f"ExampleNet-{r.randint(1, 99)}")),
        "network": r.choice(("WIFI", "CELLULAR", None)),
        "battery_pct": r.randint(5, 100),
    }


def purchase(r: random.Random, subject_id: str, n: int, ts: datetime) -> Record:
    lines = [(r.randint(1, 3), r.choice((99, 199, 499, 999))) for _ in range(r.randint(1, 3))]
    items = [
        {"sku": f"sku-{r.randint(100, 999)}", "title": r.choice(TITLES), "quantity": quantity,
         "unit_price_minor": price}
        for quantity, price in lines
    ]  # fmt: skip
    card = r.random() < 0.6
    return {
        "order_id": f"o-{n:08d}",
        "user_id": subject_id,
        "ts": ts,
        "store_id": "store-example-1",
        "amount_minor": sum(quantity * price for quantity, price in lines),
        "currency": r.choice(CURRENCIES),
        "items": items,
        "payment_method": "CARD" if card else r.choice(("WALLET", "GIFT_CARD")),
        "card_last4": "4242" if card else None,
        "billing_email": r.choice((None, f"parent.placeholder{n % 97}@example.org")),
        "billing_postcode": r.choice((None, "ZZ99 9ZZ")),
        "coupon_code": r.choice((None, None, "DEMO10")),
    }


BUILDERS: dict[str, Callable[[random.Random, str, int, datetime], Record]] = {
    "clickstream": clickstream,
    "chat_message": chat_message,
    "location_ping": location_ping,
    "purchase": purchase,
    "live_comments": chat_message,
}
"""Pipeline name -> builder. ``live_comments`` (the demo's own pipeline) shares chat's schema."""

POISON_KINDS = {
    "clickstream": "garbage",
    "chat_message": "bad_json",
    "location_ping": "no_key",
    "purchase": "truncated",
    "live_comments": "bad_json",
}
"""How each pipeline's poison records are broken (all must end on the dead-letter topic)."""


def event_record(pipeline: str, subject_id: str, n: int, seed: int, ts: datetime) -> Record:
    """The ``n``-th event of the plan made with ``seed``, at ``ts``."""
    return BUILDERS[pipeline](_rng(seed, n), subject_id, n, ts)
