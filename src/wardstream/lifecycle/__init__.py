"""The lifecycle: what happens to a child's data after the event was routed.

The one place state records are applied (``applier``), deletions and notices
issued by one leader (``issuer``, ``sweeps`` for retention, consent expiry,
service stop), compensation of events passed before a late state record
(``compensation``), breach detection on egress topics (``breach``), the marks
of where a child's data was collected (``seen``), crypto-shredding of deleted
subjects' data keys (``shredding``) and the lifecycle topics' records
(``records``). ``wiring.attach`` plugs all of it into an ``Enforcer`` through
``wardstream.enforce.hooks``.

May import: ``enforce`` and everything it may import. Never a Kafka client, an
engine or the CLI.
"""
