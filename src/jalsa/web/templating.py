"""Where the web app's pages come from: the package's `templates/` (Jinja2) and `static/`
folders. Its own module so that the app (`app.py`) and the routes that render pages both
import it without importing each other."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi.templating import Jinja2Templates

from jalsa import __version__

WEB = Path(str(resources.files("jalsa.web")))
templates = Jinja2Templates(directory=WEB / "templates")
templates.env.globals["version"] = __version__
