"""`python -m tests.faults.execution_child ARGS` = `ivybt ARGS`, with one test-only fault from $IVYBT_FAULT.

The fault kills this process with SIGKILL at a precise point of an execution, by wrapping a broker method in this
process only (the hook lives here, in the tests; product code has none):

    before-submit:N   the N-th plan order the paper broker is asked to place: killed before the broker sees it
    after-submit:N    the N-th plan order: the paper broker placed (and filled) it, killed before the executor
                      gets the ack back (so nothing of it is in the audit log)
    partial-fill      the first status poll of the Alpaca adapter that shows a partially filled order
    slow-submit:S     no kill: wait S seconds before each plan order reaches the paper broker (a long execution)

Protective orders ("prot-..." ids) are never counted nor delayed. Without $IVYBT_FAULT this is plain `ivybt`.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Any


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _paper_hook(point: str, arg: str) -> None:
    from brokers.paper.adapter import PaperBroker

    real = PaperBroker.submit
    count = [0]

    def submit(self: PaperBroker, order: Any) -> Any:
        if order.client_order_id.startswith("prot-"):
            return real(self, order)
        count[0] += 1
        if point == "before-submit" and count[0] == int(arg):
            _die()
        if point == "slow-submit":
            time.sleep(float(arg))
        ack = real(self, order)
        if point == "after-submit" and count[0] == int(arg):
            _die()
        return ack

    PaperBroker.submit = submit  # type: ignore[method-assign]


def _alpaca_hook() -> None:
    from brokers.alpaca.adapter import AlpacaBroker

    real = AlpacaBroker.order

    def order(self: AlpacaBroker, client_order_id: str) -> Any:
        st = real(self, client_order_id)
        if st is not None and st.status == "partially_filled":
            _die()
        return st

    AlpacaBroker.order = order  # type: ignore[method-assign]


def install(fault: str) -> None:
    point, _, arg = fault.partition(":")
    if point in ("before-submit", "after-submit", "slow-submit"):
        _paper_hook(point, arg)
    elif point == "partial-fill":
        _alpaca_hook()
    elif point:
        raise SystemExit(f"IVYBT_FAULT={fault!r}: unknown fault")


if __name__ == "__main__":
    install(os.environ.get("IVYBT_FAULT", "").strip())
    from engine.cli import main

    sys.exit(main(sys.argv[1:]))
