"""The floor the overhead benchmark measures Samskap against (bench/overhead.py): the smallest
honest Flask app on the same gunicorn settings and the same PostgreSQL database.

* ``GET /read``: one indexed read of 50 rows (users by primary key), as JSON;
* ``POST /insert``: one ``INSERT … RETURNING`` of a JSON body into a table of its own, as JSON, 201.

Plain Flask and SQLAlchemy Core over the same driver (psycopg 3) and the same connection pool
Samskap uses, with no sessions, sign-in, CSRF, translations, rate limits, headers or audit: what
a request costs before any product feature. Serve it with
``gunicorn bench.minimal:app`` and ``DATABASE_URL`` set.
"""
from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask, jsonify, request

engine = sa.create_engine(os.environ["DATABASE_URL"])
metadata = sa.MetaData()
rows = sa.Table(
    "minimal_rows", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
)
users = sa.table("users", sa.column("id"), sa.column("email"), sa.column("name"))
READ = sa.select(users.c.id, users.c.email, users.c.name).order_by(users.c.id).limit(50)
INSERT = sa.insert(rows).returning(rows.c.id, rows.c.title, rows.c.created_at)

app = Flask(__name__)


@app.get("/read")
def read():
    with engine.connect() as conn:
        found = conn.execute(READ).all()
    return jsonify({"users": [{"id": r.id, "email": r.email, "name": r.name} for r in found]})


@app.post("/insert")
def insert():
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("title"), str):
        return jsonify({"error": "a JSON object with a 'title' is needed"}), 400
    with engine.begin() as conn:
        row = conn.execute(INSERT, {"title": body["title"][:200]}).one()
    return jsonify({"id": row.id, "title": row.title, "created_at": row.created_at.isoformat()}), 201


def create_table() -> None:
    """Called once by the benchmark before the servers start (not by the workers)."""
    metadata.create_all(engine)
