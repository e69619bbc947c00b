"""Vendor console: storage lifecycle (vendor admins; the Storage page shows the usage).
Garbage collection's last runs (the store is install-wide: operators see the install's
figures, a vendor its own freed bytes) and the vendor's retention rules with the dry run of
each (docs/gc.md)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from lifecycle.selectors import retention_plan, retention_rule_get, retention_rules_list
from lifecycle.services import retention_rule_create, retention_rule_delete
from portal.views.access import staff_page
from portal.views.confirm import confirmation_page
from registry.gc import gc_runs_recent

PERMISSION = "storage.manage"


class RetentionRuleForm(forms.Form):
    repository_pattern = forms.CharField(
        label="Repositories", max_length=255, help_text="a name or glob under your namespace"
    )
    tag_pattern = forms.CharField(label="Tags", max_length=128, initial="*")
    keep_newest = forms.IntegerField(label="Keep newest", min_value=0, required=False)
    untagged_days = forms.IntegerField(label="Untagged after (days)", min_value=0, required=False)
    unpulled_days = forms.IntegerField(label="Not pulled for (days)", min_value=1, required=False)
    include_entitled = forms.BooleanField(
        label="Also delete what a license entitles", required=False
    )


def _actor(request) -> str:
    return f"user:{request.user.pk}"


@staff_page(permission=PERMISSION)
@require_http_methods(["GET", "POST"])
def lifecycle_page(request):
    form = RetentionRuleForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            rule = retention_rule_create(
                vendor=request.vendor, actor=_actor(request), **form.cleaned_data
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            messages.success(request, "Retention rule added. Check its dry run below.")
            return redirect("portal:console-retention-rule", rule.pk)
    vendor_key = str(request.vendor.pk)
    runs = [
        {"run": run, "vendor_freed": run.freed_by_vendor.get(vendor_key, 0)}
        for run in gc_runs_recent(limit=10)
    ]
    return render(
        request,
        "console/lifecycle.html",
        {
            "form": form,
            "rules": retention_rules_list(vendor=request.vendor),
            "runs": runs,
            "install_figures": request.user.is_staff,
        },
        status=400 if form.errors else status,
    )


def _rule_or_404(request, rule_id):
    rule = retention_rule_get(vendor=request.vendor, rule_id=rule_id)
    if rule is None:
        raise Http404("no such retention rule")
    return rule


@staff_page(permission=PERMISSION)
def rule_preview(request, rule_id):
    rule = _rule_or_404(request, rule_id)
    return render(
        request, "console/retention_rule.html", {"rule": rule, "plan": retention_plan(rule=rule)}
    )


@staff_page(permission=PERMISSION)
@require_POST
def rule_delete(request, rule_id):
    rule = _rule_or_404(request, rule_id)
    back = reverse("portal:console-lifecycle")
    asked = confirmation_page(
        request,
        title="Delete retention rule",
        consequence=f"Rule {rule} stops deleting anything. What it deleted stays deleted.",
        action="Delete rule",
        back_url=back,
    )
    if asked is not None:
        return asked
    retention_rule_delete(rule=rule, actor=_actor(request))
    messages.success(request, "Retention rule deleted.")
    return redirect(back)
