"""Flask-Limiter with the same limits and the same storage keys, checked with less work per request.

Flask-Limiter resolves a request's limits from scratch on every request, also on routes that have
none: the view's qualified name, exemptions of the route and its blueprint (twice), the blueprint's
limit groups, the limit string parsed again, an ordered set, a per-request context, and after the
answer and at teardown that context again. That cost about a fifth of a ``GET /api/v1/me``.

:class:`SamskapLimiter` keeps the library and its configuration, and answers the common cases
directly:

* A route whose request has no limit to check before its view (pages, feeds, views whose own
  decorator checks their limits) does no limiter work before the view, after it, or at teardown.
* A route whose limits are its blueprint's (the API's per-user limit) hits those limits in storage
  with the same arguments as the library (key, scope ``<endpoint>:api``, cost), so the counts are
  the same counts in the same Redis keys; the limit string is parsed once per value.

Everything else goes through the library as before: decorated limits (sign-in, password reset,
invitations, registration), exempt or nested blueprints, and every request while the storage is
down (the in-memory fallback and the recovery check are the library's own), and any configuration
that uses a feature this shortcut does not carry (application, default or meta limits, request
filters, rate-limit headers, breach callbacks, conditional deductions). A storage error in a
direct check is handled as the library handles it: the limiter switches to its in-memory fallback
and the request is checked again there.
"""
from __future__ import annotations

import flask
from flask.globals import request_ctx
from flask_limiter import Limiter, RateLimitExceeded, RequestLimit
from flask_limiter._limits import RuntimeLimit  # the library's own per-request limit, reused as is
from flask_limiter.util import get_qualified_name
from limits import parse_many

GENERIC = None  # a plan that says: let the library resolve this request
_PLANS = "samskap_limit_plans"


class _Plan:
    """What the request check before the view needs for one endpoint (per app, per process)."""

    __slots__ = ("name", "groups", "parsed")

    def __init__(self, name: str, groups: tuple):
        self.name = name          # the view's qualified name (marks and hints refer to it)
        self.groups = groups      # the blueprint's limit groups (definitions, not yet evaluated)
        self.parsed: dict = {}    # limit strings of the groups -> their RuntimeLimits, sorted


