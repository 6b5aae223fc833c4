"""The practice answer form: CSRF plus where the learner came from; the answer itself is read from the
checked boxes / radio buttons (``answer``), whose number depends on the question."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import AnyOf, Optional


class AnswerForm(FlaskForm):
    origin = HiddenField(validators=[Optional(), AnyOf(["bank", "wrong"])])
