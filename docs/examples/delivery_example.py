"""A delivery handler of docs/delivery.rst, run by tests/project/test_docs_examples.py.

``push_service`` stands for the client of a push notification service; the test replaces it.
"""

from __future__ import annotations

from typing import Any

from entity_event.delivery import Batch, Failures


class PushError(Exception):
    """What the push service raises when it refuses a notification."""


push_service: Any = None


def push(batch: Batch) -> Failures:
    failures = {}
    for event, targets in batch.items:  # with --digest: for target, events in batch.items
        for target in targets:
            try:
                push_service.send(target.entity_meta["device"], event.context["text"])
            except PushError as error:
                failures[(event, target)] = str(error)
    return failures
