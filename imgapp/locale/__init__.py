"""The message catalogues (gettext, one folder per locale) and how their keys are extracted.

`<locale>/LC_MESSAGES/messages.po` holds each language's texts, compiled to
`messages.mo` beside it; `messages.pot` is the template `pybabel extract` makes
from the code with `extract.extract_keys` (babel.cfg). `imgapp.core.i18n` reads
the compiled catalogues; README.md ("Translations") has the commands.
"""
