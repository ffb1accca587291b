"""The baton that stands for Node.js's one JavaScript thread (services/common/evented.py): first come, first
served; given up around a wait and taken again at the back of the queue; a no-op where it is not held."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from services.common.evented import Baton


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.005)


def test_waiters_get_the_baton_in_the_order_they_asked_for_it() -> None:
    baton, order = Baton(), []

    def request(name: str) -> None:
        with baton.held():
            order.append(name)

    baton.take()
    threads = []
    for name in "abcde":
        thread = threading.Thread(target=request, args=(name,))
        thread.start()
        threads.append(thread)
        wait_for(lambda: baton.queued == len(threads))  # each one queued before the next asks
    assert order == []  # nobody ran while the baton was held
    baton.give()
    for thread in threads:
        thread.join(5)
    assert order == list("abcde")
    assert not baton.held_here() and baton.queued == 0


def test_a_waiting_holder_lets_the_queue_run_and_queues_again_at_the_back() -> None:
    baton, order = Baton(), []
    release_io = threading.Event()

    def request_with_io() -> None:
        with baton.held():
            order.append("io: before")
            with baton.waiting():  # the socket wait: others run meanwhile
                release_io.wait(5)
            order.append("io: after")

    def short_request(name: str) -> None:
        with baton.held():
            order.append(name)

    first = threading.Thread(target=request_with_io)
    first.start()
    wait_for(lambda: order == ["io: before"])
    second = threading.Thread(target=short_request, args=("page",))
    second.start()
    second.join(5)
    assert order == ["io: before", "page"]  # the page did not wait for the I/O

    baton.take()  # someone else holds it when the I/O ends: the request waits its turn
    release_io.set()
    wait_for(lambda: baton.queued == 1)
    assert order == ["io: before", "page"]
    baton.give()
    first.join(5)
    assert order == ["io: before", "page", "io: after"]


def test_waiting_without_the_baton_changes_nothing() -> None:
    baton = Baton()
    with baton.waiting():
        assert not baton.held_here()
    with baton.held():
        assert baton.held_here()
        with baton.waiting():
            assert not baton.held_here()
            with baton.waiting():  # nested: already given up
                assert not baton.held_here()
        assert baton.held_here()
    assert not baton.held_here()
