"""Durable encrypted turns per second through the engine and the intake store, on SQLite.

    .venv/bin/python bench/turns.py                      # 1,000 / 10,000 / 100,000 stored drafts
    .venv/bin/python bench/turns.py --sessions 1000 --turns 1000 --people 50

For each number of stored drafts: a fresh data directory, that many encrypted drafts
written straight into the table, then `--people` simulated people answer the survivor
flow concurrently. One turn is what the bot does for a message: `load_session`
(decrypt), `Engine.handle`, `commit_turn` (encrypt, save, mark the update processed, seal
the account on the last answer; returns once fsynced with synchronous=FULL).

Measured in the same run, on the same databases: the baseline with one transaction (and
fsync) per turn (`max_batch=1`), and group commit. Sizes are interleaved over `--rounds`
rounds (order alternating) and the best run of each is kept, because the machine is
shared and its load drifts. After every run each draft it touched is read back and
compared, and prefilled drafts are sampled, to show the rows are really there. The last
line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flows.deployment import demo_deployment
from flows.engine import Engine
from flows.i18n import translator
from flows.loader import load_flows
from flows.types import DONE, Inbound, Session, ShredDraft, Turn
from storage.crypto import NodeKeys, ReviewerPublicKey, generate_reviewer_key
from storage.intake import drafts
from storage.intake.store import SqlIntakeStore, open_intake_store
from storage.intake.tables import sessions

PREFERRED = ("yes", "continue", "go-on", "keep", "send", "adult", "self", DONE)
INTERVIEW_CAP = 150  # turns; a safety net should the picker ever loop
ANSWER = "They came to the house at night and took my sister. " * 3
NOW = datetime.now(UTC)


def next_inbound(turn: Turn) -> Inbound:
    """A plausible answer to the last question asked."""
    entropy = os.urandom(16)
    asks = [m for m in turn.messages if m.ask]
    if not asks or not asks[-1].choices:
        return Inbound(kind="text", text=ANSWER, entropy=entropy)
    ask = asks[-1]
    values = [c.value for c in ask.choices]
    if ask.multi:
        pending = turn.session.pending if turn.session else ()
        pick = DONE if pending else next(v for v in values if v != DONE)
    else:
        pick = next((v for v in PREFERRED if v in values), values[0])
    return Inbound(kind="choice", choice=pick, entropy=entropy)


@dataclass
class Run:
    """One measured run's shared state."""

    store: SqlIntakeStore
    engine: Engine
    node: NodeKeys
    target: int
    label: str
    turns: int = 0
    accounts: int = 0
    expected: dict[str, Session | None] = field(default_factory=dict)
    started: int = 0

    def respondent(self) -> str:
        self.started += 1
        return self.node.pseudonym("bench-" + self.label, self.started)


async def person(run: Run) -> None:
    translator_en = translator("en")
    while run.turns < run.target:
        respondent = run.respondent()
        inbound = Inbound(kind="start", entropy=os.urandom(16))
        for step in range(INTERVIEW_CAP):
            if run.turns >= run.target:
                return
            session = await run.store.load_session(respondent)
            session = session or run.engine.new_session(respondent, NOW)
            turn = run.engine.handle(session, inbound, NOW, translator_en)
            applied = await run.store.commit_turn(
                respondent, turn, update_key=f"{respondent}:{step}", channel="bench", now=NOW
            )
            assert applied
            run.turns += 1
            shredded = turn.session is None or any(isinstance(e, ShredDraft) for e in turn.effects)
            run.expected[respondent] = None if shredded else turn.session
            run.accounts += turn.account is not None
            if turn.session is None or turn.end is not None:
                break
            inbound = next_inbound(turn)


def snapshot(engine: Engine) -> Session:
    """A draft part-way through the interview (about 20 answers), as stored drafts are."""
    turn = engine.handle(
        engine.new_session("x", NOW),
        Inbound(kind="start", entropy=os.urandom(16)),
        NOW,
        translator("en"),
    )
    for _ in range(20):
        assert turn.session is not None
        turn = engine.handle(turn.session, next_inbound(turn), NOW, translator("en"))
    assert turn.session is not None
    return turn.session


def prefill(store: SqlIntakeStore, node: NodeKeys, count: int, draft: Session) -> None:
    """Write `count` encrypted drafts directly, in large transactions."""
    chunk = 5000
    for start in range(0, count, chunk):
        rows = []
        for i in range(start, min(count, start + chunk)):
            respondent = node.pseudonym("prefill", i)
            key, wrapped = drafts.new_draft_key(node.master_key, respondent)
            blob = drafts.encrypt_session(key, draft.evolve(respondent=respondent))
            rows.append(
                {
                    "respondent": respondent,
                    "wrapped_key": wrapped,
                    "blob": blob,
                    "updated_at": NOW,
                    "expires_at": NOW.replace(year=NOW.year + 1),
                }
            )
        with store.engine.begin() as conn:
            conn.execute(insert(sessions), rows)


async def verify(run: Run, draft: Session, prefilled: int) -> int:
    """Read back every draft this run touched and a sample of prefilled ones; how many."""
    checked = 0
    for respondent, expected in run.expected.items():
        assert await run.store.load_session(respondent) == expected, "a saved turn is missing"
        checked += 1
    for i in random.sample(range(prefilled), min(200, prefilled)):
        respondent = run.node.pseudonym("prefill", i)
        assert await run.store.load_session(respondent) == draft.evolve(respondent=respondent)
        checked += 1
    return checked


