"""Reconstructing one chain from the records seen, and naming what breaks it.

``resolve`` works on a window of one chain's entries (in topic order) and
decides the chain's main line: from the start (the anchor, the genesis record
or the lowest seq), follow ``prev_hash`` links, preferring at a fork the branch
that continues longest; across a hole, jump to the next unlinked record that
comes later in the topic. Then every entry off the main line, every hole, every
broken link and every main-line entry out of topic order becomes a finding
that names one exact record. ``verify.ChainVerifier`` drives it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from wardstream.audit.chain import GENESIS_HASH


class Position(NamedTuple):
    """Where a record sits in the audit topic."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


class BreakKind(StrEnum):
    ALTERED = "ALTERED"  # contents no longer match the hash the chain recorded
    MISSING = "MISSING"  # one or more seqs absent before this record
    INSERTED = "INSERTED"  # a record that is not part of the chain (forged or replayed)
    REORDERED = "REORDERED"  # a chain record out of topic order
    FORKED = "FORKED"  # a second branch of several records continuing the chain


@dataclass(slots=True, eq=False)
class Entry:
    """What the verifier keeps of one record: identity, links and place in the topic."""

    idx: int  # arrival order across the whole topic
    pos: Position
    seq: int
    hash: str
    prev: str
    valid: bool  # the recomputed hash equals the stored one
    on_main: bool = False


@dataclass(frozen=True, slots=True)
class Finding:
    kind: BreakKind
    entry: Entry
    message: str
    related: Entry | None = None


@dataclass(slots=True)
class Resolution:
    main: list[Entry]
    findings: list[Finding] = field(default_factory=list)
    trusted_start: Entry | None = None


@dataclass(slots=True)
class _Graph:
    live: list[Entry]
    parent: dict[Entry, Entry] = field(default_factory=dict)
    children: dict[Entry, list[Entry]] = field(default_factory=dict)
    genesis: list[Entry] = field(default_factory=list)
    depth: dict[Entry, int] = field(default_factory=dict)


def resolve(
    window: list[Entry],
    anchor: Entry | None,
    require_genesis: bool,
    altered_elsewhere: Mapping[str, Entry],
) -> Resolution:
    """Main line and findings for ``window`` (one chain, topic order).

    ``anchor`` is the first main-line entry kept from an earlier resolution
    when older entries were let go; None when the window holds the chain
    from its first record seen.
    """
    findings: list[Finding] = []
    graph = _link(_drop_replays(window, findings))
    main, eff = _main_line(graph, anchor)
    for entry in window:
        entry.on_main = False
    for entry in main:
        entry.on_main = True
    findings += _branches(graph)
    trusted = None
    if anchor is None:
        trusted, start_findings = _check_start(main[0], graph, require_genesis, altered_elsewhere)
        findings += start_findings
    findings += _holes_and_links(main, graph, eff, altered_elsewhere)
    findings += _order(main)
    changed = "its contents do not match its hash: it was changed after it was written"
    findings += [Finding(BreakKind.ALTERED, e, changed) for e in graph.live if not e.valid]
    return Resolution(main, findings, trusted)


def _drop_replays(window: list[Entry], findings: list[Finding]) -> list[Entry]:
    """Exact copies of a record: keep the copy that follows its predecessor, flag the rest."""
    first: dict[str, Entry] = {}
    copies: dict[str, list[Entry]] = {}
    for e in window:
        first.setdefault(e.hash, e)
        if e.valid:
            copies.setdefault(e.hash, []).append(e)
    dropped: set[int] = set()
    for group in copies.values():
        if len(group) < 2:
            continue
        pred = first.get(group[0].prev)
        keep = next((c for c in group if pred is None or c.idx > pred.idx), group[0])
        for copy in group:
            if copy is not keep:
                dropped.add(copy.idx)
                msg = f"an exact copy of seq {keep.seq} at {keep.pos}: replayed or written twice"
                findings.append(Finding(BreakKind.INSERTED, copy, msg, keep))
    return [e for e in window if e.idx not in dropped]


