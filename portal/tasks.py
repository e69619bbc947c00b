"""Celery entry points for the portal: domain ownership checks (beat runs the sweep every
DISTR_DOMAIN_CHECK_INTERVAL_SECONDS); the work is in portal.services.domain_verify."""

import logging

from celery import shared_task

from portal.notices import release_notices_send
from portal.selectors import domain_list_pending
from portal.services import PortalError, domain_verify

logger = logging.getLogger(__name__)


@shared_task(name="portal.tasks.domains_verify_pending", ignore_result=True)
def domains_verify_pending() -> int:
    """Check every pending claim once; returns how many became verified. Idempotent: a
    verified domain is skipped, a refused one keeps its reason in `check_error`."""
    verified = 0
    for domain in domain_list_pending():
        try:
            domain_verify(domain=domain)
        except PortalError as error:
            logger.info("portal domain %s (%s): %s", domain.host, domain.vendor.slug, error)
        else:
            logger.info("portal domain %s verified for %s", domain.host, domain.vendor.slug)
            verified += 1
    return verified


@shared_task(name="portal.tasks.release_notices_send", ignore_result=True)
def release_notices_send_task(vendor_id: int, repository: str, tag: str) -> int:
    """Email the opted-in users who may pull the new release (portal/notices.py)."""
    return release_notices_send(vendor_id=vendor_id, repository_name=repository, tag=tag)
