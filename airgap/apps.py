from django.apps import AppConfig


class AirgapConfig(AppConfig):
    name = "airgap"
    verbose_name = "Air-gap kits"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from airgap.extras import kit_extra_provider_register
        from airgap.license_files import license_files
        from airgap.selectors import kit_blob_digests
        from registry.gc.marks import blob_keeper_register

        kit_extra_provider_register(license_files)  # license keys travel in kits
        blob_keeper_register(kit_blob_digests)  # GC keeps what a kit still streams
