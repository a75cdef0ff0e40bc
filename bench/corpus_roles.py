"""What creating a corpus costs as its owner client holds more and more corpora.

Run: .venv/bin/python bench/corpus_roles.py [--corpora 2000] [--database-url URL]
One customer, one app client; ``--corpora`` corpora created one after another through the
service the API and the console call (``gatehouse.services.corpora.create_corpus``, which makes
the client the new corpus's owner). Prints the CPU and wall time of the first few creations and
of the last few (each a median of 5), and their ratio. Corpus roles one row each
(docs/scale.md "Corpus roles") keep the ratio near 1; the JSON column re-written whole made the
2,000th creation cost ~68x the first. Runs against any checkout: PYTHONPATH=/other/src.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from gatehouse.appclients import Actor
from gatehouse.masterkey import load_master_key
from gatehouse.services import app_clients as client_service
from gatehouse.services import corpora as corpus_service
from gatehouse.services.notify import Unheard
from gatehouse.settings import Settings
from gatehouse.store.corpora import CorpusStore
from gatehouse.store.engine import create_store_engine, migrate
from gatehouse.store.store import Store

ACTOR = Actor(name="bench", source="bench")
WINDOW = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=int, default=2000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = create_store_engine(url)
        migrate(engine)
        store, corpora = Store(engine), CorpusStore(engine)
        master_key = load_master_key(Settings(data_dir=Path(tmp)))
        store.create_customer(customer_id="bench", name="Bench")
        client, _ = client_service.create_client(
            store,
            master_key,
            customer_id="bench",
            name="owner",
            keep_secret=False,
            actor=ACTOR,
            notify=Unheard(),
        )
        cpu: list[float] = []
        wall: list[float] = []
        for n in range(args.corpora):
            started_cpu, started = time.process_time(), time.perf_counter()
            corpus_service.create_corpus(
                store,
                corpora,
                customer_id="bench",
                key=f"corpus-{n:05d}",
                name=f"corpus {n}",
                description="",
                actor=ACTOR,
                owner_app_id=client.id,
                notify=Unheard(),
            )
            cpu.append(time.process_time() - started_cpu)
            wall.append(time.perf_counter() - started)
        held = len(store.get_client(app_id=client.id).corpus_roles)
        engine.dispose()
    assert held == args.corpora, f"the owner holds {held} roles"
    first_cpu, last_cpu = statistics.median(cpu[:WINDOW]), statistics.median(cpu[-WINDOW:])
    first_wall, last_wall = statistics.median(wall[:WINDOW]), statistics.median(wall[-WINDOW:])
    print(f"{'':>24} {'first':>10} {'last':>10} {'last/first':>10}")
    print(
        f"{'CPU ms per creation':>24} {first_cpu * 1e3:10.2f} {last_cpu * 1e3:10.2f} "
        f"{last_cpu / first_cpu:10.1f}"
    )
    print(
        f"{'wall ms per creation':>24} {first_wall * 1e3:10.2f} {last_wall * 1e3:10.2f} "
        f"{last_wall / first_wall:10.1f}"
    )
    print(f"{'all':>24} {sum(wall):.1f} s wall, {sum(cpu):.1f} s CPU for {args.corpora}")


if __name__ == "__main__":
    main()
