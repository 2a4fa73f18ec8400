"""A delivery handler of docs/delivery.rst, run by tests/project/test_docs_examples.py.

``push_service`` stands for the client of a push notification service; the test replaces it.
"""

from __future__ import annotations

from typing import Any

from entity_event.delivery import Batch, Failures, Skip


class PushError(Exception):
    """What the push service raises when it refuses a notification."""


push_service: Any = None


def push(batch: Batch) -> Failures:
    failures: Failures = {}
    for event, targets in batch.items:  # with --digest: for target, events in batch.items
        for target in targets:
            meta = target.entity_meta if isinstance(target.entity_meta, dict) else {}
            if not meta.get("device"):
                failures[(event, target)] = Skip("no device")  # not tried again
                continue
            try:
                # The key is the same whenever this delivery is sent again: the service can
                # drop a second copy.
                push_service.send(meta["device"], event.context["text"], key=batch.key_of(event, target))
            except PushError as error:
                failures[(event, target)] = str(error)  # tried again later
    return failures
