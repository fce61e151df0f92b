"""Operator commands for organisations, users and API tokens (``flask --app app <command>``),
added to the app by :func:`accounts.init_app`. Each exits non-zero with a one-line message on
bad input (unknown kind, duplicate email, missing organisation)."""
from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from accounts import services
from accounts.models import User
from samskap.cli import fail
from samskap.errors import DomainError
from samskap.extensions import db


def _read_password(password: str | None) -> str:
    if password is not None:
        return password
    if sys.stdin is None:
        raise click.ClickException("No password: give --password or pipe it on standard input.")
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


@click.command("create-organization")
@click.argument("name")
@click.option("--kind", required=True, help="municipality, hospital, company, academia or host")
@click.option("--number", default=None, help="Norwegian organisation number (9 digits)")
@with_appcontext
def create_organization(name, kind, number):
    """Create an organisation and print its id."""
    try:
        org = services.create_organisation(None, {"name": name, "kind": kind, "number": number})
    except DomainError as exc:
        fail(exc)
    db.session.commit()
    click.echo(org.id)


@click.command("create-user")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", required=True, help="admin, staff or member")
@click.option("--organization", "organisation", required=True, help="organisation name or id")
@click.option("--password", default=None, help="password (else read from standard input)")
@click.option("--locale", default="nb", show_default=True, help="nb or en")
@with_appcontext
def create_user(email, name, role, organisation, password, locale):
    """Create a user; the password comes from --password or standard input."""
    org = services.find_organisation(organisation)
    if org is None:
        raise click.ClickException(f"No organisation named '{organisation}'.")
    secret = _read_password(password)
    try:
        user = services.create_user(None, {"email": email, "name": name, "role": role,
                                           "organisation_id": org.id, "password": secret, "locale": locale})
    except DomainError as exc:
        fail(exc)
    db.session.commit()
    click.echo(user.id)


@click.command("create-api-token")
@click.argument("email")
@click.option("--name", default="cli", help="what the token is for")
@with_appcontext
def create_api_token(email, name):
    """Print a new API token for that user, alone on one line."""
    try:
        normalised = services.normalise_email(email)
    except DomainError as exc:
        fail(exc)
    user = db.session.scalar(sa.select(User).where(User.email == normalised))
    if user is None:
        raise click.ClickException(f"No user with email {normalised}.")
    if not user.is_active:
        raise click.ClickException(f"User {normalised} is deactivated.")
    try:
        _token, secret = services.create_api_token(None, user, name)
    except DomainError as exc:
        fail(exc)
    db.session.commit()
    click.echo(secret)


def register_cli(app) -> None:
    for command in (create_organization, create_user, create_api_token):
        app.cli.add_command(command)
