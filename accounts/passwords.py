"""The rules for a password a person chooses: at least 12 characters, not easy to guess
(zxcvbn, Dropbox's estimator: common passwords, dictionary words, names, keyboard patterns,
repeats, dates), and not containing the account's own email address or name.

They apply wherever a password is chosen: the profile's change-password form, the
administrators' new-user form and the operator's ``create-user``, all through
``accounts.services``. Demo and test data set hashes directly (``hash_password``) and are not
chosen by a person; the demo password ``samskap-demo`` passes these rules anyway.
"""
from __future__ import annotations

import unicodedata

from flask_babel import gettext as _

PASSWORD_MIN = 12
PASSWORD_MAX = 200
# zxcvbn scores 0-4; 3 is "safely unguessable: moderate protection from offline slow-hash attacks"
# (argon2 here), the level its authors suggest for sign-up forms.
GUESS_SCORE_MIN = 3
# zxcvbn's cost grows with the length; past this many characters the rest adds no guessability.
_ESTIMATE_CHARS = 100
_NAME_PART_MIN = 4  # shorter parts of a name ("Li", "Bo") are too common inside other words


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _personal_parts(email: str | None, name: str | None) -> list[str]:
    parts = []
    if email:
        folded = _fold(email.strip())
        local = folded.split("@", 1)[0]
        parts += [folded] + ([local] if len(local) >= 3 else [])
    if name:
        folded = _fold(name.strip())
        if len(folded) >= 3:
            parts += [folded, folded.replace(" ", "")]
        parts += [word for word in folded.replace("-", " ").split() if len(word) >= _NAME_PART_MIN]
    return [p for p in parts if p]


def password_problem(password: str | None, *, email: str | None = None, name: str | None = None) -> str | None:
    """Why ``password`` may not be chosen by the person with this email and name, or None."""
    if not password:
        return _("Enter a password.")
    if len(password) < PASSWORD_MIN:
        return _("The password must be at least %(n)d characters long.", n=PASSWORD_MIN)
    if len(password) > PASSWORD_MAX:
        return _("The password can be at most %(n)d characters long.", n=PASSWORD_MAX)
    folded = _fold(password)
    parts = _personal_parts(email, name)
    if any(part in folded for part in parts):
        return _("The password must not contain the email address or the name of the account.")
    from zxcvbn import zxcvbn

    estimate = zxcvbn(password[:_ESTIMATE_CHARS], user_inputs=parts)
    if estimate["score"] < GUESS_SCORE_MIN:
        return _("This password is too easy to guess: it is a common password, or made of a word, a name, "
                 "a date, a keyboard pattern or repeated characters. Use several unrelated words, for "
                 "example.")
    return None
