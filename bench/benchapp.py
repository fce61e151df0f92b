"""The Samskap app as gunicorn serves it in production, plus one baseline route for the
benchmark: a minimal endpoint on the same server and database doing one primary-key read."""
from flask import jsonify

from accounts.models import Organisation
from samskap import create_app
from samskap.extensions import csrf, db

app = create_app()


@app.get("/_bench/baseline")
@csrf.exempt
def baseline():
    org = db.session.get(Organisation, 1)
    return jsonify({"id": org.id, "name": org.name})