class SamskapLimiter(Limiter):
    def init_app(self, app: flask.Flask) -> None:
        super().init_app(app)
        if not self.enabled:
            return
        app.extensions[_PLANS] = {}
        # The library's after-request and teardown hooks only read or reset the per-request context;
        # a request that checked nothing has none, so they are skipped for it.
        inject = getattr(Limiter, "_Limiter__inject_headers")
        release = getattr(self, "_Limiter__release_context")
        after = app.after_request_funcs.setdefault(None, [])
        after[:] = [self._after_request if getattr(f, "func", None) is inject and f.args == (self,) else f
                    for f in after]
        teardown = app.teardown_request_funcs.setdefault(None, [])
        teardown[:] = [self._teardown if f == release else f for f in teardown]

    def _shortcut_allowed(self) -> bool:
        """No feature is configured that the direct check does not carry."""
        manager = self.limit_manager
        return not (manager._application_limits or manager._default_limits or self._meta_limits
                    or self._request_filters or self._headers_enabled or self._on_breach
                    or self._on_meta_breach or self._in_memory_fallback or self._storage_dead)

    def _check_request_limit(self, callable_name: str | None = None, in_middleware: bool = True) -> None:
        if callable_name is None and in_middleware and self._shortcut_allowed():
            endpoint = self.identify_request()
            plan = self._plan(endpoint)
            if plan is not GENERIC:
                return self._check_plan(endpoint, plan)
        return super()._check_request_limit(callable_name, in_middleware)

    def _plan(self, endpoint: str | None):
        app = flask.current_app
        plans = app.extensions.get(_PLANS)
        if plans is None:
            return GENERIC
        try:
            return plans[endpoint]
        except KeyError:
            plan = plans[endpoint] = self._make_plan(app, endpoint)
            return plan

    def _make_plan(self, app: flask.Flask, endpoint: str | None):
        if not endpoint or endpoint.split(".")[-1] == "static":
            return _Plan("", ())  # the library exempts these from every limit
        view_func = app.view_functions.get(endpoint)
        name = get_qualified_name(view_func) if view_func else ""
        blueprint = endpoint.rpartition(".")[0] or None
        manager = self.limit_manager
        if blueprint is not None and ("." in blueprint or blueprint not in app.blueprints):
            return GENERIC  # nested blueprints inherit their ancestors' limits and exemptions
        if manager._route_exemptions.get(name) or (blueprint and manager._blueprint_exemptions.get(blueprint)):
            return GENERIC
        groups = tuple(manager._blueprint_limits.get(blueprint, ())) if blueprint else ()
        if any(group.deduct_when or group.on_breach or group.meta_limits for group in groups):
            return GENERIC
        return _Plan(name, groups)

    def _runtime_limits(self, plan: _Plan) -> list[RuntimeLimit]:
        """The blueprint's limits for this request, as the library builds them (Limit.__iter__);
        the string is asked of its provider every time (it may follow the configuration)."""
        limits: list[RuntimeLimit] = []
        for group in plan.groups:
            provider = group.limit_provider
            text = provider() if callable(provider) else provider
            key = (id(group), text)
            parsed = plan.parsed.get(key)
            if parsed is None:
                try:
                    items = parse_many(text) if text else []
                except ValueError:
                    # A malformed limit (set at run time; start-up refuses one from the environment) is
                    # skipped as the library skips it: not a storage failure, which would move every
                    # limit of this process into memory.
                    self.logger.error("failed to load ratelimit for %s: %r", plan.name, text)
                    items = []
                parsed = plan.parsed[key] = tuple(sorted((
                    RuntimeLimit(item, group.limit_by, scope=group.scope, per_method=group.per_method,
                                 methods=group.methods, error_message=group.error_message,
                                 exempt_when=group.exempt_when, deduct_when=group.deduct_when,
                                 override_defaults=group.override_defaults, on_breach=group.on_breach,
                                 cost=group.cost or 1, shared=group.shared, meta_limits=())
                    for item in items), key=lambda lim: lim.limit))
            limits.extend(parsed)
        if len(plan.groups) > 1:  # checked in the library's order: the smallest window first
            limits.sort(key=lambda lim: lim.limit)
        return limits

    def _check_plan(self, endpoint: str, plan: _Plan) -> None:
        if not plan.groups:
            return
        # A view decorated with its own limit (or hinted to one) is checked by that decorator, and the
        # library then leaves its blueprint's limits out of the check before the view.
        if plan.name in self._marked_for_limiting or self.limit_manager.has_hints(endpoint):
            return
        try:
            self._hit(endpoint, self._runtime_limits(plan))
        except RateLimitExceeded:
            raise
        except Exception:
            # As the library does when its storage fails: carry on in memory, and check this request
            # there (the library's own path, which from now on also watches for the storage's return).
            if self._in_memory_fallback_enabled and not self._storage_dead:
                self.logger.warning("Rate limit storage unreachable - falling back to in-memory storage")
                self._storage_dead = True
                return super()._check_request_limit(None, True)
            if self._swallow_errors:
                self.logger.exception("Failed to rate limit. Swallowing error")
                return
            raise

    def _hit(self, endpoint: str, limits: list[RuntimeLimit]) -> None:
        method = flask.request.method
        failed = []
        checked = []  # (limit, its storage arguments, breached)
        for lim in limits:
            if lim.is_exempt or lim.method_exempt:
                continue
            scope = lim.scope_for(endpoint, method)
            key = lim.key_func()
            args = [key, scope]
            if not all(args):
                self.logger.error(f"Skipping limit: {lim.limit}. Empty value found in parameters.")
                continue
            if self._key_prefix:
                args = [self._key_prefix, *args]
            allowed = self.limiter.hit(lim.limit, *args, cost=lim.deduction_amount)
            checked.append((lim, args, not allowed))
            if not allowed:
                self.logger.info("ratelimit %s (%s) exceeded at endpoint: %s", lim.limit, key, scope)
                failed.append(lim)
                if self._fail_on_first_breach:
                    break
        if not failed:
            return
        # The refusal's answer asks the limit when it resets (samskap/errors.py: Retry-After), through
        # the same per-request context the library fills.
        view_limits = [RequestLimit(self, lim.limit, args, breached, lim.shared) for lim, args, breached in checked]
        context = self.context
        context.view_rate_limit = [limit for limit in view_limits if limit.breached][-1]
        context.view_rate_limits = view_limits
        raise RateLimitExceeded(sorted(failed, key=lambda lim: lim.limit)[0])

    def _after_request(self, response):
        if hasattr(request_ctx, "_limiter_request_context"):
            return getattr(Limiter, "_Limiter__inject_headers")(self, response)
        return response

    def _teardown(self, exc: BaseException | None = None) -> None:
        if hasattr(request_ctx, "_limiter_request_context"):
            getattr(self, "_Limiter__release_context")(exc)
