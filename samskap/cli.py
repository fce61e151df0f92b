"""Operator commands: ``flask --app app <command>``. Each exits non-zero with a
one-line message on bad input."""
from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from samskap.errors import DomainError, ValidationFailed
from samskap.extensions import db


def _fail(error: DomainError) -> None:
    db.session.rollback()
    if isinstance(error, ValidationFailed):
        message = " ".join(f"{field}: {text}" for field, text in error.fields.items())
    else:
        message = error.message
    raise click.ClickException(message)


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
    from accounts import services

    try:
        org = services.create_organisation(None, {"name": name, "kind": kind, "number": number})
    except DomainError as exc:
        _fail(exc)
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
    from accounts import services

    org = services.find_organisation(organisation)
    if org is None:
        raise click.ClickException(f"No organisation named '{organisation}'.")
    secret = _read_password(password)
    try:
        user = services.create_user(None, {"email": email, "name": name, "role": role,
                                           "organisation_id": org.id, "password": secret, "locale": locale})
    except DomainError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(user.id)


@click.command("create-api-token")
@click.argument("email")
@click.option("--name", default="cli", help="what the token is for")
@with_appcontext
def create_api_token(email, name):
    """Print a new API token for that user, alone on one line."""
    from accounts import services
    from accounts.models import User

    try:
        normalised = services.normalise_email(email)
    except DomainError as exc:
        _fail(exc)
    user = db.session.scalar(sa.select(User).where(User.email == normalised))
    if user is None:
        raise click.ClickException(f"No user with email {normalised}.")
    if not user.is_active:
        raise click.ClickException(f"User {normalised} is deactivated.")
    try:
        _token, secret = services.create_api_token(None, user, name)
    except DomainError as exc:
        _fail(exc)
    db.session.commit()
    click.echo(secret)


@click.command("seed-demo")
@with_appcontext
def seed_demo():
    """Load demo organisations, users, spaces, equipment and bookings (idempotent)."""
    from samskap.demo import seed

    summary = seed()
    db.session.commit()
    click.echo(summary)


def register_cli(app) -> None:
    from samskap.backup import backup_command, restore_command

    for command in (create_organization, create_user, create_api_token, seed_demo, backup_command, restore_command):
        app.cli.add_command(command)
