"""The GIL is released while a call waits: other threads run, and many threads share one client."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor


def test_other_threads_run_during_a_slow_call(client):
    progress = 0
    done = threading.Event()

    def count() -> None:
        nonlocal progress
        while not done.is_set():
            progress += 1  # pure Python: needs the GIL
            time.sleep(0)

    counter = threading.Thread(target=count)
    counter.start()
    try:
        started = progress
        client.invoke_endpoint(EndpointName="slow", Body=b"x")  # the server holds it for 1 s
        during = progress - started
    finally:
        done.set()
        counter.join()
    assert during > 1000, f"the counting thread advanced only {during} times during a 1 s call"


def test_slow_calls_overlap_across_threads(client):
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(lambda i: client.invoke_endpoint(EndpointName="slow", Body=b"%d" % i), range(4))
        )
    elapsed = time.monotonic() - started
    assert [r["Body"].read() for r in results] == [b"0", b"1", b"2", b"3"]
    assert elapsed < 3.5, f"4 one-second calls on 4 threads took {elapsed:.1f} s: they were serialized"


def test_eight_threads_share_one_client(client):
    def worker(thread: int) -> list[bytes]:
        bodies = []
        for call in range(50):
            payload = f"thread {thread} call {call}".encode()
            response = client.invoke_endpoint(
                EndpointName="echo", Body=payload, CustomAttributes=f"t={thread}"
            )
            assert response["CustomAttributes"] == f"t={thread}"
            bodies.append(response["Body"].read())
        return bodies

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(worker, range(8)))
    for thread, bodies in enumerate(results):
        assert bodies == [f"thread {thread} call {call}".encode() for call in range(50)]
