"""The base of every management command that changes state: its audit rows name the
command (`command:<name>`) even where a service is called without an actor."""

from django.core.management.base import BaseCommand

from customers import request_context


class AuditedCommand(BaseCommand):
    def execute(self, *args, **options):
        name = type(self).__module__.rsplit(".", 1)[-1]
        token = request_context.actor.set(f"command:{name}")
        try:
            return super().execute(*args, **options)
        finally:
            request_context.actor.reset(token)
