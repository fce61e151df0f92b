"""A real OpenID Connect provider on localhost, for the single sign-on tests.

A small WSGI app (werkzeug) served by werkzeug's ``make_server`` in a thread on a free port,
signing ID tokens with a freshly generated RSA key (joserfc). It speaks the protocol as a real
provider does: discovery, authorization (consent is automatic, for the identity the test
chose), the token endpoint (client authentication, single-use codes, redirect URI and PKCE
checked), JWKS and userinfo. ``tamper`` lets a test make the ID token wrong in one way.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from urllib.parse import urlencode, urlsplit, parse_qsl, urlunsplit

from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

CLIENT_ID = "samskap-test-client"
CLIENT_SECRET = "test-client-secret"


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # keep the test output readable
        pass


def _json(data, status=200):
    return Response(json.dumps(data), status=status, content_type="application/json")


class OidcTestProvider:
    def __init__(self):
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig", "alg": "RS256"})
        # A second key with the same kid: a token signed with it has a bad signature.
        self.impostor_key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1"})
        self.identity: dict = {}
        self.userinfo_extra: dict = {}
        self.tamper: dict = {}
        self.sign_with_impostor = False
        self.codes: dict[str, dict] = {}
        self.access_tokens: dict[str, dict] = {}
        self.requests: list[str] = []
        self._server = make_server("127.0.0.1", 0, self.wsgi, threaded=True, request_handler=_QuietHandler)
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> "OidcTestProvider":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def config(self, name="test", rules=None, **overrides) -> dict:
        """A provider entry for SAMSKAP_OIDC_PROVIDERS naming this server."""
        return {"name": name, "title": "Test ID", "issuer": self.issuer, "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET, "scopes": ["openid", "email", "profile"],
                "rules": rules or [], **overrides}

    # --- WSGI ----------------------------------------------------------------------------------
    def wsgi(self, environ, start_response):
        request = Request(environ)
        self.requests.append(request.path)
        routes = {"/.well-known/openid-configuration": self.discovery, "/authorize": self.authorize,
                  "/token": self.token, "/jwks": self.jwks, "/userinfo": self.userinfo}
        handler = routes.get(request.path)
        response = handler(request) if handler else Response("not found", status=404)
        return response(environ, start_response)

    def discovery(self, request):
        return _json({
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "jwks_uri": self.issuer + "/jwks",
            "userinfo_endpoint": self.issuer + "/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        })

    def authorize(self, request):
        args = request.args
        if args.get("client_id") != CLIENT_ID or args.get("response_type") != "code":
            return Response("bad client or response type", status=400)
        if "openid" not in (args.get("scope") or "").split():
            return Response("openid scope missing", status=400)
        if args.get("code_challenge_method") != "S256" or not args.get("code_challenge"):
            return Response("PKCE required", status=400)
        code = secrets.token_urlsafe(24)
        self.codes[code] = {"redirect_uri": args["redirect_uri"], "nonce": args.get("nonce"),
                            "challenge": args["code_challenge"], "identity": dict(self.identity)}
        target = urlsplit(args["redirect_uri"])
        query = parse_qsl(target.query) + [("code", code), ("state", args.get("state", ""))]
        return Response(status=302, headers={"Location": urlunsplit(target._replace(query=urlencode(query)))})

    def _client_ok(self, request) -> bool:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return user == CLIENT_ID and password == CLIENT_SECRET
        return request.form.get("client_id") == CLIENT_ID and request.form.get("client_secret") == CLIENT_SECRET

    def token(self, request):
        if not self._client_ok(request):
            return _json({"error": "invalid_client"}, 401)
        form = request.form
        grant = self.codes.pop(form.get("code", ""), None)  # single use
        if form.get("grant_type") != "authorization_code" or grant is None:
            return _json({"error": "invalid_grant"}, 400)
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return _json({"error": "invalid_grant", "error_description": "redirect_uri"}, 400)
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant["challenge"]:
            return _json({"error": "invalid_grant", "error_description": "PKCE"}, 400)
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": grant["nonce"],
                  **grant["identity"]}
        claims.update(self.tamper)
        claims = {k: v for k, v in claims.items() if v is not None}
        key = self.impostor_key if self.sign_with_impostor else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key-1"}, claims, key)
        access = secrets.token_urlsafe(24)
        self.access_tokens[access] = {**grant["identity"], **self.userinfo_extra}
        return _json({"access_token": access, "token_type": "Bearer", "expires_in": 300, "id_token": id_token})

    def jwks(self, request):
        return _json({"keys": [self.key.as_dict(private=False)]})

    def userinfo(self, request):
        header = request.headers.get("Authorization", "")
        info = self.access_tokens.get(header[7:]) if header.startswith("Bearer ") else None
        if info is None:
            return _json({"error": "invalid_token"}, 401)
        return _json(info)
