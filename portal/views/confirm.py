"""Destructive actions ask first.

A POST without `confirmed=1` renders a page that says what will happen, with a button that
re-posts the same fields plus the confirmation, and a way back. It needs no JavaScript
(a `confirm()` dialog is skipped by anything that posts the form directly), and the action
itself stays a CSRF-checked POST. The asking page changes nothing and is never cached.
"""

from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

_NOT_REPOSTED = {"csrfmiddlewaretoken", "confirmed"}


def confirmation_page(request, *, title: str, consequence: str, action: str, back_url: str):
    """None when the POST carries the confirmation, else the page that asks for it."""
    if request.POST.get("confirmed") == "1":
        return None
    fields = [
        (name, value)
        for name, values in request.POST.lists()
        if name not in _NOT_REPOSTED
        for value in values
    ]
    response = render(
        request,
        "portal/confirm.html",
        {
            "title": title,
            "consequence": consequence,
            "action": action,
            "fields": fields,
            "post_url": request.get_full_path(),
            "back_url": back_url,
        },
    )
    add_never_cache_headers(response)
    return response
