"""Two-factor login rules: drift, replay, code shapes, recovery codes, throttling, reset."""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select, update

from shipyard.auth import challenge, totp
from shipyard.auth import service as auth
from shipyard.auth.models import LoginChallenge, LoginFailure
from shipyard.config import Settings
from shipyard.db import Database, utcnow
from shipyard.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound, Throttled
from shipyard.users.models import User
from tests.factories import Account, Factory
from tests.twofactor import FakeClock, install_clock, load, recovery_codes, turn_on


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    return install_clock(monkeypatch)


def check(database: Database, settings: Settings, user: User, code: str) -> None:
    with database.session() as db:
        totp.verify(
            db, load(db, user), code, settings=settings, client_address="10.0.0.1", recovery=True
        )


def failures(database: Database) -> int:
    with database.session() as db:
        return db.scalar(select(func.count()).select_from(LoginFailure)) or 0


def fresh(database: Database, user: User) -> User:
    with database.session() as db:
        return load(db, user)


# Setup ----------------------------------------------------------------------------------------


def test_setup_gives_an_otpauth_uri_with_issuer_and_email(
    database: Database, settings: Settings, factory: Factory
) -> None:
    account = factory.user()
    custom = settings.model_copy(update={"totp_issuer": "Acme Lab"})
    with database.session() as db:
        enrolment = totp.begin_setup(db, load(db, account.user), settings=custom)
        again = totp.begin_setup(db, load(db, account.user), settings=custom)
    uri = urlsplit(enrolment.uri)
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert uri.path == f"/Acme%20Lab:{account.email.replace('@', '%40')}"
    assert parse_qs(uri.query) == {"secret": [enrolment.secret], "issuer": ["Acme Lab"]}
    assert again.secret == enrolment.secret  # the app may have scanned it already
    assert enrolment.grouped.replace(" ", "") == enrolment.secret
    assert all(len(group) == 4 for group in enrolment.grouped.split(" "))
    assert not fresh(database, account.user).totp_enabled


def test_a_wrong_first_code_leaves_two_factor_off(
    database: Database, settings: Settings, factory: Factory, clock: FakeClock
) -> None:
    account = factory.user()
    with database.session() as db:
        user = load(db, account.user)
        enrolment = totp.begin_setup(db, user, settings=settings)
        with pytest.raises(InvalidInput, match="Incorrect code"):
            totp.confirm_setup(
                db, user, code=clock.code(enrolment.secret, steps=3), settings=settings
            )
    assert not fresh(database, account.user).totp_enabled


def test_setup_is_refused_when_on_and_where_the_server_has_it_off(
    database: Database, settings: Settings, factory: Factory, clock: FakeClock
) -> None:
    account = factory.user()
    turn_on(database, settings, account.user, clock)
    off = settings.model_copy(update={"totp_available": False})
    with database.session() as db:
        user = load(db, account.user)
        with pytest.raises(Conflict, match="already on"):
            totp.begin_setup(db, user, settings=settings)
        with pytest.raises(NotFound, match="not available"):
            totp.begin_setup(db, user, settings=off)


