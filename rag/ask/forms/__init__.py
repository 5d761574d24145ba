"""Question forms as plug-ins (``rag.ask.forms.base`` says what a form is): a comparison, a yes
or no about two things, what two things share, a bridge to a second hop. ``FORMS`` is the
order the analysis tries them in and the pipeline reads them in; the first reading leads."""

from __future__ import annotations

from rag.ask.forms.compare import ComparisonForm
from rag.ask.forms.hops import BridgeForm
from rag.ask.forms.shared import SharedForm
from rag.ask.forms.verdicts import VerdictForm

FORMS = (ComparisonForm(), VerdictForm(), SharedForm(), BridgeForm())
