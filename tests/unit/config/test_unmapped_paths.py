"""unmapped_paths: the leaf fields of a schema that no mapped path (or record above) covers."""

from __future__ import annotations

from wardstream.serde import unmapped_paths
from wardstream.serde.schemas import parse_schema_dict

SCHEMA = parse_schema_dict(
    {
        "type": "record",
        "name": "E",
        "fields": [
            {"name": "user_id", "type": "string"},
            {"name": "campaign", "type": ["null", "string"], "default": None},
            {
                "name": "device",
                "type": {
                    "type": "record",
                    "name": "D",
                    "fields": [
                        {"name": "os", "type": "string"},
                        {"name": "ip", "type": ["null", "string"], "default": None},
                    ],
                },
            },
            {
                "name": "geo",
                "type": [
                    "null",
                    {"type": "record", "name": "G", "fields": [{"name": "lat", "type": "double"}]},
                ],
                "default": None,
            },
        ],
    },
    source="test",
)


def test_leaves_not_covered_are_reported() -> None:
    assert unmapped_paths(SCHEMA, ["user_id", "device.os", "geo"]) == ["campaign", "device.ip"]


def test_a_mapped_record_covers_its_fields() -> None:
    assert unmapped_paths(SCHEMA, ["user_id", "campaign", "device", "geo"]) == []


def test_nothing_mapped_reports_every_leaf() -> None:
    assert unmapped_paths(SCHEMA, []) == [
        "user_id",
        "campaign",
        "device.os",
        "device.ip",
        "geo.lat",
    ]
