"""The operator CLI of DESIGN.md, including its one-line errors on bad input."""
import sqlalchemy as sa

from accounts.models import ApiToken, Organisation, User
from samskap.extensions import db
from tests.factories import make_org


def count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_create_organization_prints_its_id(runner):
    result = runner.invoke(args=["create-organization", "Gjøvik kommune", "--kind", "municipality",
                                 "--number", "944210008"])
    assert result.exit_code == 0, result.output
    org = db.session.get(Organisation, int(result.output.strip()))
    assert org.name == "Gjøvik kommune" and org.number == "944210008"


def test_create_organization_bad_input(runner):
    cases = [
        (["create-organization", "X", "--kind", "spaceagency"], "Unknown organisation kind"),
        (["create-organization", "X", "--kind", "company", "--number", "944210009"], "organisation number"),
        (["create-organization", "X" * 201, "--kind", "company"], "at most 200"),
        (["create-organization", "  ", "--kind", "company"], "Enter a name"),
    ]
    for args, expected in cases:
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
        assert expected in result.output, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1
    assert count(Organisation) == 0


def test_create_organization_duplicate_name(runner):
    make_org(name="Tryggtek AS", kind="company")
    result = runner.invoke(args=["create-organization", "tryggtek as", "--kind", "company"])
    assert result.exit_code != 0 and "already exists" in result.output


def test_create_user_with_password_from_stdin(runner):
    make_org(name="NTNU", kind="academia")
    result = runner.invoke(args=["create-user", "Aksel@NTNU.test", "--name", "Aksel", "--role", "member",
                                 "--organization", "NTNU"], input="a long enough password\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User))
    assert user.email == "aksel@ntnu.test"
    from accounts.services import check_password
    assert check_password(user, "a long enough password")


def test_create_user_bad_input(runner):
    make_org(name="NTNU", kind="academia")
    ok = runner.invoke(args=["create-user", "a@ntnu.test", "--name", "A", "--role", "member",
                             "--organization", "NTNU", "--password", "long enough pw"])
    assert ok.exit_code == 0
    cases = [
        (["create-user", "not-an-email", "--name", "B", "--role", "member", "--organization", "NTNU",
          "--password", "long enough pw"], "not a valid email"),
        (["create-user", "A@NTNU.TEST", "--name", "B", "--role", "member", "--organization", "NTNU",
          "--password", "long enough pw"], "already exists"),
        (["create-user", "b@ntnu.test", "--name", "B", "--role", "emperor", "--organization", "NTNU",
          "--password", "long enough pw"], "Unknown role"),
        (["create-user", "b@ntnu.test", "--name", "B", "--role", "member", "--organization", "Nowhere",
          "--password", "long enough pw"], "No organisation named"),
        (["create-user", "b@ntnu.test", "--name", "B", "--role", "member", "--organization", "NTNU",
          "--password", ""], "Enter a password"),
    ]
    for args, expected in cases:
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
        assert expected in result.output, (args, result.output)
    empty_stdin = runner.invoke(args=["create-user", "c@ntnu.test", "--name", "C", "--role", "member",
                                      "--organization", "NTNU"], input="\n")
    assert empty_stdin.exit_code != 0 and "Enter a password" in empty_stdin.output
    assert count(User) == 1


def test_create_api_token_prints_a_working_token(runner, client):
    make_org(name="NTNU", kind="academia")
    runner.invoke(args=["create-user", "a@ntnu.test", "--name", "A", "--role", "member",
                        "--organization", "NTNU", "--password", "long enough pw"])
    result = runner.invoke(args=["create-api-token", "A@ntnu.test"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    token = lines[0]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json["email"] == "a@ntnu.test"
    stored = db.session.scalar(sa.select(ApiToken))
    assert token not in stored.token_hash


def test_create_api_token_unknown_user(runner):
    result = runner.invoke(args=["create-api-token", "nobody@example.test"])
    assert result.exit_code != 0 and "No user with email" in result.output
    result = runner.invoke(args=["create-api-token", "not an email"])
    assert result.exit_code != 0


def test_seed_demo_is_idempotent_and_accounts_can_sign_in(runner, auth):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    counts = {m: count(m) for m in (Organisation, User)}
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0 and "(0 new records)" in second.output
    assert counts == {m: count(m) for m in (Organisation, User)}
    kinds = {o.kind.value for o in db.session.scalars(sa.select(Organisation))}
    assert kinds == {"municipality", "hospital", "company", "academia", "host"}
    from accounts.demo import DEMO_PASSWORD
    assert auth.login("admin@samskap.test", DEMO_PASSWORD).status_code == 302
