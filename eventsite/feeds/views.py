"""HTTP views of the feeds: .ics downloads, public and secret feeds, token pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from eventsite import links
from eventsite.events import queries as events_queries
from eventsite.extensions import db
from eventsite.feeds import access, build, forms, queries, tokens, versions
from eventsite.feeds import links as feed_links
from eventsite.feeds.cache import FEED_CACHE
from eventsite.i18n import gettext as _
from eventsite.ical import builders
from eventsite.organisations.models import Organisation
from eventsite.timeutil import utcnow

bp = Blueprint("feeds", __name__)

CONTENT_TYPE = "text/calendar; charset=utf-8"
# Secret feeds and the pages that show their addresses.
NO_STORE = "private, no-store"


@bp.app_template_global()
def calendar_links(event: Any) -> feed_links.CalendarLinks:
    return feed_links.calendar_links(event)


@bp.app_template_global()
def webcal_url(url: str) -> str:
    return feed_links.webcal_url(url)


@bp.app_template_global()
def feed_subscribe_links(url: str, name: str) -> feed_links.FeedLinks:
    """Subscribe links of a feed; `url` is a path or an absolute address."""
    return feed_links.feed_links(links.absolute(url), name)


@bp.app_template_global()
def absolute_url(url: str) -> str:
    """A path from url_for made absolute with BASE_URL (subscriptions need full URLs)."""
    return links.absolute(url)


@bp.app_template_global()
def calendar_member_organisations(user: Any) -> list[Organisation]:
    return access.member_organisations(user)


# --- the response, conditional GET and caching -------------------------------------------------


def _is_not_modified(version: versions.FeedVersion) -> bool:
    """RFC 9110 13.2.2: If-None-Match decides when present; else If-Modified-Since."""
    if request.if_none_match:
        return request.if_none_match.contains_weak(version.etag)
    since = request.if_modified_since
    if since is not None:
        return version.last_modified.replace(microsecond=0) <= since
    return False


def _calendar_response(
    version: versions.FeedVersion,
    build_calendar: Callable[[], bytes],
    *,
    filename: str,
    download: bool,
    private: bool = False,
    cache: bool = True,
) -> Response:
    headers = {
        "ETag": version.http_etag,
        # A secret feed (its address is the key) is kept by nobody on the way: no-store.
        "Cache-Control": NO_STORE if private else "public, max-age=300",
    }
    if private:
        # A secret URL must not land in a search index (nor leak in a Referer: every
        # address with a token gets Referrer-Policy: no-referrer, see security_headers).
        headers["X-Robots-Tag"] = "noindex"
    if _is_not_modified(version):
        response = Response(status=304, headers=headers)
    else:
        data = FEED_CACHE.get_or_build(version.etag, build_calendar) if cache else build_calendar()
        disposition = "attachment" if download else "inline"
        headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
        response = Response(data, status=200, headers=headers, content_type=CONTENT_TYPE)
    response.last_modified = version.last_modified
    return response


def _bad_request(err: queries.FeedError) -> Response:
    return Response(
        f"400 Bad Request\n{err}\n", status=400, content_type="text/plain; charset=utf-8"
    )


# --- public ------------------------------------------------------------------------------------


@bp.get("/events/<slug>.ics")
def event_ics(slug: str) -> Response:
    event = events_queries.get_public_event_or_404(slug)
    with_sessions = request.args.get("sessions") in ("1", "true", "yes")
    version = versions.event_version(event, with_sessions)
    return _calendar_response(
        version,
        lambda: builders.build_event_calendar(event, with_sessions=with_sessions),
        filename=f"{event.slug}.ics",
        download=True,
        cache=False,  # one event builds in about a millisecond
    )


@bp.get("/events/<slug>/calendar.ics")
def event_feed(slug: str) -> Response:
    """The event as a subscription ("Subscribe (updates follow)"): a named calendar with a
    refresh interval, so Apple and Google show it under the event's name and follow its
    changes (the download is a one-off copy with neither)."""
    event = events_queries.get_public_event_or_404(slug)
    version = versions.event_feed_version(event)
    return _calendar_response(
        version,
        lambda: builders.build_feed([event], name=event.title),
        filename=f"{event.slug}.ics",
        download=False,
        cache=False,  # one event builds in about a millisecond
    )


def _public_feed(filename: str, fixed: dict[str, str] | None = None) -> Response:
    try:
        filters = queries.parse_feed_filters(request.args, fixed=fixed)
    except queries.FeedError as err:
        return _bad_request(err)
    now = utcnow()
    version = versions.public_feed_version(filters, now)
    return _calendar_response(
        version,
        lambda: build.build_public_feed(filters, now),
        filename=filename,
        download=False,
    )


@bp.get("/calendar.ics")
def feed() -> Response:
    return _public_feed("calendar.ics")


@bp.get("/topics/<slug>.ics")
def topic_feed(slug: str) -> Response:
    topic = events_queries.get_topic_or_404(slug)
    return _public_feed(f"{topic.slug}.ics", fixed={"topic": topic.slug})


@bp.get("/organisations/<slug>.ics")
def organisation_feed(slug: str) -> Response:
    organisation = events_queries.get_organisation_or_404(slug)
    return _public_feed(f"{organisation.slug}.ics", fixed={"organisation": organisation.slug})


# --- personal feed -------------------------------------------------------------------------


@bp.get("/account/calendar/<token>.ics")
def personal_feed(token: str) -> Response:
    user = tokens.user_for_calendar_token(token)
    if user is None:
        abort(404)
    # A calendar program asks with no cookie: the feed is in its owner's language (the
    # version hashes the language, so a change of language changes the ETag).
    with force_locale(user.language):
        version = versions.personal_feed_version(user)
        return _calendar_response(
            version,
            lambda: build.build_personal_feed(user),
            filename="my-events.ics",
            download=False,
            private=True,
        )


@bp.get("/account/calendar/")
@login_required
def account_calendar() -> tuple[str, int, dict[str, str]]:
    return render_template("feeds/account_calendar.html"), 200, {"Cache-Control": NO_STORE}


@bp.post("/account/calendar/regenerate")
@login_required
def regenerate_personal_token() -> tuple[str, int, dict[str, str]]:
    """Make the personal feed's address and show it, this once: only the token's hash is
    kept, so no later page can show it again (a new one can always be made)."""
    form = forms.CalendarTokenForm()
    if not form.validate_on_submit():
        abort(400)
    token = tokens.regenerate_user_calendar_token(current_user)
    db.session.commit()
    flash(
        _(
            "Your calendar has a new address, shown here only this once: subscribe with it now."
            " Any older address no longer works."
        ),
        "success",
    )
    page = render_template(
        "feeds/account_calendar.html", personal_url=feed_links.personal_feed_url(token)
    )
    return page, 200, {"Cache-Control": NO_STORE}


# --- organisers ----------------------------------------------------------------------------


def _member_organisation_or_403(slug: str) -> Organisation:
    if not events_queries.usable_slug(slug):
        abort(404)
    organisation = db.first_or_404(select(Organisation).where(Organisation.slug == slug))
    if not access.is_member(current_user, organisation):
        abort(403)
    return organisation


@bp.get("/account/organisations/<slug>/events.ics")
@login_required
def organisation_export(slug: str) -> Response:
    organisation = _member_organisation_or_403(slug)
    version = versions.organisation_feed_version(organisation)
    return _calendar_response(
        version,
        lambda: build.build_organisation_export(organisation),
        filename=f"{organisation.slug}-events.ics",
        download=True,
        private=True,
    )


@bp.get("/account/organisations/<slug>/calendar")
@login_required
def organisation_calendar(slug: str) -> tuple[str, int, dict[str, str]]:
    organisation = _member_organisation_or_403(slug)
    if not organisation.calendar_token:
        tokens.ensure_organisation_calendar_token(organisation)
        db.session.commit()
    page = render_template(
        "feeds/organisation_calendar.html",
        organisation=organisation,
        feed_url=feed_links.organisation_feed_url(organisation),
        form=forms.CalendarTokenForm(),
    )
    return page, 200, {"Cache-Control": NO_STORE}


@bp.post("/account/organisations/<slug>/calendar/regenerate")
@login_required
def regenerate_organisation_token(slug: str) -> BaseResponse:
    organisation = _member_organisation_or_403(slug)
    form = forms.CalendarTokenForm()
    if not form.validate_on_submit():
        abort(400)
    tokens.regenerate_organisation_calendar_token(organisation)
    db.session.commit()
    flash(_("The private feed has a new address; the old one no longer works."), "success")
    return redirect(url_for("feeds.organisation_calendar", slug=organisation.slug))


@bp.get("/organisations/feed/<token>.ics")
def organisation_private_feed(token: str) -> Response:
    organisation = tokens.organisation_for_calendar_token(token)
    if organisation is None:
        abort(404)
    version = versions.organisation_feed_version(organisation)
    return _calendar_response(
        version,
        lambda: build.build_organisation_export(organisation),
        filename=f"{organisation.slug}-events.ics",
        download=False,
        private=True,
    )
