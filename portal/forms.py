"""Portal forms. Validation messages are written for the person reading them."""

import datetime

from allauth.account.forms import ResetPasswordForm
from django import forms
from django.utils import timezone

from customers.models import CustomerMember, VendorMember
from customers.scopes import SCOPES
from licensing.rules import RuleInvalid, repository_pattern_validate, rule_validate
from portal.tenancy import user_may_enter


class PortalResetPasswordForm(ResetPasswordForm):
    """Password reset on a portal only reaches accounts of that portal's vendor, so one
    vendor's portal cannot be used to send mail to another vendor's users."""

    def clean_email(self):
        from allauth.core import context

        email = super().clean_email()
        vendor = getattr(context.request, "vendor", None)
        self.users = [
            u
            for u in getattr(self, "users", [])
            if vendor and user_may_enter(user=u, vendor=vendor)
        ]
        return email


class TokenMintForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Where it will be used, e.g. “prod cluster”.")
    expires_in_days = forms.TypedChoiceField(
        label="Expires",
        coerce=int,
        choices=[(30, "in 30 days"), (90, "in 90 days"), (365, "in 1 year"), (0, "never")],
        initial=90,
    )

    def expires_at(self) -> datetime.datetime | None:
        days = self.cleaned_data["expires_in_days"]
        return timezone.now() + datetime.timedelta(days=days) if days else None


class PushTokenForm(TokenMintForm):
    repository_patterns = forms.CharField(
        label="Repositories",
        required=False,
        help_text="Comma-separated, relative to your namespace (e.g. app, charts/*). "
        "Empty: all repositories.",
    )
    allow_delete = forms.BooleanField(label="May delete manifests and tags", required=False)

    def patterns(self) -> list[str]:
        raw = self.cleaned_data["repository_patterns"]
        return [p.strip() for p in raw.split(",") if p.strip()]


class ApiTokenForm(TokenMintForm):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “CRM sync”.")
    scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in SCOPES],
        widget=forms.CheckboxSelectMultiple,
        initial=["read"],
        help_text="read: read everything; write: read and change everything; an area "
        "scope (e.g. customers:write) allows that area only.",
        error_messages={"required": "Choose at least one scope."},
    )


class InviteCustomerUserForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=CustomerMember.Role.choices, initial="member")


class InviteStaffForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=VendorMember.Role.choices, initial="viewer")


class CustomerForm(forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.RegexField(
        # What the help text says, and what the error says when it is not met (a SlugField
        # allowed and then mentioned underscores, and upper case failed in the model).
        regex=r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
        max_length=64,
        help_text="Lower-case letters, digits and dashes; cannot be changed later.",
        error_messages={
            "invalid": "Use only lower-case letters, digits and dashes, "
            "starting and ending with a letter or digit (e.g. initech-eu)."
        },
    )
    contact_email = forms.EmailField(required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class CustomerEditForm(forms.Form):
    name = forms.CharField(max_length=200)
    contact_email = forms.EmailField(required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class LicenseForm(forms.Form):
    name = forms.CharField(max_length=200)
    valid_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    valid_until = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Empty: never expires.",
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def clean(self):
        data = super().clean()
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", "A license cannot end before it starts.")
        return data


class GrantForm(forms.Form):
    repository = forms.CharField(
        max_length=255,
        label="Repository or pattern",
        help_text=(
            "A repository (it may be pushed later), or a pattern: acme/charts/* (one level) "
            "or acme/charts/** (any depth)"
        ),
        widget=forms.TextInput(attrs={"list": "grant-repositories", "autocomplete": "off"}),
    )
    rule = forms.ChoiceField(
        choices=[("glob", "glob"), ("semver", "semver range"), ("exact", "exact tag")],
        initial="glob",
    )
    pattern = forms.CharField(
        max_length=200, help_text="e.g. 1.* (glob), >=1.0,<2 (semver) or 1.2.0 (exact)"
    )
    include_referrers = forms.BooleanField(
        required=False, initial=True, label="Include signatures and SBOMs"
    )

    def __init__(self, *args, vendor_slug: str, repositories: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.vendor_slug = vendor_slug
        self.repositories = repositories  # suggestions (datalist); any name may be granted
        self.fields["repository"].widget.attrs["placeholder"] = f"{vendor_slug}/app"
        if repositories:
            self.fields["repository"].initial = repositories[0]

    def clean_repository(self) -> str:
        try:
            return repository_pattern_validate(
                vendor_slug=self.vendor_slug, pattern=self.cleaned_data["repository"]
            )
        except RuleInvalid as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self):
        data = super().clean()
        if data.get("rule") and data.get("pattern"):
            try:
                rule_validate(data["rule"], data["pattern"].strip())
            except RuleInvalid as exc:
                self.add_error("pattern", str(exc))
        return data


class BrandingForm(forms.Form):
    display_name = forms.CharField(max_length=100)
    primary_color = forms.RegexField(
        regex=r"^#[0-9a-fA-F]{6}$", widget=forms.TextInput(attrs={"type": "color"})
    )
    accent_color = forms.RegexField(
        regex=r"^#[0-9a-fA-F]{6}$", widget=forms.TextInput(attrs={"type": "color"})
    )
    support_url = forms.URLField(required=False, assume_scheme="https")
    support_email = forms.EmailField(required=False)
    footer_text = forms.CharField(max_length=300, required=False)
    logo = forms.FileField(required=False, help_text="PNG, JPEG, WebP or SVG, at most 256 KB.")
    favicon = forms.FileField(required=False, help_text="PNG or ICO, at most 64 KB.")


class DomainForm(forms.Form):
    host = forms.CharField(max_length=253, help_text="e.g. portal.example.com")


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=VendorMember.Role.choices)