async def measure(run: Run, people: int) -> float:
    started = time.perf_counter()
    await asyncio.gather(*(person(run) for _ in range(people)))
    return run.turns / (time.perf_counter() - started)


@dataclass
class Size:
    """One prefilled data directory."""

    stored: int
    data_dir: Path
    node: NodeKeys
    draft: Session
    samples: dict[str, list[float]] = field(default_factory=lambda: {"single": [], "group": []})
    writes_per_commit: dict[str, float] = field(default_factory=dict)
    reread: int = 0


async def prepare(stored: int, engine: Engine, reviewers: list[ReviewerPublicKey]) -> Size:
    size = Size(
        stored,
        Path(tempfile.mkdtemp(prefix="attest-bench-")),
        NodeKeys.generate(),
        snapshot(engine),
    )
    store = await open_intake_store(None, size.node, reviewers, data_dir=size.data_dir)
    began = time.perf_counter()
    await asyncio.to_thread(prefill, store, size.node, stored, size.draft)
    await store.close()
    print(f"{stored:,} stored drafts written in {time.perf_counter() - began:.1f} s")
    return size


async def run_once(
    size: Size,
    mode: str,
    round_no: int,
    args: argparse.Namespace,
    engine: Engine,
    reviewers: list[ReviewerPublicKey],
) -> dict[str, str]:
    """One measured run on `size`'s database; returns the PRAGMAs in force."""
    store = await open_intake_store(
        None, size.node, reviewers, data_dir=size.data_dir, max_batch=1 if mode == "single" else 256
    )
    try:
        pragmas = store.pragmas()
        run = Run(store, engine, size.node, args.turns, f"{mode}-{round_no}")
        rate = await measure(run, args.people)
        batches, jobs = store.commit_stats
        size.reread += await verify(run, size.draft, size.stored)
    finally:
        await store.close()
    size.samples[mode].append(rate)
    size.writes_per_commit[mode] = round(jobs / max(batches, 1), 1)
    print(
        f"  round {round_no}  {size.stored:>7,} stored  {mode:6} {rate:6.0f} turns/s  "
        f"({run.turns} turns, {run.accounts} accounts sealed, "
        f"{jobs / max(batches, 1):.1f} writes per commit)"
    )
    return pragmas


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    engine = Engine(load_flows()["survivor"], demo_deployment())
    reviewers = [generate_reviewer_key("hybrid").public]
    stored_counts = [int(s) for s in args.sessions.split(",")]
    print(
        f"engine: flows.engine.Engine, survivor flow; {args.people} people at once, "
        f"{args.turns} turns per run, {args.rounds} rounds (sizes interleaved, best kept)"
    )
    sizes = [await prepare(n, engine, reviewers) for n in stored_counts]
    pragmas: dict[str, str] = {}
    try:
        for round_no in range(1, args.rounds + 1):
            # Alternate the order, so drift in the machine's load does not favour one size.
            order = sizes if round_no % 2 else list(reversed(sizes))
            for size in order:
                for mode in ("single", "group"):
                    pragmas = await run_once(size, mode, round_no, args, engine, reviewers)
        print("PRAGMAs in force:", ", ".join(f"{k}={v}" for k, v in pragmas.items()))
        results = []
        for size in sizes:
            counts = await asyncio.to_thread(_count_rows, size.data_dir)
            best = {mode: max(rates) for mode, rates in size.samples.items()}
            results.append(
                {
                    "stored": size.stored,
                    "single_turns_per_s": round(best["single"], 1),
                    "group_turns_per_s": round(best["group"], 1),
                    "group_vs_single": round(best["group"] / best["single"], 2),
                    "samples": {m: [round(r) for r in rates] for m, rates in size.samples.items()},
                    "writes_per_commit": size.writes_per_commit,
                    "reread": size.reread,
                    "rows": counts[0],
                    "outbox": counts[1],
                }
            )
            print(
                f"{size.stored:>7,} stored: group {best['group']:.0f} turns/s, one transaction per "
                f"turn {best['single']:.0f} turns/s ({best['group'] / best['single']:.2f}x); "
                f"{counts[0]:,} drafts and {counts[1]} sealed accounts in the database; "
                f"{size.reread} drafts re-read and compared"
            )
    finally:
        for size in sizes:
            shutil.rmtree(size.data_dir, ignore_errors=True)
    summary: dict[str, object] = {
        "bench": "turns",
        "engine": "flows.engine.Engine/survivor",
        "people": args.people,
        "turns_per_run": args.turns,
        "rounds": args.rounds,
        "pragmas": pragmas,
        "results": results,
    }
    if len(results) > 1:
        first, last = results[0], results[-1]
        ratio = float(last["group_turns_per_s"]) / float(first["group_turns_per_s"])  # type: ignore[arg-type]
        summary[f"group_{last['stored']}_vs_{first['stored']}"] = round(ratio, 3)
        summary["within_20_percent"] = ratio >= 0.8
        print(
            f"group commit at {last['stored']:,} vs {first['stored']:,} stored drafts: {ratio:.2f}"
        )
    return summary


def _count_rows(data_dir: Path) -> tuple[int, int]:
    with sqlite3.connect(data_dir / "intake.db") as conn:
        drafts_count = conn.execute("SELECT count(*) FROM sessions").fetchone()[0]
        accounts = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    return int(drafts_count), int(accounts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1000,10000,100000")
    parser.add_argument("--turns", type=int, default=6000, help="turns per measured run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per size and mode")
    parser.add_argument("--people", type=int, default=100, help="people answering at once")
    summary = asyncio.run(main_async(parser.parse_args()))
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
