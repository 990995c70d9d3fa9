"""mkdocs hooks: the docstrings' Sphinx roles as plain code in the API pages.

The docstrings are NumPy style with Sphinx cross-reference roles (``:func:`rareopt.solve```),
which mkdocstrings renders as the role's text before the code; the role is dropped, and a leading
``~`` (Sphinx's "last part only") with it.
"""

import re

_ROLE = re.compile(r":(?:func|meth|class|mod|data|attr|exc|obj):<code>~?([^<]*)</code>")


def on_page_content(html, page, config, files):
    """Drop Sphinx roles before code spans."""
    return _ROLE.sub(
        lambda m: f"<code>{m.group(1).split('.')[-1] if '~' in m.group(0) else m.group(1)}</code>",
        html,
    )
