from django.apps import AppConfig


class BranchesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "branches"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from branches.access import organisation_written
        from branches.models import Organisation

        # Signals rather than ``Organisation.save()``: a queryset's delete() (the admin's) deletes without calling it.
        post_save.connect(organisation_written, sender=Organisation, dispatch_uid="branches.organisation_written")
        post_delete.connect(organisation_written, sender=Organisation, dispatch_uid="branches.organisation_written")
