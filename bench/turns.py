"""Durable encrypted turns per second through the engine and the intake store, on SQLite.

    .venv/bin/python bench/turns.py                      # 1,000 / 10,000 / 100,000 stored drafts
    .venv/bin/python bench/turns.py --sessions 1000 --turns 1000 --people 50

For each number of stored drafts: a fresh data directory, that many encrypted drafts
written straight into the table, then `--people` simulated people answer the survivor
flow concurrently. One turn is what the bot does for a message: `load_session`
(decrypt), `Engine.handle`, `commit_turn` (encrypt, save, mark the update processed, seal
the account on the last answer; returns once fsynced with synchronous=FULL).

Measured twice in the same run, on the same database: the baseline with one transaction
(and fsync) per turn (`max_batch=1`), then with group commit. At the end every draft the
run touched is read back and compared, and prefilled drafts are sampled, to show the
rows are really there. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flows.deployment import demo_deployment
from flows.engine import Engine
from flows.i18n import translator
from flows.loader import load_flows
from flows.types import DONE, Inbound, Session, ShredDraft, Turn
from storage import drafts
from storage.crypto import NodeKeys, generate_reviewer_key
from storage.intake import SqlIntakeStore, open_intake_store
from storage.tables import outbox, sessions

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


async def bench_size(stored: int, args: argparse.Namespace, engine: Engine) -> dict[str, object]:
    data_dir = Path(tempfile.mkdtemp(prefix="attest-bench-"))
    node = NodeKeys.generate()
    reviewers = [generate_reviewer_key("hybrid").public]
    result: dict[str, object] = {"stored": stored}
    try:
        store = await open_intake_store(None, node, reviewers, data_dir=data_dir, max_batch=1)
        draft = snapshot(engine)
        began = time.perf_counter()
        await asyncio.to_thread(prefill, store, node, stored, draft)
        print(f"\n{stored:,} stored drafts written in {time.perf_counter() - began:.1f} s")
        pragmas = store.pragmas()
        print("PRAGMAs in force:", ", ".join(f"{k}={v}" for k, v in pragmas.items()))
        result["pragmas"] = pragmas
        for label, max_batch in (("single", 1), ("group", None)):
            if max_batch is None:
                await store.close()
                store = await open_intake_store(None, node, reviewers, data_dir=data_dir)
            run = Run(store, engine, node, args.turns, label)
            rate = await measure(run, args.people)
            batches, jobs = store.commit_stats
            checked = await verify(run, draft, stored)
            print(
                f"  {label:6} {rate:8.0f} turns/s  ({run.turns} turns, {run.accounts} accounts "
                f"sealed, {jobs / max(batches, 1):.1f} writes per commit, {checked} drafts re-read)"
            )
            result[f"{label}_turns_per_s"] = round(rate, 1)
            result[f"{label}_writes_per_commit"] = round(jobs / max(batches, 1), 2)
            result[f"{label}_reread"] = checked
        with store.engine.connect() as conn:
            result["rows"] = conn.execute(select(func.count()).select_from(sessions)).scalar_one()
            result["outbox"] = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
        await store.close()
        result["group_vs_single"] = round(
            float(result["group_turns_per_s"]) / float(result["single_turns_per_s"]),
            2,  # type: ignore[arg-type]
        )
        print(f"  group commit / one transaction per turn: {result['group_vs_single']}x")
        print(
            f"  rows in sessions: {result['rows']:,}, sealed accounts in outbox: {result['outbox']}"
        )
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return result


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    engine = Engine(load_flows()["survivor"], demo_deployment())
    sizes = [int(s) for s in args.sessions.split(",")]
    print(
        f"engine: flows.engine.Engine, survivor flow; {args.people} people, {args.turns} turns each run"
    )
    results = [await bench_size(n, args, engine) for n in sizes]
    summary: dict[str, object] = {
        "bench": "turns",
        "engine": "flows.engine.Engine/survivor",
        "people": args.people,
        "turns": args.turns,
        "results": results,
    }
    if len(results) > 1:
        first, last = results[0], results[-1]
        ratio = float(last["group_turns_per_s"]) / float(first["group_turns_per_s"])  # type: ignore[arg-type]
        summary[f"group_{last['stored']}_vs_{first['stored']}"] = round(ratio, 3)
        summary["within_20_percent"] = ratio >= 0.8
        print(
            f"\ngroup commit at {last['stored']:,} vs {first['stored']:,} stored drafts: {ratio:.2f}"
        )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="1000,10000,100000")
    parser.add_argument("--turns", type=int, default=6000, help="turns per measured run")
    parser.add_argument("--people", type=int, default=100, help="people answering at once")
    summary = asyncio.run(main_async(parser.parse_args()))
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
