"""Flask extensions, created unbound in one place and initialised by the factory."""
from flask import has_request_context, request, session
from flask_babel import Babel
from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

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
