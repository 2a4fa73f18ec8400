"""A user-to-entity function of docs/notification_center.rst, run by
tests/project/test_docs_examples.py. Its site keeps entities for ``Account`` rows, one per user,
named after the user, rather than for the users themselves."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.contenttypes.models import ContentType
from entity.models import Entity

from tests.testapp.models import Account


def entity_of_account(user: AbstractBaseUser | AnonymousUser) -> Entity | None:
    if not user.is_authenticated:
        return None
    account = Account.objects.filter(name=user.get_username()).first()
    if account is None:
        return None
    account_type = ContentType.objects.get_for_model(Account)
    return Entity.objects.filter(entity_type=account_type, entity_id=account.pk).first()
