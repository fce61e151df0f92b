"""``flask --app app sso-check``: the providers file against the database and the providers.

The file's shape is checked when the app starts; what only the database and the network can tell
(does each rule's organisation exist, is it active, is a staff rule's organisation the workshop host,
does each provider's discovery document answer and name its issuer) is checked here, so an operator
finds a broken rule before a person is refused by it.
"""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from accounts.models import Organisation, OrganisationKind, Role
from accounts.signin.oidc import registry
from samskap.extensions import db


def provider_problems(provider, client) -> list[str]:
    problems = []
    for number, rule in enumerate(provider.rules, start=1):
        org = db.session.scalar(sa.select(Organisation).where(
            sa.func.lower(Organisation.name) == rule.organisation.lower()))
        if org is None:
            problems.append(f"rule {number}: no organisation named {rule.organisation!r}")
        elif not org.active:
            problems.append(f"rule {number}: organisation {org.name!r} is inactive")
        elif rule.role == Role.STAFF and org.kind != OrganisationKind.HOST:
            problems.append(f"rule {number}: staff only into the workshop host, and {org.name!r} is a {org.kind.value}")
    try:
        metadata = client.load_server_metadata()
    except Exception as exc:  # any failure to fetch or read the document is the answer
        problems.append(f"discovery at {provider.discovery_url} failed: {type(exc).__name__}: {exc}")
    else:
        if metadata.get("issuer") != provider.issuer:
            problems.append(f"discovery names issuer {metadata.get('issuer')!r}, the file says {provider.issuer!r}")
    return problems


@click.command("sso-check")
@with_appcontext
def sso_check():
    """Check each single sign-on provider's rules and discovery document."""
    providers = registry(current_app).listed()
    if not providers:
        click.echo("No single sign-on providers (SAMSKAP_OIDC_PROVIDERS is not set).")
        return
    failed = False
    for provider in providers:
        problems = provider_problems(provider, registry(current_app).client(provider.name))
        click.echo(f"{provider.name}: " + ("ok" if not problems else "; ".join(problems)))
        failed = failed or bool(problems)
    if failed:
        raise click.ClickException("some providers need attention (see above)")
