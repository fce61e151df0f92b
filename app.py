"""Entry point: ``flask --app app run`` and ``gunicorn app:app``."""
from samskap import create_app

app = create_app()
