"""Flask extensions, created unbound in one place and initialised by the factory."""
import time

from flask import has_request_context, request, session
from flask_babel import Babel
from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

from trainapp.models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
bootstrap = Bootstrap5()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def select_locale() -> str:
    """Pick the UI language: the user's choice in the session, else Chinese (also outside requests)."""
    if not has_request_context():
        return "zh_CN"
    lang = session.get("lang")
    if lang in ("zh_CN", "en"):
        return lang
    if request.args.get("lang") in ("zh_CN", "en"):
        return request.args["lang"]
    return "zh_CN"


babel = Babel()


def ping_after_idle(engine: Engine, seconds: float) -> None:
    """Test a pooled connection before use only when it sat unused for `seconds` or more.

    Instead of `pool_pre_ping`, which costs a round trip on every request: a connection that went
    back into the pool moments ago (always the case under load) is used as it is; one idle for
    longer, which the server may have closed meanwhile (a restart, an idle timeout, a firewall),
    is pinged first. A dead one is dropped with every older pooled connection, and the pool
    connects anew, as with pre-ping. A database restart while connections are busy still fails
    the requests using them, once, as it would with pre-ping too.
    """

    @event.listens_for(engine, "checkin")
    def _note_checkin(dbapi_connection, record):
        record.info["trainapp_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, proxy):
        since = record.info.get("trainapp_idle_since")
        if since is None or time.monotonic() - since < seconds:
            return  # a new connection, or one in use a moment ago
        dialect = engine.dialect
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as err:
            if not dialect.is_disconnect(err, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            # The pool discards this and every older connection and retries with a new one.
            raise exc.InvalidatePoolError()
