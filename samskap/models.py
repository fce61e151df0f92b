"""Shared column helpers for models."""
from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.orm import mapped_column

from samskap.timeutil import UTCDateTime, utcnow


def enum_column(enum_cls: type[enum.Enum], name: str, **kwargs):
    """A string column holding an enum's values, with a CHECK constraint named ``name``."""
    return mapped_column(
        sa.Enum(
            enum_cls,
            name=name,
            native_enum=False,
            create_constraint=True,
            validate_strings=True,
            length=32,
            values_callable=lambda e: [member.value for member in e],
        ),
        **kwargs,
    )


def created_at_column():
    return mapped_column(UTCDateTime(), nullable=False, default=utcnow)


def updated_at_column():
    return mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)
