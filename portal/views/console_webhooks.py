"""Vendor console: webhook endpoints (admins only: a webhook sends the vendor's events to
any URL), their secrets (shown once), and the delivery log with redeliver. The work is in
webhooks.services; these views parse, call one service or selector, and render."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from portal.views.access import staff_page
from portal.views.confirm import confirmation_page
from portal.views.customer import (
    MINT_STALE,
    MINT_USED,
    STALE_FORM,
    mint_nonce_claim,
    secret_page,
)
from webhooks import selectors
from webhooks.events import EVENT_TYPES
from webhooks.services import (
    WebhookError,
    delivery_redeliver,
    endpoint_create,
    endpoint_delete,
    endpoint_rotate_secret,
    endpoint_set_enabled,
    endpoint_test_send,
    endpoint_update,
)

PERMISSION = "webhooks.manage"
RESUBMITTED = (
    "This form was already submitted and its endpoint created; the secret was shown only "
    "in the answer to that submission. Rotate the endpoint's secret to get a new one."
)


class WebhookForm(forms.Form):
    url = forms.URLField(
        label="Endpoint URL", max_length=2000, assume_scheme="https", widget=forms.URLInput
    )
    description = forms.CharField(max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label="Events",
        choices=[(name, f"{name}: {what}") for name, what in EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )


def _endpoint_or_404(request, endpoint_id):
    endpoint = selectors.endpoint_get(vendor=request.vendor, endpoint_id=endpoint_id)
    if endpoint is None:
        raise Http404("no such webhook")
    return endpoint


@staff_page(permission=PERMISSION)
@require_http_methods(["GET", "POST"])
def webhook_list(request):
    form = WebhookForm(request.POST or None)
    created, status = None, 200
    if request.method == "POST" and form.is_valid():
        claim = mint_nonce_claim(request)
        if claim == MINT_USED:
            form, status = WebhookForm(), 409
            messages.warning(request, RESUBMITTED)
        elif claim == MINT_STALE:
            form.add_error(None, STALE_FORM)
        else:
            try:
                created = endpoint_create(
                    vendor=request.vendor,
                    url=form.cleaned_data["url"],
                    description=form.cleaned_data["description"],
                    event_types=form.cleaned_data["event_types"],
                    created_by=request.user,
                )
            except WebhookError as error:
                form.add_error("url", str(error))
            else:
                form, status = WebhookForm(), 201
    return secret_page(  # may show a secret: Cache-Control: no-store
        request,
        "console/webhooks.html",
        {
            "form": form,
            "created": created,
            "endpoints": selectors.endpoint_list(vendor=request.vendor),
        },
        status=400 if form.errors else status,
    )


@staff_page(permission=PERMISSION)
@require_http_methods(["GET", "POST"])
def webhook_detail(request, endpoint_id):
    endpoint = _endpoint_or_404(request, endpoint_id)
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
    }
    form = WebhookForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint_update(
                endpoint=endpoint,
                url=form.cleaned_data["url"],
                description=form.cleaned_data["description"],
                event_types=form.cleaned_data["event_types"],
                updated_by=request.user,
            )
        except WebhookError as error:
            form.add_error("url", str(error))
        else:
            messages.success(request, "Webhook saved.")
            return redirect("portal:console-webhook", endpoint.pk)
    return _detail_page(request, endpoint, form, status=400 if form.errors else 200)


def _detail_page(request, endpoint, form, *, status=200, rotated=None):
    return secret_page(
        request,
        "console/webhook.html",
        {
            "endpoint": endpoint,
            "form": form,
            "rotated": rotated,  # the new secret, in this one response only
            "deliveries": selectors.delivery_list(vendor=request.vendor, endpoint=endpoint),
        },
        status=status,
    )


@staff_page(permission=PERMISSION)
@require_POST
def webhook_enable(request, endpoint_id):
    endpoint = _endpoint_or_404(request, endpoint_id)
    enabled = request.POST.get("enabled") == "1"
    endpoint_set_enabled(endpoint=endpoint, enabled=enabled, changed_by=request.user)
    messages.success(request, "Webhook enabled." if enabled else "Webhook disabled.")
    return redirect("portal:console-webhook", endpoint.pk)


@staff_page(permission=PERMISSION)
@require_POST
def webhook_rotate(request, endpoint_id):
    endpoint = _endpoint_or_404(request, endpoint_id)
    ask = confirmation_page(
        request,
        title="Rotate this webhook's secret?",
        consequence="A new secret signs every delivery from now on. For 24 hours the old "
        "one also signs, so your receiver can switch over; after that only the new one.",
        action="Rotate secret",
        back_url=reverse("portal:console-webhook", args=[endpoint.pk]),
    )
    if ask:
        return ask
    rotated = endpoint_rotate_secret(endpoint=endpoint, rotated_by=request.user)
    form = WebhookForm(
        initial={
            "url": endpoint.url,
            "description": endpoint.description,
            "event_types": endpoint.event_types,
        }
    )
    return _detail_page(request, endpoint, form, rotated=rotated.secret)


@staff_page(permission=PERMISSION)
@require_POST
def webhook_delete(request, endpoint_id):
    endpoint = _endpoint_or_404(request, endpoint_id)
    ask = confirmation_page(
        request,
        title=f"Delete the webhook to {endpoint.url}?",
        consequence="No more events are sent there, and its delivery log is deleted. "
        "This cannot be undone.",
        action="Delete webhook",
        back_url=reverse("portal:console-webhook", args=[endpoint.pk]),
    )
    if ask:
        return ask
    endpoint_delete(endpoint=endpoint, deleted_by=request.user)
    messages.success(request, "Webhook deleted.")
    return redirect("portal:console-webhooks")


@staff_page(permission=PERMISSION)
@require_POST
def webhook_test(request, endpoint_id):
    endpoint = _endpoint_or_404(request, endpoint_id)
    endpoint_test_send(endpoint=endpoint, sent_by=request.user)
    messages.success(request, "Test event queued: its delivery is at the top of the log.")
    return redirect("portal:console-webhook", endpoint.pk)


@staff_page(permission=PERMISSION)
@require_POST
def webhook_redeliver(request, endpoint_id, delivery_id):
    endpoint = _endpoint_or_404(request, endpoint_id)
    delivery = selectors.delivery_get(
        vendor=request.vendor, endpoint=endpoint, delivery_id=delivery_id
    )
    if delivery is None:
        raise Http404("no such delivery")
    if delivery_redeliver(delivery=delivery):
        messages.success(request, f"Event {delivery.event_id} queued again.")
    else:
        messages.warning(request, "That delivery is still being tried.")
    return redirect("portal:console-webhook", endpoint.pk)
