"""Benchmark of the peer: django-notifications-hq 1.8.3 (one row per recipient) as its table grows.

The counterpart of ``notification_center.py``, for the claim that django-notifications-hq answers
an unread count in 1-2 ms at 1,000,000 rows. It is self-contained and runs in its own virtualenv
(it imports nothing from this repository): it configures Django itself (auth, contenttypes,
notifications), creates a throwaway database with Django's test database machinery (``test_`` +
the name in ``DATABASE_URL``, ``nhq_bench`` by default: ``test_nhq_bench``) and drops it at the
end. It creates 10,000 users, then notifications, for each size of ``--rows`` in turn on the same
database: the first size, then older history added to reach the next. The newest rows
(``--newest``, 2,000) are the same in every size; ids follow time.

The notifications are written with ``bulk_create`` (explicit ids: the history added for a bigger
size is older, so it takes the ids under the rows already there), not with ``notify.send``,
which saves one row at a time; the rows-written line goes through ``notify.send``. The 20 sample
users (``--sample``) receive ``--sample-share`` of the rows (so that they have 14 to 55 unread,
like the sample users of ``notification_center.py``: 16 to 101, median 36; and about 27,000 rows
each at 1,000,000 rows), the other rows go to users drawn uniformly. Read state mirrors the
other benchmark: every row is read (``unread=False``) except the newest 2,000 rows, for a sample
user the newest 2,000, 1,500, 1,000 or 500 (when it "marked all as read"); each sample user then
has two of its unread rows read and two older read rows unread. For each size the script prints
the median of ``--repeat`` calls, spread over the sample, of
``user.notifications.unread().count()``, the first page of unread notifications, the first page
of all of them and ``mark_all_as_read()`` (in a transaction rolled back after each call), their
query counts and results, and the rows written by one ``notify.send`` to a 10,000-user queryset
(``pg_stat_xact_user_tables``, rolled back too).

django-notifications-hq 1.8.3 does not import on Django 5.2 as published (its model still
declares ``index_together``, removed in Django 5.1): the venv's copy is patched to the equivalent
``indexes`` (its migration 0008, ``AlterIndexTogether``, still creates that index). The whole
setup, with any Python 3.11 (``distutils``, which the package imports, is gone in 3.12)::

    /root/.pyenv/versions/3.11.7/bin/python -m venv /tmp/nhq-venv
    /tmp/nhq-venv/bin/pip install 'Django>=5.2,<6' 'django-notifications-hq==1.8.3' psycopg2-binary
    sed -i -E "s/index_together = (.+)/indexes = [models.Index(fields=\\1)]/" \\
        /tmp/nhq-venv/lib/python3.11/site-packages/notifications/base/models.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/nhq_bench \\
        /tmp/nhq-venv/bin/python benchmarks/peer_notifications_hq.py --rows 100000 1000000

About 10 s to build 100,000 rows and 1.5 minutes for 1,000,000 on two cores. ``--explain`` prints
the plans (``EXPLAIN ANALYZE``) of the unread count and of the first unread page.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import django
from django.conf import settings

SEED = 20260101
BATCH = 5000
#: Seconds between two rows: a million rows span about eleven months.
STEP = 30
#: The sample users "marked all as read" before the newest 2000, 1500, 1000 or 500 rows.
MARK_READ_POINTS = 4
VERBS = ["commented on", "mentioned you in", "assigned you", "reviewed", "liked"]
PATCH = 'sed -i -E "s/index_together = (.+)/indexes = [models.Index(fields=\\1)]/" {path}'


def configure() -> None:
    """Configure Django (the database from ``DATABASE_URL``) and load the apps, or exit with the
    patch to apply when django-notifications-hq is the unpatched 1.8.3."""
    parts = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nhq_bench"))
    if parts.scheme not in ("postgres", "postgresql"):
        sys.exit("DATABASE_URL: this benchmark needs PostgreSQL (postgres://USER@HOST:PORT/NAME)")
    settings.configure(
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "notifications"],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": unquote(parts.path.lstrip("/")) or "nhq_bench",
                "USER": unquote(parts.username or ""),
                "PASSWORD": unquote(parts.password or ""),
                "HOST": parts.hostname or "",
                "PORT": str(parts.port or ""),
            }
        },
        USE_TZ=True,
        TIME_ZONE="UTC",
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        SECRET_KEY="benchmark",
    )
    try:
        django.setup()
    except TypeError as error:
        if "index_together" not in str(error):
            raise
        spec = importlib.util.find_spec("notifications")
        path = os.path.join(os.path.dirname(spec.origin or ""), "base", "models.py") if spec else "models.py"
        sys.exit(
            f"django-notifications-hq needs its patch for Django 5.2 ({error}):\n{PATCH.format(path=path)}"
        )


configure()

from django.contrib.auth.models import User  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402
from notifications.models import Notification  # noqa: E402
from notifications.signals import notify  # noqa: E402


class World:
    """The users and the rows written so far (ids ``first_id..last_id``)."""

    def __init__(self, users: int, sample_size: int, sample_share: float, newest: int, last_id: int) -> None:
        self.last_id = last_id
        self.first_id = last_id + 1  # no row yet
        self.newest_time = timezone.now() - timedelta(minutes=1)
        self.sample_share = sample_share
        self.users = User.objects.bulk_create(
            (User(username=f"user{n}", email=f"user{n}@example.com", password="!") for n in range(users)),
            batch_size=BATCH,
        )
        self.user_type = ContentType.objects.get_for_model(User)
        self.sample = random.Random(SEED + 1).sample(self.users, sample_size)
        # A row is unread when it is among the newest rows its recipient has not marked read:
        # the newest ``newest`` for most users, fewer for some sample users.
        self.unread_after = {user.pk: last_id - newest for user in self.users}
        for position, user in enumerate(self.sample):
            self.unread_after[user.pk] = (
                last_id - newest * (MARK_READ_POINTS - position % MARK_READ_POINTS) // MARK_READ_POINTS
            )

    def time_of(self, row_id: int) -> datetime:
        """The timestamp of the row ``row_id``: ids follow time, ``STEP`` seconds apart."""
        return self.newest_time - timedelta(seconds=STEP * (self.last_id - row_id))

    def write_rows(self, first: int, last: int) -> None:
        """Write the rows ``first..last`` (ids), in batches of ``BATCH``."""
        for start in range(first, last + 1, BATCH):
            rng = random.Random(f"{SEED}-{start}")  # a batch is the same in whatever order they come
            rows = []
            for row_id in range(start, min(start + BATCH, last + 1)):
                if rng.random() < self.sample_share:
                    recipient = rng.choice(self.sample)
                else:
                    recipient = rng.choice(self.users)
                rows.append(
                    Notification(
                        id=row_id,
                        recipient=recipient,
                        actor_content_type=self.user_type,
                        actor_object_id=str(rng.choice(self.users).pk),
                        verb=rng.choice(VERBS),
                        timestamp=self.time_of(row_id),
                        unread=row_id > self.unread_after[recipient.pk],
                    )
                )
            Notification.objects.bulk_create(rows)
        self.first_id = min(self.first_id, first)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                [Notification._meta.db_table, self.last_id],
            )

    def grow_to(self, size: int) -> None:
        """Add older history until there are ``size`` rows; the first time, the sample users
        each mark two of their unread rows read and two older read rows unread. Then ANALYZE."""
        first = self.last_id - size + 1
        if self.first_id > self.last_id:  # no row yet: the first size
            self.write_rows(first, self.last_id)
            for user in self.sample:
                unread = list(user.notifications.unread().values_list("pk", flat=True)[3:5])
                read = list(user.notifications.read().values_list("pk", flat=True)[10:12])
                Notification.objects.filter(pk__in=unread).update(unread=False)
                Notification.objects.filter(pk__in=read).update(unread=True)
        elif first < self.first_id:
            self.write_rows(first, self.first_id - 1)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def measure(run: Callable[[User], Any], users: list[User], repeat: int) -> tuple[float, int, list[Any]]:
    """(median ms, queries of one call, results) of ``run(user)`` over ``repeat`` calls spread
    over ``users``, after one untimed call per user."""
    for user in users:
        run(user)
    timings, results, queries = [], [], 0
    for number in range(repeat):
        user = users[number % len(users)]
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            results.append(run(user))
            timings.append(time.perf_counter() - started)
        queries = len(captured.captured_queries)
    return statistics.median(timings) * 1000, queries, results


def rolled_back(run: Callable[[User], Any]) -> Callable[[User], Any]:
    """Run a write in a transaction rolled back afterwards, so that every call sees the same data."""

    def wrapper(user: User) -> Any:
        with transaction.atomic():
            result = run(user)
            transaction.set_rollback(True)
        return result

    return wrapper


def rows_written(world: World) -> tuple[dict[str, int], float, int]:
    """Rows inserted per table by one ``notify.send`` to every user (a queryset), its time in
    ms, and how many more unread notifications a sample user has then (1); rolled back."""
    inserted = "SELECT relname, n_tup_ins FROM pg_stat_xact_user_tables WHERE n_tup_ins > 0"
    user = world.sample[0]
    with transaction.atomic():
        before_unread = user.notifications.unread().count()
        with connection.cursor() as cursor:
            cursor.execute(inserted)
            before = dict(cursor.fetchall())
            started = time.perf_counter()
            notify.send(world.users[0], recipient=User.objects.all(), verb="announced")
            seconds = time.perf_counter() - started
            cursor.execute(inserted)
            after = dict(cursor.fetchall())
        more_unread = user.notifications.unread().count() - before_unread
        transaction.set_rollback(True)
    rows = {table: count - before.get(table, 0) for table, count in after.items()}
    rows = {table: count for table, count in rows.items() if count}
    return rows, seconds * 1000, more_unread


def explain(user: User) -> None:
    """Print the plans of the unread count and of the first unread page of ``user``."""
    unread = user.notifications.unread()
    for name, query in [("unread count", unread.order_by()), ("first unread page", unread[:20])]:
        print(f"--- {name} (user {user.pk})\n{query.query}")
        sql, params = query.query.sql_with_params()
        if name == "unread count":
            sql = f"SELECT COUNT(*) FROM ({sql}) counted"
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            print("\n".join(row[0] for row in cursor.fetchall()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100000, 1000000])
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--newest", type=int, default=2000, help="newest rows, the same in every size")
    parser.add_argument("--sample", type=int, default=20, help="users measured")
    parser.add_argument("--sample-share", type=float, default=0.55, help="share of the rows the sample gets")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--explain", action="store_true", help="print the PostgreSQL plans (EXPLAIN ANALYZE)")
    args = parser.parse_args()
    sizes = sorted(args.rows)
    if sizes[0] <= args.newest:
        parser.error("--rows: every size must be larger than --newest")

    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        started = time.perf_counter()
        world = World(args.users, args.sample, args.sample_share, args.newest, last_id=sizes[-1])
        print(
            f"django-notifications-hq, Django {django.get_version()}: {args.users} users, "
            f"{args.sample} sample users (built in {time.perf_counter() - started:.1f} s)"
        )
        cases: list[tuple[str, Callable[[User], Any]]] = [
            ("unread().count()", lambda user: user.notifications.unread().count()),
            ("first unread page", lambda user: list(user.notifications.unread()[:20])),
            ("first page", lambda user: list(user.notifications.all()[:20])),
            ("mark_all_as_read()*", rolled_back(lambda user: user.notifications.mark_all_as_read())),
        ]
        rows: list[tuple[int, list[float]]] = []
        for size in sizes:
            started = time.perf_counter()
            world.grow_to(size)
            print(f"--- {size} rows (built in {time.perf_counter() - started:.1f} s, ANALYZE included)")
            medians = []
            for name, run in cases:
                milliseconds, queries, results = measure(run, world.sample, args.repeat)
                medians.append(milliseconds)
                found = [result if isinstance(result, int) else len(result) for result in results]
                print(
                    f"  {name:<20} {milliseconds:6.2f} ms  {queries} queries  results min/median/max "
                    f"{min(found)}/{statistics.median(found):g}/{max(found)}"
                )
            if args.explain:  # after the measures: the plans of warm caches
                explain(world.sample[0])
            written, milliseconds, more_unread = rows_written(world)
            print(
                f"  one notify.send to {args.users} users: {sum(written.values())} rows written "
                f"({', '.join(f'{t} {n}' for t, n in written.items())}) in {milliseconds:.0f} ms; "
                f"a recipient's unread count +{more_unread}"
            )
            rows.append((size, medians))

        print()
        print(
            f"| {'rows':>9} | {'unread count ms':>15} | {'first unread page ms':>20} "
            f"| {'first page ms':>13} | {'mark_all_as_read ms*':>20} |"
        )
        print(f"|{'-' * 11}|{'-' * 17}|{'-' * 22}|{'-' * 15}|{'-' * 22}|")
        for size, (count_ms, unread_ms, page_ms, mark_ms) in rows:
            print(
                f"| {size:>9} | {count_ms:>15.2f} | {unread_ms:>20.2f} "
                f"| {page_ms:>13.2f} | {mark_ms:>20.2f} |"
            )
        (small, first), (big, last) = rows[0], rows[-1]
        print(
            f"| {f'{big // small}x':>9} | {last[0] / first[0]:>14.2f}x | {last[1] / first[1]:>19.2f}x "
            f"| {last[2] / first[2]:>12.2f}x | {last[3] / first[3]:>19.2f}x |"
        )
        print("* in a transaction rolled back after each call (BEGIN, ROLLBACK counted)")
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()
