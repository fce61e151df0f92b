"""The table of the route-by-role matrix (tests/test_route_matrix.py runs it): for every endpoint
of ``app.url_map``, the requests to make and the status each role must get.

Expectations: ``LOGIN`` is a redirect to the sign-in page; anonymous requests to the
API get 401 and to pages ``LOGIN`` unless a row says otherwise (``ex``). Objects of an
organisation a role may not see answer 404, not 403; objects a role may see but not
change answer 403. Within a role, every request that changes data addresses an object of
its own (the ``own_*`` placeholders), so the rows do not depend on each other.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from tests.access_world import MEMBER_ROLES, ROLES

LOGIN = "login"
OSLO = ZoneInfo("Europe/Oslo")


def _local(days: int, hour: int) -> datetime:
    return datetime.combine(date.today() + timedelta(days=days), time(hour), tzinfo=OSLO)


def _iso(days: int, hour: int) -> str:
    return _local(days, hour).isoformat()


def _day(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


# --- expectations --------------------------------------------------------------------------------

def ex(default=None, *, anon=None, member=None, contact=None, staff=None, admin=None, **per_role) -> dict:
    """Expected status per role. Fallbacks: a named role; members -> ``member``; the contact ->
    ``contact`` -> ``member``; the administrator -> ``admin`` -> ``staff``; then ``default``.
    Anonymous: ``anon``, else 401 on the API and a redirect to sign in on pages."""
    table = {}
    for role in ROLES:
        if role in per_role:
            value = per_role[role]
        elif role == "anonymous":
            value = anon
        elif role in MEMBER_ROLES:
            value = member
        elif role == "contact":
            value = contact if contact is not None else member
        elif role == "staff":
            value = staff
        else:
            value = admin if admin is not None else staff
        table[role] = default if value is None and role != "anonymous" else value
    return table


EVERYONE = ex(200, anon=200)
SIGNED_IN = ex(200)
STAFF_ONLY = ex(403, staff=200)
ADMIN_ONLY = ex(403, admin=200, staff=403)


def admin_only(status) -> dict:
    return ex(403, staff=403, admin=status)


def staff_only(status, member=403) -> dict:
    return ex(member, staff=status)


@dataclass
class Case:
    method: str
    path: str                              # str.format'ed with tests.access_world.names_for
    expect: dict
    form: dict | Callable | None = None    # form fields (pages)
    json: dict | Callable | None = None    # JSON body (API)
    note: str = ""

    def id(self) -> str:
        return f"{self.method} {self.path}" + (f" [{self.note}]" if self.note else "")


def C(method, path, expect, **kwargs) -> Case:
    return Case(method, path, expect, **kwargs)


BOOKING_FORM = lambda n: {  # noqa: E731 - a row's data
    "space": n["space"], "title": "Matrix booking", "purpose": "meeting", "date": _day(200),
    "start_time": "10:00", "end_time": "11:00", "attendees": "2", "visibility": "private", "repeat": "none",
    "repeat_end": "count"}
EDIT_FORM = lambda n: {  # noqa: E731
    "space": n["space"], "title": "Renamed by the matrix", "purpose": "meeting", "date": n["own_booking_edit_date"],
    "start_time": n["own_booking_edit_start"], "end_date": n["own_booking_edit_end_date"],
    "end_time": n["own_booking_edit_end"], "attendees": "1",
    "visibility": "private"}
RESERVE_FORM = lambda n: {  # noqa: E731
    "equipment_type": n["spare_etype"], "quantity": "1", "start_date": _day(500), "start_time": "09:00",
    "end_date": _day(501), "end_time": "09:00", "purpose": "Matrix"}


REGISTRANT = lambda n: {"name": "Matrix Registrant", "email": f"matrix-{n['actor']}@example.test"}  # noqa: E731


def api_booking(space_key: str, days: int, **extra):
    return lambda n: {"space_id": n[space_key], "title": "Matrix API booking", "start": _iso(days, 9),
                      "end": _iso(days, 10), **extra}


# --- the table -----------------------------------------------------------------------------------
# Path placeholders: world ids by name ({space}, {f_private}...), the role's own objects
# ({own_booking}...), {own_org}, {feed_token} (the outsider's live feed).

ROUTES: dict[str, list[Case]] = {
    # site
    "main.index": [C("GET", "/", EVERYONE)],
    "ops.health": [C("GET", "/healthz", EVERYONE)],
    "ops.ready": [C("GET", "/readyz", EVERYONE)],
    # Off without SAMSKAP_METRICS_TOKEN, whoever asks (with it: tests/test_ops_endpoints.py).
    "ops.metrics_text": [C("GET", "/metrics", ex(404, anon=404), note="no metrics token configured")],
    "main.openapi": [C("GET", "/api/v1/openapi.json", EVERYONE)],
    "static": [C("GET", "/static/css/app.css", EVERYONE)],

    # signing in, profile, tokens
    "auth.login": [
        C("GET", "/login", ex(302, anon=200)),
        C("POST", "/login", ex(302, anon=400), form={"email": "nobody@example.test", "password": "wrong"},
          note="wrong password"),
    ],
    "auth.logout": [C("POST", "/logout", ex(302, anon=302))],
    "auth.set_language": [C("POST", "/language", ex(302, anon=302), form={"locale": "en"})],
    "auth.profile": [
        C("GET", "/profile", SIGNED_IN),
        C("POST", "/profile", ex(302), form={"name": "Renamed Person", "locale": "en"}),
    ],
    "auth.export_data": [C("GET", "/profile/export.json", SIGNED_IN)],
    "auth.change_password": [C("POST", "/profile/password", ex(400), note="wrong current password",
                               form={"current_password": "wrong", "new_password": "x" * 16, "confirm": "x" * 16})],
    "auth.create_token": [C("POST", "/profile/tokens", ex(201), form={"name": "matrix"})],
    "auth.revoke_token": [
        C("POST", "/profile/tokens/{own_token_revoke}/revoke", ex(302)),
        C("POST", "/profile/tokens/{f_token}/revoke", ex(404), note="another user's token"),
    ],
    "auth.organisation_members": [
        C("GET", "/organisation/members", ex(403, contact=200, staff=200)),
        C("GET", "/organisation/members?organisation={org_outsider}", ex(404, staff=200),
          note="another organisation"),
        C("GET", "/organisation/members?organisation=999999", ex(404), note="no such organisation"),
    ],

    "signin.member_action": [
        C("POST", "/organisation/members/{user_colleague}/deactivate", ex(404, municipality=403, contact=302,
                                                                          staff=302), note="a municipality member"),
        C("POST", "/organisation/members/{user_colleague_2}/make-contact", ex(404, municipality=403, contact=302,
                                                                            staff=302), note="a municipality member"),
        C("POST", "/organisation/members/{user_outsider}/reactivate", ex(404, staff=302),
          note="another organisation's member"),
        C("POST", "/organisation/members/{user_outsider}/remove-contact", ex(404, staff=302),
          note="another organisation's member"),
        C("POST", "/organisation/members/999999/deactivate", ex(404), note="no such user"),
    ],
    "signin.invite": [
        C("POST", "/organisation/members/invite", ex(403, contact=302, staff=302), note="into the municipality",
          form=lambda n: {"email": "invited.web@example.test", "organisation_id": n["org_municipality"]}),
        C("POST", "/organisation/members/invite", ex(403, staff=302), note="into another organisation",
          form=lambda n: {"email": "invited.web2@example.test", "organisation_id": n["org_outsider"]}),
        C("POST", "/organisation/members/invite", ex(404), note="no such organisation",
          form={"email": "invited.web3@example.test", "organisation_id": "999999"}),
    ],
    "signin.accept_invitation": [
        C("GET", "/invitation/" + "B" * 43, ex(404, anon=404), note="unknown link"),
        C("POST", "/invitation/" + "B" * 43, ex(404, anon=404), note="unknown link",
          form={"name": "X", "password": "a long enough password", "confirm": "a long enough password"}),
    ],
    "signin.forgot_password": [
        C("GET", "/password/forgot", EVERYONE),
        C("POST", "/password/forgot", EVERYONE, form={"email": "nobody@example.test"}, note="unknown address"),
    ],
    "signin.reset_password": [
        C("GET", "/password/reset/" + "C" * 43, ex(404, anon=404), note="unknown link"),
        C("POST", "/password/reset/" + "C" * 43, ex(404, anon=404), note="unknown link",
          form={"password": "a long enough password", "confirm": "a long enough password"}),
    ],
    # single sign-on (no provider is configured here: tests/test_signin_sso.py runs a real one)
    "signin.oidc_start": [C("GET", "/login/oidc/nope", ex(404, anon=404), note="no such provider")],
    "signin.oidc_callback": [C("GET", "/login/oidc/nope/callback?code=x&state=y", ex(404, anon=404),
                               note="no such provider")],

    # administration: organisations, users, audit log
    "admin.index": [C("GET", "/admin/", ADMIN_ONLY)],
    "admin.organisations": [C("GET", "/admin/organisations", ADMIN_ONLY)],
    "admin.new_organisation": [
        C("GET", "/admin/organisations/new", ADMIN_ONLY),
        C("POST", "/admin/organisations/new", admin_only(302), form={"name": "Matrix Org", "kind": "company",
                                                                      "active": "y"}),
    ],
    "admin.edit_organisation": [
        C("GET", "/admin/organisations/{org_outsider}/edit", ADMIN_ONLY),
        C("POST", "/admin/organisations/{org_outsider}/edit", admin_only(302),
          form={"name": "Outsider ASA", "kind": "company", "active": "y"}),
        C("GET", "/admin/organisations/999999/edit", admin_only(404), note="no such organisation"),
    ],
    "admin.users": [C("GET", "/admin/users", ADMIN_ONLY)],
    "admin.new_user": [
        C("GET", "/admin/users/new", ADMIN_ONLY),
        C("POST", "/admin/users/new", admin_only(302), form=lambda n: {
            "email": "new.matrix@example.test", "name": "New Person", "organisation_id": n["org_company"],
            "role": "member", "locale": "en", "active": "y", "password": "a long enough password"}),
    ],
    "admin.edit_user": [
        C("GET", "/admin/users/{user_outsider}/edit", ADMIN_ONLY),
        C("POST", "/admin/users/{user_outsider}/edit", admin_only(302), form=lambda n: {
            "email": "outsider.renamed@example.test", "name": "Outsider Renamed", "organisation_id": n["org_outsider"],
            "role": "member", "locale": "en", "active": "y"}),
        C("GET", "/admin/users/999999/edit", admin_only(404), note="no such user"),
    ],
    "admin.anonymise_user": [
        C("POST", "/admin/users/{user_leaver}/anonymise", admin_only(302)),
        C("POST", "/admin/users/999999/anonymise", admin_only(404), note="no such user"),
    ],
    "admin.audit_log": [
        C("GET", "/admin/audit", ADMIN_ONLY),
        C("GET", "/admin/audit?from=yesterday", admin_only(400), note="bad date"),
    ],
    "admin.outbox": [
        C("GET", "/admin/outbox", ADMIN_ONLY),
        C("GET", "/admin/outbox?status=failed&page=2", ADMIN_ONLY),
        C("GET", "/admin/outbox?status=nonsense&page=x", ADMIN_ONLY, note="unknown filter ignored"),
    ],
    "admin.outbox_message": [C("GET", "/admin/outbox/999999", admin_only(404), note="no such message")],
    "admin.retry": [C("POST", "/admin/outbox/999999/retry", admin_only(404), note="no such message")],
    "auth.notification_preferences": [
        C("POST", "/profile/notifications", ex(302), form={"notify_reminders": "y", "reminder_hours": "12"}),
        C("POST", "/profile/notifications", ex(400), form={"reminder_hours": "-3"}, note="bad hours"),
    ],

    # catalogue administration
    "catalogue_admin.spaces": [C("GET", "/admin/spaces", ADMIN_ONLY)],
    "catalogue_admin.new_space_kind": [
        C("POST", "/admin/space-kinds/new", admin_only(302), form={"name_nb": "Verksted", "name_en": "Workshop"}),
        C("POST", "/admin/space-kinds/new", admin_only(400), form={}, note="empty form"),
    ],
    "catalogue_admin.booking_fields": [C("GET", "/admin/booking-fields", ADMIN_ONLY)],
    "catalogue_admin.new_booking_field": [
        C("GET", "/admin/booking-fields/new", ADMIN_ONLY),
        C("POST", "/admin/booking-fields/new", admin_only(303), form=lambda n: {
            "space_kind_id": n["space_kind"], "label_nb": "Oppsett", "label_en": "Layout", "code": "matrix_layout",
            "field_type": "text", "position": "1", "active": "y"}),
        C("POST", "/admin/booking-fields/new", admin_only(422), form={"label_nb": ""}, note="invalid form"),
    ],
    "catalogue_admin.edit_booking_field": [
        C("GET", "/admin/booking-fields/999999/edit", admin_only(404), note="no such field"),
        C("POST", "/admin/booking-fields/999999/edit", admin_only(404), form={"label_nb": "X"}, note="no such field"),
    ],
    "catalogue_admin.new_space": [
        C("GET", "/admin/spaces/new", ADMIN_ONLY),
        C("POST", "/admin/spaces/new", admin_only(400), form={"name": ""}, note="invalid form"),
    ],
    "catalogue_admin.edit_space": [
        C("GET", "/admin/spaces/{space}/edit", ADMIN_ONLY),
        C("GET", "/admin/spaces/{inactive_space}/edit", ADMIN_ONLY, note="inactive space"),
        C("POST", "/admin/spaces/{spare_space}/edit", admin_only(400), form={"name": ""}, note="invalid form"),
        C("GET", "/admin/spaces/999999/edit", admin_only(404), note="no such space"),
    ],
    "catalogue_admin.deactivate_space": [C("POST", "/admin/spaces/{spare_space}/deactivate", admin_only(302))],
    "catalogue_admin.closures": [C("GET", "/admin/closures", ADMIN_ONLY)],
    "catalogue_admin.new_closure": [
        C("GET", "/admin/closures/new", ADMIN_ONLY),
        C("POST", "/admin/closures/new", admin_only(302), form=lambda n: {
            "space_id": str(n["spare_space"]), "start_date": _day(400), "end_date": _day(401), "reason": "Paint"}),
    ],
    "catalogue_admin.closure": [
        C("GET", "/admin/closures/{closure}", ADMIN_ONLY),
        C("GET", "/admin/closures/999999", admin_only(404), note="no such closure"),
    ],
    "catalogue_admin.delete_closure": [C("POST", "/admin/closures/{closure_delete}/delete", admin_only(302))],
    "catalogue_admin.equipment_types": [C("GET", "/admin/equipment", ADMIN_ONLY)],
    "catalogue_admin.new_equipment_type": [
        C("GET", "/admin/equipment/new", ADMIN_ONLY),
        C("POST", "/admin/equipment/new", admin_only(400), form={"name": ""}, note="invalid form"),
    ],
    "catalogue_admin.equipment_type": [
        C("GET", "/admin/equipment/{inactive_etype}", ADMIN_ONLY),
        C("GET", "/admin/equipment/999999", admin_only(404), note="no such type"),
    ],
    "catalogue_admin.edit_equipment_type": [
        C("GET", "/admin/equipment/{etype}/edit", ADMIN_ONLY),
        C("POST", "/admin/equipment/{spare_etype}/edit", admin_only(400), form={"name": ""}, note="invalid form"),
    ],
    "catalogue_admin.new_unit": [
        C("GET", "/admin/equipment/{spare_etype}/units/new", ADMIN_ONLY),
        C("POST", "/admin/equipment/{spare_etype}/units/new", admin_only(302),
          form={"asset_tag": "MATRIX-1", "serial": "M1", "status": "available"}),
    ],
    "catalogue_admin.edit_unit": [
        C("GET", "/admin/units/{unit}/edit", ADMIN_ONLY),
        C("POST", "/admin/units/{spare_unit}/edit", admin_only(400), form={"asset_tag": ""}, note="invalid form"),
        C("GET", "/admin/units/999999/edit", admin_only(404), note="no such unit"),
    ],
    "catalogue_admin.unit_status": [
        C("GET", "/admin/units/{unit}/maintenance", ADMIN_ONLY),
        C("POST", "/admin/units/{spare_unit}/maintenance", admin_only(302), form={"note": "Battery"}),
    ],

    # browsing the catalogue
    "spaces.index": [C("GET", "/spaces", SIGNED_IN)],
    "spaces.detail": [
        C("GET", "/spaces/open-room", SIGNED_IN),
        C("GET", "/spaces/closed-room", ex(404, admin=200), note="inactive space"),
        C("GET", "/spaces/no-such-room", ex(404), note="no such space"),
    ],
    "spaces.equipment": [C("GET", "/equipment", SIGNED_IN)],
    "spaces.equipment_detail": [
        C("GET", "/equipment/{etype}", SIGNED_IN),
        C("GET", "/equipment/{inactive_etype}", ex(404, admin=200), note="inactive type"),
    ],

    # booking pages
    "bookings.day_view": [C("GET", "/day", SIGNED_IN)],
    "bookings.day_sheet": [
        C("GET", "/today", STAFF_ONLY),
        C("GET", "/today?date=2026-02-30", ex(403, staff=400), note="not a date"),
    ],
    "bookings.week_view": [
        C("GET", "/booking/spaces/{space}/week", SIGNED_IN),
        C("GET", "/booking/spaces/{inactive_space}/week", ex(404), note="inactive space"),
    ],
    "bookings.events": [C("GET", "/events", EVERYONE)],
    "bookings.mine": [C("GET", "/bookings/mine", SIGNED_IN)],
    "bookings.organisation_bookings": [
        C("GET", "/bookings/organisation", SIGNED_IN),
        C("GET", "/bookings/organisation?organisation={org_outsider}", SIGNED_IN, note="staff pick; others own"),
    ],
    "bookings.approvals": [C("GET", "/bookings/approvals", STAFF_ONLY)],
    "bookings.booking_page": [
        C("GET", "/bookings/{own_booking}", SIGNED_IN),
        C("GET", "/bookings/{f_private}", ex(404, staff=200), note="another organisation's private booking"),
        C("GET", "/bookings/{colleague_private}", ex(404, contact=200, staff=200),
          note="a colleague's private booking"),
        C("GET", "/bookings/{f_partners}", SIGNED_IN, note="shared with partners"),
        C("GET", "/bookings/{f_public}", EVERYONE, note="public event"),
        C("GET", "/bookings/999999", ex(404), note="no such booking"),
    ],
    "bookings.new_booking": [
        C("GET", "/bookings/new", SIGNED_IN),
        C("POST", "/bookings/new", ex(303), form=BOOKING_FORM),
        C("POST", "/bookings/new", ex(422), form={"title": ""}, note="empty form"),
    ],
    "bookings.edit_booking": [
        C("GET", "/bookings/{own_booking}/edit", SIGNED_IN),
        C("POST", "/bookings/{own_booking_edit}/edit", ex(303), form=EDIT_FORM),
        C("GET", "/bookings/{f_private}/edit", ex(404, staff=200), note="another organisation's private booking"),
        C("POST", "/bookings/{f_edit}/edit", ex(404, staff=422), form={"title": ""},
          note="another organisation's booking"),
        C("GET", "/bookings/{f_partners}/edit", ex(403, staff=200), note="visible but not manageable"),
    ],
    "bookings.cancel_booking": [
        C("GET", "/bookings/{own_booking}/cancel", SIGNED_IN),
        C("POST", "/bookings/{own_booking_cancel}/cancel", ex(303), form={"reason": "Not needed"}),
        C("POST", "/bookings/{f_cancel}/cancel", ex(404, staff=303), form={"reason": "Not needed"},
          note="another organisation's private booking"),
        C("POST", "/bookings/{f_partners}/cancel", ex(403, staff=422), form={},
          note="visible but not manageable"),
    ],
    "bookings.approve_booking": [
        C("POST", "/bookings/{f_pending_approve}/approve", staff_only(303),
          form=lambda n: {f"approve-{n['f_pending_approve']}-reason": ""}),
        C("POST", "/bookings/999999/approve", staff_only(404), note="no such booking"),
    ],
    "bookings.reject_booking": [
        C("POST", "/bookings/{f_pending_reject}/reject", staff_only(303),
          form=lambda n: {f"reject-{n['f_pending_reject']}-reason": "Full"}),
        C("POST", "/bookings/{f_pending_approve}/reject", staff_only(422), form={}, note="no reason"),
    ],
    "feeds.booking_ics": [
        C("GET", "/bookings/{own_booking}.ics", SIGNED_IN),
        C("GET", "/bookings/{f_private}.ics", ex(404, staff=200), note="another organisation's private booking"),
        C("GET", "/bookings/{f_public}.ics", SIGNED_IN, note="public event"),
    ],

    # equipment reservation pages
    "equipment_reservations.new": [
        C("GET", "/equipment-reservations/new", SIGNED_IN),
        C("POST", "/equipment-reservations/new", ex(302), form=RESERVE_FORM),
        C("POST", "/equipment-reservations/new", ex(400), form={}, note="empty form"),
    ],
    "equipment_reservations.mine": [C("GET", "/equipment-reservations/mine", SIGNED_IN)],
    "equipment_reservations.detail": [
        C("GET", "/equipment-reservations/{own_reservation}", SIGNED_IN),
        C("GET", "/equipment-reservations/{f_reservation}", ex(404, staff=200), note="another organisation's"),
        C("GET", "/equipment-reservations/{colleague_reservation}", ex(404, contact=200, staff=200),
          note="a colleague's"),
    ],
    "equipment_reservations.cancel": [
        C("POST", "/equipment-reservations/{own_reservation_cancel}/cancel", ex(302)),
        C("POST", "/equipment-reservations/{f_reservation_cancel}/cancel", ex(404, staff=302),
          note="another organisation's"),
    ],
    "equipment_reservations.timeline": [
        C("GET", "/equipment/{etype}/timeline", SIGNED_IN),
        C("GET", "/equipment/{inactive_etype}/timeline", ex(404, staff=200), note="inactive type"),
    ],
    "equipment_reservations.desk": [C("GET", "/equipment-reservations/desk", STAFF_ONLY)],
    "equipment_reservations.overdue": [C("GET", "/equipment-reservations/overdue", STAFF_ONLY)],
    "equipment_reservations.approvals": [C("GET", "/equipment-reservations/approvals", STAFF_ONLY)],
    "equipment_reservations.check_out": [
        C("GET", "/equipment-reservations/{f_reservation}/check-out", STAFF_ONLY),
        C("POST", "/equipment-reservations/{f_reservation_checkout}/check-out", staff_only(302),
          form={"note": "Fine", "early": "yes"}, note="handing out before the start, confirmed"),
        C("GET", "/equipment-reservations/999999/check-out", staff_only(404), note="no such reservation"),
    ],
    "equipment_reservations.check_in": [
        C("GET", "/equipment-reservations/{f_reservation_checkin}/check-in", STAFF_ONLY),
        C("POST", "/equipment-reservations/{f_reservation_checkin}/check-in", staff_only(302),
          form={"note": "Clean"}),
        C("POST", "/equipment-reservations/{f_reservation}/check-in", staff_only(409), form={"note": ""},
          note="not checked out"),
    ],
    "equipment_reservations.approve": [
        C("POST", "/equipment-reservations/{f_reservation_pending_approve}/approve", staff_only(302), form={}),
        C("POST", "/equipment-reservations/{f_reservation}/approve", staff_only(409), form={}, note="not pending"),
    ],
    "equipment_reservations.reject": [
        C("POST", "/equipment-reservations/{f_reservation_pending_reject}/reject", staff_only(302),
          form={"reason": "Broken"}),
        C("POST", "/equipment-reservations/{f_reservation_pending_approve}/reject", staff_only(422), form={},
          note="no reason"),
    ],

    # calendar feeds
    "feeds.index": [
        C("GET", "/feeds", SIGNED_IN),
        C("POST", "/feeds", SIGNED_IN, form={"scope": "mine"}),
        C("POST", "/feeds", ex(400, staff=200), form={"scope": "all"}, note="every booking: staff only"),
    ],
    "feeds.revoke": [
        C("POST", "/feeds/{own_feed_revoke}/revoke", ex(302)),
        C("POST", "/feeds/{f_feed_revoke}/revoke", ex(404), note="another user's feed"),
    ],
    "feeds.feed": [
        C("GET", "/feeds/{feed_token}.ics", EVERYONE, note="the token is the credential"),
        C("GET", "/feeds/" + "A" * 43 + ".ics", ex(404, anon=404), note="unknown token"),
    ],
    "feeds.public_feed": [C("GET", "/feeds/public.ics", EVERYONE)],

    # JSON API: accounts and catalogue
    "accounts_api.me": [C("GET", "/api/v1/me", SIGNED_IN)],
    "signin_api.create_invitation": [
        C("POST", "/api/v1/invitations", ex(403, contact=201, staff=201), note="into the municipality",
          json=lambda n: {"email": "invited.api@example.test", "organisation_id": n["org_municipality"]}),
        C("POST", "/api/v1/invitations", ex(403, admin=201), note="staff into the host",
          json=lambda n: {"email": "invited.staff@example.test", "organisation_id": n["org_host"], "role": "staff"}),
    ],
    "spaces_api.list_spaces": [C("GET", "/api/v1/spaces", SIGNED_IN)],
    "spaces_api.get_space": [
        C("GET", "/api/v1/spaces/{space}", SIGNED_IN),
        C("GET", "/api/v1/spaces/{inactive_space}", ex(404, admin=200), note="inactive space"),
    ],
    "spaces_api.create_space": [
        C("POST", "/api/v1/spaces", admin_only(201), json={
            "name": "Matrix Lab", "kind": "meeting-room", "capacity": 6, "bookable_by": ["company"]}),
    ],
    "spaces_api.update_space": [
        C("PATCH", "/api/v1/spaces/{spare_space}", admin_only(200), json={"capacity": 12}),
        C("PATCH", "/api/v1/spaces/999999", admin_only(404), json={"capacity": 12}, note="no such space"),
    ],
    "spaces_api.list_space_kinds": [C("GET", "/api/v1/space-kinds", SIGNED_IN)],
    "spaces_api.list_booking_fields": [C("GET", "/api/v1/space-kinds/{space_kind}/booking-fields", SIGNED_IN)],
    "spaces_api.create_space_kind": [
        C("POST", "/api/v1/space-kinds", admin_only(201), json={"name_nb": "Matriserom", "name_en": "Matrix room"}),
        C("POST", "/api/v1/space-kinds", admin_only(422), json={"name_nb": "Uten engelsk"}, note="no English name"),
    ],
    "spaces_api.update_space_kind": [
        C("PATCH", "/api/v1/space-kinds/{space_kind}", admin_only(200), json={"name_en": "Meeting room (small)"}),
        C("PATCH", "/api/v1/space-kinds/999999", admin_only(404), json={"name_en": "Nothing"}, note="no such kind"),
    ],
    "spaces_api.list_equipment": [C("GET", "/api/v1/equipment", SIGNED_IN)],
    "spaces_api.create_equipment": [
        C("POST", "/api/v1/equipment", admin_only(201), json={
            "name": "Matrix Kit", "category": "sensor_kit", "max_loan_days": 7, "bookable_by": ["company"]}),
    ],
    "spaces_api.get_equipment": [
        C("GET", "/api/v1/equipment/{etype}", SIGNED_IN),
        C("GET", "/api/v1/equipment/{inactive_etype}", ex(404, admin=200), note="inactive type"),
    ],

    # JSON API: bookings
    "booking_api.list_bookings": [C("GET", "/api/v1/bookings", SIGNED_IN)],
    "booking_api.create_booking": [
        C("POST", "/api/v1/bookings", ex(201), json=api_booking("space", 210)),
        C("POST", "/api/v1/bookings", ex(403, hospital=201, staff=422), json=api_booking("hospital_space", 211),
          note="a space only hospitals may book"),
        C("POST", "/api/v1/bookings", ex(403, staff=201),
          json=lambda n: api_booking("space", 212, organisation_id=n["org_outsider"])(n),
          note="for another organisation"),
        C("POST", "/api/v1/bookings", ex(422), json=api_booking("inactive_space", 213), note="inactive space"),
        C("POST", "/api/v1/bookings", ex(400), json=[1, 2], note="not an object"),
    ],
    "booking_api.get_booking": [
        C("GET", "/api/v1/bookings/{own_booking}", SIGNED_IN),
        C("GET", "/api/v1/bookings/{f_private}", ex(404, staff=200), note="another organisation's private booking"),
        C("GET", "/api/v1/bookings/{colleague_private}", ex(404, contact=200, staff=200),
          note="a colleague's private booking"),
        C("GET", "/api/v1/bookings/{f_occurrence}", ex(404, staff=200), note="another organisation's series"),
        C("GET", "/api/v1/bookings/{f_project_booking}", ex(404, hospital=200, staff=200),
          note="a project's private booking: its partners see it"),
    ],
    "booking_api.update_booking": [
        C("PATCH", "/api/v1/bookings/{own_booking_patch}", SIGNED_IN, json={"title": "Patched"}),
        C("PATCH", "/api/v1/bookings/{f_patch}", ex(404, staff=200), json={"title": "Patched"},
          note="another organisation's private booking"),
        C("PATCH", "/api/v1/bookings/{f_partners}", ex(403, staff=422), json={"colour": "red"},
          note="visible but not manageable"),
    ],
    "booking_api.cancel_booking": [
        C("POST", "/api/v1/bookings/{own_booking_cancel_api}/cancel", SIGNED_IN),
        C("POST", "/api/v1/bookings/{f_cancel_api}/cancel", ex(404, staff=200),
          note="another organisation's private booking"),
        C("POST", "/api/v1/bookings/{f_partners}/cancel", ex(403, staff=422), json={"reason": 5},
          note="visible but not manageable"),
    ],
    "booking_api.approve_booking": [
        C("POST", "/api/v1/bookings/{own_pending_approve}/approve", staff_only(200), note="own pending booking"),
        C("POST", "/api/v1/bookings/{f_pending_approve_api}/approve", staff_only(200, member=404),
          note="another organisation's private booking"),
        C("POST", "/api/v1/bookings/{own_booking}/approve", staff_only(409), note="not pending"),
    ],
    "booking_api.reject_booking": [
        C("POST", "/api/v1/bookings/{own_pending_reject}/reject", staff_only(200), json={"reason": "Full"},
          note="own pending booking"),
        C("POST", "/api/v1/bookings/{f_pending_reject_api}/reject", staff_only(200, member=404),
          json={"reason": "Full"}, note="another organisation's private booking"),
        C("POST", "/api/v1/bookings/{f_partners_pending}/reject", staff_only(422), json={},
          note="no reason"),
    ],
    "booking_api.availability": [
        C("GET", "/api/v1/availability", SIGNED_IN, note="every active space, today"),
        C("GET", "/api/v1/availability?space_id={space}", SIGNED_IN, note="one space"),
        C("GET", "/api/v1/availability?start=tomorrow", ex(422), note="bad start"),
    ],
    "booking_api.space_availability": [
        C("GET", "/api/v1/spaces/{space}/availability", SIGNED_IN),
        C("GET", "/api/v1/spaces/{inactive_space}/availability", ex(404, admin=200), note="inactive space"),
        C("GET", "/api/v1/spaces/{space}/availability?start=tomorrow", ex(422), note="bad start"),
    ],

    # JSON API: equipment reservations
    "equipment_api.create_reservation": [
        C("POST", "/api/v1/equipment-reservations", ex(201), json=lambda n: {
            "equipment_id": n["spare_etype"], "quantity": 1, "start": _iso(600, 9), "end": _iso(601, 9)}),
        C("POST", "/api/v1/equipment-reservations", ex(422, staff=201), json=lambda n: {
            "equipment_id": n["spare_etype"], "quantity": 1, "start": _iso(610, 9), "end": _iso(611, 9),
            "booking_id": n["f_private"]}, note="for another organisation's private booking"),
        C("POST", "/api/v1/equipment-reservations", ex(403, staff=201), json=lambda n: {
            "equipment_id": n["spare_etype"], "quantity": 1, "start": _iso(620, 9), "end": _iso(621, 9),
            "organisation_id": n["org_outsider"]}, note="for another organisation"),
    ],
    "equipment_api.list_reservations": [C("GET", "/api/v1/equipment-reservations", SIGNED_IN)],
    "equipment_api.get_reservation": [
        C("GET", "/api/v1/equipment-reservations/{own_reservation}", SIGNED_IN),
        C("GET", "/api/v1/equipment-reservations/{f_reservation}", ex(404, staff=200), note="another organisation's"),
    ],
    "equipment_api.cancel": [
        C("POST", "/api/v1/equipment-reservations/{own_reservation_cancel_api}/cancel", SIGNED_IN),
        C("POST", "/api/v1/equipment-reservations/{f_reservation_cancel_api}/cancel", ex(404, staff=200),
          note="another organisation's"),
    ],
    "equipment_api.checkout": [
        C("POST", "/api/v1/equipment-reservations/{own_reservation_checkout}/checkout", staff_only(200),
          note="own reservation"),
        C("POST", "/api/v1/equipment-reservations/{f_reservation_checkout_api}/checkout",
          staff_only(200, member=404), note="another organisation's"),
    ],
    "equipment_api.checkin": [
        C("POST", "/api/v1/equipment-reservations/{own_reservation_checkin}/checkin", staff_only(200),
          note="own reservation"),
        C("POST", "/api/v1/equipment-reservations/{f_reservation_checkin_api}/checkin",
          staff_only(200, member=404), note="another organisation's"),
    ],
    "equipment_api.approve": [
        C("POST", "/api/v1/equipment-reservations/{own_reservation_pending_approve}/approve", staff_only(200),
          note="own pending reservation"),
        C("POST", "/api/v1/equipment-reservations/{f_reservation_pending_approve_api}/approve",
          staff_only(200, member=404), note="another organisation's"),
    ],
    "equipment_api.reject": [
        C("POST", "/api/v1/equipment-reservations/{own_reservation_pending_reject}/reject", staff_only(200),
          json={"reason": "Broken"}, note="own pending reservation"),
        C("POST", "/api/v1/equipment-reservations/{f_reservation_pending_reject_api}/reject",
          staff_only(200, member=404), json={"reason": "Broken"}, note="another organisation's"),
    ],

    # JSON API: feeds
    "feeds_api.create_feed": [
        C("POST", "/api/v1/feeds", ex(201), json={"scope": "mine"}),
        C("POST", "/api/v1/feeds", ex(403, staff=201), json={"scope": "all"}, note="every booking: staff only"),
        C("POST", "/api/v1/feeds", ex(422, admin=201), json=lambda n: {"scope": "space", "space_id": n["inactive_space"]},
          note="inactive space"),
        C("POST", "/api/v1/feeds", ex(422, admin=201),
          json=lambda n: {"scope": "equipment", "equipment_id": n["inactive_etype"]}, note="inactive type"),
    ],
    "feeds_api.list_feeds": [C("GET", "/api/v1/feeds", SIGNED_IN)],
    "feeds_api.revoke_feed": [
        C("DELETE", "/api/v1/feeds/{own_feed_delete_api}", ex(204)),
        C("DELETE", "/api/v1/feeds/{f_feed_revoke}", ex(404), note="another user's feed"),
    ],

    # fair use: check-in, the room's QR page, the waitlist, quotas (issue 19)
    "fairuse.check_in": [
        C("POST", "/bookings/{own_booking}/check-in", ex(303), note="not open yet: told so on the booking page"),
        C("POST", "/bookings/{f_private}/check-in", ex(404, staff=303), note="another organisation's private"),
        C("POST", "/bookings/{f_partners}/check-in", ex(403, staff=303), note="another organisation's, visible"),
    ],
    "fairuse.space_check_in": [
        C("GET", "/spaces/{space}/check-in", SIGNED_IN),
        C("GET", "/spaces/{inactive_space}/check-in", ex(404), note="inactive space"),
    ],
    "fairuse.check_in_code": [C("GET", "/spaces/{space}/check-in-code", STAFF_ONLY)],
    "fairuse.waitlist_page": [C("GET", "/waitlist", SIGNED_IN)],
    "fairuse.join_waitlist": [
        C("POST", "/waitlist", ex(303), form=lambda n: {"space_id": n["space"], "start": _iso(700, 9),
                                                         "end": _iso(700, 10)}, note="a free time: told to book it"),
        C("POST", "/waitlist", ex(400), form={"space_id": "1", "start": "soon"}, note="malformed"),
    ],
    "fairuse.leave_waitlist": [C("POST", "/waitlist/999999/leave", ex(404), note="no such entry")],
    "fairuse_api.check_in": [
        C("POST", "/api/v1/bookings/{own_booking}/check-in", ex(409), note="not open yet"),
        C("POST", "/api/v1/bookings/{f_private}/check-in", ex(404, staff=409), note="another organisation's private"),
        C("POST", "/api/v1/bookings/{f_partners}/check-in", ex(403, staff=409), note="another organisation's, visible"),
    ],
    "fairuse_api.join_waitlist": [
        C("POST", "/api/v1/waitlist", ex(409), json=lambda n: {"space_id": n["space"], "start": _iso(700, 9),
                                                                "end": _iso(700, 10)}, note="a free time"),
        C("POST", "/api/v1/waitlist", ex(422), json={"space_id": 1, "start": "soon", "end": "later"},
          note="bad times"),
    ],
    "fairuse_api.list_waitlist": [C("GET", "/api/v1/waitlist", SIGNED_IN)],
    "fairuse_api.leave_waitlist": [C("DELETE", "/api/v1/waitlist/999999", ex(404), note="no such entry")],
    "fairuse_api.list_quotas": [C("GET", "/api/v1/quotas", ADMIN_ONLY)],
    "fairuse_api.create_quota": [
        C("POST", "/api/v1/quotas", admin_only(201), json=lambda n: {
            "organisation_kind": "company", "space_id": n["spare_space"], "period": "month", "max_hours": 100}),
        C("POST", "/api/v1/quotas", admin_only(422), json={"max_hours": 2}, note="nobody it binds"),
    ],
    "fairuse_api.get_quota": [C("GET", "/api/v1/quotas/999999", admin_only(404), note="no such quota")],
    "fairuse_api.update_quota": [C("PATCH", "/api/v1/quotas/999999", admin_only(404), json={"max_hours": 3},
                                   note="no such quota")],
    "fairuse_api.delete_quota": [C("DELETE", "/api/v1/quotas/999999", admin_only(404), note="no such quota")],
    # projects (issue 18): staff and administrators create and change; partners read; an
    # organisation's contacts propose projects their organisation leads (another lead: 403)
    "projects_api.list_projects": [C("GET", "/api/v1/projects", SIGNED_IN)],
    "projects_api.create_project": [
        C("POST", "/api/v1/projects", ex(403, staff=201),
          json=lambda n: {"name": f"Matrix pilot {n['actor']}", "lead_organisation_id": n["org_hospital"],
                          "organisation_ids": [n["org_company"]], "starts_on": _day(10), "ends_on": _day(40)}),
        C("POST", "/api/v1/projects", ex(403, contact=201, staff=201), note="proposal",
          json=lambda n: {"name": f"Matrix proposal {n['actor']}", "lead_organisation_id": n["org_municipality"]}),
        C("POST", "/api/v1/projects", ex(403, contact=422, staff=422), json={"name": "", "lead_organisation_id": 999999},
          note="invalid"),
        C("POST", "/api/v1/projects", ex(403, contact=400, staff=400), json=[1], note="not an object"),
    ],
    "projects_api.approve_project": [
        C("POST", "/api/v1/projects/{f_project}/approve", ex(404, hospital=403, staff=422), json={},
          note="not a proposal"),
        C("POST", "/api/v1/projects/999999/approve", ex(404), json={}, note="no such project"),
    ],
    "projects_api.reject_project": [
        C("POST", "/api/v1/projects/{f_project}/reject", ex(404, hospital=403, staff=422), json={},
          note="not a proposal"),
    ],
    "projects.index": [C("GET", "/projects", SIGNED_IN)],
    "projects.new": [
        C("GET", "/projects/new", ex(403, contact=200, staff=200)),
        C("POST", "/projects/new", ex(403, contact=422, staff=422), form={"name": ""}, note="invalid"),
    ],
    "projects.detail": [C("GET", "/projects/{f_project}", ex(404, hospital=200, staff=200), note="partners only")],
    "projects.edit": [
        C("GET", "/projects/{f_project}/edit", ex(403, staff=200)),
        C("POST", "/projects/{f_project}/edit", ex(403, staff=422), form={"name": ""}, note="invalid"),
    ],
    "projects.approve": [C("POST", "/projects/{f_project}/approve", ex(403, staff=422), form={"status": "active"},
                           note="not a proposal")],
    "projects.reject": [C("POST", "/projects/{f_project}/reject", ex(403, staff=422), form={"reason": ""},
                          note="invalid")],
    "projects_api.get_project": [
        C("GET", "/api/v1/projects/{f_project}", ex(404, hospital=200, staff=200), note="partners only"),
        C("GET", "/api/v1/projects/999999", ex(404), note="no such project"),
    ],
    "projects_api.update_project": [
        C("PATCH", "/api/v1/projects/{f_project}", ex(404, hospital=403, staff=200), json={"status": "active"}),
        C("PATCH", "/api/v1/projects/{f_project}", ex(404, hospital=403, staff=422), json={"status": "done"},
          note="invalid"),
    ],
    # events with registration (issue 18): anyone registers for a public event, signed-in users for a
    # partners-only one; the organiser (here the outsider) and staff see, cancel and mark attendance
    "registrations_api.register": [
        C("POST", "/api/v1/bookings/{f_event}/registrations", ex(201, anon=201), json=REGISTRANT),
        C("POST", "/api/v1/bookings/{f_partners_event}/registrations", ex(201, anon=404), json=REGISTRANT,
          note="partners only"),
        C("POST", "/api/v1/bookings/{f_private}/registrations", ex(404, anon=404), json=REGISTRANT,
          note="takes no registrations"),
        C("POST", "/api/v1/bookings/{f_event}/registrations", ex(422, anon=422), json={"name": "X", "email": "not an address"},
          note="invalid"),
    ],
    "registrations_api.list_registrations": [
        C("GET", "/api/v1/bookings/{f_event}/registrations", ex(403, staff=200)),
        C("GET", "/api/v1/bookings/{f_event}/registrations?format=csv", ex(403, staff=200), note="csv"),
        C("GET", "/api/v1/bookings/{f_private}/registrations", ex(404, staff=200), note="private booking"),
        C("GET", "/api/v1/bookings/{own_booking}/registrations", SIGNED_IN, note="own booking"),
    ],
    "registrations_api.cancel_registration": [
        C("POST", "/api/v1/bookings/{f_event}/registrations/{f_registration_cancel_api}/cancel", ex(403, staff=200)),
        C("POST", "/api/v1/bookings/{own_booking}/registrations/{f_registration_cancel_api}/cancel", ex(404),
          note="another booking's registration"),
    ],
    "registrations_api.mark_attendance": [
        C("POST", "/api/v1/bookings/{f_event}/registrations/{f_registration_attendance}/attendance",
          ex(403, staff=200), json={"attended": True}),
        C("POST", "/api/v1/bookings/{f_event}/registrations/{f_registration_attendance}/attendance",
          ex(403, staff=422), json={"attended": "yes"}, note="invalid"),
    ],
    "registrations.register": [
        C("GET", "/events/{f_event}/register", EVERYONE),
        C("GET", "/events/{f_partners_event}/register", ex(200, anon=404), note="partners only"),
        C("POST", "/events/{f_event}/register", EVERYONE,
          form=lambda n: {"name": "Matrix Registrant", "email": f"form-{n['actor']}@example.test"}),
        C("POST", "/events/{f_event}/register", ex(422, anon=422), form={"name": ""}, note="invalid"),
    ],
    "registrations.registrant_page": [
        C("GET", "/events/registrations/{registration_token}", EVERYONE),
        C("GET", "/events/registrations/" + "x" * 43, ex(404, anon=404), note="unknown link"),
    ],
    "registrations.confirm": [C("POST", "/events/registrations/{registration_token}/confirm", ex(303, anon=303),
                                note="already confirmed: no change")],
    "registrations.cancel_own": [C("POST", "/events/registrations/{registration_token}/cancel", ex(303, anon=303))],
    # people without an account: ask for the link to their data, see, download and erase it
    "guest_data.request_page": [C("GET", "/my-data", EVERYONE), C("POST", "/my-data", EVERYONE, form={
        "email": "nobody@example.test"}), C("POST", "/my-data", ex(422, anon=422), form={"email": "x"}, note="bad")],
    "guest_data.data_page": [C("GET", "/my-data/{guest_data_token}", EVERYONE),
                             C("GET", "/my-data/" + "x" * 43, ex(400, anon=400), note="not a link of ours")],
    "guest_data.download": [C("GET", "/my-data/{guest_data_token}/download", EVERYONE)],
    "guest_data.erase": [C("POST", "/my-data/{guest_data_token}/erase", ex(303, anon=303), note="again: no change"),
                         C("POST", "/my-data/" + "x" * 43 + "/erase", ex(400, anon=400), note="not ours")],
    "registrations.settings_page": [
        C("GET", "/bookings/{own_booking}/registration", SIGNED_IN),
        C("GET", "/bookings/{f_event}/registration", ex(403, staff=200)),
        C("GET", "/bookings/{f_private}/registration", ex(404, staff=200), note="private booking"),
        C("POST", "/bookings/{own_booking_patch}/registration", ex(422), note="a private booking takes none",
          form={"capacity": "5", "closes_date": _day(1), "closes_time": "08:00", "audience": "partners"}),
    ],
    "registrations.list_page": [
        C("GET", "/bookings/{own_booking}/registrations", SIGNED_IN),
        C("GET", "/bookings/{f_event}/registrations", ex(403, staff=200)),
    ],
    "registrations.sign_in_sheet": [
        C("GET", "/bookings/{own_booking}/registrations/sheet", SIGNED_IN),
        C("GET", "/bookings/{f_event}/registrations/sheet", ex(403, staff=200)),
    ],
    "registrations.attendance": [
        C("POST", "/bookings/{f_event}/registrations/attendance", ex(403, staff=303),
          form=lambda n: {"present": str(n["f_registration_attendance"])}),
    ],
    "registrations.cancel_registration": [
        C("POST", "/bookings/{f_event}/registrations/{f_registration_cancel}/cancel", ex(403, staff=303)),
    ],
    # reports (issue 20): staff and administrators; an organisation's contacts for their own
    "reports.index": [
        C("GET", "/reports", ex(403, contact=200, staff=200)),
        C("GET", "/reports?first=2026-01-01&last=2026-03-31&group=week&organisation_id={org_outsider}",
          ex(403, contact=400, staff=200), note="another organisation"),
        C("GET", "/reports?first=2026-03-31&last=2026-01-01&group=week", ex(403, contact=400, staff=400),
          note="to before from"),
    ],
    "reports_api.utilisation": [
        C("GET", "/api/v1/reports/utilisation?from=2026-01-01&to=2026-12-31&by=organisation_kind",
          ex(403, contact=200, staff=200)),
        C("GET", "/api/v1/reports/utilisation?from=2026-01-01&to=2026-12-31&by=sector_pair&format=csv",
          ex(403, contact=200, staff=200), note="csv"),
        C("GET", "/api/v1/reports/utilisation?from=2026-01-01&to=2026-12-31&by=space&organisation_id={org_outsider}",
          ex(403, contact=403, staff=200), note="another organisation"),
        C("GET", "/api/v1/reports/utilisation?from=2026-01-01&by=space", ex(403, contact=422, staff=422),
          note="no 'to'"),
    ],
    "reports_api.behaviour_report": [
        C("GET", "/api/v1/reports/behaviour?from=2026-01-01&to=2026-12-31", ex(403, contact=200, staff=200)),
    ],
    "reports_api.attendance_report": [
        C("GET", "/api/v1/reports/attendance?from=2026-01-01&to=2026-12-31", ex(403, contact=200, staff=200)),
        C("GET", "/api/v1/reports/attendance?from=2026-01-01&to=2026-12-31&format=csv",
          ex(403, contact=200, staff=200)),
    ],
}
