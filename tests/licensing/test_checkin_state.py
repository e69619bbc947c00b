"""licensing/checkin_state.py builds its rows into model instances without
Model.__init__ (`_bare`): they must behave as from_db's."""

import pytest
from django.db import connection
from django.db.models.signals import post_init

from licensing.checkin_state import _bare
from licensing.models import License


@pytest.mark.django_db
def test_a_bare_instance_is_what_from_db_builds_and_loads_the_rest_on_access(license):
    values = {"id": license.pk, "vendor_id": license.vendor_id, "name": license.name}
    bare = _bare(License, connection.alias, **values)
    built = License.from_db(connection.alias, list(values), list(values.values()))
    assert type(bare) is License
    assert (bare.pk, bare.vendor_id, bare.name) == (built.pk, built.vendor_id, built.name)
    assert (bare._state.adding, bare._state.db) == (built._state.adding, built._state.db)
    assert bare.get_deferred_fields() == built.get_deferred_fields()
    assert bare.customer_id == license.customer_id  # deferred: read on access
    assert bare == license


@pytest.mark.django_db
def test_a_model_with_an_init_receiver_is_built_by_from_db(license):
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(receiver, sender=License)
    try:
        bare = _bare(License, connection.alias, id=license.pk, name=license.name)
    finally:
        post_init.disconnect(receiver, sender=License)
    assert seen == [bare]