def _link(live: list[Entry]) -> _Graph:
    graph = _Graph(live)
    by_hash: dict[str, Entry] = {}
    for e in live:
        known = by_hash.get(e.hash)
        if known is None or (e.valid and not known.valid):
            by_hash[e.hash] = e
    for e in live:
        if e.prev == GENESIS_HASH and (e.seq == 0 or not e.valid):
            graph.genesis.append(e)
            continue
        p = by_hash.get(e.prev)
        if p is not None and p is not e and (p.seq + 1 == e.seq or not (p.valid and e.valid)):
            graph.parent[e] = p
            graph.children.setdefault(p, []).append(e)
    _depths(graph)
    return graph


def _depths(graph: _Graph) -> None:
    """Longest path below each entry (iterative; tolerant of forged cycles)."""
    depth = graph.depth
    for root in graph.live:
        stack = [(root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                kids = graph.children.get(node, ())
                depth[node] = 1 + max((depth.get(k, 0) for k in kids), default=0)
            elif node not in depth:
                depth[node] = 0  # in progress: a cycle back here counts as a leaf
                stack.append((node, True))
                stack.extend((k, False) for k in graph.children.get(node, ()) if k not in depth)


def _best(graph: _Graph, options: list[Entry]) -> Entry:
    return min(options, key=lambda e: (-graph.depth[e], e.idx))


def _main_line(graph: _Graph, anchor: Entry | None) -> tuple[list[Entry], dict[Entry, int]]:
    roots = [e for e in graph.live if e not in graph.parent and e not in graph.genesis]
    if anchor is not None and anchor in graph.depth:
        start = anchor
    elif graph.genesis:
        start = _best(graph, graph.genesis)
    else:
        start = min(roots or graph.live, key=lambda e: (not e.valid, e.seq, -graph.depth[e], e.idx))
    main, eff, cur = [start], {start: start.seq}, start
    while True:
        kids = [k for k in graph.children.get(cur, ()) if k not in eff]
        if kids:
            nxt = _best(graph, kids)
            eff[nxt] = eff[cur] + 1
        else:
            jumps = [r for r in roots if r not in eff and _can_jump(cur, r, eff[cur])]
            if not jumps:
                return main, eff
            nxt = min(jumps, key=lambda e: (e.seq, -graph.depth[e], e.idx))
            eff[nxt] = nxt.seq
        main.append(nxt)
        cur = nxt


def _can_jump(cur: Entry, root: Entry, cur_seq: int) -> bool:
    """A hole is crossed only forwards in the topic, and to a trusted seq."""
    if root.idx < cur.idx:
        return False
    return root.seq > cur_seq if root.valid else root.seq == cur_seq + 1


def _branches(graph: _Graph) -> list[Finding]:
    """Records off the main line, grouped by where their branch starts."""
    groups: dict[Entry, list[Entry]] = {}
    for e in graph.live:
        if e.on_main or not e.valid:
            continue
        root, seen = e, {e}
        while (p := graph.parent.get(root)) is not None and not p.on_main and p not in seen:
            root = p
            seen.add(p)
        groups.setdefault(root, []).append(e)
    return [_branch_finding(graph, root, members) for root, members in groups.items()]


def _branch_finding(graph: _Graph, root: Entry, members: list[Entry]) -> Finding:
    base = graph.parent.get(root)
    if base is None and root not in graph.genesis:
        extra = f" (with {len(members) - 1} more linked to it)" if len(members) > 1 else ""
        msg = f"claims seq {root.seq} but links to no record of the chain near it{extra}"
        return Finding(BreakKind.INSERTED, root, msg)
    after = f"seq {base.seq} at {base.pos}" if base else "the genesis"
    if len(members) == 1:
        msg = f"a second record for seq {root.seq}, continuing {after}, that nothing continues"
        return Finding(BreakKind.INSERTED, root, msg, base)
    last = max(members, key=lambda m: m.idx)
    msg = (
        f"the chain forks here: {len(members)} records (seq {root.seq} to "
        f"{max(m.seq for m in members)}, last at {last.pos}) continue {after} "
        "beside the main line; two writers wrote this chain"
    )
    return Finding(BreakKind.FORKED, root, msg, base)


def _check_start(
    first: Entry, graph: _Graph, require_genesis: bool, altered: Mapping[str, Entry]
) -> tuple[Entry | None, list[Finding]]:
    """Trusted start, or what is wrong with a chain that should start at genesis."""
    if first in graph.genesis or not first.valid:
        return None, []  # an altered record's seq and links cannot be trusted
    if not require_genesis:
        return first, []
    if first.seq == 1 and first.prev in altered:
        return None, []  # seq 0 was altered (its chain field too): named there
    if first.seq > 0:
        span = "seq 0 is" if first.seq == 1 else f"seq 0 to {first.seq - 1} are"
        msg = f"the chain starts at seq {first.seq}: {span} missing"
        return None, [Finding(BreakKind.MISSING, first, msg)]
    msg = "claims to start the chain but does not link to the genesis value"
    return None, [Finding(BreakKind.ALTERED, first, msg)]


def _holes_and_links(
    main: list[Entry], graph: _Graph, eff: dict[Entry, int], altered: Mapping[str, Entry]
) -> list[Finding]:
    out: list[Finding] = []
    broken: list[tuple[Entry, Entry]] = []
    for a, b in zip(main, main[1:], strict=False):
        if graph.parent.get(b) is a:
            continue
        gap = eff[b] - eff[a] - 1
        if gap == 1 and b.prev in altered:
            continue  # the record between was altered (its chain field too): named there
        if gap > 0:
            span = f"seq {eff[a] + 1}" if gap == 1 else f"seq {eff[a] + 1} to {eff[b] - 1}"
            msg = f"{span} missing between seq {eff[a]} at {a.pos} and this record"
            out.append(Finding(BreakKind.MISSING, b, msg, a))
        elif a.valid and b.valid:
            broken.append((a, b))
    return out + _rehashed(broken)


def _rehashed(broken: list[tuple[Entry, Entry]]) -> list[Finding]:
    """A record rewritten with a recomputed hash breaks the link to its successor;
    rewriting its prev_hash as well breaks the link to its predecessor too."""
    out: list[Finding] = []
    heads = {b: a for a, b in broken}
    for a, b in broken:
        if a in heads:
            continue  # a is the middle of two broken links: named below
        middle = any(x is b for x, _ in broken)
        named, other = (b, a) if middle else (a, b)
        where = "both neighbours" if middle else f"seq {other.seq} at {other.pos}"
        msg = f"rewritten with a recomputed hash: {where} recorded a different hash for it"
        out.append(Finding(BreakKind.ALTERED, named, msg, other))
    return out


def _order(main: list[Entry]) -> list[Finding]:
    """Main-line records outside the longest run that is in topic order."""
    keep = _increasing(main)
    out: list[Finding] = []
    for i, e in enumerate(main):
        if i in keep:
            continue
        if i + 1 < len(main) and main[i + 1].idx < e.idx:
            other, how = main[i + 1], "after"
        elif i > 0 and main[i - 1].idx > e.idx:
            other, how = main[i - 1], "before"
        else:
            msg = f"seq {e.seq} is out of topic order relative to the rest of its chain"
            out.append(Finding(BreakKind.REORDERED, e, msg))
            continue
        msg = f"seq {e.seq} appears {how} seq {other.seq} at {other.pos}: moved in the topic"
        out.append(Finding(BreakKind.REORDERED, e, msg, other))
    return out


def _increasing(main: list[Entry]) -> set[int]:
    """Positions in ``main`` of a longest subsequence of increasing topic order."""
    tails: list[int] = []  # idx values
    tail_at: list[int] = []  # position in main of each tail
    back: list[int] = [-1] * len(main)
    for i, e in enumerate(main):
        j = bisect_left(tails, e.idx)
        back[i] = tail_at[j - 1] if j else -1
        if j == len(tails):
            tails.append(e.idx)
            tail_at.append(i)
        else:
            tails[j], tail_at[j] = e.idx, i
    keep: set[int] = set()
    i = tail_at[-1] if tail_at else -1
    while i >= 0:
        keep.add(i)
        i = back[i]
    return keep
