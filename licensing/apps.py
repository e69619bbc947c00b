from django.apps import AppConfig


class LicensingConfig(AppConfig):
    name = "licensing"

    def ready(self):
        from licensing.policy import LicensePolicy
        from registry.access import entitlement_policy_register

        # The registry decides access through this policy (docs/architecture.md).
        entitlement_policy_register(LicensePolicy())
