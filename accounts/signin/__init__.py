"""Letting people in without an administrator typing them: single sign-on (OpenID Connect),
invitations, password reset, and organisation contacts managing their own members.

``models`` holds the identity links and the single-use links; ``oidc`` the provider file and
the client; ``rules`` maps a person's claims to an organisation and role; ``services`` the use
cases; ``views`` and ``api`` the pages and the JSON endpoints.
"""