# Codes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [-1, 0, 1])
def test_one_step_of_clock_drift_either_way_is_accepted(
    database: Database, settings: Settings, factory: Factory, clock: FakeClock, steps: int
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    clock.tick()  # so that the step before is later than the one used at setup
    check(database, settings, account.user, clock.code(secret, steps=steps))


@pytest.mark.parametrize("steps", [-2, 2, 10])
def test_two_steps_of_drift_are_refused(
    database: Database, settings: Settings, factory: Factory, clock: FakeClock, steps: int
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    clock.tick(2)
    with pytest.raises(AuthenticationFailed, match=r"^Incorrect one-time password\.$"):
        check(database, settings, account.user, clock.code(secret, steps=steps))
    assert failures(database) == 1


@pytest.mark.db
def test_a_code_works_once_and_earlier_codes_no_more(
    database: Database, settings: Settings, factory: Factory, clock: FakeClock
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    code = clock.code(secret)
    check(database, settings, account.user, code)
    with pytest.raises(AuthenticationFailed, match="already used"):
        check(database, settings, account.user, code)
    clock.tick()
    with pytest.raises(AuthenticationFailed, match="already used"):
        check(database, settings, account.user, clock.code(secret, steps=-1))
    check(database, settings, account.user, clock.code(secret))


def test_the_setup_code_cannot_log_in(
    database: Database, settings: Settings, factory: Factory, clock: FakeClock
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    with pytest.raises(AuthenticationFailed, match="already used"):
        check(database, settings, account.user, clock.code(secret, steps=-1))


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("12345", "A one-time password has 6 digits."),
        ("1234567", "A one-time password has 6 digits."),
        ("12a456", "Enter the 6 digits your authenticator app shows."),
        ("１２３４５６", "Enter the 6 digits your authenticator app shows."),  # noqa: RUF001
        ("", "Enter the 6 digits your authenticator app shows."),
    ],
)
def test_codes_of_the_wrong_shape_say_so_and_count_nothing(
    database: Database,
    settings: Settings,
    factory: Factory,
    clock: FakeClock,
    typed: str,
    message: str,
) -> None:
    account = factory.user()
    turn_on(database, settings, account.user, clock)
    with database.session() as db, pytest.raises(InvalidInput) as refused:
        totp.verify(db, load(db, account.user), typed, settings=settings, client_address="x")
    assert refused.value.message == message
    assert failures(database) == 0


def test_spaces_inside_a_code_are_fine(
    database: Database, settings: Settings, factory: Factory, clock: FakeClock
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    code = clock.code(secret)
    check(database, settings, account.user, f" {code[:3]} {code[3:]} ")


@pytest.mark.db
def test_guessing_codes_is_throttled(
    database: Database, settings: Settings, factory: Factory, clock: FakeClock
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    wrong = "000000" if clock.code(secret) != "000000" else "111111"
    for _ in range(settings.login_max_failures_per_account):
        with pytest.raises(AuthenticationFailed):
            check(database, settings, account.user, wrong)
    with pytest.raises(Throttled) as throttled:
        check(database, settings, account.user, clock.code(secret))
    assert throttled.value.retry_after > 0
    assert "Too many failed login attempts" in throttled.value.message


# Recovery codes -------------------------------------------------------------------------------


@pytest.mark.db
def test_ten_recovery_codes_each_work_once(
    database: Database, settings: Settings, factory: Factory, clock: FakeClock
) -> None:
    account = factory.user()
    turn_on(database, settings, account.user, clock)
    codes = recovery_codes(database, account.user)
    assert len(codes) == len(set(codes)) == 10
    assert all(len(code) == 14 and code.count("-") == 2 for code in codes)
    check(database, settings, account.user, codes[0].upper().replace("-", " "))
    with pytest.raises(AuthenticationFailed, match="already used"):
        check(database, settings, account.user, codes[0])
    with database.session() as db:
        assert totp.recovery_codes_left(db, load(db, account.user)) == 9


def test_new_recovery_codes_replace_the_old_ones(
    database: Database, settings: Settings, factory: Factory, clock: FakeClock
) -> None:
    account = factory.user()
    turn_on(database, settings, account.user, clock)
    old = recovery_codes(database, account.user)
    recovery_codes(database, account.user)
    with pytest.raises(AuthenticationFailed):
        check(database, settings, account.user, old[1])


def test_a_recovery_code_of_the_wrong_shape_says_so(
    database: Database, settings: Settings, factory: Factory, clock: FakeClock
) -> None:
    account = factory.user()
    turn_on(database, settings, account.user, clock)
    with pytest.raises(InvalidInput, match="or a recovery code"):
        check(database, settings, account.user, "abcd-efgh")
    assert failures(database) == 0


def test_another_users_recovery_code_does_not_work(
    database: Database, settings: Settings, factory: Factory, clock: FakeClock
) -> None:
    mine, theirs = factory.user(), factory.user()
    turn_on(database, settings, mine.user, clock)
    turn_on(database, settings, theirs.user, clock)
    codes = recovery_codes(database, theirs.user)
    with pytest.raises(AuthenticationFailed):
        check(database, settings, mine.user, codes[0])


# Turning off, admin reset -----------------------------------------------------------------------


def test_disabling_needs_a_right_code(
    database: Database, settings: Settings, factory: Factory, clock: FakeClock
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    with database.session() as db:
        user = load(db, account.user)
        with pytest.raises(InvalidInput, match="Incorrect one-time password"):
            totp.disable(db, user, code=clock.code(secret, steps=5), settings=settings)
        assert user.totp_enabled
        totp.disable(db, user, code=clock.code(secret), settings=settings)
    after = fresh(database, account.user)
    assert (after.totp_enabled, after.totp_secret, after.totp_last_step) == (False, None, None)


def test_an_admin_reset_clears_everything_and_is_logged(
    database: Database,
    settings: Settings,
    factory: Factory,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    account, admin = factory.user(), factory.admin()
    turn_on(database, settings, account.user, clock)
    codes = recovery_codes(database, account.user)
    caplog.set_level(logging.INFO, logger="shipyard.auth.totp")
    with database.session() as db:
        totp.reset(db, account.email.upper(), by=load(db, admin.user))
    after = fresh(database, account.user)
    assert (after.totp_enabled, after.totp_secret) == (False, None)
    with database.session() as db:
        assert totp.recovery_codes_left(db, after) == 0
    assert f"two-factor login of {account.email}" in caplog.text
    assert f"reset by {admin.email}" in caplog.text
    assert codes  # they are gone with the reset


def test_a_reset_finds_users_by_id_and_refuses_unknown_ones(
    database: Database, factory: Factory
) -> None:
    account, admin = factory.user(), factory.admin()
    with database.session() as db:
        by = load(db, admin.user)
        assert totp.reset(db, str(account.user.id), by=by).email == account.email
        with pytest.raises(NotFound, match="No such user"):
            totp.reset(db, "nobody@example.org", by=by)


# Logging in -----------------------------------------------------------------------------------


def creds(account: Account) -> auth.Credentials:
    return auth.Credentials(email=account.email, password=account.password, client_address="x")


def test_the_password_alone_is_not_enough_with_two_factor_on(
    database: Database, settings: Settings, factory: Factory, clock: FakeClock
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    with database.session() as db:
        with pytest.raises(totp.OtpRequired) as required:
            auth.authenticate(db, creds(account), settings=settings)
        assert required.value.code == "otp_required"
        with pytest.raises(AuthenticationFailed):
            auth.authenticate(
                db, creds(account), settings=settings, otp=clock.code(secret, steps=4)
            )
        user = auth.authenticate(db, creds(account), settings=settings, otp=clock.code(secret))
    assert user.id == account.user.id
    assert failures(database) == 0  # a complete login starts the account afresh


def test_where_two_factor_is_unavailable_the_password_is_enough(
    database: Database, settings: Settings, factory: Factory, clock: FakeClock
) -> None:
    account = factory.user()
    turn_on(database, settings, account.user, clock)
    off = settings.model_copy(update={"totp_available": False})
    with database.session() as db:
        assert auth.authenticate(db, creds(account), settings=off).id == account.user.id


def test_a_challenge_passes_once_with_the_right_code(
    database: Database, settings: Settings, factory: Factory, clock: FakeClock
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    with database.session() as db:
        raw = challenge.open_challenge(db, account.user, next_path="/data", client_address="x")
        passed = challenge.answer(
            db, raw, code=clock.code(secret), recovery=False, settings=settings, client_address="x"
        )
        assert (passed.user.id, passed.next_path) == (account.user.id, "/data")
        clock.tick()
        with pytest.raises(challenge.ChallengeEnded):
            challenge.answer(
                db, raw, code=clock.code(secret), recovery=False, settings=settings,
                client_address="x",
            )  # fmt: skip


@pytest.mark.db
def test_a_challenge_ends_after_five_wrong_codes(
    database: Database, settings: Settings, factory: Factory, clock: FakeClock
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    wrong = clock.code(secret, steps=5)
    with database.session() as db:
        raw = challenge.open_challenge(db, account.user, next_path="/", client_address="x")
        for _ in range(challenge.MAX_ATTEMPTS - 1):
            with pytest.raises(AuthenticationFailed, match="Incorrect one-time password"):
                challenge.answer(
                    db, raw, code=wrong, recovery=False, settings=settings, client_address="x"
                )
        with pytest.raises(challenge.ChallengeEnded, match="Too many incorrect codes"):
            challenge.answer(
                db, raw, code=wrong, recovery=False, settings=settings, client_address="x"
            )
        assert challenge.find(db, raw) is None


@pytest.mark.db
def test_an_expired_challenge_is_over(
    database: Database, settings: Settings, factory: Factory, clock: FakeClock
) -> None:
    account = factory.user()
    secret = turn_on(database, settings, account.user, clock)
    with database.session() as db:
        raw = challenge.open_challenge(db, account.user, next_path="/", client_address="x")
        db.execute(update(LoginChallenge).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
        with pytest.raises(challenge.ChallengeEnded, match="expired"):
            challenge.answer(
                db, raw, code=clock.code(secret), recovery=False, settings=settings,
                client_address="x",
            )  # fmt: skip
