"""Operator commands of the core: ``flask --app app <command>``. Each exits non-zero with a
one-line message on bad input. The areas add their own (accounts/cli.py: organisations, users,
tokens); ``seed-demo`` runs the demo data each area registered (samskap/demo.py)."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from samskap.errors import DomainError, ValidationFailed
from samskap.extensions import db


def fail(error: DomainError) -> None:
    """End a command whose service refused: roll back and exit non-zero with the one-line message."""
    db.session.rollback()
    if isinstance(error, ValidationFailed):
        message = " ".join(f"{field}: {text}" for field, text in error.fields.items())
    else:
        message = error.message
    raise click.ClickException(message)


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

    for command in (seed_demo, backup_command, restore_command):
        app.cli.add_command(command)
